//! The product page written as one document with maud: the page Leptos renders for
//! `/products/:slug` (`shell`, `App`, `Header`, `ProductPage`, `Footer`), byte for byte but
//! for the nonce, with the page's two islands (the header's cart and the buy box) rendered by
//! Leptos itself. The server's `/products/{slug}` route answers with it, and leaves to Leptos
//! whatever it does not write: a product that is not found (the 404 page), an error, a query it
//! cannot read, and development builds reloading themselves (`LEPTOS_WATCH`).
//!
//! Why: the product page is the page shoppers land on most. Leptos's frame around every page
//! (a reactive owner, the router matching some forty routes, the meta context, the page
//! rendered in a task of its own and streamed back) cost about 150 µs of the product page's
//! 210 µs of server time (release build, demo catalog, page cache off; `/cart`, the frame
//! with nothing in it, costs 150 µs), while the page's own markup is a fraction of that.
//!
//! What keeps the two the same: the server's API tests render every demo product both ways
//! (with a variant chosen, options sent without JavaScript, signed in) and compare them; a
//! change to the shop's frame or to the product page that is not made here fails them.

use std::sync::OnceLock;

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use leptos::prelude::*;
use maud::{html, Markup, PreEscaped, Render, DOCTYPE};

use super::buy_box::BuyBox;
use super::cards::{product_cards_html, CardList};
use super::memory::CatalogMemory;
use super::pages::{chosen_variant, ProductHead};
use super::{load_product, CollectionLink, Product, ProductCard, BREADCRUMB_HOME};
use crate::cart::CartCount;
use crate::components::document_title;
use crate::db::Db;
use crate::IslandLoader;

/// The shop around a page: what the frame of every page shows.
pub struct ShopFrame<'a> {
    pub options: &'a LeptosOptions,
    /// The shop's address (`SiteUrl`), for canonical links.
    pub site_url: &'a str,
    /// What the shop calls itself, from its settings.
    pub shop_name: &'a str,
    /// Whether a shopper is signed in: the header links to "Account" instead of "Sign in".
    pub signed_in: bool,
}

/// The product page of `slug`, for an address whose query string is `query`; `None` leaves the
/// page to Leptos (see the module's comment).
pub async fn product_page(
    db: &Db,
    memory: &CatalogMemory,
    frame: ShopFrame<'_>,
    slug: &str,
    query: Option<&str>,
) -> Option<Response> {
    // In development, Leptos's `AutoReload` adds its script to every page.
    static WATCHING: OnceLock<bool> = OnceLock::new();
    if *WATCHING.get_or_init(|| std::env::var_os("LEPTOS_WATCH").is_some()) {
        return None;
    }
    let query: Vec<(String, String)> = match query {
        Some(query) => serde_urlencoded::from_str(query).ok()?,
        None => Vec::new(),
    };
    let product = load_product(db, memory, frame.site_url, slug).await.ok()?;
    // As Leptos's query map reads a parameter given twice: its last value.
    let chosen = chosen_variant(&product, |key| {
        query
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    });
    let nonce = leptos::nonce::Nonce::new();
    let body = document(&frame, &product, chosen, &nonce);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    // The page's view counts for this product (the analytics take the note off).
    if let Some(variant) = product.variants.first() {
        response.headers_mut().insert(
            HeaderName::from_static(crate::analytics::http::PRODUCT_HEADER),
            HeaderValue::from(variant.id),
        );
    }
    Some(response)
}

/// What every product page writes the same way, made once.
struct Fixed {
    stylesheet: String,
    loader: IslandLoader,
    /// The header's cart island as the server renders it: empty (the browser fills it in).
    cart_count: String,
}

impl Fixed {
    fn get(options: &LeptosOptions) -> &'static Fixed {
        static FIXED: OnceLock<Fixed> = OnceLock::new();
        FIXED.get_or_init(|| Fixed {
            stylesheet: crate::stylesheet_href(options),
            loader: IslandLoader::new(options),
            cart_count: Owner::new().with(|| view! { <CartCount/> }.to_html()),
        })
    }
}

/// The marker Leptos leaves where an optional part is absent, or a list ends.
const MARKER: PreEscaped<&str> = PreEscaped("<!>");

/// A text as Leptos writes it: `&`, `<` and `>` escaped (maud escapes `"` too), and an empty
/// one a space.
struct Text<'a>(&'a str);

impl Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        if self.0.is_empty() {
            buffer.push(' ');
        } else {
            buffer.push_str(&html_escape::encode_text(self.0));
        }
    }
}

fn document(frame: &ShopFrame<'_>, product: &Product, chosen: Option<i64>, nonce: &str) -> String {
    let fixed = Fixed::get(frame.options);
    let head = ProductHead::of(product);
    let title = document_title(head.title, frame.shop_name);
    let loader = &fixed.loader;
    let mut page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Where `AutoReload` would be in development.
                (MARKER)
                link rel="stylesheet" id="kassa" href=(fixed.stylesheet);
                link rel="modulepreload" href=(loader.module) fetchpriority="low";
                script type="module" nonce=(nonce) data-wasm=(loader.wasm) data-split=(loader.split) data-split-manifest=(loader.manifest) {
                    (PreEscaped(&loader.script))
                }
                (PreEscaped("<!--HEAD-->"))
                link href="/favicon.svg" rel="icon" type="image/svg+xml";
                meta name="description" content=(head.summary);
                link href=(product.url) rel="canonical";
                meta property="og:type" content="product";
                meta property="og:title" content=(product.title);
                meta property="og:description" content=(head.summary);
                meta property="og:url" content=(product.url);
                meta property="og:image" content=(head.og_image);
                // Escaped by `document_title`: leptos_meta writes it as it is.
                title { (PreEscaped(title)) }
            }
            body {
                (header(frame, &fixed.cart_count))
                main id="main" { (product_detail(product, chosen)) }
                (footer(frame.shop_name))
            }
        }
    }
    .into_string();
    // What Leptos's rendering of a page in order ends with, after the document.
    for script in [
        "__RESOLVED_RESOURCES=[];__SERIALIZED_ERRORS=[];__PENDING_RESOURCES=[];__RESOURCE_RESOLVERS=[];",
        "__INCOMPLETE_CHUNKS=[];",
    ] {
        page.push_str("<script nonce=\"");
        page.push_str(nonce);
        page.push_str("\">");
        page.push_str(script);
        page.push_str("</script>");
    }
    page
}

