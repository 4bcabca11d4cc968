//! UI pieces used by several features.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::cart::CartCount;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="/">"Kassa"</a>
            <nav aria-label="Main">
                <a href="/collections/apparel">"Apparel"</a>
                <a href="/collections/accessories">"Accessories"</a>
                <a href="/collections/home">"Home"</a>
                <a href="/collections/sale">"Sale"</a>
            </nav>
            <form class="header-search" action="/search" method="get" role="search">
                <label for="header-q" class="visually-hidden">"Search products"</label>
                <input id="header-q" type="search" name="q" placeholder="Search"/>
            </form>
            <CartCount/>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>"Kassa · an open-source shop"</p>
        </footer>
    }
}

/// The page for any address the shop does not know; answers with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"We could not find that page. It may have moved, or the link may be mistyped."</p>
            <p><a href="/">"Back to the shop"</a></p>
        </section>
    }
}
