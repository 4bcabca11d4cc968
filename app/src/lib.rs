#![recursion_limit = "256"]
//! Kassa's shared leptos crate: every page, component and server function.
//! Compiled natively with `ssr` (the server renders every page) and to WASM with `hydrate`,
//! which carries only the interactive islands (`#[island]`): the cart, the add buttons and the
//! product buy box.

pub mod admin;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod components;
pub mod connectivity;
pub mod error;
pub mod input;
pub mod money;
pub mod orders;
pub mod payments;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod inventory;
#[cfg(feature = "ssr")]
pub mod notifications;
#[cfg(feature = "ssr")]
pub mod openapi;
#[cfg(feature = "ssr")]
pub mod write_queue;

/// The address shoppers use (`KASSA_PUBLIC_URL`), without a trailing slash: for canonical
/// links, sitemaps and emails.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct SiteUrl(pub String);

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <link rel="stylesheet" id="kassa" href=stylesheet_href(&options)/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The stylesheet's address, with the content hash cargo-leptos put in its name for release
/// builds (listed in `hash.txt` beside the server binary), so it can be cached for a year.
fn stylesheet_href(options: &LeptosOptions) -> String {
    let base = format!("/{}/{}", options.site_pkg_dir, options.output_name);
    #[cfg(feature = "ssr")]
    if options.hash_files {
        static CSS_HASH: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let hash = CSS_HASH.get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let hashes = std::fs::read_to_string(exe.parent()?.join(&*options.hash_file)).ok()?;
            hashes.lines().find_map(|line| {
                let (kind, hash) = line.split_once(':')?;
                (kind.trim() == "css").then(|| hash.trim().to_string())
            })
        });
        if let Some(hash) = hash {
            return format!("{base}.{hash}.css");
        }
    }
    format!("{base}.css")
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=components::document_title/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Router>
            <components::Header/>
            <main id="main">
                // Pages that load data (`components::when_loaded`) render in order
                // (`SsrMode::Async`): the HTML is complete without JavaScript and for search
                // engines, and no out-of-order swap script (which would lack the page's CSP
                // nonce) is needed.
                <Routes fallback=components::NotFound>
                    <Route path=path!("") view=catalog::HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/collections/:slug") view=catalog::CollectionPage ssr=SsrMode::Async/>
                    <Route path=path!("/products/:slug") view=catalog::ProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/search") view=catalog::SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/cart") view=cart::CartPage/>
                    <Route path=path!("/checkout") view=checkout::CheckoutPage/>
                    <Route path=path!("/orders/:token") view=orders::OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/sign-in") view=admin::SignInPage/>
                    <Route path=path!("/admin") view=admin::AdminDashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders") view=admin::AdminOrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders/:number") view=admin::AdminOrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders/:number/packing-slip") view=admin::PackingSlipPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/variants/:variant") view=admin::AdminVariantPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products") view=admin::AdminProductsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products/:product") view=admin::AdminProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/collections") view=admin::AdminCollectionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/import") view=admin::AdminImportPage/>
                    <Route path=path!("/admin/staff") view=admin::AdminStaffPage/>
                    <Route path=path!("/admin/import/:job") view=admin::AdminImportJobPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <components::Footer/>
        </Router>
    }
}

/// The browser entry point: hydrate every island on the page. Pages are rendered on the server;
/// only islands (the cart, add buttons, the product buy box) ship code to the browser.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
    connectivity::browser::register_service_worker();
}
