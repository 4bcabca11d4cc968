use crate::helpers::{
    breadcrumb_list_of, breadcrumbs_of, spawn_app, spawn_app_with_page_cache, Backend,
};
use crate::on_both_databases;

async fn the_home_page_is_server_rendered_with_products(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    // Readable without JavaScript: names, prices and links are in the HTML itself.
    assert!(
        html.contains("Everyday Organic Tee"),
        "product name missing"
    );
    assert!(html.contains("€24.00"), "price missing");
    assert!(
        html.contains(r#"href="/products/everyday-organic-tee""#),
        "product link missing"
    );
    assert!(html.contains(r#"data-testid="cart-count""#));
    let cards = html.matches(r#"data-testid="product-card""#).count();
    assert_eq!(cards, app::catalog::HOME_PAGE_SIZE as usize);
}

async fn a_product_page_shows_its_variants(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/products/ridge-fleece-hoodie").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Ridge Fleece Hoodie</h1>"), "{html}");
    assert!(html.contains("Forest / XS"));
    assert!(html.contains("€79.00"));
    // Markdown is rendered on the server.
    assert!(html.contains("<strong>Care:</strong>"));
}

async fn a_product_page_tells_search_engines_what_it_sells(backend: Backend) {
    let app = spawn_app(backend).await;
    let html = app
        .get("/products/ridge-fleece-hoodie")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<title>Ridge Fleece Hoodie · Kassa</title>"),
        "title"
    );
    assert!(
        html.contains(
            r#"<link href="http://127.0.0.1:0/products/ridge-fleece-hoodie" rel="canonical">"#
        ),
        "canonical"
    );
    assert!(
        html.contains(r#"<meta property="og:title" content="Ridge Fleece Hoodie""#),
        "og:title"
    );
    assert!(
        html.contains(
            r#"<meta property="og:image" content="http://127.0.0.1:0/demo/hoodie-forest.svg""#
        ),
        "og:image"
    );
    assert!(
        html.contains(r#"<meta name="description" content="Brushed-back fleece"#),
        "description"
    );
    assert_eq!(
        html.matches(r#"<meta name="description""#).count(),
        1,
        "one description"
    );

    let start = html
        .find(r#"<script type="application/ld+json">"#)
        .expect("JSON-LD")
        + 35;
    let end = start + html[start..].find("</script>").unwrap();
    let json: serde_json::Value = serde_json::from_str(&html[start..end]).expect("valid JSON-LD");
    assert_eq!(json["@type"], "Product");
    assert_eq!(json["name"], "Ridge Fleece Hoodie");
    let offers = json["offers"].as_array().unwrap();
    assert_eq!(offers.len(), 15);
    assert_eq!(offers[0]["price"], "79.00");
    assert_eq!(offers[0]["priceCurrency"], "EUR");

    // Breadcrumbs lead back through the product's first collection, for shoppers and for
    // search engines alike.
    let crumbs = breadcrumbs_of(&html);
    assert_eq!(
        crumbs,
        [
            r#"<li><a href="/">Shop</a></li>"#,
            r#"<li><a href="/collections/apparel">Apparel</a></li>"#,
            r#"<li><span aria-current="page">Ridge Fleece Hoodie</span></li>"#,
        ]
    );
    let trail = breadcrumb_list_of(&html);
    assert_eq!(
        trail,
        [
            ("Shop", "http://127.0.0.1:0/"),
            ("Apparel", "http://127.0.0.1:0/collections/apparel"),
            (
                "Ridge Fleece Hoodie",
                "http://127.0.0.1:0/products/ridge-fleece-hoodie"
            ),
        ]
        .map(|(name, url)| (name.to_string(), url.to_string()))
    );

    // Staff can give search engines a title and description of their own.
    sqlx::query("UPDATE products SET seo_title = $1, seo_description = $2 WHERE slug = $3")
        .bind("Warm fleece hoodie for hiking")
        .bind("A fleece hoodie that keeps you warm on the trail.")
        .bind("ridge-fleece-hoodie")
        .execute(app.db.pool())
        .await
        .unwrap();
    let html = app
        .get("/products/ridge-fleece-hoodie")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<title>Warm fleece hoodie for hiking · Kassa</title>"),
        "seo title"
    );
    assert!(html.contains(r#"<meta name="description" content="A fleece hoodie that keeps you warm on the trail.">"#), "seo description");
    assert!(
        html.contains("<h1>Ridge Fleece Hoodie</h1>"),
        "the page itself keeps its title"
    );
}

async fn unknown_addresses_get_a_real_404(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/no-such-page", "/products/no-such-product"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Page not found"), "{path}");
    }
}

async fn archived_products_are_not_shown(backend: Backend) {
    let app = spawn_app(backend).await;
    sqlx::query("UPDATE products SET status = 'archived' WHERE slug = $1")
        .bind("everyday-organic-tee")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        app.get("/products/everyday-organic-tee").await.status(),
        404
    );
    let html = app.get("/").await.text().await.unwrap();
    assert!(!html.contains("Everyday Organic Tee"));
}

async fn static_files_are_cached_and_pages_are_compressed(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/demo/mug-cream.svg").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=86400");

    let response = app.get_with("/", &[("accept-encoding", "br")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "br");
    assert_eq!(response.headers()["cache-control"], "no-cache");
}

async fn catalog_pages_are_served_from_the_page_cache(backend: Backend) {
    let app = spawn_app_with_page_cache(backend).await;
    let get = |path: &'static str, encoding: &'static str| {
        let app = &app;
        async move {
            let response = app.get_with(path, &[("accept-encoding", encoding)]).await;
            let outcome = response
                .headers()
                .get("x-kassa-cache")
                .map(|v| v.to_str().unwrap().to_string());
            let content_encoding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_string());
            (response.status().as_u16(), outcome, content_encoding)
        }
    };
    assert_eq!(
        get("/products/stoneware-mug", "br").await,
        (200, Some("miss".into()), Some("br".into()))
    );
    assert_eq!(
        get("/products/stoneware-mug", "gzip, br").await,
        (200, Some("hit".into()), Some("br".into()))
    );
    // A hit is answered before the other layers run: it carries the security headers they set
    // when the page was rendered, but not the id of the request that rendered it.
    let hit = app
        .get_with("/products/stoneware-mug", &[("accept-encoding", "br")])
        .await;
    assert_eq!(hit.headers()["x-kassa-cache"], "hit");
    assert_eq!(hit.headers()["x-content-type-options"], "nosniff");
    assert_eq!(hit.headers()["cache-control"], "no-cache");
    let policy = hit.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self' 'nonce-"), "{policy}");
    assert!(hit.headers().get("x-request-id").is_none());
    // Each encoding is cached on its own.
    assert_eq!(
        get("/products/stoneware-mug", "gzip").await,
        (200, Some("miss".into()), Some("gzip".into()))
    );
    assert_eq!(
        get("/products/stoneware-mug", "identity").await.1,
        Some("miss".into())
    );

    // While cached, a change in the database is not seen…
    sqlx::query("UPDATE products SET status = 'archived' WHERE slug = 'stoneware-mug'")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(get("/products/stoneware-mug", "br").await.0, 200);
    // …but shoppers with cookies, the API and the cart are never served from the cache.
    let response = app
        .get_with("/products/stoneware-mug", &[("cookie", "a=b")])
        .await;
    assert_eq!(response.status(), 404);
    assert!(response.headers().get("x-kassa-cache").is_none());
    assert_eq!(get("/api/v1/products/stoneware-mug", "br").await.1, None);
    assert_eq!(get("/cart", "br").await.1, None);
}

on_both_databases!(
    catalog_pages_are_served_from_the_page_cache,
    the_home_page_is_server_rendered_with_products,
    a_product_page_shows_its_variants,
    a_product_page_tells_search_engines_what_it_sells,
    unknown_addresses_get_a_real_404,
    archived_products_are_not_shown,
    static_files_are_cached_and_pages_are_compressed,
);
