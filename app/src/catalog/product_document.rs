//! The product page written in one pass, in the shop's frame written the same way
//! (`components::document`, which says why and how the two stay the same). The server's
//! `/products/{slug}` route answers with it, and leaves to Leptos whatever it does not write: a
//! product that is not found (the 404 page), an error, a query it cannot read.

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use leptos::prelude::*;
use maud::{html, Markup, PreEscaped};

use super::buy_box::BuyBox;
use super::cards::{product_cards_html, CardList};
use super::memory::CatalogMemory;
use super::pages::{chosen_variant, ProductHead};
use super::{load_product, CollectionLink, Product, ProductCard};
use crate::components::document::{self, ShopFrame, Text, MARKER};
use crate::db::Db;

/// The product page of `slug`, for an address whose query holds `query`
/// ([`document::query_pairs`]); `None` leaves the page to Leptos.
pub async fn product_page(
    db: &Db,
    memory: &CatalogMemory,
    frame: ShopFrame<'_>,
    slug: &str,
    query: &[(String, String)],
) -> Option<Response> {
    let product = load_product(db, memory, frame.site_url, slug).await.ok()?;
    // As Leptos's query map reads a parameter given twice: its last value.
    let chosen = chosen_variant(&product, |key| {
        query
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    });
    let head = ProductHead::of(&product);
    let tags = html! {
        meta name="description" content=(head.summary);
        link href=(product.url) rel="canonical";
        meta property="og:type" content="product";
        meta property="og:title" content=(product.title);
        meta property="og:description" content=(head.summary);
        meta property="og:url" content=(product.url);
        meta property="og:image" content=(head.og_image);
    };
    let mut response = document::page(&frame, head.title, tags, product_detail(&product, chosen));
    // The page's view counts for this product (the analytics take the note off).
    if let Some(variant) = product.variants.first() {
        response.headers_mut().insert(
            HeaderName::from_static(crate::analytics::http::PRODUCT_HEADER),
            HeaderValue::from(variant.id),
        );
    }
    Some(response)
}

/// `pages::ProductDetail`, but for its head.
fn product_detail(product: &Product, chosen: Option<i64>) -> Markup {
    let tags = product.tags.join(", ");
    let lazy_parts = crate::lazy_parts("buy_box");
    let trail: Vec<(String, String)> = product
        .collection
        .iter()
        .map(CollectionLink::crumb)
        .collect();
    html! {
        script type="application/ld+json" { (PreEscaped(&product.json_ld)) }
        (document::breadcrumbs(&trail, &product.title, &product.breadcrumbs_json_ld))
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
