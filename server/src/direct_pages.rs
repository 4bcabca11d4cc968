//! The product and collection pages written in one pass (`app::components::document`), without
//! Leptos's frame around every page, each rendered by Leptos whenever it is not written (a page
//! not found, an error, an address it does not read) or `KASSA_DIRECT_PAGES=off`.

use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use leptos::prelude::*;
use leptos_axum::AxumRouteListing;

use app::accounts::Customer;
use app::catalog::memory::CatalogMemory;
use app::catalog::{collection_document, product_document};
use app::checkout::service::Checkout;
use app::components::document::{self, ShopFrame};
use app::db::Db;
use app::SiteUrl;

/// What the pages are written from: parts of the app's state.
pub struct Parts {
    pub db: Db,
    pub memory: CatalogMemory,
    pub site_url: SiteUrl,
    pub options: LeptosOptions,
    /// The shop's name, and its currency for price filters.
    pub checkout: Checkout,
    /// `KASSA_DIRECT_PAGES=off`: every page rendered by Leptos.
    pub off: bool,
}

/// The pages written here, by their path among Leptos's routes.
#[derive(Clone, Copy)]
enum Page {
    Product,
    Collection,
}

impl Page {
    const ALL: [Page; 2] = [Page::Product, Page::Collection];

    fn path(self) -> &'static str {
        match self {
            Page::Product => "/products/{slug}",
            Page::Collection => "/collections/{slug}",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Page::Product => "/products/",
            Page::Collection => "/collections/",
        }
    }
}

/// Takes the pages written here out of Leptos's `routes`, and gives their routes: the page
/// written here, or rendered by Leptos as its route did (`SsrMode::Async`) when it must be.
pub fn take_routes<S: Clone + Send + Sync + 'static>(
    routes: &mut Vec<AxumRouteListing>,
    parts: Parts,
    context: impl Fn() + Clone + Send + Sync + 'static,
) -> Vec<(&'static str, MethodRouter<S>)> {
    let options = parts.options.clone();
    let by_leptos = leptos_axum::render_app_async_with_context(
        move || {
            // As `leptos_routes_with_context` gives each route.
            provide_context(leptos_router::Method::Get);
            context();
        },
        move || app::shell(options.clone()),
    );
    let write_pages = !parts.off && document::writable();
    // One reference count per request, not a copy of the options and the rest.
    let parts = Arc::new(parts);
    Page::ALL
        .into_iter()
        .map(|page| {
            let before = routes.len();
            routes.retain(|route| route.path() != page.path());
            assert_eq!(
                routes.len() + 1,
                before,
                "Leptos has one route {}",
                page.path()
            );
            let by_leptos = by_leptos.clone();
            let parts = parts.clone();
            let route = get(move |request: Request| {
                let by_leptos = by_leptos.clone();
                let parts = parts.clone();
                async move {
                    if write_pages {
                        if let Some(written) = write(page, &parts, Asked::of(&request)).await {
                            return written;
                        }
                    }
                    by_leptos(request).await
                }
            });
            (page.path(), route)
        })
        .collect()
}

/// What a page is asked with, read off the request (which is not `Sync`: a borrow of it cannot
/// be held across an `await`).
struct Asked {
    path: String,
    query: Option<String>,
    signed_in: bool,
}

impl Asked {
    fn of(request: &Request) -> Asked {
        Asked {
            path: request.uri().path().to_string(),
            query: request.uri().query().map(str::to_string),
            signed_in: request.extensions().get::<Customer>().is_some(),
        }
    }
}

/// The page written here, if it can be: a slug of plain characters (Leptos decodes any other),
/// a query that is one, and what the page's writer accepts.
async fn write(page: Page, parts: &Parts, asked: Asked) -> Option<Response> {
    let slug = asked.path.strip_prefix(page.prefix())?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
    if slug.is_empty() || !slug.chars().all(plain) {
        return None;
    }
    let query = document::query_pairs(asked.query.as_deref())?;
    let shop_name = parts.checkout.shop_name();
    let frame = ShopFrame {
        options: &parts.options,
        site_url: &parts.site_url.0,
        shop_name: &shop_name,
        signed_in: asked.signed_in,
    };
    match page {
        Page::Product => {
            product_document::product_page(&parts.db, &parts.memory, frame, slug, &query).await
        }
        Page::Collection => {
            collection_document::collection_page(
                &parts.db,
                &parts.memory,
                &parts.checkout,
                frame,
                slug,
                &query,
            )
            .await
        }
    }
}
