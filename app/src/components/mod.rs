//! UI pieces used by several features.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::cart::CartCount;

#[cfg(feature = "ssr")]
pub mod document;

/// A server-rendered page's content, rendered once its data has arrived.
///
/// Pages are rendered only on the server (the browser hydrates islands alone), so they await
/// their data in place rather than through a `Resource` inside `<Suspense>`: under parallel load
/// leptos 0.8's Suspense occasionally lost its wake-up and the response never finished (seen in
/// about one test run in five with the suite running in parallel; never with this). The view is
/// rendered under the page's owner, so `<Title>`, `<Meta>` and the response status still work.
pub fn when_loaded<V>(
    content: impl std::future::Future<Output = V> + Send + 'static,
) -> impl IntoView
where
    V: IntoView + 'static,
{
    Suspend::new(async move { leptos::tachys::reactive_graph::OwnedView::new(content.await) })
}

/// The document's title for a page's `<Title text=…>`: "… · Kassa", the formatter of every
/// title (set once, in `App`; a page must not set its own).
///
/// leptos_meta 0.8 writes the title into the server-rendered `<head>` as it is, unescaped: a
/// title holding `</title>` would end the element and the rest would be read as markup (a
/// `<meta http-equiv=refresh>` redirects the shopper elsewhere). Titles come from input (a
/// search, a product title staff typed), so on the server the title is escaped here. In the
/// browser a title is set as text and needs no escaping.
pub fn document_title(title: String, shop: &str) -> String {
    let title = if title.is_empty() {
        shop.to_string()
    } else {
        format!("{title} · {shop}")
    };
    if cfg!(feature = "ssr") {
        escape_html(&title)
    } else {
        title
    }
}

/// What the shop calls itself, from its settings ("Kassa" until its owner names it).
pub fn shop_name() -> String {
    #[cfg(feature = "ssr")]
    if let Some(checkout) = use_context::<crate::checkout::service::Checkout>() {
        return checkout.shop_name();
    }
    "Kassa".to_string()
}

pub use crate::html::escape_html;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            // On a phone the links fold into a menu (a `<details>`, so it opens without
            // JavaScript); from a tablet up they sit in the header. CSS shows one or the other.
            <details class="menu-drawer">
                <summary>"Menu"</summary>
                <nav aria-label="Main">
                    <MainLinks/>
                    <AccountLink/>
                </nav>
            </details>
            <a class="brand" href="/">{shop_name()}</a>
            <nav class="main-nav" aria-label="Main">
                <MainLinks/>
            </nav>
            <form class="header-search" action="/search" method="get" role="search">
                <label for="header-q" class="visually-hidden">"Search products"</label>
                <input id="header-q" type="search" name="q" placeholder="Search"/>
            </form>
            <AccountLink/>
            <CartCount/>
        </header>
    }
}

/// Where a page sits in the shop: "Shop › Apparel › Ridge Fleece Hoodie". `trail` holds the
/// pages between the shop's home and this one (a name and a path each); `current` is this page,
/// marked as such for screen readers. `json_ld` is the same trail for search engines (see
/// `catalog::seo::breadcrumbs_json_ld`).
#[component]
pub fn Breadcrumbs(
    trail: Vec<(String, String)>,
    current: String,
    json_ld: String,
) -> impl IntoView {
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <ol>
                <li><a href="/">{crate::catalog::BREADCRUMB_HOME}</a></li>
                {trail
                    .into_iter()
                    .map(|(name, href)| view! { <li><a href=href>{name}</a></li> })
                    .collect_view()}
                <li><span aria-current="page">{current}</span></li>
            </ol>
        </nav>
        <script type="application/ld+json" inner_html=json_ld></script>
    }
}

/// "Sign in", or "Account" for a signed-in shopper (whose pages are never cached for others).
#[component]
fn AccountLink() -> impl IntoView {
    match crate::accounts::signed_in() {
        Some(_) => view! { <a class="account-link" href="/account">"Account"</a> }.into_any(),
        None => view! { <a class="account-link" href="/account/sign-in">"Sign in"</a> }.into_any(),
    }
}

/// The shop's main collections, in the header and in the phone's menu.
#[component]
fn MainLinks() -> impl IntoView {
    view! {
        <a href="/collections/apparel">"Apparel"</a>
        <a href="/collections/accessories">"Accessories"</a>
        <a href="/collections/home">"Home"</a>
        <a href="/collections/sale">"Sale"</a>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <crate::promotions::newsletter::NewsletterSignUp/>
            <p><a href="/contact">"Contact us"</a></p>
            <p>{shop_name()}" · powered by Kassa, an open-source shop"</p>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_cannot_close_their_element() {
        assert_eq!(document_title(String::new(), "Kassa"), "Kassa");
        assert_eq!(
            document_title("Mugs & cups".into(), "Kassa"),
            "Mugs &amp; cups · Kassa"
        );
        assert_eq!(
            document_title(
                r#"</title><meta http-equiv="refresh" content='0'>"#.into(),
                "Kassa"
            ),
            "&lt;/title&gt;&lt;meta http-equiv=&quot;refresh&quot; content=&#39;0&#39;&gt; · Kassa"
        );
        // The shop's name is the owner's text, escaped the same way.
        assert_eq!(
            document_title("Mugs".into(), "Fjord </title> Fell"),
            "Mugs · Fjord &lt;/title&gt; Fell"
        );
    }
}
