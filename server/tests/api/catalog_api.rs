//! The public JSON API, `/api/v1`, on both databases.

use serde_json::{json, Value};

use app::inventory::{AdjustReason, Movement};

use crate::checkout::{checkout, order_body};
use crate::helpers::{assert_cards_follow, move_stock, slugs_of, spawn_app, Backend, TestApp};
use crate::on_both_databases;

fn assert_variant_shape(variant: &Value) {
    assert!(variant["id"].is_i64(), "{variant}");
    assert!(variant["sku"].is_string(), "{variant}");
    assert!(variant["price"]["amount"].is_i64(), "{variant}");
    assert_eq!(
        variant["price"]["currency"].as_str().unwrap().len(),
        3,
        "{variant}"
    );
    assert!(variant["available"].is_i64(), "{variant}");
}

/// Follows `next_cursor` to the end; returns every slug in order.
async fn all_slugs(app: &TestApp, first: &str) -> Vec<String> {
    all_items(app, first)
        .await
        .iter()
        .map(|i| i["slug"].as_str().unwrap().to_string())
        .collect()
}

/// Follows `next_cursor` to the end; returns every product in order.
pub(crate) async fn all_items(app: &TestApp, first: &str) -> Vec<Value> {
    let mut slugs = Vec::new();
    let mut path = first.to_string();
    loop {
        let (status, body) = app.json(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let page = if body["products"].is_object() {
            &body["products"]
        } else {
            &body
        };
        for item in page["items"].as_array().unwrap() {
            slugs.push(item.clone());
            for variant in item["variants"].as_array().unwrap() {
                assert_variant_shape(variant);
            }
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                let sep = if first.contains('?') { '&' } else { '?' };
                path = format!("{first}{sep}cursor={cursor}");
            }
            None => break,
        }
    }
    slugs
}

async fn products_are_listed_in_pages_that_cover_the_catalog_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let slugs = all_slugs(&app, "/api/v1/products?limit=7").await;
    let count = app::catalog::demo::demo_product_count();
    assert_eq!(slugs.len(), count);
    let mut unique = slugs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), count, "a product appeared twice across pages");

    for sort in ["price-asc", "price-desc", "name", "newest"] {
        let sorted = all_slugs(&app, &format!("/api/v1/products?limit=9&sort={sort}")).await;
        assert_eq!(sorted.len(), count, "{sort}");
    }
}

async fn prices_sort_in_order_across_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut prices = Vec::new();
    let mut path = "/api/v1/products?limit=10&sort=price-asc".to_string();
    loop {
        let (_, body) = app.json(&path).await;
        for item in body["items"].as_array().unwrap() {
            prices.push(item["price"]["amount"].as_i64().unwrap());
        }
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/products?limit=10&sort=price-asc&cursor={c}"),
            None => break,
        }
    }
    // The card price is the cheapest *buyable* variant, the sort key the cheapest of all, so
    // compare the sort key through a product's lowest variant price.
    let (_, body) = app.json("/api/v1/products?limit=100&sort=price-asc").await;
    let lowest: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["variants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["price"]["amount"].as_i64().unwrap())
                .min()
                .unwrap()
        })
        .collect();
    assert!(lowest.windows(2).all(|w| w[0] <= w[1]), "{lowest:?}");
    assert_eq!(prices.len(), app::catalog::demo::demo_product_count());
}

