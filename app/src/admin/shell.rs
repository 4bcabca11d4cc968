//! The back office's frame around every admin page: a sidebar of sections, a top bar with the
//! search over orders and products and the signed-in staff member. The shop's header, cart and
//! footer are not part of it. Its one script, `/admin.js` (keyboard shortcuts, "tick every
//! row"), is plain JavaScript loaded by admin pages only: the shoppers' WASM carries none of it.

use leptos::prelude::*;
use leptos_meta::Meta;
use leptos_router::hooks::use_location;

/// The sidebar's sections: the label and the path each leads to. A page belongs to the section
/// whose path starts its own (`/admin/orders/1001` is under Orders).
pub const SECTIONS: [(&str, &str); 13] = [
    ("Dashboard", "/admin"),
    ("Analytics", "/admin/analytics"),
    ("Orders", "/admin/orders"),
    ("Support", "/admin/support"),
    ("Products", "/admin/products"),
    ("Collections", "/admin/collections"),
    ("Inventory", "/admin/inventory"),
    ("Discounts", "/admin/discounts"),
    ("Newsletter", "/admin/newsletter"),
    ("Import", "/admin/import"),
    ("Staff", "/admin/staff"),
    ("Privacy", "/admin/privacy"),
    ("Settings", "/admin/settings"),
];

/// The section a page's path belongs to: the section path that is the path itself or a folder
/// above it (the dashboard, `/admin`, only itself). A variant's stock page
/// (`/admin/variants/…`) belongs to the inventory.
pub fn section_of(path: &str) -> Option<&'static str> {
    let path = path.trim_end_matches('/');
    let path = if path.starts_with("/admin/variants") {
        "/admin/inventory"
    } else if path.starts_with("/admin/returns") || path.starts_with("/admin/saved-replies") {
        // Returns are answered by the people who answer customers.
        "/admin/support"
    } else if path.starts_with("/admin/gift-cards") {
        // Gift cards sit with the discounts: both are promotions, and the sidebar stays short.
        "/admin/discounts"
    } else {
        path
    };
    SECTIONS
        .iter()
        .find(|(_, section)| {
            path == *section
                || (*section != "/admin"
                    && path
                        .strip_prefix(section)
                        .is_some_and(|rest| rest.starts_with('/')))
        })
        .map(|(_, section)| *section)
}

/// Whether a path is one of the back office's (the sign-in page included).
pub fn is_admin_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The staff member signed in for this request: the admin's guard checked the session and
/// left the account on the request.
fn signed_in() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<axum::http::request::Parts>()?;
        parts
            .extensions
            .get::<super::auth::Account>()
            .map(|account| account.email.clone())
    }
    #[cfg(not(feature = "ssr"))]
    None
}

#[component]
pub fn AdminShell(children: Children) -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    let current = section_of(&path);
    let staff = signed_in();
    let query = use_location().query.with_untracked(|q| q.get("q"));
    let searched = if path == "/admin/search" { query } else { None };
    view! {
        <Meta name="robots" content="noindex"/>
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="admin-shell">
            <aside class="admin-sidebar">
                <a class="admin-brand" href="/admin">"Kassa " <span>"admin"</span></a>
                {staff.is_some().then(|| view! {
                    <nav aria-label="Admin" data-testid="admin-sidebar">
                        <ul>
                            {SECTIONS.iter().map(|(label, href)| view! {
                                <li>
                                    <a href=*href aria-current=(current == Some(*href)).then_some("page")>{*label}</a>
                                </li>
                            }).collect_view()}
                        </ul>
                    </nav>
                })}
                {staff.is_some().then(|| view! { <Shortcuts/> })}
                <a class="admin-view-shop" href="/">"View the shop"</a>
            </aside>
            <div class="admin-body">
                {staff.map(|email| view! {
                    <header class="admin-topbar">
                        <form method="get" action="/admin/search" role="search" class="admin-search">
                            <label for="admin-q" class="visually-hidden">"Search orders and products"</label>
                            <input
                                id="admin-q"
                                type="search"
                                name="q"
                                value=searched.unwrap_or_default()
                                placeholder="Search orders, emails, products, SKUs"
                            />
                        </form>
                        <p class="admin-staff" data-testid="admin-staff"><a href="/admin/security" title="Security: two-factor authentication">{email}</a></p>
                        <form method="post" action="/admin/sign-out" class="inline">
                            <button type="submit" class="link">"Sign out"</button>
                        </form>
                    </header>
                })}
                <main id="main" class="admin-main">{children()}</main>
            </div>
        </div>
        <script src="/admin.js" type="module"></script>
    }
}

/// The keyboard shortcuts, listed where staff can find them (`?` opens the list).
#[component]
fn Shortcuts() -> impl IntoView {
    const KEYS: [(&str, &str); 7] = [
        ("/", "Search"),
        ("g d", "Dashboard"),
        ("g o", "Orders"),
        ("g p", "Products"),
        ("g c", "Collections"),
        ("g i", "Inventory"),
        ("?", "Show or hide this list"),
    ];
    view! {
        <details class="shortcuts" id="shortcuts">
            <summary>"Keyboard shortcuts"</summary>
            <dl>
                {KEYS.map(|(keys, does)| view! {
                    <div>
                        <dt>{keys.split(' ').map(|key| view! { <kbd>{key}</kbd> }).collect_view()}</dt>
                        <dd>{does}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_belongs_to_the_section_above_it() {
        assert_eq!(section_of("/admin"), Some("/admin"));
        assert_eq!(section_of("/admin/"), Some("/admin"));
        assert_eq!(section_of("/admin/orders"), Some("/admin/orders"));
        assert_eq!(
            section_of("/admin/orders/1001/packing-slip"),
            Some("/admin/orders")
        );
        assert_eq!(section_of("/admin/products/7"), Some("/admin/products"));
        assert_eq!(section_of("/admin/variants/12"), Some("/admin/inventory"));
        assert_eq!(section_of("/admin/import/abc"), Some("/admin/import"));
        // The search belongs to no section; a look-alike prefix is not a folder above.
        assert_eq!(section_of("/admin/search"), None);
        assert_eq!(section_of("/admin/ordersx"), None);
        assert_eq!(section_of("/shop"), None);
    }

    #[test]
    fn admin_paths_are_the_admin_folder() {
        assert!(is_admin_path("/admin"));
        assert!(is_admin_path("/admin/sign-in"));
        assert!(!is_admin_path("/administrator"));
        assert!(!is_admin_path("/products/admin"));
    }
}
