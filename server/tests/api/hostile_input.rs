//! What an attacker or a sloppy client sends: markup in titles, bodies that do not parse, NUL in
//! addresses, `null` for optional fields. Every answer is a 4xx or a success, never a 500 and
//! never markup of the attacker's in the page.

use app::admin::Role;
use serde_json::{json, Value};

use crate::admin::account;
use crate::checkout::{checkout, order_body, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    titles_built_from_input_are_escaped,
    server_functions_answer_bad_bodies_with_400,
    nul_in_addresses_and_queries_is_refused,
    optional_fields_accept_null,
    the_customer_api_answers_hostile_bodies_with_4xx,
    the_discount_endpoints_answer_hostile_bodies_with_4xx,
);

/// Ends the `<title>` element and redirects the page, if written into `<head>` as it is.
const INJECTED: &str = r#"</title><meta http-equiv="refresh" content="0;url=x">"#;

/// The document's `<head>`, asserting that no markup was injected into it.
async fn assert_head_is_clean(app: &TestApp, path: &str, cookie: Option<&str>) {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let html = response.text().await.unwrap();
    let head = html
        .split("</head>")
        .next()
        .expect("a head")
        .to_ascii_lowercase();
    assert!(!head.contains("<meta http-equiv"), "{path}: {head}");
    assert_eq!(head.matches("<title>").count(), 1, "{path}: {head}");
    let title = head
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap();
    assert!(
        title.contains("&lt;/title&gt;&lt;meta http-equiv=&quot;refresh&quot;"),
        "{path}: the title is escaped: {title}"
    );
}