async fn a_product_has_variants_and_images(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app.json("/api/v1/products/ridge-fleece-hoodie").await;
    assert_eq!(status, 200);
    assert_eq!(body["title"], "Ridge Fleece Hoodie");
    assert_eq!(body["options"], serde_json::json!(["Colour", "Size"]));
    let variants = body["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 15, "3 colours × 5 sizes");
    variants.iter().for_each(assert_variant_shape);
    assert_eq!(
        variants[0]["price"],
        serde_json::json!({"amount": 7900, "currency": "EUR"})
    );
    assert_eq!(body["images"].as_array().unwrap().len(), 3);
    assert!(body["description_html"]
        .as_str()
        .unwrap()
        .contains("<strong>Care:</strong>"));
}

async fn search_finds_by_title_tag_and_sku(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, body) = app.json("/api/v1/products?q=merino%20beanie").await;
    let first = &body["items"][0];
    assert_eq!(first["slug"], "merino-rib-beanie", "{body}");

    // Prefix matching: "lambs" finds lambswool products.
    let (_, body) = app.json("/api/v1/products?q=lambs").await;
    let slugs = slugs_of(&body);
    assert!(slugs.contains(&"nordic-lambswool-sweater"), "{slugs:?}");

    // By SKU.
    let (_, product) = app.json("/api/v1/products/stoneware-mug").await;
    let sku = product["variants"][0]["sku"].as_str().unwrap().to_string();
    let (_, body) = app.json(&format!("/api/v1/products?q={sku}")).await;
    assert_eq!(body["items"][0]["slug"], "stoneware-mug", "{sku}: {body}");

    // Title matches rank above description matches.
    let (_, body) = app.json("/api/v1/products?q=candle").await;
    let titles: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap().to_lowercase())
        .collect();
    let in_title = titles.iter().filter(|t| t.contains("candle")).count();
    assert!(in_title >= 4, "{titles:?}");
    assert!(
        titles[..in_title].iter().all(|t| t.contains("candle")),
        "{titles:?}"
    );

    let (status, body) = app.json("/api/v1/products?q=zzzxxyq").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 0);

    // Full-text syntax in the input is only text.
    let (status, _) = app
        .json("/api/v1/products?q=%22mug%22%20OR%20*%20NEAR(")
        .await;
    assert_eq!(status, 200);
}

async fn collections_list_and_page_through_their_products(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app.json("/api/v1/collections").await;
    assert_eq!(status, 200);
    let slugs = slugs_of(&body);
    assert!(
        slugs.contains(&"apparel") && slugs.contains(&"sale"),
        "{slugs:?}"
    );

    let (status, body) = app.json("/api/v1/collections/sale").await;
    assert_eq!(status, 200);
    assert_eq!(body["title"], "Sale");
    for item in body["products"]["items"].as_array().unwrap() {
        assert!(
            item["compare_at"].is_object(),
            "everything on sale has a compare-at price: {item}"
        );
    }
    let in_collection = all_slugs(&app, "/api/v1/collections/apparel?limit=5").await;
    let via_filter = all_slugs(
        &app,
        "/api/v1/products?collection=apparel&limit=100&sort=featured",
    )
    .await;
    assert_eq!(in_collection, via_filter);
    assert!(in_collection.len() > 10);
}

