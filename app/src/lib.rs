#![recursion_limit = "256"]
//! Kassa's shared leptos crate: every page, component and server function.
//! Compiled natively with `ssr` (the server renders every page) and to WASM with `hydrate`,
//! which carries only the interactive islands (`#[island]`): the cart, the add buttons and the
//! product buy box.

pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod cart;
pub mod catalog;
pub mod catalog_changes;
pub mod checkout;
pub mod components;
pub mod connectivity;
pub mod error;
pub mod html;
pub mod input;
pub mod money;
pub mod orders;
pub mod payments;
pub mod promotions;
pub mod returns;
pub mod support;
pub mod time;

#[cfg(feature = "ssr")]
pub mod cookies;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod inventory;
#[cfg(feature = "ssr")]
pub mod notifications;
#[cfg(feature = "ssr")]
pub mod openapi;
#[cfg(feature = "ssr")]
pub mod privacy;
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
                {(!on_admin_page()).then(|| view! { <IslandScripts options/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Whether this request is for the back office, whose pages carry no islands: they load
/// `/admin.js` and none of the shop's WASM.
fn on_admin_page() -> bool {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<axum::http::request::Parts>() {
        return admin::shell::is_admin_path(parts.uri.path());
    }
    false
}

#[cfg(feature = "ssr")]
static STYLESHEET: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Notes the stylesheet's address for pages written without Leptos (the secrets shown once):
/// the server calls this at start.
#[cfg(feature = "ssr")]
pub fn remember_stylesheet(options: &LeptosOptions) {
    let _ = STYLESHEET.set(stylesheet_href(options));
}

/// The parts of the WASM each lazy island needs (`cargo leptos build --split` lists them in its
/// manifest), as `/pkg/…` addresses, by the island's loader name (`buy_box_loader_<n>`).
#[cfg(feature = "ssr")]
static LAZY_PARTS: std::sync::OnceLock<Vec<(String, Vec<String>)>> = std::sync::OnceLock::new();

/// Reads the split manifest of the built site: the server calls this at start. A site built
/// without `--split` (or not built) has none, and pages then name no parts.
#[cfg(feature = "ssr")]
pub fn remember_lazy_parts(options: &LeptosOptions) {
    let pkg = options.site_pkg_dir.to_string();
    let path = std::path::Path::new(&*options.site_root)
        .join(&pkg)
        .join(format!("{}.json", split_file_stem(options, "manifest")));
    let manifest: std::collections::HashMap<String, Vec<String>> = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let parts = manifest
        .into_iter()
        .map(|(loader, files)| {
            let urls = files.iter().map(|f| format!("/{pkg}/{f}.wasm")).collect();
            (loader, urls)
        })
        .collect();
    let _ = LAZY_PARTS.set(parts);
}

/// Names the parts of the WASM a page's lazy island (`island`, in snake case: `buy_box`) will
/// ask for, in `data-lazy-parts`: the islands loader (`island_script.js`) starts fetching them
/// beside the main WASM, so they are not fetched only after it has started. Not
/// `<link rel="prefetch">`: Lighthouse counts those in the page's load (its simulated largest
/// paint went from 0.9–1.0 s to 1.6–2.0 s on the product, cart and checkout pages).
#[component]
pub fn PrefetchLazyIsland(island: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let urls = lazy_parts(island);
    #[cfg(not(feature = "ssr"))]
    let urls: Vec<String> = {
        let _ = island;
        Vec::new()
    };
    (!urls.is_empty()).then(|| view! { <div hidden data-lazy-parts=urls.join(" ")></div> })
}

/// The `/pkg/…` addresses of the parts of the WASM the lazy island `island` (in snake case:
/// `buy_box`) needs; none for a site built without `--split`.
#[cfg(feature = "ssr")]
pub(crate) fn lazy_parts(island: &str) -> Vec<String> {
    let prefix = format!("{island}_loader_");
    LAZY_PARTS
        .get()
        .and_then(|parts| parts.iter().find(|(loader, _)| loader.starts_with(&prefix)))
        .map(|(_, urls)| urls.clone())
        .unwrap_or_default()
}

/// The stylesheet's address (hashed in release builds), for pages written without Leptos.
#[cfg(feature = "ssr")]
pub fn stylesheet() -> &'static str {
    STYLESHEET.get().map_or("/pkg/kassa.css", String::as_str)
}

/// The stylesheet's address, with the content hash cargo-leptos put in its name for release
/// builds, so it can be cached for a year.
fn stylesheet_href(options: &LeptosOptions) -> String {
    format!(
        "/{}/{}.css",
        options.site_pkg_dir,
        built_file_stem(options, "css")
    )
}

/// The name of a file cargo-leptos built (`css`, `js` or `wasm`) without its extension: with the
/// content hash listed in `hash.txt` beside the server binary in release builds (read once).
fn built_file_stem(options: &LeptosOptions, kind: &str) -> String {
    let name = options.output_name.to_string();
    #[cfg(feature = "ssr")]
    if options.hash_files {
        static HASHES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
        let hashes = HASHES.get_or_init(|| {
            let read = || {
                let exe = std::env::current_exe().ok()?;
                std::fs::read_to_string(exe.parent()?.join(&*options.hash_file)).ok()
            };
            read()
                .unwrap_or_default()
                .lines()
                .filter_map(|line| {
                    let (kind, hash) = line.split_once(':')?;
                    Some((kind.trim().to_string(), hash.trim().to_string()))
                })
                .collect()
        });
        if let Some((_, hash)) = hashes.iter().find(|(k, _)| k == kind) {
            return format!("{name}.{hash}");
        }
    }
    // Unhashed, wasm-bindgen names the WASM `<name>_bg` unless cargo-leptos chose the name.
    if kind == "wasm" && option_env!("LEPTOS_OUTPUT_NAME").is_none() {
        return format!("{name}_bg");
    }
    name
}

/// The names (without extension) of the two files `cargo leptos build --split` adds beside the
/// WASM: the loader of the lazy islands' parts (`split`, JavaScript) and the list of the parts
/// each lazy island needs (`manifest`, JSON). With the content hash of release builds.
fn split_file_stem(options: &LeptosOptions, kind: &str) -> String {
    let hashed = built_file_stem(options, kind);
    let hash = hashed
        .strip_prefix(&*options.output_name)
        .and_then(|rest| rest.strip_prefix('.'));
    match (kind, hash) {
        ("split", Some(hash)) => format!("__wasm_split.{hash}"),
        ("manifest", Some(hash)) => format!("__wasm_split_manifest.{hash}"),
        ("split", None) => "__wasm_split.______________________".to_string(),
        _ => "__wasm_split_manifest".to_string(),
    }
}

/// What leptos's `HydrationScripts` puts in the head for islands, but for the order of
/// downloads: the WASM is not preloaded, and the loader fetches it once the page is idle. The
/// islands only make the page interactive (it works without them), and a quarter-megabyte of
/// WASM preloaded beside the first product picture, even at low priority, became the largest
/// paint's wait on a slow connection (Lighthouse's simulated LCP 2.5 s; 1.1 s without it).
#[component]
fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    let IslandLoader {
        module,
        wasm,
        split,
        manifest,
        script,
    } = IslandLoader::new(&options);
    // As `HydrationScripts` does in islands mode: the islands hydrate themselves.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let nonce = leptos::nonce::use_nonce();
    view! {
        <link rel="modulepreload" href=module fetchpriority="low"/>
        // The `data-` addresses fetch nothing: they name the WASM, the lazy islands' loader and
        // their list of parts in the page for the service worker, which keeps every `/pkg/…`
        // file a cart page names, and every part that list names, for offline use
        // (public/sw.js).
        <script
            type="module"
            nonce=nonce
            data-wasm=wasm
            data-split=split
            data-split-manifest=manifest
        >
            {script}
        </script>
    }
}

/// What [`IslandScripts`] writes: the addresses of the built files and Leptos's islands loader.
pub(crate) struct IslandLoader {
    /// The JavaScript module, preloaded.
    pub module: String,
    pub wasm: String,
    /// The lazy islands' loader.
    pub split: String,
    /// The list of parts each lazy island needs.
    pub manifest: String,
    /// The loader, called as `HydrationScripts` calls it (no root: the site is served from `/`).
    pub script: String,
}

impl IslandLoader {
    pub fn new(options: &LeptosOptions) -> IslandLoader {
        let pkg = options.site_pkg_dir.to_string();
        let js = built_file_stem(options, "js");
        let wasm = built_file_stem(options, "wasm");
        IslandLoader {
            module: format!("/{pkg}/{js}.js"),
            wasm: format!("/{pkg}/{wasm}.wasm"),
            split: format!("/{pkg}/{}.js", split_file_stem(options, "split")),
            manifest: format!("/{pkg}/{}.json", split_file_stem(options, "manifest")),
            script: format!(
                "{}(\"\", {pkg:?}, {js:?}, {wasm:?});",
                include_str!("island_script.js")
            ),
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Read here, where the request's context is: the formatter may run outside it.
    let shop = components::shop_name();

    view! {
        <Title formatter=move |title| components::document_title(title, &shop)/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Router>
            <Layout/>
        </Router>
    }
}

/// The pages, in the shop's frame (header, cart, footer) or the back office's (sidebar, top bar
/// with search): the admin is a different place, not the shop with more links.
#[component]
fn Layout() -> impl IntoView {
    let admin = leptos_router::hooks::use_location()
        .pathname
        .with_untracked(|path| admin::shell::is_admin_path(path));
    // Pages that load data (`components::when_loaded`) render in order (`SsrMode::Async`): the
    // HTML is complete without JavaScript and for search engines, and no out-of-order swap
    // script (which would lack the page's CSP nonce) is needed.
    let routes = view! {
        <Routes fallback=components::NotFound>
            <Route path=path!("") view=catalog::HomePage ssr=SsrMode::Async/>
            <Route path=path!("/collections/:slug") view=catalog::CollectionPage ssr=SsrMode::Async/>
            <Route path=path!("/products/:slug") view=catalog::ProductPage ssr=SsrMode::Async/>
            <Route path=path!("/search") view=catalog::SearchPage ssr=SsrMode::Async/>
            <Route path=path!("/cart") view=cart::CartPage/>
            <Route path=path!("/checkout") view=checkout::CheckoutPage ssr=SsrMode::Async/>
            <Route path=path!("/orders/:token") view=orders::OrderPage ssr=SsrMode::Async/>
            <Route path=path!("/account/sign-in") view=accounts::AccountSignInPage/>
            <Route path=path!("/account") view=accounts::AccountPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/sign-in") view=admin::SignInPage/>
            <Route path=path!("/admin") view=admin::AdminDashboardPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/search") view=admin::AdminSearchPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/inventory") view=admin::AdminInventoryPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/settings") view=admin::AdminSettingsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/privacy") view=admin::AdminPrivacyPage/>
            <Route path=path!("/newsletter") view=promotions::newsletter::NewsletterPage/>
            <Route path=path!("/contact") view=support::pages::ContactPage/>
            <Route path=path!("/support/:token") view=support::pages::SupportPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/saved-replies") view=admin::AdminSavedRepliesPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/returns") view=admin::AdminReturnsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/analytics") view=admin::analytics::AdminAnalyticsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/returns/:rma") view=admin::AdminReturnPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/support") view=admin::AdminSupportPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/support/:conversation") view=admin::AdminSupportConversationPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/newsletter") view=admin::AdminNewsletterPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/discounts") view=admin::AdminDiscountsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/gift-cards") view=admin::AdminGiftCardsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/newsletter/campaigns") view=admin::AdminCampaignsPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/newsletter/campaigns/:campaign") view=admin::AdminCampaignPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/gift-cards/:card") view=admin::AdminGiftCardPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/discounts/:discount") view=admin::AdminDiscountPage ssr=SsrMode::Async/>
            <Route path=path!("/admin/security") view=admin::AdminSecurityPage ssr=SsrMode::Async/>
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
    };
    if admin {
        view! { <admin::AdminShell>{routes}</admin::AdminShell> }.into_any()
    } else {
        view! {
            <components::Header/>
            <main id="main">{routes}</main>
            <components::Footer/>
        }
        .into_any()
    }
}

/// The browser entry point: hydrate every island on the page. Pages are rendered on the server;
/// only islands (the cart, add buttons, the product buy box) ship code to the browser.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
    connectivity::browser::register_service_worker();
}