async fn titles_built_from_input_are_escaped(backend: Backend) {
    let app = spawn_app(backend).await;
    let query: String = url_encode(INJECTED);
    assert_head_is_clean(&app, &format!("/search?q={query}"), None).await;

    // Titles staff typed: a product's, its SEO title, a collection's.
    let update = |sql: &'static str| {
        let app = &app;
        async move {
            sqlx::query(sql)
                .bind(INJECTED)
                .execute(app.db.pool())
                .await
                .unwrap();
        }
    };
    update("UPDATE products SET title = $1, seo_title = NULL WHERE slug = 'ridge-fleece-hoodie'")
        .await;
    assert_head_is_clean(&app, "/products/ridge-fleece-hoodie", None).await;
    update("UPDATE products SET seo_title = $1 WHERE slug = 'stoneware-mug'").await;
    assert_head_is_clean(&app, "/products/stoneware-mug", None).await;
    update("UPDATE collections SET title = $1 WHERE slug = 'apparel'").await;
    assert_head_is_clean(&app, "/collections/apparel", None).await;

    // The admin's pages show the same titles.
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let product: i64 =
        sqlx::query_scalar("SELECT id FROM products WHERE slug = 'ridge-fleece-hoodie'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let variant: i64 = sqlx::query_scalar("SELECT MIN(id) FROM variants WHERE product_id = $1")
        .bind(product)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_head_is_clean(&app, &format!("/admin/products/{product}"), Some(&staff)).await;
    assert_head_is_clean(&app, &format!("/admin/variants/{variant}"), Some(&staff)).await;
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every server function with a body it accepts.
fn server_functions(variant: i64) -> Vec<(&'static str, Value)> {
    let token = "0123456789abcdef0123456789abcdef";
    vec![
        ("/api/catalog/featured-products", json!({})),
        (
            "/api/catalog/product",
            json!({"slug": "ridge-fleece-hoodie"}),
        ),
        ("/api/catalog/featured-collections", json!({})),
        (
            "/api/catalog/collection",
            json!({"slug": "apparel", "query": "sort=price_asc&option=Size:M"}),
        ),
        ("/api/catalog/search", json!({"query": "q=tee&min=1"})),
        (
            "/api/cart/quote",
            json!({"request": {
                "lines": [{"variant_id": variant, "quantity": 1}],
                "shipping_address": {"country": "DE", "region": ""},
                "shipping_method": null
            }}),
        ),
        (
            "/api/checkout/place-order",
            json!({"request": order_body(&[(variant, 1)], "pm_card_visa"),
                   "idempotency_key": "hostile-input-key"}),
        ),
        (
            "/api/checkout/confirm-test-payment",
            json!({"access_token": token, "approve": true}),
        ),
        (
            "/api/checkout/remember",
            json!({"email": "hostile@example.com", "lines": [{"variant_id": variant, "quantity": 1}], "codes": []}),
        ),
        ("/api/checkout/restore", json!({"token": token})),
        (
            "/api/orders/by-token",
            json!({"access_token": token, "returned_from_payment": false}),
        ),
        ("/api/admin/dashboard", json!({})),
        (
            "/api/admin/orders",
            json!({"filter": {"status": "", "from": "", "to": "", "q": "x", "cursor": ""}}),
        ),
        ("/api/admin/order", json!({"number": "1001"})),
        ("/api/admin/variant", json!({"id": variant})),
        (
            "/api/admin/inventory",
            json!({"filter": {"q": "tee", "low": false, "cursor": "3"}}),
        ),
        (
            "/api/admin/products",
            json!({"filter": {"q": "tee", "status": "active", "collection": "x", "stock": "in", "sort": "updated", "cursor": "3:5"}}),
        ),
        ("/api/admin/product", json!({"id": 1})),
        ("/api/admin/discount", json!({"id": 1})),
        ("/api/admin/discounts", json!({})),
        ("/api/admin/gift-cards", json!({})),
        ("/api/admin/gift-card", json!({"id": 1})),
        ("/api/admin/campaigns", json!({})),
        ("/api/admin/campaign", json!({"id": 1})),
        ("/api/admin/support", json!({"status": "open", "q": "x"})),
        ("/api/admin/support-conversation", json!({"id": 1})),
        ("/api/admin/order-conversations", json!({"number": "1001"})),
        ("/api/admin/saved-replies", json!({})),
        (
            "/api/admin/returns",
            json!({"status": "requested", "order": "1001"}),
        ),
        ("/api/admin/return", json!({"rma": "R1001-1"})),
        (
            "/api/admin/analytics",
            json!({"from": "2026-01-01", "to": "2026-01-31"}),
        ),
        ("/api/order/returns", json!({"token": token})),
        ("/api/support/conversation", json!({"token": "x"})),
        ("/api/account/conversations", json!({})),
        ("/api/admin/subscribers", json!({})),
        ("/api/admin/collections", json!({})),
        ("/api/admin/import-status", json!({"job": "none"})),
        ("/api/admin/api-tokens", json!({})),
        ("/api/admin/settings", json!({})),
        ("/api/account/overview", json!({})),
        ("/api/admin/security", json!({})),
        ("/api/account/checkout-prefill", json!({})),
        (
            "/api/cart/sync",
            json!({"request": {"owner": 1, "lines": [{"variant_id": variant, "quantity": 1, "edited_at": 5}]}}),
        ),
    ]
}

/// Values of the wrong type or out of range, as raw JSON.
const HOSTILE_VALUES: &[&str] = &[
    "1.5",
    "-1",
    "1e300",
    "1e999",
    "99999999999999999999999",
    "[]",
    "{}",
    r#""x""#,
    "true",
    "null",
    r#""\u0000""#,
    r#""slug\u0000""#,
    r#""\u202e\u0000""#,
];

/// The body with the value at `path` (keys and indexes) replaced by raw JSON.
fn replaced(body: &Value, path: &[PathStep], raw: &str) -> String {
    const MARK: &str = "\"@@hostile@@\"";
    let mut copy = body.clone();
    let mut at = &mut copy;
    for step in path {
        at = match step {
            PathStep::Key(key) => &mut at[key.as_str()],
            PathStep::Index(index) => &mut at[*index],
        };
    }
    *at = Value::String("@@hostile@@".into());
    copy.to_string().replace(MARK, raw)
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// Every value in a body, nested ones too, by its path.
fn value_paths(value: &Value, prefix: Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let mut path = prefix.clone();
                path.push(PathStep::Key(key.clone()));
                out.push(path.clone());
                value_paths(inner, path, out);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                let mut path = prefix.clone();
                path.push(PathStep::Index(index));
                out.push(path.clone());
                value_paths(inner, path, out);
            }
        }
        _ => {}
    }
}