async fn bad_input_gets_a_json_error_with_a_message(backend: Backend) {
    let app = spawn_app(backend).await;
    for (path, status) in [
        ("/api/v1/products/no-such-product", 404),
        ("/api/v1/collections/no-such-collection", 404),
        ("/api/v1/products?collection=no-such-collection", 404),
        ("/api/v1/products?limit=0", 400),
        ("/api/v1/products?limit=1000", 400),
        ("/api/v1/products?limit=ten", 400),
        ("/api/v1/products?cursor=not-a-cursor", 400),
        ("/api/v1/products?sort=random", 400),
        ("/api/v1/products?min=cheap", 400),
        ("/api/v1/products?min=50&max=10", 400),
    ] {
        let (got, body) = app.json(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"]["status"], status, "{path}: {body}");
        assert!(
            !body["error"]["message"].as_str().unwrap().is_empty(),
            "{path}"
        );
    }
    // A cursor from one sort order cannot be used with another.
    let (_, body) = app.json("/api/v1/products?limit=2&sort=name").await;
    let cursor = body["next_cursor"].as_str().unwrap();
    let (status, _) = app
        .json(&format!(
            "/api/v1/products?limit=2&sort=price-asc&cursor={cursor}"
        ))
        .await;
    assert_eq!(status, 400);
}

async fn filters_narrow_the_list(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, body) = app.json("/api/v1/products?limit=100&min=50&max=80").await;
    for item in body["items"].as_array().unwrap() {
        let lowest = item["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["price"]["amount"].as_i64().unwrap())
            .min()
            .unwrap();
        assert!((5000..=8000).contains(&lowest), "{item}");
    }
    let (_, body) = app
        .json("/api/v1/products?limit=100&option=Size:XL&option=Colour:Forest")
        .await;
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert!(
            item["variants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["options"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from("XL"))),
            "{item}"
        );
    }
    // Option names and values compare without regard to case; one no product has finds none.
    let (_, shouted) = app
        .json("/api/v1/products?limit=100&option=SIZE:xl&option=colour:FOREST")
        .await;
    assert_eq!(shouted["items"], body["items"]);
    let (status, none) = app.json("/api/v1/products?option=Colour:Plaid").await;
    assert_eq!(status, 200, "{none}");
    assert_eq!(none["items"], json!([]));
    let all = all_items(&app, "/api/v1/products?limit=40").await;
    let in_stock = all_items(&app, "/api/v1/products?limit=40&in_stock=1").await;
    let sold_out = all.iter().filter(|i| i["available"] == 0).count();
    assert!(sold_out > 0, "the demo has sold-out products");
    assert_eq!(in_stock.len(), all.len() - sold_out);
    assert!(in_stock
        .iter()
        .all(|i| i["available"].as_i64().unwrap() > 0));
}

async fn the_openapi_document_describes_every_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, doc) = app.json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/products",
        "/api/v1/products/{slug}",
        "/api/v1/collections",
        "/api/v1/collections/{slug}",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    for (path, method) in [
        ("/api/v1/cart/quote", "post"),
        ("/api/v1/checkout", "post"),
        ("/api/v1/orders/{number}", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    // Every schema a path refers to exists.
    let text = doc.to_string();
    for reference in text.split("#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name} missing"
        );
    }
}

on_both_databases!(
    products_are_listed_in_pages_that_cover_the_catalog_once,
    prices_sort_in_order_across_pages,
    a_product_has_variants_and_images,
    search_finds_by_title_tag_and_sku,
    searches_sorted_by_name_list_every_match_in_title_order,
    collections_list_and_page_through_their_products,
    bad_input_gets_a_json_error_with_a_message,
    filters_narrow_the_list,
    listings_follow_sales_restocks_and_catalog_edits,
    cards_follow_sales_and_catalog_edits,
    the_openapi_document_describes_every_route,
);

/// A search sorted by name lists exactly the search's matches (as the relevance order finds
/// them), in title order, across pages: read from the titles' words, with the products that
/// have the word only outside their title sorted in.
async fn searches_sorted_by_name_list_every_match_in_title_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let (title_served, elsewhere) = (
        "SELECT COUNT(*) FROM product_title_words WHERE substr(word, 1, length($1)) = $1",
        match backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM product_search WHERE product_search MATCH
                 '{description tags skus} : \"' || $1 || '\"* NOT {title} : \"' || $1 || '\"*'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM product_search
                  WHERE untitled_words @@ to_tsquery('simple', $1 || ':*')"
            }
        },
    );
    // Searches whose word is in titles only, and in titles and elsewhere (then its few
    // products with it elsewhere are sorted in).
    let (mut titles_alone, mut titles_and_elsewhere) = (0, 0);
    for q in [
        "hoodie",
        "mug",
        "merino",
        "candle",
        "wool",
        "lambs",
        "tee",
        "linen",
        "beanie",
        "merino beanie",
        "organic tee",
        "zzzxxyq",
        "sweater",
    ] {
        let key = q.split(' ').max_by_key(|w| w.len()).unwrap();
        let in_titles: i64 = sqlx::query_scalar(title_served)
            .bind(key)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        let outside: i64 = sqlx::query_scalar(elsewhere)
            .bind(key)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        match (in_titles > 0, outside > 0) {
            (true, false) => titles_alone += 1,
            (true, true) => titles_and_elsewhere += 1,
            _ => {}
        }
        for filter in ["", "&in_stock=1", "&min=3000", "&collection=apparel"] {
            let q = q.replace(' ', "%20");
            let by_relevance =
                all_items(&app, &format!("/api/v1/products?q={q}&limit=50{filter}")).await;
            let pairs = |items: &[Value]| -> Vec<(String, String)> {
                items
                    .iter()
                    .map(|p| {
                        (
                            p["title"].as_str().unwrap().into(),
                            p["slug"].as_str().unwrap().into(),
                        )
                    })
                    .collect()
            };
            let mut expected = pairs(&by_relevance);
            expected.sort();
            let by_name = all_items(
                &app,
                &format!("/api/v1/products?q={q}&sort=name&limit=2{filter}"),
            )
            .await;
            let listed = pairs(&by_name);
            let titles =
                |l: &[(String, String)]| l.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>();
            assert_eq!(
                titles(&listed),
                titles(&expected),
                "q={q}{filter} (outside titles: {outside})"
            );
            let mut sorted = listed.clone();
            sorted.sort();
            assert_eq!(sorted, expected, "q={q}{filter}");
        }
    }
    assert!(titles_alone >= 2, "a word in titles only: {titles_alone}");
    assert!(
        titles_and_elsewhere >= 2,
        "a word in titles and elsewhere: {titles_and_elsewhere}"
    );
}

