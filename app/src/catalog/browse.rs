//! Browsing the catalog: collection pages with filters, sorting and pages, and search.
//! Filters are a plain GET form: a new server-rendered page per choice, with or without
//! JavaScript (and no form-handling code in the WASM); links between pages are routed in place.

use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};
use leptos_router::params::ParamsMap;

use super::pages::ProductGrid;
use super::query::{ListingParams, ProductList, Sort};
use super::{
    collection_page, featured_collections, search_products, CollectionPageData, CollectionSummary,
};
use crate::components::{when_loaded, Breadcrumbs, NotFound};
use crate::error::AppError;

fn listing_params(map: &ParamsMap) -> ListingParams {
    listing_params_of(|key| map.get_all(key).unwrap_or_default())
}

/// The listing's parameters of an address, given each parameter's values in order
/// (`get_all`).
pub(super) fn listing_params_of(get_all: impl Fn(&str) -> Vec<String>) -> ListingParams {
    const KEYS: [&str; 7] = ["q", "min", "max", "option", "in_stock", "sort", "cursor"];
    let pairs: Vec<(&str, String)> = KEYS
        .iter()
        .flat_map(|key| get_all(key).into_iter().map(move |v| (*key, v)))
        .collect();
    ListingParams::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
}

#[component]
pub fn CollectionPage() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("slug")
        .unwrap_or_default();
    let listing = listing_params(&use_query_map().read_untracked());
    when_loaded(async move {
        match collection_page(slug, listing.query_string()).await {
            Ok(data) => view! { <CollectionView data listing/> }.into_any(),
            Err(AppError::NotFound(_)) => view! { <NotFound/> }.into_any(),
            Err(error) => view! { <ListingError error/> }.into_any(),
        }
    })
}

#[component]
fn ListingError(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = axum::http::StatusCode::from_u16(error.status()) {
            response.set_status(status);
        }
    }
    view! {
        <section class="listing-error">
            <p class="error" role="alert">{error.to_string()}</p>
            <p><a href="?">"Clear the filters"</a></p>
        </section>
    }
}

#[component]
fn CollectionView(data: CollectionPageData, listing: ListingParams) -> impl IntoView {
    let CollectionPageData {
        collection,
        url,
        breadcrumbs_json_ld,
        facets,
        products,
    } = data;
    let path = format!("/collections/{}", collection.slug);
    let CollectionHead { summary, og_image } = CollectionHead::of(&collection, &url);
    view! {
        <Title text=collection.title.clone()/>
        <Meta name="description" content=summary.clone()/>
        <Link rel="canonical" href=url.clone()/>
        <Meta property="og:type" content="website"/>
        <Meta property="og:title" content=collection.title.clone()/>
        <Meta property="og:description" content=summary/>
        <Meta property="og:url" content=url.clone()/>
        {og_image.map(|content| view! { <Meta property="og:image" content/> })}
        <Breadcrumbs trail=Vec::new() current=collection.title.clone() json_ld=breadcrumbs_json_ld/>
        <header class="listing-header">
            <h1>{collection.title.clone()}</h1>
            <div class="collection-description" inner_html=collection.description_html.clone()></div>
        </header>
        <div class="listing">
            <FilterForm action=path.clone() listing=listing.clone() facets/>
            <div class="listing-results">
                <Results products listing path when_empty=WhenEmpty::Collection/>
            </div>
        </div>
    }
}

/// What a collection page tells search engines and link previews beside its title.
pub(super) struct CollectionHead {
    /// The description's first words, as plain text.
    pub summary: String,
    /// The collection's cover (its first product's picture), if it has one: its absolute
    /// address.
    pub og_image: Option<String>,
}

impl CollectionHead {
    /// `url`: the collection's canonical address.
    pub fn of(collection: &CollectionSummary, url: &str) -> CollectionHead {
        let site = url.split("/collections/").next().unwrap_or_default();
        CollectionHead {
            summary: html_to_summary(&collection.description_html),
            og_image: collection
                .image
                .as_ref()
                .map(|image| format!("{site}{}", image.url)),
        }
    }
}