async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: String,
    cookie: &str,
) -> (u16, String) {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("Origin", &app.address)
        .header("Cookie", cookie)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// A 400 says what was wrong in the API's error shape.
fn assert_error_shape(what: &str, status: u16, body: &str) {
    let body: Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: a JSON error, not {body:?}"));
    assert_eq!(body["error"]["status"], status, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    assert!(body["error"]["fields"].is_array(), "{what}: {body}");
}

async fn server_functions_answer_bad_bodies_with_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 10_000).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let functions = server_functions(variant);

    // The table names every server function there is.
    let mut registered: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    registered.sort_unstable();
    let mut listed: Vec<&str> = functions.iter().map(|(path, _)| *path).collect();
    listed.sort_unstable();
    assert_eq!(registered, listed, "every server function is tested here");

    let mut failures = Vec::new();
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    let not_json: Vec<(&str, String)> = vec![
        ("application/json", String::new()),
        ("application/json", "{".into()),
        ("application/json", "[1,".into()),
        ("application/json", "nul".into()),
        ("application/json", "null".into()),
        ("application/json", "17".into()),
        ("application/json", r#"{"a":}"#.into()),
        ("application/json", "\u{1}".into()),
        ("application/json", deep),
        ("application/x-www-form-urlencoded", "slug=x&id=1".into()),
        ("text/plain", "hello".into()),
    ];
    for (path, valid) in &functions {
        let (status, body) =
            post_raw(&app, path, "application/json", valid.to_string(), &staff).await;
        assert!(status < 500, "{path} with a valid body: {status} {body}");
        for (content_type, body) in &not_json {
            let (status, answer) = post_raw(&app, path, content_type, body.clone(), &staff).await;
            let what = format!("{path} with {content_type} {body:.40}");
            assert_eq!(status, 400, "{what}: {answer}");
            assert_error_shape(&what, status, &answer);
        }
        let mut paths = Vec::new();
        value_paths(valid, Vec::new(), &mut paths);
        for at in &paths {
            for raw in HOSTILE_VALUES {
                let body = replaced(valid, at, raw);
                let (status, answer) =
                    post_raw(&app, path, "application/json", body.clone(), &staff).await;
                if status >= 500 {
                    failures.push(format!("{path} with {body}: {status} {answer}"));
                } else if status == 400 {
                    assert_error_shape(&format!("{path} with {body}"), status, &answer);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn nul_in_addresses_and_queries_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let cases: &[(&str, u16)] = &[
        ("/api/v1/products/%00", 404),
        ("/api/v1/products/ridge-fleece-hoodie%00", 404),
        ("/api/v1/collections/%E2%80%AE%00", 404),
        ("/api/v1/collections/%00?q=tee", 404),
        ("/products/%00", 404),
        ("/collections/%00", 404),
        ("/orders/%00", 404),
        ("/api/v1/orders/%00?token=%00", 404),
        ("/search?q=%00", 400),
        ("/search?q=tee%00", 400),
        ("/api/v1/products?q=%00", 400),
        ("/api/v1/products?collection=%00", 400),
        ("/api/v1/products?option=Size:%00", 400),
        ("/api/v1/products?cursor=%00", 400),
        ("/collections/apparel?option=Size:%00", 400),
        ("/collections/apparel?q=%00", 400),
        ("/api/v1/collections/apparel?option=%00:M", 400),
    ];
    let mut failures = Vec::new();
    for (path, expected) in cases {
        let response = app.get(path).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status != *expected {
            failures.push(format!("{path}: {status} {body:.200}"));
        } else if path.starts_with("/api/") {
            let body: Value = serde_json::from_str(&body).expect("a JSON error");
            assert_eq!(body["error"]["status"], *expected, "{path}");
        }
    }
    // Staff pages too.
    for path in [
        "/admin/orders/%00",
        "/admin/products/%00",
        "/admin/variants/%00",
        "/admin/orders?q=%00",
        "/admin/products?q=%00",
        "/admin/products?sort=price",
        "/admin/products?stock=some",
        "/admin/products?status=gone",
        "/admin/products?sort=updated&cursor=12:soon",
        "/admin/products?cursor=%00",
        "/admin/import/%00",
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .header("Cookie", &staff)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if !(400..500).contains(&status) {
            failures.push(format!("{path}: {status}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn optional_fields_accept_null(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, price) = variant_with_stock(&app, 0, 10).await;
    // Ireland has no postal codes: every optional field of the address can be empty.
    let body = json!({
        "email": "erika@example.com",
        "shipping_address": {
            "name": "Erika Mustermann", "line1": "1 Grafton Street", "line2": null,
            "city": "Dublin", "postal_code": null, "region": null, "country": "IE"
        },
        "shipping_method": null,
        "lines": [{"variant_id": variant, "quantity": 1, "seen_price": null}],
        "payment": {"gateway": "test", "token": "pm_card_visa"}
    });
    let (status, quote) = app.post_json("/api/v1/cart/quote", &body, &[]).await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!(quote["lines"][0]["unit_price"]["amount"], price);
    let destination = json!({
        "lines": [{"variant_id": variant, "quantity": 1}],
        "shipping_address": {"country": "DE", "region": null},
        "shipping_method": null
    });
    let (status, quote) = app.post_json("/api/v1/cart/quote", &destination, &[]).await;
    assert_eq!(status, 200, "{quote}");
    let (status, placed) = checkout(&app, &body, "null-fields-1").await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["order"]["status"], "paid", "{placed}");
    // Absent is the same as null.
    let mut absent = body.clone();
    for field in ["line2", "postal_code", "region"] {
        absent["shipping_address"]
            .as_object_mut()
            .unwrap()
            .remove(field);
    }
    absent.as_object_mut().unwrap().remove("shipping_method");
    let (status, placed) = checkout(&app, &absent, "null-fields-2").await;
    assert_eq!(status, 201, "{placed}");
    // The page's server functions and the admin's filters take null as well.
    let (status, quote) = app
        .post_json("/api/cart/quote", &json!({ "request": destination }), &[])
        .await;
    assert_eq!(status, 200, "{quote}");
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let response = app
        .client
        .post(format!("{}/api/admin/orders", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &staff)
        .json(&json!({"filter": {"status": null, "from": null, "to": null, "q": null, "cursor": null}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let orders: Value = response.json().await.unwrap();
    assert_eq!(orders["rows"].as_array().unwrap().len(), 2, "{orders}");
}

/// A handler that panics gets a 500 in its caller's shape, naming the request id that the
/// response's `x-request-id` carries, and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_answered_with_a_500_naming_the_request() {
    use axum::routing::get;

    async fn boom() -> &'static str {
        panic!("a handler panicked on purpose")
    }
    let router = kassa::startup::around(
        axum::Router::new()
            .route("/products/boom", get(boom))
            .route("/api/v1/boom", get(boom))
            .route("/fine", get(|| async { "fine" })),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = reqwest::Client::new();

    let response = client
        .get(format!("{address}/api/v1/boom"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!id.is_empty());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], 500, "{body}");
    assert_eq!(body["error"]["request_id"], id.as_str(), "{body}");
    assert!(
        !body.to_string().contains("on purpose"),
        "the panic stays in the log"
    );

    let response = client
        .get(format!("{address}/products/boom"))
        .header("x-request-id", "from-the-proxy-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["x-request-id"], "from-the-proxy-1");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let html = response.text().await.unwrap();
    assert!(html.contains("<code>from-the-proxy-1</code>"), "{html}");

    let response = client.get(format!("{address}/fine")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
}

/// The shopper's JSON API, every field of every body replaced by hostile values in turn, and
/// bodies that are not JSON: never a 500, and every 4xx in the API's error shape.
async fn the_customer_api_answers_hostile_bodies_with_4xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 10).await;
    let token = crate::accounts::signed_in(&app, "hostile@example.com").await;
    let credential = json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": { "clientDataJSON": "AAAA", "attestationObject": "AAAA" },
        "extensions": {}
    });
    let address = json!({
        "name": "Ada", "line1": "Street 1", "line2": null, "city": "Köln",
        "postal_code": "51147", "region": "", "country": "DE"
    });
    let endpoints: Vec<(reqwest::Method, &str, Value)> = vec![
        (
            reqwest::Method::PUT,
            "/api/v1/customer/cart",
            json!({"lines": [{"variant_id": variant, "quantity": 1}]}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/customer/cart/merge",
            json!({"lines": [{"variant_id": variant, "quantity": 2}]}),
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/customer/preferences",
            json!({"news": true}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/customer/addresses",
            json!({"address": address, "is_default": true}),
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/customer/addresses/1",
            json!({"address": address}),
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/customer/passkeys/1",
            json!({"name": "Laptop"}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/customer/passkeys",
            json!({"ceremony": "x", "name": "Laptop", "credential": credential}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/customer/sign-in/passkey",
            json!({"ceremony": "x", "credential": credential}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/customer/sign-in",
            json!({"email": "hostile@example.com", "code": "123456"}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/events",
            json!({"type": "add_to_cart", "path": "/products/mug", "product_id": 1, "variant_id": 1, "query": "mug"}),
        ),
    ];
    let send = |method: reqwest::Method, path: &str, content_type: &str, body: String| {
        app.client
            .request(method, format!("{}{path}", app.address))
            .bearer_auth(&token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let mut failures = Vec::new();
    for (method, path, valid) in &endpoints {
        let mut bodies: Vec<(&str, String)> = vec![
            ("application/json", String::new()),
            ("application/json", "{".into()),
            ("application/json", "null".into()),
            ("application/json", "[]".into()),
            ("text/plain", "hello".into()),
        ];
        let mut paths = Vec::new();
        value_paths(valid, Vec::new(), &mut paths);
        for at in &paths {
            for raw in HOSTILE_VALUES {
                bodies.push(("application/json", replaced(valid, at, raw)));
            }
        }
        for (content_type, body) in bodies {
            let response = send(method.clone(), path, content_type, body.clone())
                .await
                .unwrap();
            let status = response.status().as_u16();
            let answer = response.text().await.unwrap_or_default();
            let what = format!("{method} {path} with {content_type} {body:.80}");
            if status >= 500 {
                failures.push(format!("{what}: {status} {answer}"));
            } else if status >= 400 && status != 429 {
                assert_error_shape(&what, status, &answer);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every field of every body that takes a discount, replaced by hostile values: the admin's
/// discount API, quotes and checkouts with codes, refunds by line. Never a 500; every 4xx in
/// the API's error shape.
async fn the_discount_endpoints_answer_hostile_bodies_with_4xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = crate::admin_api::team(&app).await;
    let (variant, _) = variant_with_stock(&app, 0, 1000).await;
    let slug: String = sqlx::query_scalar(
        "SELECT p.slug FROM products p JOIN variants v ON v.product_id = p.id WHERE v.id = $1",
    )
    .bind(variant)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let discount = crate::discounts::a_discount(&app).await;
    let campaign = crate::campaigns::a_campaign(&app).await;
    let conversation = crate::support::a_conversation(&app).await;
    let rma = crate::returns::a_return(&app).await;
    let (status, placed) = crate::checkout::checkout(
        &app,
        &order_body(&[(variant, 2)], "pm_card_visa"),
        "hostile-discounts",
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let number = placed["order"]["number"].as_str().unwrap().to_string();
    let line: i64 = sqlx::query_scalar("SELECT MIN(id) FROM order_lines")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let money = json!({"amount": 500, "currency": "EUR"});
    let full = json!({
        "title": "Every field", "code": "EVERY", "kind": "percentage", "percent": 10,
        "applies_to": {"products": [slug], "collections": []},
        "minimum_subtotal": money, "minimum_quantity": 1,
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z",
        "usage_limit": 10, "once_per_customer": true, "first_order_only": false,
        "combines_with": ["order", "shipping"]
    });
    let bxgy = json!({
        "title": "Two for one", "code": null, "kind": "buy_x_get_y",
        "buy": {"quantity": 2, "products": [slug], "collections": []},
        "get": {"quantity": 1, "products": [slug], "collections": [], "percent": 100},
        "max_uses_per_order": 1
    });
    let shipping = json!({
        "title": "Ships free", "kind": "free_shipping", "countries": ["DE"],
        "max_shipping_rate": money
    });
    let (status, card) = crate::admin_api::send(
        &app,
        "POST",
        "/api/v1/admin/gift-cards",
        &owner,
        json!({"amount": {"amount": 100_000, "currency": "EUR"}}),
    )
    .await;
    assert_eq!(status, 201, "{card}");
    let code = card["code"].clone();
    let mut quote = json!({"lines": [{"variant_id": variant, "quantity": 1}],
        "shipping_address": {"country": "DE", "region": ""}, "discount_codes": ["TEST"],
        "email": "hostile@example.com", "gift_cards": [code]});
    let mut order = order_body(&[(variant, 1)], "pm_card_visa");
    order["discount_codes"] = json!(["TEST"]);
    order["gift_cards"] = json!([code]);
    quote["shipping_method"] = json!("standard");
    let endpoints: Vec<(reqwest::Method, String, Value, bool)> = vec![
        (
            reqwest::Method::POST,
            "/api/v1/admin/gift-cards".into(),
            json!({"amount": money, "expires_at": "2099-01-01T00:00:00Z",
                   "recipient_email": "friend@example.com", "note": "hostile"}),
            true,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/discounts".into(),
            full.clone(),
            true,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/discounts".into(),
            bxgy,
            true,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/discounts".into(),
            shipping,
            true,
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/admin/discounts/{discount}"),
            full,
            true,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/admin/orders/{number}/refunds"),
            json!({"lines": [{"line_id": line, "quantity": 1}], "reason": "hostile"}),
            true,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/campaigns".into(),
            json!({"subject": "Spring", "body_markdown": "# New\n\n**Linen** is back."}),
            true,
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/admin/campaigns/{campaign}"),
            json!({"subject": "Spring", "body_markdown": "Linen is back."}),
            true,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/support/conversations".into(),
            json!({"email": "hostile@example.com", "name": "Hostile", "order_number": "1001",
                   "message": "Hello"}),
            false,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/admin/support/conversations/{conversation}/messages"),
            json!({"body": "Hello", "internal": false}),
            true,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/admin/support/conversations/{conversation}/assign"),
            json!({"email": "owner@shop.test"}),
            true,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/admin/returns/{rma}/receive"),
            json!({"lines": [{"line_id": line, "quantity": 1, "restock": true}]}),
            true,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/admin/returns/{rma}/refund"),
            json!({"amount": {"amount": 100, "currency": "EUR"}, "reason": "scratched"}),
            true,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/admin/returns/{rma}/decline"),
            json!({"reason": "worn"}),
            true,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/orders/{number}/returns"),
            json!({"lines": [{"line_id": line, "quantity": 1, "reason": "other"}], "comment": "x"}),
            false,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/cart/quote".into(),
            quote,
            false,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/checkout".into(),
            order,
            false,
        ),
    ];
    let mut failures = Vec::new();
    let mut sent = 0;
    for (method, path, valid, staff) in &endpoints {
        let mut paths = Vec::new();
        value_paths(valid, Vec::new(), &mut paths);
        let mut bodies: Vec<String> = vec!["{".into(), "null".into(), "[]".into()];
        for at in &paths {
            for raw in HOSTILE_VALUES {
                bodies.push(replaced(valid, at, raw));
            }
        }
        for body in bodies {
            sent += 1;
            let mut request = app
                .client
                .request(method.clone(), format!("{}{path}", app.address))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", format!("hostile-{sent}"))
                .body(body.clone());
            if *staff {
                request = request.bearer_auth(&owner);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let answer = response.text().await.unwrap_or_default();
            let what = format!("{method} {path} with {body:.100}");
            if status >= 500 {
                failures.push(format!("{what}: {status} {answer}"));
            } else if status >= 400 && status != 429 {
                assert_error_shape(&what, status, &answer);
            }
        }
    }
    assert!(sent > 300, "{sent} requests");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Whatever got through left the books consistent: every use counted is an order's.
    let counted: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(times_used), 0) AS BIGINT) FROM discounts")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM order_discounts WHERE counted = 1 AND released_at IS NULL",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(counted, held);
    // And every gift card's balance is what its ledger says.
    let unbalanced: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM gift_cards c WHERE c.balance <> \
         (SELECT COALESCE(SUM(l.amount), 0) FROM gift_card_ledger l WHERE l.gift_card_id = c.id)",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(unbalanced, 0);
}
