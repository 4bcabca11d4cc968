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

/// The text of a page's empty state, tags removed, or `None` when the page shows products.
fn empty_state_of(html: &str) -> Option<String> {
    let start = html.find(r#"data-testid="empty-state""#)?;
    let end = start + html[start..].find("</section>").unwrap();
    let mut text = String::new();
    let mut in_tag = true;
    for c in html[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text)
}

async fn empty_pages_say_why_and_where_to_go_instead(backend: Backend) {
    let app = spawn_app(backend).await;
    // Filters that match nothing: say so and offer the page without them (the sort stays).
    let html = app
        .get("/collections/apparel?min=100000&sort=name")
        .await
        .text()
        .await
        .unwrap();
    let text = empty_state_of(&html).expect("an empty state");
    assert!(text.contains("No products match these filters"), "{text}");
    assert!(
        html.contains(r#"<a href="/collections/apparel?sort=name">Clear the filters</a>"#),
        "a link without the filters"
    );

    // A collection with nothing in it.
    sqlx::query(
        "INSERT INTO collections (slug, title, created_at, updated_at) VALUES ('winter', 'Winter', 0, 0)",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let html = app.get("/collections/winter").await.text().await.unwrap();
    let text = empty_state_of(&html).expect("an empty state");
    assert!(text.contains("Nothing here yet"), "{text}");
    assert!(html.contains(r#"<a href="/">See everything in the shop</a>"#));

    // A search without matches suggests what to try, and collections to browse.
    let html = app.get("/search?q=zebra").await.text().await.unwrap();
    let text = empty_state_of(&html).expect("an empty state");
    assert!(text.contains("No results for “zebra”"), "{text}");
    assert!(text.contains("Check the spelling"), "{text}");
    assert!(
        html.contains(r#"<a href="/collections/apparel">Apparel</a>"#),
        "a collection to browse"
    );

    // Pages with products have no empty state.
    for path in ["/collections/apparel", "/search?q=candle"] {
        let html = app.get(path).await.text().await.unwrap();
        assert_eq!(empty_state_of(&html), None, "{path}");
    }
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
    empty_pages_say_why_and_where_to_go_instead,
    sitemap_and_robots_list_what_search_engines_may_read,
);
