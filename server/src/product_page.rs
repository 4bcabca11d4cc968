//! `/products/{slug}`: the product page written directly (`app::catalog::product_document`),
//! without Leptos's frame around every page, and rendered by Leptos whenever it is not (a
//! product not found, an error, an address it does not read) or `KASSA_PRODUCT_PAGE=leptos`.

use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use leptos::prelude::*;
use leptos_axum::AxumRouteListing;

use app::accounts::Customer;
use app::catalog::memory::CatalogMemory;
use app::catalog::product_document::{self, ShopFrame};
use app::checkout::service::Checkout;
use app::db::Db;
use app::SiteUrl;

/// What the product page is written from: parts of the app's state.
pub struct Parts {
    pub db: Db,
    pub memory: CatalogMemory,
    pub site_url: SiteUrl,
    pub options: LeptosOptions,
    /// The shop's name.
    pub checkout: Checkout,
    /// `KASSA_PRODUCT_PAGE=leptos`.
    pub by_leptos: bool,
}

/// The product page's path among Leptos's routes.
const PATH: &str = "/products/{slug}";

/// Takes the product page out of Leptos's `routes` and answers it with [`product_page`]'s
/// route, which renders through Leptos as its route did (`SsrMode::Async`) when it must.
pub fn take_route<S: Clone + Send + Sync + 'static>(
    routes: &mut Vec<AxumRouteListing>,
    parts: Parts,
    context: impl Fn() + Clone + Send + Sync + 'static,
) -> (&'static str, MethodRouter<S>) {
    let before = routes.len();
    routes.retain(|route| route.path() != PATH);
    assert_eq!(routes.len() + 1, before, "Leptos has one route {PATH}");
    let options = parts.options.clone();
    let by_leptos = leptos_axum::render_app_async_with_context(
        move || {
            // As `leptos_routes_with_context` gives each route.
            provide_context(leptos_router::Method::Get);
            context();
        },
        move || app::shell(options.clone()),
    );
    // One reference count per request, not a copy of the options and the rest.
    let parts = Arc::new(parts);
    let route = get(move |request: Request| {
        let by_leptos = by_leptos.clone();
        let parts = parts.clone();
        async move {
            if !parts.by_leptos {
                if let Some(page) = product_page(&parts, Asked::of(&request)).await {
                    return page;
                }
            }
            by_leptos(request).await
        }
    });
    (PATH, route)
}

/// What the product page is asked with, read off the request (which is not `Sync`: a borrow
/// of it cannot be held across an `await`).
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

/// The page written directly, if it can be: a slug of plain characters (Leptos decodes any
/// other), a product that is found.
async fn product_page(parts: &Parts, asked: Asked) -> Option<Response> {
    let slug = asked.path.strip_prefix("/products/")?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
    if slug.is_empty() || !slug.chars().all(plain) {
        return None;
    }
    let shop_name = parts.checkout.shop_name();
    let frame = ShopFrame {
        options: &parts.options,
        site_url: &parts.site_url.0,
        shop_name: &shop_name,
        signed_in: asked.signed_in,
    };
    product_document::product_page(
        &parts.db,
        &parts.memory,
        frame,
        slug,
        asked.query.as_deref(),
    )
    .await
}
