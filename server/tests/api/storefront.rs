use app::inventory::{AdjustReason, Movement};

use crate::helpers::{
    breadcrumb_list_of, breadcrumbs_of, move_stock, spawn_app, spawn_app_with_page_cache, Backend,
};
use crate::on_both_databases;
use sqlx::Row;

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

/// The radio buttons of one option's picker, as (value, checked, label class, label text).
fn picker_of(html: &str, option: usize) -> Vec<(String, bool, String, String)> {
    let name = format!(r#"name="option{option}""#);
    html.match_indices(&name)
        .map(|(at, _)| {
            let input_start = html[..at].rfind("<input").unwrap();
            let input_end = at + html[at..].find('>').unwrap();
            let input = &html[input_start..input_end];
            let value = input.split(r#"value=""#).nth(1).unwrap();
            let value = value[..value.find('"').unwrap()].to_string();
            let label = &html[input_end..];
            let label = &label[..label.find("</label>").unwrap()];
            let class = label.split(r#"class=""#).nth(1).unwrap();
            let class = class[..class.find('"').unwrap()].to_string();
            let mut text = String::new();
            let mut in_tag = false;
            for c in label.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            (
                value,
                input.contains(" checked"),
                class,
                text.trim().to_string(),
            )
        })
        .collect()
}

/// One picker per option (the hoodie's colours and sizes), each value marked by what the shopper
/// would get with the other choices: a sold-out combination is shown as such and can still be
/// chosen. Without JavaScript the pickers are a form whose values choose the closest variant.
async fn a_product_page_has_a_picker_per_option_with_sold_out_values(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, product) = app.json("/api/v1/products/ridge-fleece-hoodie").await;
    let variants = product["variants"].as_array().unwrap();
    let variant = |title: &str| {
        variants
            .iter()
            .find(|v| v["title"] == title)
            .unwrap_or_else(|| panic!("no {title} in {product}"))
    };
    // Forest / M sells out; Forest / XS and Charcoal / M have stock.
    for title in ["Forest / XS", "Charcoal / M"] {
        let v = variant(title);
        if v["available"].as_i64().unwrap() == 0 {
            let id = v["id"].as_i64().unwrap();
            move_stock(&app, id, Movement::Adjust(AdjustReason::Received), 5).await;
        }
    }
    let forest_m = variant("Forest / M");
    let left = forest_m["available"].as_i64().unwrap();
    if left > 0 {
        let id = forest_m["id"].as_i64().unwrap();
        move_stock(&app, id, Movement::Adjust(AdjustReason::Counted), -left).await;
    }
    let forest_xs = variant("Forest / XS")["id"].as_i64().unwrap();

    let html = app
        .html(&format!(
            "/products/ridge-fleece-hoodie?variant={forest_xs}"
        ))
        .await;
    assert_eq!(html.matches(r#"data-testid="option-group""#).count(), 2);
    assert!(html.contains("<legend>Colour: <span"), "{html}");
    let colours = picker_of(&html, 1);
    let names: Vec<&str> = colours.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["Forest", "Charcoal", "Rust"]);
    assert!(colours[0].1, "Forest is chosen: {colours:?}");
    let sizes = picker_of(&html, 2);
    let m = sizes.iter().find(|s| s.0 == "M").unwrap();
    assert_eq!(m.2, "option-value sold-out", "{sizes:?}");
    assert_eq!(m.3, "M (sold out)");
    let xs = sizes.iter().find(|s| s.0 == "XS").unwrap();
    assert!(xs.1, "XS is chosen");
    assert_eq!(xs.2, "option-value");
    assert_eq!(sizes.iter().filter(|s| s.1).count(), 1, "one size chosen");

    // The form sent without JavaScript: the chosen values pick the variant, sold out or not.
    let html = app
        .html("/products/ridge-fleece-hoodie?option1=Forest&option2=M")
        .await;
    let sizes = picker_of(&html, 2);
    assert!(sizes.iter().find(|s| s.0 == "M").unwrap().1, "M chosen");
    assert!(
        html.contains(r#"class="availability">Sold out</p>"#),
        "{html}"
    );
    assert!(html.contains(r#"disabled class="add-to-cart">Sold out</button>"#));
    // Charcoal M has stock, so from there Forest is marked sold out.
    let html = app
        .html("/products/ridge-fleece-hoodie?option1=Charcoal&option2=M")
        .await;
    let colours = picker_of(&html, 1);
    assert_eq!(colours[0].2, "option-value sold-out", "{colours:?}");
    assert!(colours[1].1, "Charcoal chosen");
    let sku = variant("Charcoal / M")["sku"].as_str().unwrap();
    assert!(html.contains(sku), "the chosen variant's SKU is shown");
    // Values the product does not have still show the product, at its closest variant.
    let response = app
        .get("/products/ridge-fleece-hoodie?option1=%3Cscript%3E&option2=XXXL")
        .await;
    assert_eq!(response.status(), 200);
    assert!(!response.text().await.unwrap().contains("<script>"));
}

/// Every picture in the gallery with a thumbnail to reach it, the price with what the sale saves,
/// and the product's details under the buy box.
async fn a_product_page_has_a_gallery_a_saving_and_details(backend: Backend) {
    let app = spawn_app(backend).await;
    let html = app.html("/products/ridge-fleece-hoodie").await;
    assert_eq!(html.matches(r#"data-testid="product-image""#).count(), 3);
    for n in 1..=3 {
        assert!(html.contains(&format!(r#"id="picture-{n}""#)), "slide {n}");
        assert!(
            html.contains(&format!(r##"href="#picture-{n}""##)),
            "thumbnail {n}"
        );
    }
    assert!(html.contains(r#"<dt>Type</dt>"#), "details");
    assert!(
        !html.contains(r#"data-testid="saving""#),
        "no sale, no saving"
    );

    // Cabin Wool Socks are on sale: €16.00, were €22.00.
    let html = app.html("/products/cabin-wool-socks").await;
    assert!(
        html.contains(r#"class="saving">Save €6.00 (27%)</p>"#),
        "{html}"
    );
    assert!(html.contains(r#"<s class="compare-at">€22.00</s>"#));
    // A product with one picture has no thumbnails.
    let single: String = sqlx::query_scalar(
        "SELECT p.slug FROM products p WHERE (SELECT COUNT(*) FROM product_images i WHERE i.product_id = p.id) = 1 LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let html = app.html(&format!("/products/{single}")).await;
    assert_eq!(html.matches(r#"data-testid="product-image""#).count(), 1);
    assert!(!html.contains(r#"class="gallery-thumbs""#));
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
    a_product_page_recommends_related_and_often_bought_together_products,
    a_card_on_sale_says_how_much_is_saved,
    catalog_pages_are_served_from_the_page_cache,
    the_home_page_is_server_rendered_with_products,
    a_product_page_shows_its_variants,
    a_product_page_has_a_picker_per_option_with_sold_out_values,
    a_product_page_has_a_gallery_a_saving_and_details,
    a_product_page_tells_search_engines_what_it_sells,
    unknown_addresses_get_a_real_404,
    archived_products_are_not_shown,
    static_files_are_cached_and_pages_are_compressed,
);

async fn a_card_on_sale_says_how_much_is_saved(backend: Backend) {
    let app = spawn_app(backend).await;
    // The tee on sale (20.00 instead of 25.00), nothing else.
    let variant: i64 = sqlx::query_scalar(
        "SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id \
         WHERE p.slug = 'everyday-organic-tee'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "UPDATE variants SET price_amount = 2000, compare_at_amount = 2500 \
         WHERE product_id = (SELECT product_id FROM variants WHERE id = $1)",
    )
    .bind(variant)
    .execute(app.db.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE variants SET compare_at_amount = NULL WHERE product_id <> (SELECT product_id FROM variants WHERE id = $1)")
        .bind(variant)
        .execute(app.db.pool())
        .await
        .unwrap();
    let html = app.html("/").await;
    let card = html
        .split(r#"data-testid="product-card""#)
        .find(|card| card.contains("Everyday Organic Tee"))
        .expect("the tee's card");
    assert!(card.contains("€25.00") && card.contains("€20.00"), "{card}");
    assert!(card.contains(r#"data-testid="sale-badge""#), "{card}");
    assert!(card.contains("−20%"), "{card}");
    assert_eq!(html.matches(r#"data-testid="sale-badge""#).count(), 1);
}

/// The products whose cards a section of a product page shows, by slug.
fn recommended_in(html: &str, section: &str) -> Vec<String> {
    let Some(start) = html.find(&format!(r#"data-testid="{section}""#)) else {
        return Vec::new();
    };
    let rest = &html[start..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    rest[..end]
        .split(r#"href="/products/"#)
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

async fn a_product_page_recommends_related_and_often_bought_together_products(backend: Backend) {
    let app = spawn_app(backend).await;
    // Two products, one in a collection with others, each with a variant in stock.
    let pick = |sql: &'static str| {
        let app = &app;
        async move {
            let row = sqlx::query(sql).fetch_one(app.db.pool()).await.unwrap();
            (row.get::<String, _>("slug"), row.get::<i64, _>("id"))
        }
    };
    let (slug, product) = pick(
        "SELECT p.slug, p.id FROM products p JOIN collection_products cp ON cp.product_id = p.id \
         WHERE p.status = 'active' ORDER BY p.id LIMIT 1",
    )
    .await;
    sqlx::query("UPDATE variants SET on_hand = 50, reserved = 0")
        .execute(app.db.pool())
        .await
        .unwrap();
    let html = app.html(&format!("/products/{slug}")).await;
    let related = recommended_in(&html, "related");
    assert!(!related.is_empty() && related.len() <= 4, "{related:?}");
    assert!(!related.contains(&slug), "never itself");
    assert!(
        recommended_in(&html, "bought-together").is_empty(),
        "no orders yet"
    );
    // Those sharing most of its tags first: a neighbour in its collection (the last by id,
    // which a tie would put last) given all its tags, and two more they both get, leads.
    let neighbour: String = sqlx::query_scalar(
        "SELECT p.slug FROM collection_products m \
           JOIN collection_products cp ON cp.collection_id = m.collection_id \
            AND cp.position BETWEEN m.position - 12 AND m.position + 12 \
           JOIN products p ON p.id = cp.product_id \
          WHERE m.product_id = $1 AND p.id <> $1 AND p.status = 'active' \
          ORDER BY p.id DESC LIMIT 1",
    )
    .bind(product)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    for sql in [
        "INSERT INTO product_tags (product_id, tag) \
         SELECT p.id, t.tag FROM products p, product_tags t WHERE p.slug = $1 AND t.product_id = $2 \
         ON CONFLICT DO NOTHING",
        "INSERT INTO product_tags (product_id, tag) \
         SELECT p.id, t.tag FROM products p \
          CROSS JOIN (SELECT 'zz-shared-a' AS tag UNION ALL SELECT 'zz-shared-b') t \
          WHERE p.slug = $1 OR p.id = $2",
    ] {
        sqlx::query(sql)
            .bind(&neighbour)
            .bind(product)
            .execute(app.db.pool())
            .await
            .unwrap();
    }
    let html = app.html(&format!("/products/{slug}")).await;
    assert_eq!(
        recommended_in(&html, "related").first(),
        Some(&neighbour),
        "the most tags shared first"
    );
    // A product from elsewhere in the catalog, bought with it in a paid order.
    let (other, other_id) = pick(
        "SELECT p.slug, p.id FROM products p WHERE p.status = 'active' ORDER BY p.id DESC LIMIT 1",
    )
    .await;
    let variant_of = |id: i64| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, i64>("SELECT MIN(id) FROM variants WHERE product_id = $1")
                .bind(id)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
        }
    };
    let lines = [
        (variant_of(product).await, 1),
        (variant_of(other_id).await, 1),
    ];
    let (status, placed) = crate::checkout::checkout(
        &app,
        &crate::checkout::order_body(&lines, "pm_card_visa"),
        "recommendations",
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let html = app.html(&format!("/products/{slug}")).await;
    assert_eq!(
        recommended_in(&html, "bought-together"),
        vec![other.clone()]
    );
    assert!(
        !recommended_in(&html, "related").contains(&other),
        "each product once"
    );
    // Sold out: no longer recommended.
    sqlx::query(
        "UPDATE variants SET on_hand = 0, reserved = 0, backorder = 'deny' WHERE product_id = $1",
    )
    .bind(other_id)
    .execute(app.db.pool())
    .await
    .unwrap();
    let html = app.html(&format!("/products/{slug}")).await;
    assert!(recommended_in(&html, "bought-together").is_empty());

    // Bought with thirty others: each row still shows its four, the related too.
    let mut lines = vec![(variant_of(product).await, 1)];
    let others: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM products WHERE status = 'active' AND id <> $1 ORDER BY id LIMIT 30",
    )
    .bind(product)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    for id in others {
        lines.push((variant_of(id).await, 1));
    }
    let (status, placed) = crate::checkout::checkout(
        &app,
        &crate::checkout::order_body(&lines, "pm_card_visa"),
        "recommendations-many",
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let html = app.html(&format!("/products/{slug}")).await;
    let together = recommended_in(&html, "bought-together");
    let related = recommended_in(&html, "related");
    assert_eq!(
        (together.len(), related.len()),
        (4, 4),
        "{together:?} {related:?}"
    );
    assert!(
        related.iter().all(|r| !together.contains(r)),
        "each product once"
    );
}
