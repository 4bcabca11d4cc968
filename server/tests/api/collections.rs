//! Collection pages, search pages and the files for search engines, on both databases.

use crate::helpers::{breadcrumb_list_of, breadcrumbs_of, spawn_app, Backend};
use crate::on_both_databases;

async fn a_collection_page_is_server_rendered_with_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/collections/apparel").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Apparel</h1>"));
    assert!(html.contains("Ridge Fleece Hoodie"));
    assert!(html.contains(r#"name="min""#) && html.contains(r#"name="option""#));
    assert!(html.contains(r#"value="Size:XL""#), "size filter offered");
    assert!(
        html.contains(r#"data-testid="next-page""#),
        "apparel has more than one page"
    );
    assert!(
        !html.contains(r#"product-title">Stoneware Mug<"#),
        "a mug is not apparel"
    );
    assert_eq!(
        breadcrumbs_of(&html),
        [
            r#"<li><a href="/">Shop</a></li>"#,
            r#"<li><span aria-current="page">Apparel</span></li>"#,
        ]
    );
    assert_eq!(
        breadcrumb_list_of(&html),
        [
            ("Shop".to_string(), "http://127.0.0.1:0/".to_string()),
            (
                "Apparel".to_string(),
                "http://127.0.0.1:0/collections/apparel".to_string()
            ),
        ]
    );
}

fn product_titles(html: &str) -> Vec<String> {
    html.split(r#"<h3 class="product-title">"#)
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .map(str::to_string)
        .collect()
}

async fn the_next_page_link_leads_to_the_following_products(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut path = "/collections/home?sort=name".to_string();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let html = app.get(&path).await.text().await.unwrap();
        let titles = product_titles(&html);
        assert!(!titles.is_empty(), "{path}");
        for title in &titles {
            assert!(!seen.contains(title), "{title} shown twice ({path})");
        }
        seen.extend(titles);
        let Some(start) = html
            .find(r#"rel="next""#)
            .and_then(|i| html[..i].rfind("href=\""))
        else {
            break;
        };
        let href = &html[start + 6..];
        path = href[..href.find('"').unwrap()].replace("&amp;", "&");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "name order across pages");
    assert!(seen.len() > 24, "more than one page: {}", seen.len());
}

async fn collection_filters_apply_from_the_url(backend: Backend) {
    let app = spawn_app(backend).await;
    let html = app
        .get("/collections/apparel?sort=price-desc&min=80")
        .await
        .text()
        .await
        .unwrap();
    let titles: Vec<&str> = html
        .split(r#"<h3 class="product-title">"#)
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .collect();
    assert!(
        titles.contains(&"Fisherman Rib Sweater"),
        "€99 sweater is above €80: {titles:?}"
    );
    assert!(
        !titles.contains(&"Everyday Organic Tee"),
        "€24 tee is below €80"
    );
    assert!(titles.len() >= 3);
    // A bad filter is a 400 page that says what is wrong, not a crash.
    let response = app.get("/collections/apparel?min=lots").await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("not an amount in EUR"));
    assert_eq!(
        app.get("/collections/no-such-collection").await.status(),
        404
    );
}

async fn the_search_page_lists_matches(backend: Backend) {
    let app = spawn_app(backend).await;
    let html = app.get("/search?q=candle").await.text().await.unwrap();
    assert!(html.contains("Cedar &amp; Smoke Candle") || html.contains("Cedar & Smoke Candle"));
    assert!(!html.contains("Ridge Fleece Hoodie"));
}

async fn sitemap_and_robots_list_what_search_engines_may_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/sitemap.xml").await;
    assert_eq!(response.status(), 200);
    let xml = response.text().await.unwrap();
    let products = xml.matches("/products/").count();
    assert_eq!(products, app::catalog::demo::demo_product_count());
    assert!(xml.contains("/collections/apparel</loc>"));
    sqlx::query("UPDATE products SET status = 'draft' WHERE slug = 'stoneware-mug'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let xml = app.get("/sitemap.xml").await.text().await.unwrap();
    assert!(
        !xml.contains("/products/stoneware-mug<"),
        "drafts are not listed"
    );

    let robots = app.get("/robots.txt").await.text().await.unwrap();
    assert!(
        robots.contains("Sitemap: http://127.0.0.1:0/sitemap.xml")
            || robots.contains("/sitemap.xml")
    );
    assert!(robots.contains("Disallow: /cart"));
}

on_both_databases!(
    a_collection_page_is_server_rendered_with_filters,
    collection_filters_apply_from_the_url,
    the_next_page_link_leads_to_the_following_products,
    the_search_page_lists_matches,
    sitemap_and_robots_list_what_search_engines_may_read,
);
