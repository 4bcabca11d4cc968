//! The pages written directly (`app::components::document`) are the pages Leptos renders: two
//! servers over one database, one of them `KASSA_DIRECT_PAGES=off`, asked for the same pages.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Backend, Options, TestApp};
use crate::on_both_databases;

on_both_databases!(
    the_product_page_written_directly_is_the_page_leptos_renders,
    the_collection_page_written_directly_is_the_page_leptos_renders,
    pages_are_left_to_leptos_when_they_are_not_found,
);

/// The shop, and the same shop whose product page Leptos renders.
async fn direct_and_leptos(backend: Backend) -> (TestApp, TestApp) {
    let direct = spawn_app(backend).await;
    let leptos = spawn_app_with(
        backend,
        Options {
            seed_demo: false,
            database_url: Some(direct.database_url.clone()),
            env: vec![("KASSA_DIRECT_PAGES", "off".to_string())],
            ..Options::default()
        },
    )
    .await;
    (direct, leptos)
}

/// The page at `path` from both servers, the same but for its nonce (new on every page); the
/// direct server's page.
async fn assert_same_page(
    direct: &TestApp,
    leptos: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut pages = Vec::new();
    for app in [direct, leptos] {
        let response = app.get_with(path, headers).await;
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].clone();
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let page = response.text().await.unwrap();
        let page = match nonce_of(&page) {
            Some(nonce) => {
                assert!(
                    policy.contains(&format!("'nonce-{nonce}'")),
                    "{path}: the policy names the page's nonce"
                );
                page.replace(&nonce, "NONCE")
            }
            None => page,
        };
        pages.push((status, content_type, page));
    }
    let (written, rendered) = (&pages[0], &pages[1]);
    assert_eq!(
        (written.0, &written.1),
        (rendered.0, &rendered.1),
        "{path}: status and type"
    );
    if written.2 != rendered.2 {
        let (a, b) = (&written.2, &rendered.2);
        let at = a
            .bytes()
            .zip(b.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let around = |s: &str| {
            let start = s.floor_char_boundary(at.saturating_sub(120));
            let end = s.ceil_char_boundary((at + 120).min(s.len()));
            s[start..end].to_string()
        };
        panic!(
            "{path}: the written page differs from Leptos's at byte {at}:\n  written: …{}…\n  leptos:  …{}…",
            around(a),
            around(b)
        );
    }
    written.2.clone()
}

/// The nonce of the page's first script, if it has one.
fn nonce_of(page: &str) -> Option<String> {
    let start = page.find("nonce=\"")? + 7;
    let end = start + page[start..].find('"')?;
    Some(page[start..end].to_string())
}