/// The first sentence-ish of an HTML description, as plain text for meta tags.
fn html_to_summary(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(160)
        .collect()
}

/// Filters and sort as a plain GET form. On a phone it folds into a "Filter and sort (2)"
/// drawer above the results (a `<details>`, so it opens without JavaScript); from a tablet up
/// it is always open, beside them.
#[component]
fn FilterForm(
    action: String,
    listing: ListingParams,
    facets: Vec<(String, Vec<String>)>,
) -> impl IntoView {
    let sort = listing.sort.clone().unwrap_or_default();
    let form_action = action.clone();
    let active = listing.active_filters();
    view! {
        <details class="filter-drawer">
            <summary>
                "Filter and sort"
                {(active > 0).then(|| view! { <span class="filter-count">{format!(" ({active})")}</span> })}
            </summary>
            <form method="get" action=form_action class="listing-filters">
                <fieldset class="filter-fields">
                    <legend>"Filter and sort"</legend>
                    <fieldset class="price-range">
                        <legend>"Price (€)"</legend>
                        <label>"From" <input type="number" name="min" min="0" step="0.01" inputmode="decimal" value=listing.min.clone().unwrap_or_default()/></label>
                        <label>"To" <input type="number" name="max" min="0" step="0.01" inputmode="decimal" value=listing.max.clone().unwrap_or_default()/></label>
                    </fieldset>
                    {facets.into_iter().map(|(name, values)| {
                        let chosen = listing.options.iter()
                            .find_map(|o| o.split_once(':').filter(|(n, _)| *n == name).map(|(_, v)| v.to_string()));
                        let id = format!("option-{}", name.to_lowercase());
                        view! {
                            <div class="filter-field">
                                <label for=id.clone()>{name.clone()}</label>
                                <select id=id name="option">
                                    <option value="">"Any"</option>
                                    {values.into_iter().map(|value| {
                                        let selected = chosen.as_deref() == Some(value.as_str());
                                        view! { <option value=format!("{name}:{value}") selected=selected>{value.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            </div>
                        }
                    }).collect_view()}
                    <label class="checkbox"><input type="checkbox" name="in_stock" value="1" checked=listing.in_stock/>" In stock only"</label>
                    <div class="filter-field">
                        <label for="sort">"Sort by"</label>
                        <select id="sort" name="sort">
                            {Sort::ALL.iter().map(|(s, label)| view! {
                                <option value=s.as_str() selected=sort == s.as_str()>{*label}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="filter-actions">
                        <button type="submit" class="primary">"Apply"</button>
                        <a href=action>"Clear"</a>
                    </div>
                </fieldset>
            </form>
        </details>
    }
}

/// What an empty page of results says, and where it sends the shopper instead.
#[derive(Clone)]
enum WhenEmpty {
    /// A collection with nothing (yet) for sale.
    Collection,
    /// A search without matches, with collections to browse instead.
    Search {
        text: String,
        suggestions: Vec<CollectionSummary>,
    },
}

#[component]
fn EmptyResults(when_empty: WhenEmpty, listing: ListingParams, path: String) -> impl IntoView {
    // Filters are the likeliest cause: say so first, and offer to drop them.
    if listing.is_filtered() {
        let without = ListingParams {
            min: None,
            max: None,
            options: Vec::new(),
            in_stock: false,
            cursor: None,
            ..listing
        };
        let query = without.to_query_string(None);
        let href = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        return view! {
            <section class="empty-state" data-testid="empty-state">
                <h2>"No products match these filters"</h2>
                <p><a href=href>"Clear the filters"</a></p>
            </section>
        }
        .into_any();
    }
    match when_empty {
        WhenEmpty::Collection => view! {
            <section class="empty-state" data-testid="empty-state">
                <h2>"Nothing here yet"</h2>
                <p>"This collection has no products for sale at the moment. "
                    <a href="/">"See everything in the shop"</a></p>
            </section>
        }
        .into_any(),
        WhenEmpty::Search { text, suggestions } => view! {
            <section class="empty-state" data-testid="empty-state">
                <h2>"No results for “" {text} "”"</h2>
                <p>"Check the spelling, try fewer or more general words, or search for a SKU."</p>
                {(!suggestions.is_empty()).then(|| view! {
                    <p>"Or browse a collection:"</p>
                    <ul class="suggestions">
                        {suggestions.into_iter().map(|c| view! {
                            <li><a href=format!("/collections/{}", c.slug)>{c.title}</a></li>
                        }).collect_view()}
                    </ul>
                })}
            </section>
        }
        .into_any(),
    }
}

/// The links from a page of results to the first page (from a later one) and to the next.
pub(super) struct PageLinks {
    pub first: Option<String>,
    pub next: Option<String>,
}

impl PageLinks {
    /// `path`: the listing's page, without a query.
    pub fn of(path: &str, listing: &ListingParams, products: &ProductList) -> PageLinks {
        PageLinks {
            first: listing
                .cursor
                .is_some()
                .then(|| format!("{path}?{}", listing.to_query_string(None))),
            next: products
                .next_cursor
                .as_deref()
                .map(|cursor| format!("{path}?{}", listing.to_query_string(Some(cursor)))),
        }
    }
}

#[component]
fn Results(
    products: ProductList,
    listing: ListingParams,
    path: String,
    when_empty: WhenEmpty,
) -> impl IntoView {
    if products.items.is_empty() && listing.cursor.is_none() {
        return view! { <EmptyResults when_empty listing path/> }.into_any();
    }
    let PageLinks { first, next } = PageLinks::of(&path, &listing, &products);
    // A page past the last (an old link): the way back to the first is below.
    let empty = products.items.is_empty();
    view! {
        {empty.then(|| view! { <p class="no-results">"No more products here."</p> })}
        <ProductGrid cards=products.items/>
        <nav class="pagination" aria-label="Pages">
            {first.map(|href| view! { <a href=href>"← First page"</a> })}
            {next.map(|href| view! { <a href=href rel="next" data-testid="next-page">"Next page →"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let listing = listing_params(&use_query_map().read_untracked());
    let text = listing.q.clone().unwrap_or_default();
    let title = if text.is_empty() {
        "Search".to_string()
    } else {
        format!("Search: {text}")
    };
    view! {
        <Title text=title/>
        <Meta name="robots" content="noindex"/>
        <h1>"Search"</h1>
        <form method="get" action="/search">
            <div class="search-form" role="search">
                <label for="search-q" class="visually-hidden">"Search products"</label>
                <input id="search-q" type="search" name="q" value=text placeholder="Search products, tags or SKUs"/>
                <button type="submit">"Search"</button>
            </div>
        </form>
        {when_loaded(async move {
            if listing.q.is_none() {
                return view! { <p>"Type a word to search the shop."</p> }.into_any();
            }
            match search_products(listing.query_string()).await {
                Ok(list) => {
                    // A search counts once, on its first page of results.
                    #[cfg(feature = "ssr")]
                    if listing.cursor.is_none() {
                        crate::analytics::http::mark_search_results(list.items.len());
                    }
                    // Only a search that found nothing asks for the collections to suggest.
                    let suggestions = if list.items.is_empty() {
                        featured_collections().await.unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    let when_empty = WhenEmpty::Search { text: listing.q.clone().unwrap_or_default(), suggestions };
                    view! { <Results products=list listing path="/search".to_string() when_empty/> }.into_any()
                }
                Err(error) => view! { <ListingError error/> }.into_any(),
            }
        })}
    }
}