/// What listings sort and filter on is kept up to date by every write: a sale of the last unit,
/// a restock, a price edit, a product leaving the shop or a collection.
async fn listings_follow_sales_restocks_and_catalog_edits(backend: Backend) {
    let app = spawn_app(backend).await;
    let product: (i64, String) = sqlx::query_as(
        "SELECT p.id, p.slug FROM products p JOIN collection_products cp ON cp.product_id = p.id
          WHERE p.status = 'active' ORDER BY p.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let (product_id, slug) = product;
    let variants: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, on_hand, reserved FROM variants WHERE product_id = $1 ORDER BY id",
    )
    .bind(product_id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE variants SET backorder = 'deny' WHERE product_id = $1")
        .bind(product_id)
        .execute(app.db.pool())
        .await
        .unwrap();
    // One unit left of the first variant, none of the others.
    for (i, (id, on_hand, reserved)) in variants.iter().enumerate() {
        let keep = if i == 0 { 1 } else { 0 };
        let delta = keep + reserved - on_hand;
        if delta != 0 {
            move_stock(&app, *id, Movement::Adjust(AdjustReason::Counted), delta).await;
        }
    }
    let in_stock = || all_slugs(&app, "/api/v1/products?limit=100&in_stock=1");
    assert!(in_stock().await.contains(&slug));

    // The last unit sells: the product leaves "in stock", not the catalog.
    let (status, placed) = checkout(
        &app,
        &order_body(&[(variants[0].0, 1)], "pm_card_visa"),
        "last-unit",
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    assert!(!in_stock().await.contains(&slug));
    assert!(all_slugs(&app, "/api/v1/products?limit=100")
        .await
        .contains(&slug));
    // Restocked, it is back.
    move_stock(&app, variants[1].0, Movement::Restock, 3).await;
    assert!(in_stock().await.contains(&slug));

    // A price edit moves it to the front of "price, low to high".
    sqlx::query("UPDATE variants SET price_amount = 1 WHERE id = $1")
        .bind(variants[1].0)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (_, body) = app.json("/api/v1/products?limit=1&sort=price-asc").await;
    assert_eq!(slugs_of(&body), vec![slug.as_str()]);
    let (_, body) = app.json("/api/v1/products?limit=100&max=0.01").await;
    assert_eq!(slugs_of(&body), vec![slug.as_str()]);

    // Out of its collection, then out of the shop.
    let collection: String = sqlx::query_scalar(
        "SELECT c.slug FROM collections c JOIN collection_products cp ON cp.collection_id = c.id
          WHERE cp.product_id = $1 ORDER BY c.id LIMIT 1",
    )
    .bind(product_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let members = format!("/api/v1/collections/{collection}?limit=100");
    // A new option value is offered among the collection's filters…
    sqlx::query("UPDATE variants SET option1 = 'Zinnober' WHERE id = $1")
        .bind(variants[1].0)
        .execute(app.db.pool())
        .await
        .unwrap();
    let page = || async {
        let response = app.get(&format!("/collections/{collection}")).await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    assert!(page().await.contains("Zinnober"));
    assert!(all_slugs(&app, &members).await.contains(&slug));
    sqlx::query("DELETE FROM collection_products WHERE product_id = $1")
        .bind(product_id)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert!(!all_slugs(&app, &members).await.contains(&slug));
    // …and no longer once its only product left.
    assert!(!page().await.contains("Zinnober"));
    sqlx::query("UPDATE products SET status = 'draft' WHERE id = $1")
        .bind(product_id)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert!(!all_slugs(&app, "/api/v1/products?limit=100")
        .await
        .contains(&slug));
}

/// The card of `slug` on the storefront's search for `title`: its `<article>`'s markup.
async fn card_markup(app: &TestApp, slug: &str, title: &str) -> String {
    let query: String = url::form_urlencoded::byte_serialize(title.as_bytes()).collect();
    let response = app.get(&format!("/search?q={query}")).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let link = format!("href=\"/products/{slug}\"");
    let start = html
        .find(&link)
        .unwrap_or_else(|| panic!("no card of {slug} when searching {title}"));
    let end = start + html[start..].find("</article>").unwrap();
    html[start..end].to_string()
}

/// A product's card (its title, the variant it offers with that variant's price and whether it
/// can be bought, its first picture) is kept on write: it follows the last unit selling and a
/// restock, price and title edits, pictures added and removed, variants archived and deleted.
async fn cards_follow_sales_and_catalog_edits(backend: Backend) {
    let app = spawn_app(backend).await;
    let product: (i64, String, String) = sqlx::query_as(
        "SELECT p.id, p.slug, p.title FROM products p
          WHERE p.status = 'active'
            AND (SELECT COUNT(*) FROM variants v
                  WHERE v.product_id = p.id AND v.archived_at IS NULL) >= 3
          ORDER BY p.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let (product_id, slug, title) = product;
    assert_cards_follow(&app, "the demo catalog").await;
    let variants: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, on_hand, reserved FROM variants
          WHERE product_id = $1 AND archived_at IS NULL ORDER BY id",
    )
    .bind(product_id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let write = |sql: &'static str, value: i64| {
        let db = app.db.clone();
        async move {
            sqlx::query(sql)
                .bind(value)
                .execute(db.pool())
                .await
                .unwrap();
        }
    };
    write(
        "UPDATE variants SET backorder = 'deny' WHERE product_id = $1",
        product_id,
    )
    .await;
    // One unit left of the first variant, none of the others: the card offers the first.
    for (i, (id, on_hand, reserved)) in variants.iter().enumerate() {
        let keep = if i == 0 { 1 } else { 0 };
        let delta = keep + reserved - on_hand;
        if delta != 0 {
            move_stock(&app, *id, Movement::Adjust(AdjustReason::Counted), delta).await;
        }
    }
    assert_cards_follow(&app, "stock counts").await;
    let card = card_markup(&app, &slug, &title).await;
    assert!(
        card.contains(&format!("data-variant=\"{}\"", variants[0].0)),
        "{card}"
    );

    // The last unit sells: sold out.
    let (status, placed) = checkout(
        &app,
        &order_body(&[(variants[0].0, 1)], "pm_card_visa"),
        "card-last-unit",
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    assert_cards_follow(&app, "the last unit sold").await;
    let card = card_markup(&app, &slug, &title).await;
    assert!(card.contains(">Sold out</button>"), "{card}");

    // The second variant restocked: offered, and bought from the card.
    move_stock(&app, variants[1].0, Movement::Restock, 3).await;
    assert_cards_follow(&app, "a restock").await;
    let card = card_markup(&app, &slug, &title).await;
    assert!(
        card.contains(&format!("data-variant=\"{}\"", variants[1].0)),
        "{card}"
    );
    assert!(card.contains(">Add to cart</button>"), "{card}");

    // A price edit shows on the card.
    write(
        "UPDATE variants SET price_amount = 123 WHERE id = $1",
        variants[1].0,
    )
    .await;
    assert_cards_follow(&app, "a price edit").await;
    assert!(card_markup(&app, &slug, &title)
        .await
        .contains("data-amount=\"123\""));

    // So does a new title (searched for once its search document follows, as an edit does).
    write(
        "UPDATE products SET title = 'Quillwort Lantern' WHERE id = $1",
        product_id,
    )
    .await;
    let mut conn = app.db.pool().acquire().await.unwrap();
    app::catalog::ssr::refresh_search_documents(&mut conn, &[product_id])
        .await
        .unwrap();
    drop(conn);
    assert_cards_follow(&app, "a title edit").await;
    let card = card_markup(&app, &slug, "Quillwort Lantern").await;
    assert!(card.contains(">Quillwort Lantern</h3>"), "{card}");
    let title = "Quillwort Lantern";

    // A picture put first is the card's, until it is removed.
    write(
        "INSERT INTO product_images (product_id, position, url, alt, width, height)
         VALUES ($1, -1, '/media/first-of-all.jpg', 'First', 10, 10)",
        product_id,
    )
    .await;
    assert_cards_follow(&app, "a picture added").await;
    assert!(card_markup(&app, &slug, title)
        .await
        .contains("/media/first-of-all.jpg"));
    write(
        "UPDATE product_images SET position = 1000 WHERE url = '/media/first-of-all.jpg' AND product_id = $1",
        product_id,
    )
    .await;
    assert_cards_follow(&app, "a picture moved").await;
    write(
        "DELETE FROM product_images WHERE url = '/media/first-of-all.jpg' AND product_id = $1",
        product_id,
    )
    .await;
    assert_cards_follow(&app, "a picture removed").await;
    assert!(!card_markup(&app, &slug, title)
        .await
        .contains("/media/first-of-all.jpg"));

    // The offered variant archived: another is offered (sold out again).
    write(
        "UPDATE variants SET archived_at = 1 WHERE id = $1",
        variants[1].0,
    )
    .await;
    assert_cards_follow(&app, "a variant archived").await;
    let card = card_markup(&app, &slug, title).await;
    assert!(
        !card.contains(&format!("data-variant=\"{}\"", variants[1].0)),
        "{card}"
    );
    assert!(card.contains(">Sold out</button>"), "{card}");
    // A cheaper variant in stock, added: offered; deleted: no longer.
    write(
        "INSERT INTO variants (product_id, position, sku, option1, price_amount, currency, on_hand)
         VALUES ($1, 99, 'CARD-NEW', 'New', 7, 'EUR', 5)",
        product_id,
    )
    .await;
    assert_cards_follow(&app, "a variant added").await;
    let card = card_markup(&app, &slug, title).await;
    assert!(card.contains("data-amount=\"7\""), "{card}");
    write(
        "DELETE FROM variants WHERE sku = 'CARD-NEW' AND product_id = $1",
        product_id,
    )
    .await;
    assert_cards_follow(&app, "a variant deleted").await;
    let card = card_markup(&app, &slug, title).await;
    assert!(card.contains(">Sold out</button>"), "{card}");

    // No live variant, no card; the product deleted, none either.
    write(
        "UPDATE variants SET archived_at = 1 WHERE product_id = $1",
        product_id,
    )
    .await;
    assert_cards_follow(&app, "every variant archived").await;
    write(
        "UPDATE variants SET archived_at = NULL WHERE product_id = $1",
        product_id,
    )
    .await;
    assert_cards_follow(&app, "variants brought back").await;
    let cards = |id: i64| {
        let db = app.db.clone();
        async move {
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM product_cards WHERE product_id = $1")
                    .bind(id)
                    .fetch_one(db.pool())
                    .await
                    .unwrap();
            n
        }
    };
    assert_eq!(cards(product_id).await, 1);
    // Another product, never ordered.
    let other: i64 = sqlx::query_scalar("SELECT MAX(product_id) FROM product_cards")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_ne!(other, product_id);
    write("DELETE FROM products WHERE id = $1", other).await;
    assert_eq!(cards(other).await, 0);
    assert_cards_follow(&app, "a product deleted").await;
}