/// A product of another shape than the demo's, added by staff: text to escape, no options,
/// vendor, type, tags, collection or picture. The staff token, and the product's id.
async fn odd_product(app: &TestApp) -> (String, i64) {
    let (_, _, staff, _) = crate::admin_api::team(app).await;
    let (status, created) = crate::admin_api::send(
        app,
        "POST",
        "/api/v1/admin/products",        &staff,
        json!({
            "slug": "mugs-and-cups",
            "title": "Mugs & \"cups\" <b>bold</b>",
            "description": "Tea & \"coffee\", <i>hot</i>.",
            "status": "active",
            "options": [],
            "variants": [{"sku": "MUG-1", "options": [], "price": {"amount": 1250, "currency": "EUR"}, "stock": 2}],
            "vendor": null
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    (staff, created["id"].as_i64().unwrap())
}

async fn the_product_page_written_directly_is_the_page_leptos_renders(backend: Backend) {
    let (direct, leptos) = direct_and_leptos(backend).await;

    odd_product(&direct).await;

    let products = crate::catalog_api::all_items(&direct, "/api/v1/products?limit=50").await;
    assert!(products.len() > 100, "the demo's products and the new one");
    for product in &products {
        let slug = product["slug"].as_str().unwrap();
        let page = assert_same_page(&direct, &leptos, &format!("/products/{slug}"), &[]).await;
        assert!(
            page.contains("data-component=\"BuyBox_"),
            "{slug}: the buy box island"
        );
        assert!(nonce_of(&page).is_some(), "{slug}: the islands' script");
    }

    // A variant chosen, one of another product, options sent by the form without JavaScript,
    // a parameter given twice, and a query that is not one.
    let shirt = products
        .iter()
        .find(|p| p["variants"].as_array().unwrap().len() > 3)
        .expect("a product with several variants");
    let slug = shirt["slug"].as_str().unwrap();
    let variants: &Vec<Value> = shirt["variants"].as_array().unwrap();
    let other = products
        .iter()
        .find(|p| p["slug"] != shirt["slug"])
        .unwrap();
    let options: Vec<String> = variants[2]["options"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, value)| format!("option{}={}", i + 1, value.as_str().unwrap()))
        .collect();
    for query in [
        format!("variant={}", variants[1]["id"]),
        format!("variant={}", other["variants"][0]["id"]),
        format!("variant=abc&{}", options.join("&")),
        options[0].clone(),
        format!(
            "variant={}&variant={}",
            variants[1]["id"], variants[3]["id"]
        ),
        "variant=%FF%FE&x".to_string(),
        "%%%".to_string(),
    ] {
        let path = format!("/products/{slug}?{}", query.replace(' ', "+"));
        assert_same_page(&direct, &leptos, &path, &[]).await;
    }

    // Signed in: "Account" in the header.
    let cookie = signed_in_cookie(&direct).await;
    let page = assert_same_page(
        &direct,
        &leptos,
        &format!("/products/{slug}"),
        &[("Cookie", &cookie)],
    )
    .await;
    assert!(page.contains(r#"<a href="/account" class="account-link">Account</a>"#));
}

/// The session cookie of a shopper signed in.
async fn signed_in_cookie(shop: &TestApp) -> String {
    let token = crate::accounts::signed_in(shop, "ada@example.com").await;
    format!("{}={token}", app::accounts::COOKIE)
}

/// The address of a page's "Next page" link, if it has one.
fn next_page(page: &str) -> Option<String> {
    let end = page.find("\" rel=\"next\"")?;
    let start = page[..end].rfind("href=\"")? + 6;
    Some(page[start..end].replace("&amp;", "&"))
}

async fn the_collection_page_written_directly_is_the_page_leptos_renders(backend: Backend) {
    let (direct, leptos) = direct_and_leptos(backend).await;

    // A collection without a cover (its one product has no picture), with text to escape.
    let (staff, mug) = odd_product(&direct).await;
    let (status, created) = crate::admin_api::send(
        &direct,
        "POST",
        "/api/v1/admin/collections",
        &staff,
        json!({
            "slug": "cups",
            "title": "Cups & \"mugs\" <i>",
            "description": "For **tea** & \"coffee\".",
            "product_ids": [mug]
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");

    let (status, collections) = direct.json("/api/v1/collections").await;
    assert_eq!(status, 200, "{collections}");
    let slugs: Vec<&str> = collections["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&"cups") && slugs.len() > 3, "{slugs:?}");
    let queries = [
        "",
        "sort=newest",
        "sort=price-asc",
        "sort=price-desc",
        "sort=name",
        "sort=featured&in_stock=1",
        "min=10&max=50.5",
        "option=Size:M",
        "option=Colour:Navy&option=Size:L&in_stock=1&sort=price-desc",
        "option=size:m&min=+20+",
        "sort=newest&sort=name&in_stock=yes&utm_source=mail",
    ];
    for slug in &slugs {
        for query in queries {
            let path = format!("/collections/{slug}?{query}");
            let page = assert_same_page(&direct, &leptos, &path, &[]).await;
            // The next page, and the one after it.
            if let Some(next) = next_page(&page) {
                let page = assert_same_page(&direct, &leptos, &next, &[]).await;
                if let Some(next) = next_page(&page) {
                    assert_same_page(&direct, &leptos, &next, &[]).await;
                }
            }
        }
    }
    let page = assert_same_page(&direct, &leptos, "/collections/apparel", &[]).await;
    assert!(
        page.contains("data-component=\"CardButtons_"),
        "the add buttons' island"
    );
    assert!(next_page(&page).is_some(), "apparel has a second page");

    // Filters it refuses, a page past the last, no products left by the filters: the pages
    // that say so (Leptos's).
    for query in [
        "min=abc",
        "option=Size",
        "cursor=nonsense",
        "cursor=693a393930303a3131&sort=bogus",
        "option=Size:XXXL",
        "min=100000",
        "%%%",
        "min=%FF",
    ] {
        let path = format!("/collections/apparel?{query}");
        assert_same_page(&direct, &leptos, &path, &[]).await;
    }

    // Signed in: "Account" in the header.
    let cookie = signed_in_cookie(&direct).await;
    let page = assert_same_page(
        &direct,
        &leptos,
        "/collections/apparel?sort=name",
        &[("Cookie", &cookie)],
    )
    .await;
    assert!(page.contains(r#"<a href="/account" class="account-link">Account</a>"#));
}

async fn pages_are_left_to_leptos_when_they_are_not_found(backend: Backend) {
    let (direct, leptos) = direct_and_leptos(backend).await;
    for path in [
        "/products/no-such-product",
        "/products/%FF%FE",
        "/products/a%20b",
        "/products/everyday-organic-tee%00",
        "/collections/no-such-collection",
        "/collections/%FF",
        "/collections/apparel%20",
    ] {
        let response = direct.get(path).await;
        let status = response.status().as_u16();
        assert!(matches!(status, 400 | 404), "{path}: {status}");
        eprintln!(
            "{path}: {status} {:?}",
            response.headers().get("content-type")
        );
        if status == 404 {
            assert_same_page(&direct, &leptos, path, &[]).await;
        }
    }
}
