//! The collection page written in one pass, in the shop's frame written the same way
//! (`components::document`, which says why and how the two stay the same). The server's
//! `/collections/{slug}` route answers with it, and leaves to Leptos whatever it does not write:
//! a collection that is not found, filters it refuses (the page saying why), a page without
//! products (which says what to do instead), a query it cannot read.

use axum::response::Response;
use maud::{html, Markup, PreEscaped};

use super::browse::{listing_params_of, CollectionHead, PageLinks};
use super::cards::{product_cards_html, CardList};
use super::memory::CatalogMemory;
use super::query::{ListingParams, Sort};
use super::{load_collection_page, CollectionPageData};
use crate::checkout::service::Checkout;
use crate::components::document::{self, ShopFrame, Text, MARKER};
use crate::db::Db;

/// The page of the collection `slug`, for an address whose query holds `query`
/// ([`document::query_pairs`]); `None` leaves the page to Leptos.
pub async fn collection_page(
    db: &Db,
    memory: &CatalogMemory,
    checkout: &Checkout,
    frame: ShopFrame<'_>,
    slug: &str,
    query: &[(String, String)],
) -> Option<Response> {
    let listing = listing_params_of(|key| {
        query
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .collect()
    });
    let data = load_collection_page(
        db,
        memory,
        Some(checkout.clone()),
        frame.site_url,
        slug.to_string(),
        listing.query_string(),
    )
    .await
    .ok()?;
    if data.products.items.is_empty() {
        return None;
    }
    let CollectionPageData {
        collection,
        url,
        breadcrumbs_json_ld,
        facets,
        products,
    } = data;
    let path = format!("/collections/{}", collection.slug);
    let CollectionHead { summary, og_image } = CollectionHead::of(&collection, &url);
    let tags = html! {
        meta name="description" content=(summary);
        link href=(url) rel="canonical";
        meta property="og:type" content="website";
        meta property="og:title" content=(collection.title);
        meta property="og:description" content=(summary);
        meta property="og:url" content=(url);
        @if let Some(image) = &og_image {
            meta property="og:image" content=(image);
        }
    };
    let PageLinks { first, next } = PageLinks::of(&path, &listing, &products);
    let main = html! {
        // Where the `og:image` tag would be in the page, had it one.
        @if og_image.is_none() { (MARKER) }
        (document::breadcrumbs(&[], &collection.title, &breadcrumbs_json_ld))
        header class="listing-header" {
            h1 { (Text(&collection.title)) }
            div class="collection-description" { (PreEscaped(&collection.description_html)) }
        }
        div class="listing" {
            (filter_form(&path, &listing, &facets))
            div class="listing-results" {
                // Where "No more products here" would be.
                (MARKER)
                (document::card_buttons(frame.options))
                ul class="product-grid" { (PreEscaped(product_cards_html(&products.items, CardList::Main))) }
                nav aria-label="Pages" class="pagination" {
                    @if let Some(href) = &first {
                        a href=(href) { "← First page" }
                    } @else { (MARKER) }
                    @if let Some(href) = &next {
                        a href=(href) rel="next" data-testid="next-page" { "Next page →" }
                    } @else { (MARKER) }
                }
            }
        }
    };
    Some(document::page(&frame, collection.title.clone(), tags, main))
}

/// `browse::FilterForm`.
fn filter_form(path: &str, listing: &ListingParams, facets: &[(String, Vec<String>)]) -> Markup {
    let sort = listing.sort.clone().unwrap_or_default();
    let active = listing.active_filters();
    html! {
        details class="filter-drawer" {
            summary {
                "Filter and sort"
                @if active > 0 {
                    span class="filter-count" { (Text(&format!(" ({active})"))) }
                } @else { (MARKER) }
            }
            form method="get" action=(path) class="listing-filters" {
                fieldset class="filter-fields" {
                    legend { "Filter and sort" }
                    fieldset class="price-range" {
                        legend { "Price (€)" }
                        label { "From" input type="number" name="min" min="0" step="0.01" inputmode="decimal" value=(listing.min.as_deref().unwrap_or_default()); }
                        label { "To" input type="number" name="max" min="0" step="0.01" inputmode="decimal" value=(listing.max.as_deref().unwrap_or_default()); }
                    }
                    @for (name, values) in facets {
                        @let chosen = listing.options.iter().find_map(|o| {
                            o.split_once(':').filter(|(n, _)| n == name).map(|(_, v)| v)
                        });
                        @let id = format!("option-{}", name.to_lowercase());
                        div class="filter-field" {
                            label for=(id) { (Text(name)) }
                            select id=(id) name="option" {
                                option value="" { "Any" }
                                @for value in values {
                                    option value={ (name) ":" (value) } selected[chosen == Some(value.as_str())] { (Text(value)) }
                                }
                                (MARKER)
                            }
                        }
                    }
                    (MARKER)
                    label class="checkbox" {
                        input type="checkbox" name="in_stock" value="1" checked[listing.in_stock];
                        " In stock only"
                    }
                    div class="filter-field" {
                        label for="sort" { "Sort by" }
                        select id="sort" name="sort" {
                            @for (s, label) in Sort::ALL.iter() {
                                option value=(s.as_str()) selected[sort == s.as_str()] { (Text(label)) }
                            }
                            (MARKER)
                        }
                    }
                    div class="filter-actions" {
                        button type="submit" class="primary" { "Apply" }
                        a href=(path) { "Clear" }
                    }
                }
            }
        }
    }
}