/// `components::Header`.
fn header(frame: &ShopFrame<'_>, cart_count: &str) -> Markup {
    let main_links = html! {
        a href="/collections/apparel" { "Apparel" }
        a href="/collections/accessories" { "Accessories" }
        a href="/collections/home" { "Home" }
        a href="/collections/sale" { "Sale" }
    };
    let account_link = html! {
        @if frame.signed_in {
            a href="/account" class="account-link" { "Account" }
        } @else {
            a href="/account/sign-in" class="account-link" { "Sign in" }
        }
    };
    html! {
        a href="#main" class="skip-link" { "Skip to content" }
        header class="site-header" {
            details class="menu-drawer" {
                summary { "Menu" }
                nav aria-label="Main" { (main_links) (account_link) }
            }
            a href="/" class="brand" { (Text(frame.shop_name)) }
            nav aria-label="Main" class="main-nav" { (main_links) }
            form class="header-search" action="/search" method="get" role="search" {
                label for="header-q" class="visually-hidden" { "Search products" }
                input id="header-q" type="search" name="q" placeholder="Search";
            }
            (account_link)
            (PreEscaped(cart_count))
        }
    }
}

/// `components::Footer`.
fn footer(shop_name: &str) -> Markup {
    use crate::promotions::newsletter::WORDING;
    html! {
        footer class="site-footer" {
            form method="post" action="/newsletter" data-testid="newsletter-sign-up" class="newsletter-sign-up" {
                label for="newsletter-email" { "Newsletter" }
                div class="inline-form" {
                    input id="newsletter-email" name="email" type="email" autocomplete="email" required aria-describedby="newsletter-wording";
                    button type="submit" { "Subscribe" }
                }
                p id="newsletter-wording" class="hint" { (Text(WORDING)) }
            }
            p { a href="/contact" { "Contact us" } }
            p { (Text(shop_name)) (MARKER) " · powered by Kassa, an open-source shop" }
        }
    }
}

/// `pages::ProductDetail`, without its head (written by [`document`]).
fn product_detail(product: &Product, chosen: Option<i64>) -> Markup {
    let tags = product.tags.join(", ");
    let lazy_parts = crate::lazy_parts("buy_box");
    html! {
        script type="application/ld+json" { (PreEscaped(&product.json_ld)) }
        (breadcrumbs(product))
        @if lazy_parts.is_empty() {
            (MARKER)
        } @else {
            div hidden data-lazy-parts=(lazy_parts.join(" ")) {}
        }
        article class="product-detail" {
            (PreEscaped(buy_box(product, chosen)))
            section aria-labelledby="about-product" class="product-about" {
                h2 id="about-product" { "About this product" }
                div class="description" { (PreEscaped(&product.description_html)) }
                dl class="product-facts" {
                    dt { "Made by" }
                    dd { (Text(&product.vendor)) }
                    @if product.product_type.is_empty() {
                        (MARKER)
                    } @else {
                        dt { "Type" }
                        dd { (Text(&product.product_type)) }
                    }
                    @if tags.is_empty() {
                        (MARKER)
                    } @else {
                        dt { "Tags" }
                        dd { (Text(&tags)) }
                    }
                }
            }
        }
        (recommended("bought-together", "Often bought together", &product.bought_together))
        (recommended("related", "You may also like", &product.related))
    }
}

/// `components::Breadcrumbs`: the shop, the product's collection, the product.
fn breadcrumbs(product: &Product) -> Markup {
    html! {
        nav aria-label="Breadcrumb" class="breadcrumbs" {
            ol {
                li { a href="/" { (BREADCRUMB_HOME) } }
                @for (name, href) in product.collection.iter().map(CollectionLink::crumb) {
                    li { a href=(href) { (Text(&name)) } }
                }
                (MARKER)
                li { span aria-current="page" { (Text(&product.title)) } }
            }
        }
        script type="application/ld+json" { (PreEscaped(&product.breadcrumbs_json_ld)) }
    }
}

/// The buy box island, rendered by Leptos: its wrapper names the island's function and
/// carries its props as the browser reads them.
fn buy_box(product: &Product, chosen: Option<i64>) -> String {
    Owner::new().with(|| {
        view! {
            <BuyBox
                slug=product.slug.clone()
                title=product.title.clone()
                vendor=product.vendor.clone()
                option_names=product.option_names.clone()
                variants=product.variants.clone()
                images=product.images.clone()
                chosen
            />
        }
        .to_html()
    })
}

/// `pages::Recommended`.
fn recommended(id: &str, heading: &str, cards: &[ProductCard]) -> Markup {
    html! {
        @if cards.is_empty() {
            (MARKER)
        } @else {
            section aria-labelledby=(id) data-testid=(id) class="recommended" {
                h2 id=(id) { (heading) }
                ul class="product-grid" { (PreEscaped(product_cards_html(cards, CardList::Recommended))) }
            }
        }
    }
}
