//! The shop's frame around a page written in one pass with maud (`catalog::product_document`,
//! `catalog::collection_document`): the document Leptos renders around every shop page
//! (`shell`, `App`, `Header`, `Footer`, leptos_meta's head), byte for byte but for the nonce.
//! The page's islands are rendered by Leptos itself.
//!
//! Why: Leptos's frame of every page (a reactive owner, the router matching some forty routes,
//! the meta context, the page rendered in a task of its own and streamed back) cost about 150 µs
//! of a product page's 210 µs of server time (release build, demo catalog, page cache off;
//! `/cart`, the frame with nothing in it, costs 150 µs), while the page's own markup is a
//! fraction of that.
//!
//! What keeps the two the same: the server's API tests ask two servers over one database, one
//! of them `KASSA_DIRECT_PAGES=off`, for the same pages (every demo product and collection,
//! chosen variants, filters, sorts, later pages, a signed-in shopper) and compare them; a change
//! to the frame or to a page that is not made here too fails them.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use leptos::prelude::*;
use maud::{html, Markup, PreEscaped, Render, DOCTYPE};

use super::document_title;
use crate::cart::{CardButtons, CartCount};
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

/// Whether pages may be written here: not in development, where Leptos's `AutoReload` adds its
/// script to every page (`LEPTOS_WATCH`). The server asks once, when it builds its routes.
pub fn writable() -> bool {
    std::env::var_os("LEPTOS_WATCH").is_none()
}

/// The marker Leptos leaves where an optional part is absent, or a list ends.
pub const MARKER: PreEscaped<&str> = PreEscaped("<!>");

/// A text as Leptos writes it: `&`, `<` and `>` escaped (maud escapes `"` too), and an empty
/// one a space.
pub struct Text<'a>(pub &'a str);

impl Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        if self.0.is_empty() {
            buffer.push(' ');
        } else {
            buffer.push_str(&html_escape::encode_text(self.0));
        }
    }
}

/// What every page writes the same way, made once.
struct Fixed {
    loader: IslandLoader,
    /// The header's cart island as the server renders it: empty (the browser fills it in).
    cart_count: String,
    /// The island listening to the cards' add buttons, which renders nothing on the server.
    card_buttons: String,
}

impl Fixed {
    fn get(options: &LeptosOptions) -> &'static Fixed {
        static FIXED: OnceLock<Fixed> = OnceLock::new();
        FIXED.get_or_init(|| Fixed {
            loader: IslandLoader::new(options),
            cart_count: Owner::new().with(|| view! { <CartCount/> }.to_html()),
            card_buttons: Owner::new().with(|| view! { <CardButtons/> }.to_html()),
        })
    }
}

/// `cart::CardButtons` as the server renders it, before a list of cards.
pub fn card_buttons(options: &LeptosOptions) -> PreEscaped<&'static str> {
    PreEscaped(&Fixed::get(options).card_buttons)
}

/// The whole page: `title` (unescaped, before the shop's name), the page's `<meta>` and
/// `<link>` tags as leptos_meta writes them (after the shop's icon, before the title), and what
/// goes in `<main>`. HTML, with a new nonce for its scripts.
pub fn page(frame: &ShopFrame<'_>, title: String, head: Markup, main: Markup) -> Response {
    let nonce = leptos::nonce::Nonce::new();
    let fixed = Fixed::get(frame.options);
    let loader = &fixed.loader;
    let title = document_title(title, frame.shop_name);
    let mut page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Where `AutoReload` would be in development.
                (MARKER)
                link rel="stylesheet" id="kassa" href=(crate::stylesheet());
                link rel="modulepreload" href=(loader.module) fetchpriority="low";
                script type="module" nonce=(&*nonce) data-wasm=(loader.wasm) data-split=(loader.split) data-split-manifest=(loader.manifest) {
                    (PreEscaped(&loader.script))
                }
                (PreEscaped("<!--HEAD-->"))
                link href="/favicon.svg" rel="icon" type="image/svg+xml";
                (head)
                // Escaped by `document_title`: leptos_meta writes it as it is.
                title { (PreEscaped(title)) }
            }
            body {
                (header(frame, &fixed.cart_count))
                main id="main" { (main) }
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
        page.push_str(&nonce);
        page.push_str("\">");
        page.push_str(script);
        page.push_str("</script>");
    }
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
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

/// `components::Breadcrumbs`: the shop, the pages of `trail` (a name and a path each), the
/// page itself; `json_ld` is the same trail for search engines.
pub fn breadcrumbs(trail: &[(String, String)], current: &str, json_ld: &str) -> Markup {
    html! {
        nav aria-label="Breadcrumb" class="breadcrumbs" {
            ol {
                li { a href="/" { (crate::catalog::BREADCRUMB_HOME) } }
                @for (name, href) in trail {
                    li { a href=(href) { (Text(name)) } }
                }
                (MARKER)
                li { span aria-current="page" { (Text(current)) } }
            }
        }
        script type="application/ld+json" { (PreEscaped(json_ld)) }
    }
}

/// The parameters of an address's query string, in order, as a page writer is given them;
/// `None` if it is not one (the page is then left to Leptos, which reads it its own way).
pub fn query_pairs(query: Option<&str>) -> Option<Vec<(String, String)>> {
    match query {
        Some(query) => serde_urlencoded::from_str(query).ok(),
        None => Some(Vec::new()),
    }
}
