//! The admin's JSON API for integrations: API tokens (made once, stored hashed, revoked,
//! expired, audited), the same roles as the pages, every endpoint's happy path and its bad
//! input, refund idempotency, and `kassa create-api-token`, on both databases.

use app::admin::{Access, Role, ADMIN_ENDPOINTS};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::admin::account;
use crate::checkout::{checkout, count, order_body, stock_of, variant_with_stock};
use crate::helpers::{fresh_database, spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_token_is_shown_once_stored_hashed_and_acts_as_its_staff_member,
    unknown_revoked_expired_and_disabled_tokens_are_refused,
    tokens_have_their_staff_members_role_on_every_endpoint,
    bearer_requests_pass_the_cross_site_check_and_cookie_forms_keep_it,
    products_are_created_edited_published_and_archived,
    bad_product_input_names_the_field,
    variant_prices_and_stock_change_within_limits,
    collections_are_created_and_filled,
    orders_are_listed_shown_shipped_delivered_and_cancelled,
    refunds_are_idempotent_and_never_exceed_what_is_left,
    create_api_token_on_the_command_line,
    the_openapi_document_describes_every_api_route_and_method,
);

/// Sends a request to the API; the status and the JSON answer (`Null` if none).
pub async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request failed");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    api(app, "GET", path, Some(token), None, &[]).await
}

pub async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    api(app, method, path, Some(token), Some(&body), &[]).await
}

/// The owner makes a token on the staff page (as a program would: asking for JSON).
async fn make_token(app: &TestApp, owner: &str, email: &str, name: &str) -> Value {
    let response = app
        .client
        .post(format!("{}/admin/staff/tokens", app.address))
        .header("Origin", &app.address)
        .header("Cookie", owner)
        .header("Accept", "application/json")
        .form(&[("name", name), ("email", email), ("expires_days", "30")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

/// An owner (session cookie) and a token for each kind of staff: (owner cookie, owner token,
/// staff token without refunds, staff token with refunds).
pub async fn team(app: &TestApp) -> (String, String, String, String) {
    let owner = account(app, "owner@shop.test", Role::Owner, true).await;
    account(app, "staff@shop.test", Role::Staff, false).await;
    account(app, "refunder@shop.test", Role::Staff, true).await;
    let token = |v: Value| v["token"].as_str().unwrap().to_string();
    let owner_token = token(make_token(app, &owner, "owner@shop.test", "owner tool").await);
    let staff = token(make_token(app, &owner, "staff@shop.test", "warehouse").await);
    let refunder = token(make_token(app, &owner, "refunder@shop.test", "erp").await);
    (owner, owner_token, staff, refunder)
}

fn field_of(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| f["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 400 or 422 in the API's error shape naming `field`.
pub fn assert_names(status: u16, body: &Value, expected_status: u16, field: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["status"], expected_status, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        field_of(body).iter().any(|f| f == field),
        "expected the field {field} in {body}"
    );
}

async fn paid_order(app: &TestApp, lines: &[(i64, u32)]) -> String {
    let (status, placed) = checkout(
        app,
        &order_body(lines, "pm_card_visa"),
        &app::checkout::service::random_token(),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    placed["order"]["number"].as_str().unwrap().to_string()
}

pub async fn audit_rows(app: &TestApp, action: &str) -> Vec<(String, String, String)> {
    sqlx::query("SELECT actor, subject, detail FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("actor"), r.get("subject"), r.get("detail")))
        .collect()
}

async fn a_token_is_shown_once_stored_hashed_and_acts_as_its_staff_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;

    // Staff may not make tokens; the owner may, and sees the token once.
    let response = app
        .client
        .post(format!("{}/admin/staff/tokens", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &staff)
        .form(&[("name", "mine"), ("email", "staff@shop.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let created = make_token(&app, &owner, "staff@shop.test", "warehouse").await;
    let token = created["token"].as_str().unwrap().to_string();
    let secret = token.strip_prefix("kassa_at_").expect("the prefix");
    assert!(secret.len() >= 32, "{token}");
    assert!(secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(created["staff_email"], "staff@shop.test");
    assert!(created["expires_at"].as_str().unwrap().ends_with('Z'));

    // Only the hash is stored.
    let row = sqlx::query("SELECT * FROM api_tokens")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let hash: String = row.get("token_hash");
    assert_eq!(hash, hex::encode(Sha256::digest(token.as_bytes())));
    let texts = ["name", "token_hash"].map(|c| row.get::<String, _>(c));
    assert!(
        texts.iter().all(|t| !t.contains(secret)),
        "the token is stored in clear"
    );
    assert!(row.get::<Option<i64>, _>("last_used_at").is_none());

    // A page for people shows it once, never again; the list never shows it.
    let response = app
        .client
        .post(format!("{}/admin/staff/tokens", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &owner)
        .header("Accept", "text/html")
        .form(&[("name", "<b>printer</b>"), ("email", "staff@shop.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let page = response.text().await.unwrap();
    assert!(page.contains("kassa_at_") && page.contains("&lt;b&gt;printer"));
    let listed = app
        .client
        .post(format!("{}/api/admin/api-tokens", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &owner)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("warehouse") && !listed.contains(secret),
        "{listed}"
    );
    let page = app
        .client
        .get(format!("{}/admin/staff", app.address))
        .header("Cookie", &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("warehouse") && page.contains("Revoke"),
        "{page}"
    );
    assert!(page.contains("action=\"/admin/staff/tokens\""), "{page}");
    assert!(!page.contains(secret));
    // Staff see the page (200), without the tokens.
    let response = app
        .client
        .get(format!("{}/admin/staff", app.address))
        .header("Cookie", &staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Only the owner manages API tokens."),
        "{page}"
    );
    assert!(!page.contains("warehouse"));

    // The token acts as the staff member, without any cookie; nothing is cached.
    let response = app
        .client
        .get(format!("{}/api/v1/admin/orders", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    sqlx::query("DELETE FROM audit_log WHERE action = 'API request'")
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET last_used_at = NULL")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, orders) = get(&app, "/api/v1/admin/orders", &token).await;
    assert_eq!(status, 200, "{orders}");
    assert!(orders["items"].is_array() && orders.get("next_cursor").is_some());
    let last_used: Option<i64> =
        sqlx::query_scalar("SELECT last_used_at FROM api_tokens WHERE name = 'warehouse'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(last_used.is_some(), "last use not recorded");
    let uses = audit_rows(&app, "API request").await;
    assert_eq!(
        uses,
        vec![(
            "token:warehouse (staff@shop.test)".to_string(),
            format!("api_token:{}", created["id"]),
            "GET /api/v1/admin/orders".to_string()
        )]
    );
    let made = audit_rows(&app, "API token created").await;
    assert_eq!(made[0].0, "owner@shop.test");

    // What it changes is logged in its name too.
    let (variant, _) = variant_with_stock(&app, 0, 10).await;
    let (status, body) = send(
        &app,
        "POST",
        &format!("/api/v1/admin/variants/{variant}/stock"),
        &token,
        json!({"delta": 5, "reason": "received"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let adjusted = audit_rows(&app, "Stock adjusted").await;
    assert_eq!(adjusted[0].0, "token:warehouse (staff@shop.test)");
}

async fn unknown_revoked_expired_and_disabled_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, _, staff, refunder) = team(&app).await;
    let refused = |status: u16, body: &Value| {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["status"], 401, "{body}");
    };
    for token in [
        "kassa_at_0000000000000000000000000000000000000000000000000000000000000000",
        "nonsense",
        "",
    ] {
        let (status, body) = get(&app, "/api/v1/admin/orders", token).await;
        refused(status, &body);
    }
    let (status, body) = api(
        &app,
        "GET",
        "/api/v1/admin/orders",
        None,
        None,
        &[("Authorization", &format!("Basic {staff}"))],
    )
    .await;
    refused(status, &body);
    let (status, body) = api(&app, "GET", "/api/v1/admin/orders", None, None, &[]).await;
    refused(status, &body);

    // Revoked on the staff page: refused at once.
    assert_eq!(get(&app, "/api/v1/admin/orders", &staff).await.0, 200);
    let id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = 'warehouse'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let response = app
        .client
        .post(format!("{}/admin/staff/tokens/{id}/revoke", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &owner)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let (status, body) = get(&app, "/api/v1/admin/orders", &staff).await;
    refused(status, &body);
    assert_eq!(audit_rows(&app, "API token revoked").await.len(), 1);

    // Expired.
    assert_eq!(get(&app, "/api/v1/admin/orders", &refunder).await.0, 200);
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE name = 'erp'")
        .bind(app::db::now_epoch() - 1)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, body) = get(&app, "/api/v1/admin/orders", &refunder).await;
    refused(status, &body);

    // A disabled account's tokens stop; a demoted one's lose their rights.
    account(&app, "temp@shop.test", Role::Staff, false).await;
    let temp = make_token(&app, &owner, "temp@shop.test", "temp").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&app, "/api/v1/admin/orders", &temp).await.0, 200);
    sqlx::query("UPDATE accounts SET role = 'customer' WHERE email = 'temp@shop.test'")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(get(&app, "/api/v1/admin/orders", &temp).await.0, 403);
    sqlx::query("UPDATE accounts SET disabled = 1 WHERE email = 'temp@shop.test'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, body) = get(&app, "/api/v1/admin/orders", &temp).await;
    refused(status, &body);
}

async fn tokens_have_their_staff_members_role_on_every_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, owner_token, staff, refunder) = team(&app).await;
    let (variant, _) = variant_with_stock(&app, 0, 50).await;
    let number = paid_order(&app, &[(variant, 1)]).await;
    let refunded = paid_order(&app, &[(variant, 1)]).await;
    let product: i64 = sqlx::query_scalar("SELECT product_id FROM variants WHERE id = $1")
        .bind(variant)
        .fetch_one(app.db.pool())
        .await
        .unwrap();

    // No customer gets a token.
    account(&app, "shopper@shop.test", Role::Customer, false).await;
    let response = app
        .client
        .post(format!("{}/admin/staff/tokens", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &owner)
        .header("Accept", "application/json")
        .form(&[("name", "x"), ("email", "shopper@shop.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let error = app::admin::tokens::create(&app.db, "shopper@shop.test", "x", None, None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not a staff account"), "{error}");

    let discount = crate::discounts::a_discount(&app).await.to_string();
    let card = crate::gift_cards::a_gift_card(&app).await.to_string();
    let campaign = crate::campaigns::a_campaign(&app).await.to_string();
    let conversation = crate::support::a_conversation(&app).await.to_string();
    let rma = crate::returns::a_return(&app).await;
    for (method, template, access) in ADMIN_ENDPOINTS {
        if !template.starts_with("/api/v1/admin/") {
            continue;
        }
        let id = if template.contains("/gift-cards/") {
            &card
        } else if template.contains("/campaigns/") {
            &campaign
        } else if template.contains("/support/") {
            &conversation
        } else {
            &discount
        };
        let path = template
            .replace("{id}", id)
            .replace("{product}", &product.to_string())
            .replace("{number}", &number)
            .replace("{variant}", &variant.to_string())
            .replace("{shipment}", "1")
            .replace("{collection}", "1")
            .replace("{rma}", &rma);
        let body = (*method != "GET").then(|| json!({}));
        let (anonymous, _) = api(&app, method, &path, None, body.as_ref(), &[]).await;
        assert_eq!(anonymous, 401, "{method} {path} without a token");
        let (as_staff, answer) = api(&app, method, &path, Some(&staff), body.as_ref(), &[]).await;
        match access {
            Access::Staff => assert!(
                as_staff != 401 && as_staff != 403 && as_staff != 500,
                "{method} {path} as staff: {as_staff} {answer}"
            ),
            Access::Refunds
            | Access::Privacy
            | Access::Support
            | Access::Analytics
            | Access::Owner => {
                assert_eq!(as_staff, 403, "{method} {path} as staff: {answer}")
            }
        }
        if *method == "GET" {
            let (as_owner, answer) = get(&app, &path, &owner_token).await;
            assert_eq!(as_owner, 200, "{method} {path} as owner: {answer}");
        }
    }

    // Refunds: staff allowed to refund may; the owner may (the loop above cancelled the
    // first order).
    let number = refunded;
    let refund = json!({"amount": {"amount": 100, "currency": "EUR"}, "reason": "scratch"});
    let path = format!("/api/v1/admin/orders/{number}/refunds");
    let (status, body) = api(
        &app,
        "POST",
        &path,
        Some(&staff),
        Some(&refund),
        &[("Idempotency-Key", "k1")],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = api(
        &app,
        "POST",
        &path,
        Some(&refunder),
        Some(&refund),
        &[("Idempotency-Key", "k2")],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api(
        &app,
        "POST",
        &path,
        Some(&owner_token),
        Some(&refund),
        &[("Idempotency-Key", "k3")],
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn bearer_requests_pass_the_cross_site_check_and_cookie_forms_keep_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, owner_token, _, _) = team(&app).await;
    // No Origin, no Referer, no cookie: a program, let through.
    let body = json!({"slug": "from-erp", "title": "From the ERP"});
    let (status, answer) = send(
        &app,
        "POST",
        "/api/v1/admin/collections",
        &owner_token,
        body,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    // Even with another site's Origin, a Bearer request carries no ambient credential.
    let (status, answer) = api(
        &app,
        "POST",
        "/api/v1/admin/collections",
        Some(&owner_token),
        Some(&json!({"slug": "from-elsewhere", "title": "Elsewhere"})),
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert_eq!(
        status, 403,
        "a cross-site write is refused whatever it carries: {answer}"
    );

    // A session cookie without Origin, or from another site: refused, API and forms alike.
    for (path, origin) in [
        ("/api/v1/admin/collections", None),
        ("/api/v1/admin/collections", Some("https://evil.example")),
        ("/admin/staff/tokens", None),
        ("/admin/staff/tokens", Some("https://evil.example")),
    ] {
        let mut request = app
            .client
            .post(format!("{}{path}", app.address))
            .header("Cookie", &owner)
            .json(&json!({"slug": "forged", "title": "Forged"}));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{path} {origin:?}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM collections WHERE slug = 'forged'"
        )
        .await,
        0
    );
    // The same cookie from the shop's own pages works.
    let (status, answer) = api(
        &app,
        "POST",
        "/api/v1/admin/collections",
        None,
        Some(&json!({"slug": "from-the-admin", "title": "Mine"})),
        &[("Cookie", &owner), ("Origin", &app.address)],
    )
    .await;
    assert_eq!(status, 201, "{answer}");
}

fn new_product(slug: &str) -> Value {
    json!({
        "slug": slug,
        "title": "Linen shirt",
        "description": "Cool in **summer**.",
        "status": "draft",
        "options": ["Size"],
        "variants": [
            {"sku": format!("{slug}-s"), "options": ["S"], "price": {"amount": 4900, "currency": "EUR"}, "stock": 3},
            {"sku": format!("{slug}-m"), "options": ["M"], "price": {"amount": 4900, "currency": "EUR"},
             "compare_at": null, "stock": 0, "weight_grams": null}
        ],
        "vendor": null
    })
}

async fn products_are_created_edited_published_and_archived(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, staff, _) = team(&app).await;
    let (status, product) = send(
        &app,
        "POST",
        "/api/v1/admin/products",
        &staff,
        new_product("linen-shirt"),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    let id = product["id"].as_i64().unwrap();
    assert_eq!(product["status"], "draft");
    assert_eq!(product["options"], json!(["Size"]));
    let variants = product["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert!(variants[0]["id"].as_i64().is_some());
    assert_eq!(
        variants[0]["price"],
        json!({"amount": 4900, "currency": "EUR"})
    );
    // The initial stock is received like any other (a ledger line, a new version).
    assert_eq!(
        variants[0]["stock"],
        json!({"on_hand": 3, "reserved": 0, "available": 3, "version": 1})
    );
    let received = format!(
        "SELECT COUNT(*) FROM stock_ledger WHERE variant_id = {} AND reason = 'received' \
         AND on_hand_delta = 3 AND note = 'initial stock (token:warehouse (staff@shop.test))'",
        variants[0]["id"]
    );
    assert_eq!(count(&app, &received).await, 1);
    assert_eq!(variants[1]["stock"]["version"], 0);
    assert_eq!(variants[1]["options"], json!(["M"]));
    assert!(product["created_at"].as_str().unwrap().ends_with('Z'));
    let created = audit_rows(&app, "Product created").await;
    assert_eq!(created[0].0, "token:warehouse (staff@shop.test)");
    assert_eq!(created[0].1, format!("product:{id}"));

    let (status, shown) = get(&app, &format!("/api/v1/admin/products/{id}"), &staff).await;
    assert_eq!((status, &shown), (200, &product));
    let (status, listed) = get(&app, "/api/v1/admin/products?q=linen&status=draft", &staff).await;
    assert_eq!(status, 200, "{listed}");
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == id),
        "{listed}"
    );
    // Pages follow the cursor.
    let (_, first) = get(&app, "/api/v1/admin/products?limit=2", &staff).await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("more pages")
        .to_string();
    let (_, second) = get(
        &app,
        &format!("/api/v1/admin/products?limit=2&cursor={cursor}"),
        &staff,
    )
    .await;
    assert!(second["items"][0]["id"].as_i64() > first["items"][1]["id"].as_i64());

    for method in ["PATCH", "POST"] {
        let (status, edited) = send(
            &app,
            method,
            &format!("/api/v1/admin/products/{id}"),
            &staff,
            json!({"title": format!("Linen shirt ({method})"), "tags": ["Summer", "linen"], "description": null}),
        )
        .await;
        assert_eq!(status, 200, "{edited}");
        assert_eq!(edited["title"], format!("Linen shirt ({method})"));
        assert_eq!(edited["tags"], json!(["linen", "summer"]));
        assert_eq!(edited["description"], "Cool in **summer**.");
    }
    let (status, published) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/products/{id}/publish"),
        Some(&staff),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, published["status"].as_str()),
        (200, Some("active"))
    );
    let (status, storefront) = app.json("/api/v1/products/linen-shirt").await;
    assert_eq!(status, 200, "{storefront}");
    let (status, archived) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/products/{id}/archive"),
        Some(&staff),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (status, archived["status"].as_str()),
        (200, Some("archived"))
    );
    assert_eq!(audit_rows(&app, "Product edited").await.len(), 4);
    let (status, _) = get(&app, "/api/v1/admin/products/999999", &staff).await;
    assert_eq!(status, 404);
    let (status, _) = get(&app, "/api/v1/admin/products/abc", &staff).await;
    assert_eq!(status, 404);
}

async fn bad_product_input_names_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, staff, _) = team(&app).await;
    let path = "/api/v1/admin/products";
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = new_product("bad-input");
        change(&mut body);
        body
    };
    // Malformed JSON is a 400.
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(&staff)
        .header("Content-Type", "application/json")
        .body("{\"slug\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], 400);

    let cases: Vec<(Value, &str)> = vec![
        (
            with(&|b| b["variants"][0]["price"]["amount"] = json!("49.00")),
            "variants[0].price.amount",
        ),
        (
            with(&|b| b["variants"][0]["price"]["amount"] = json!(49.5)),
            "variants[0].price.amount",
        ),
        (
            with(&|b| b["variants"][0]["price"]["amount"] = json!(1e20)),
            "variants[0].price.amount",
        ),
        (
            with(&|b| b["variants"][0]["price"]["amount"] = json!(-1)),
            "variants[0].price.amount",
        ),
        (
            with(&|b| b["variants"][0]["price"]["amount"] = json!(i64::MAX)),
            "variants[0].price.amount",
        ),
        (
            with(&|b| b["variants"][1]["price"]["currency"] = json!("USD")),
            "variants[1].price.currency",
        ),
        (
            with(&|b| b["variants"][0]["stock"] = json!(-3)),
            "variants[0].stock",
        ),
        (
            with(&|b| b["variants"][0]["stock"] = json!(u64::MAX)),
            "variants[0].stock",
        ),
        (
            with(&|b| b["variants"][0]["options"] = json!(["S", "Red"])),
            "variants[0].options",
        ),
        (
            with(&|b| b["variants"][1]["sku"] = json!("bad-input-s")),
            "variants[1].sku",
        ),
        (
            with(&|b| b["variants"][0]["colour"] = json!("red")),
            "variants[0].colour",
        ),
        (with(&|b| b["status"] = json!("published")), "status"),
        (with(&|b| b["slug"] = json!("Not A Slug")), "slug"),
        (with(&|b| b["title"] = json!("")), "title"),
        (with(&|b| b["title"] = json!("nul\u{0}byte")), "title"),
        (
            with(&|b| {
                b.as_object_mut()
                    .unwrap()
                    .remove("slug")
                    .map(|_| ())
                    .unwrap()
            }),
            "slug",
        ),
        (with(&|b| b["variants"] = json!({"sku": "x"})), "variants"),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let (status, answer) = send(&app, "POST", path, &staff, body.clone()).await;
        assert!(status == 422 || status == 400, "{field}: {status} {answer}");
        assert_names(status, &answer, status, field);
    }
    // Nothing was written by any of them.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM products WHERE slug = 'bad-input'"
        )
        .await,
        0
    );
    // A slug or SKU already in use is named too.
    let (status, _) = send(&app, "POST", path, &staff, new_product("bad-input")).await;
    assert_eq!(status, 201);
    let (status, answer) = send(&app, "POST", path, &staff, new_product("bad-input")).await;
    assert_names(status, &answer, 422, "slug");
    assert!(
        field_of(&answer).contains(&"variants[0].sku".to_string()),
        "{answer}"
    );
    // Edits too.
    let id: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = 'bad-input'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let edit = format!("/api/v1/admin/products/{id}");
    let (status, answer) = send(&app, "PATCH", &edit, &staff, json!({"slug": "Nope!"})).await;
    assert_names(status, &answer, 422, "slug");
    let (status, answer) = send(&app, "PATCH", &edit, &staff, json!({"titel": "typo"})).await;
    assert_names(status, &answer, 422, "titel");
    let (status, answer) = send(&app, "PATCH", &edit, &staff, json!({"status": 3})).await;
    assert_names(status, &answer, 422, "status");
    let (status, answer) = send(
        &app,
        "PATCH",
        &edit,
        &staff,
        json!({"description": "x".repeat(50_001)}),
    )
    .await;
    assert_names(status, &answer, 422, "description");
    let (status, answer) = get(&app, "/api/v1/admin/products?limit=100000", &staff).await;
    assert_names(status, &answer, 400, "limit");
    let (status, answer) = get(&app, "/api/v1/admin/products?q=%00", &staff).await;
    assert_names(status, &answer, 400, "q");
}

async fn variant_prices_and_stock_change_within_limits(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, staff, _) = team(&app).await;
    let (variant, _) = variant_with_stock(&app, 0, 10).await;
    let ledger = format!("SELECT COUNT(*) FROM stock_ledger WHERE variant_id = {variant}");
    let ledger_before = count(&app, &ledger).await;
    let path = format!("/api/v1/admin/variants/{variant}");
    let (status, edited) = send(
        &app,
        "PATCH",
        &path,
        &staff,
        json!({"price": {"amount": 1999, "currency": "EUR"}, "compare_at": {"amount": 2999, "currency": "EUR"}, "sku": null}),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["price"]["amount"], 1999);
    assert_eq!(edited["compare_at"]["amount"], 2999);
    let version = edited["stock"]["version"].as_i64().unwrap();
    assert_eq!(
        audit_rows(&app, "Variant edited").await[0].0,
        "token:warehouse (staff@shop.test)"
    );
    let (status, edited) = send(
        &app,
        "POST",
        &path,
        &staff,
        json!({"compare_at": {"amount": 0, "currency": "EUR"}, "version": version}),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert!(edited["compare_at"].is_null());
    // A stale version is a conflict, not a silent overwrite.
    let (status, answer) = send(
        &app,
        "PATCH",
        &path,
        &staff,
        json!({"weight_grams": 10, "version": version}),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = send(
        &app,
        "PATCH",
        &path,
        &staff,
        json!({"price": {"amount": 100, "currency": "GBP"}}),
    )
    .await;
    assert_names(status, &answer, 422, "price.currency");
    let (status, answer) = send(
        &app,
        "PATCH",
        &path,
        &staff,
        json!({"price": {"amount": "1"}}),
    )
    .await;
    assert_names(status, &answer, 422, "price.amount");
    let (status, answer) = send(
        &app,
        "PATCH",
        &path,
        &staff,
        json!({"low_stock_threshold": -1}),
    )
    .await;
    assert_names(status, &answer, 422, "low_stock_threshold");

    // Stock: a delta, with its reason, in the ledger; never below what is reserved.
    let stock = format!("{path}/stock");
    let (status, after) = send(
        &app,
        "POST",
        &stock,
        &staff,
        json!({"delta": 5, "reason": "received", "note": "delivery 42"}),
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["on_hand"], 15);
    assert_eq!(after["reserved"], 0);
    assert_eq!(after["available"], 15);
    assert!(after["version"].as_i64().unwrap() > version);
    let (status, after) = send(
        &app,
        "POST",
        &stock,
        &staff,
        json!({"delta": -3, "reason": null}),
    )
    .await;
    assert_eq!(
        (status, after["on_hand"].as_i64()),
        (200, Some(12)),
        "{after}"
    );
    sqlx::query("UPDATE variants SET reserved = 4 WHERE id = $1")
        .bind(variant)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, answer) = send(&app, "POST", &stock, &staff, json!({"delta": -9})).await;
    assert_names(status, &answer, 422, "delta");
    let (status, answer) = send(&app, "POST", &stock, &staff, json!({"delta": -100})).await;
    assert_names(status, &answer, 422, "delta");
    assert_eq!(stock_of(&app, variant).await, (12, 4));
    for (body, field) in [
        (json!({"delta": i64::MIN}), "delta"),
        (json!({"delta": 1e30}), "delta"),
        (json!({"delta": 2.5}), "delta"),
        (json!({"delta": 0}), "delta"),
        (json!({"delta": 1, "reason": "stolen"}), "reason"),
        (json!({"delta": 1, "reason": "damaged"}), "delta"),
        (json!({}), "delta"),
    ] {
        let (status, answer) = send(&app, "POST", &stock, &staff, body).await;
        assert_names(status, &answer, 422, field);
    }
    assert_eq!(count(&app, &ledger).await, ledger_before + 2);
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/admin/variants/999999/stock",
        &staff,
        json!({"delta": 1}),
    )
    .await;
    assert_eq!(status, 404);
}

async fn collections_are_created_and_filled(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, staff, _) = team(&app).await;
    let products: Vec<i64> = sqlx::query_scalar("SELECT id FROM products ORDER BY id LIMIT 3")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let (status, created) = send(
        &app,
        "POST",
        "/api/v1/admin/collections",
        &staff,
        json!({"slug": "summer", "title": "Summer", "description": null, "product_ids": [products[0]]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["product_ids"], json!([products[0]]));
    let path = format!("/api/v1/admin/collections/{id}/products");
    let order = json!({"product_ids": [products[2], products[1]]});
    let (status, filled) = send(&app, "PUT", &path, &staff, order.clone()).await;
    assert_eq!(status, 200, "{filled}");
    assert_eq!(filled["product_ids"], order["product_ids"]);
    let (status, listed) = get(&app, "/api/v1/admin/collections", &staff).await;
    assert_eq!(status, 200);
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["slug"] == "summer"));
    assert!(listed["next_cursor"].is_null());
    assert_eq!(audit_rows(&app, "Collection saved").await.len(), 2);

    let (status, answer) = send(
        &app,
        "PUT",
        &path,
        &staff,
        json!({"product_ids": [products[0], 999999]}),
    )
    .await;
    assert_names(status, &answer, 422, "product_ids[1]");
    let (status, answer) = send(
        &app,
        "PUT",
        &path,
        &staff,
        json!({"product_ids": [products[0], products[0]]}),
    )
    .await;
    assert_names(status, &answer, 422, "product_ids[1]");
    let (status, answer) = send(&app, "PUT", &path, &staff, json!({"product_ids": ["one"]})).await;
    assert_names(status, &answer, 422, "product_ids[0]");
    let (_, unchanged) = get(&app, "/api/v1/admin/collections", &staff).await;
    let summer = unchanged["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"] == "summer")
        .unwrap()
        .clone();
    assert_eq!(summer["product_ids"], order["product_ids"]);
    let (status, answer) = send(
        &app,
        "POST",
        "/api/v1/admin/collections",
        &staff,
        json!({"slug": "summer", "title": "Again"}),
    )
    .await;
    assert_names(status, &answer, 422, "slug");
    let (status, _) = send(
        &app,
        "PUT",
        "/api/v1/admin/collections/999999/products",
        &staff,
        json!({"product_ids": []}),
    )
    .await;
    assert_eq!(status, 404);
}

async fn orders_are_listed_shown_shipped_delivered_and_cancelled(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, staff, _) = team(&app).await;
    let (first, _) = variant_with_stock(&app, 0, 20).await;
    let (second, _) = variant_with_stock(&app, 1, 20).await;
    let number = paid_order(&app, &[(first, 3), (second, 1)]).await;
    let other = paid_order(&app, &[(first, 2)]).await;

    let (status, list) = get(&app, "/api/v1/admin/orders?status=paid", &staff).await;
    assert_eq!(status, 200, "{list}");
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, vec![other.as_str(), number.as_str()]);
    assert!(list["items"][0]["created_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(list["items"][0]["total"]["currency"], "EUR");
    let (_, found) = get(&app, &format!("/api/v1/admin/orders?q={number}"), &staff).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (status, answer) = get(&app, "/api/v1/admin/orders?status=lost", &staff).await;
    assert_names(status, &answer, 400, "status");
    let (status, answer) = get(&app, "/api/v1/admin/orders?cursor=nonsense", &staff).await;
    assert_names(status, &answer, 400, "cursor");
    let (status, answer) = get(&app, "/api/v1/admin/orders?from=yesterday", &staff).await;
    assert_names(status, &answer, 400, "from");

    let (status, order) = get(&app, &format!("/api/v1/admin/orders/{number}"), &staff).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["payments"].as_array().unwrap().len(), 1);
    assert_eq!(order["refunds"], json!([]));
    assert_eq!(order["shipments"], json!([]));
    let lines = order["lines"].as_array().unwrap();
    let (line_a, line_b) = (
        lines[0]["id"].as_i64().unwrap(),
        lines[1]["id"].as_i64().unwrap(),
    );
    for path in [
        "/api/v1/admin/orders/999999",
        "/api/v1/admin/orders/-9223372036854775808",
        "/api/v1/admin/orders/x",
    ] {
        assert_eq!(get(&app, path, &staff).await.0, 404, "{path}");
    }

    // Ship part, then the rest; too many is named.
    let ship = format!("/api/v1/admin/orders/{number}/shipments");
    let (status, answer) = send(&app, "POST", &ship, &staff, json!({"lines": [{"line_id": line_a, "quantity": 4}], "carrier": "DHL", "tracking_number": "1"})).await;
    assert_names(status, &answer, 422, "lines[0].quantity");
    let (status, answer) = send(&app, "POST", &ship, &staff, json!({"lines": [{"line_id": line_a, "quantity": 1}, {"line_id": 999999, "quantity": 1}], "carrier": "DHL", "tracking_number": "1"})).await;
    assert_names(status, &answer, 422, "lines[1].line_id");
    let (status, answer) = send(&app, "POST", &ship, &staff, json!({"lines": [{"line_id": line_a, "quantity": 4294967297_i64}], "carrier": "", "tracking_number": "1"})).await;
    assert_names(status, &answer, 422, "carrier");
    assert!(
        field_of(&answer).contains(&"lines[0].quantity".to_string()),
        "{answer}"
    );
    let (status, answer) = send(
        &app,
        "POST",
        &ship,
        &staff,
        json!({"lines": [], "carrier": "DHL", "tracking_number": "1"}),
    )
    .await;
    assert_names(status, &answer, 422, "lines");
    let (status, shipment) = send(&app, "POST", &ship, &staff, json!({"lines": [{"line_id": line_a, "quantity": 2}], "carrier": "DHL", "tracking_number": "JJD01"})).await;
    assert_eq!(status, 201, "{shipment}");
    let shipment_id = shipment["id"].as_i64().unwrap();
    assert_eq!(
        shipment["lines"],
        json!([{"line_id": line_a, "quantity": 2}])
    );
    assert_eq!(shipment["status"], "shipped");
    let (status, rest) = send(&app, "POST", &ship, &staff, json!({"lines": [{"line_id": line_a, "quantity": 1}, {"line_id": line_b, "quantity": 1}], "carrier": "DHL", "tracking_number": "JJD02"})).await;
    assert_eq!(status, 201, "{rest}");
    let (status, delivered) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/shipments/{shipment_id}/delivered"),
        Some(&staff),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{delivered}");
    assert_eq!(delivered["status"], "delivered");
    assert!(delivered["delivered_at"].as_str().unwrap().ends_with('Z'));
    let (status, _) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/shipments/{shipment_id}/delivered"),
        Some(&staff),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 409);
    let (_, order) = get(&app, &format!("/api/v1/admin/orders/{number}"), &staff).await;
    assert_eq!(order["fulfilment"], "fulfilled");
    assert_eq!(order["shipments"].as_array().unwrap().len(), 2);
    assert_eq!(
        audit_rows(&app, "Shipment created").await[0].0,
        "token:warehouse (staff@shop.test)"
    );

    // A shipped order cannot be cancelled; an unshipped one is, and its stock comes back.
    let (status, _) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{number}/cancel"),
        Some(&staff),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 409);
    let before = stock_of(&app, first).await.0;
    let (status, cancelled) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{other}/cancel"),
        Some(&staff),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(stock_of(&app, first).await.0, before + 2);
}

async fn refunds_are_idempotent_and_never_exceed_what_is_left(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, _, refunder) = team(&app).await;
    let (variant, price) = variant_with_stock(&app, 0, 20).await;
    let number = paid_order(&app, &[(variant, 1)]).await;
    let path = format!("/api/v1/admin/orders/{number}/refunds");
    let body = json!({"amount": {"amount": 500, "currency": "EUR"}, "reason": "late delivery"});
    let (status, answer) = api(&app, "POST", &path, Some(&refunder), Some(&body), &[]).await;
    assert_names(status, &answer, 400, "Idempotency-Key");
    let (status, first) = api(
        &app,
        "POST",
        &path,
        Some(&refunder),
        Some(&body),
        &[("Idempotency-Key", "refund-1")],
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["amount"], json!({"amount": 500, "currency": "EUR"}));
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["reason"], "late delivery");
    let (status, again) = api(
        &app,
        "POST",
        &path,
        Some(&refunder),
        Some(&body),
        &[("Idempotency-Key", "refund-1")],
    )
    .await;
    assert!(status == 200 || status == 201, "{again}");
    assert_eq!(again["id"], first["id"]);
    let refunds = "SELECT COUNT(*) FROM payments WHERE kind = 'refund'";
    assert_eq!(count(&app, refunds).await, 1);
    let (_, order) = get(&app, &format!("/api/v1/admin/orders/{number}"), &refunder).await;
    assert_eq!(order["refunded"]["amount"], 500);
    assert_eq!(order["refunds"][0]["id"], first["id"]);
    let refunded = audit_rows(&app, "Refunded").await;
    assert_eq!(refunded.len(), 1);
    assert_eq!(refunded[0].0, "token:erp (refunder@shop.test)");

    // More than is left is refused, naming the amount; so are other currencies and nonsense.
    let total: i64 = order["total"]["amount"].as_i64().unwrap();
    assert!(total >= price);
    let too_much = json!({"amount": {"amount": total - 500 + 1, "currency": "EUR"}});
    let (status, answer) = api(
        &app,
        "POST",
        &path,
        Some(&refunder),
        Some(&too_much),
        &[("Idempotency-Key", "refund-2")],
    )
    .await;
    assert_names(status, &answer, 422, "amount");
    for (body, field) in [
        (
            json!({"amount": {"amount": 100, "currency": "USD"}}),
            "amount.currency",
        ),
        (
            json!({"amount": {"amount": -100, "currency": "EUR"}}),
            "amount.amount",
        ),
        (
            json!({"amount": {"amount": 0, "currency": "EUR"}}),
            "amount.amount",
        ),
        (json!({"amount": 100}), "amount"),
        (
            json!({"amount": {"amount": 1e300, "currency": "EUR"}}),
            "amount.amount",
        ),
    ] {
        let (status, answer) = api(
            &app,
            "POST",
            &path,
            Some(&refunder),
            Some(&body),
            &[("Idempotency-Key", "refund-3")],
        )
        .await;
        assert_names(status, &answer, 422, field);
    }
    assert_eq!(count(&app, refunds).await, 1);
    let rest = json!({"amount": {"amount": total - 500, "currency": "EUR"}, "reason": null});
    let (status, answer) = api(
        &app,
        "POST",
        &path,
        Some(&refunder),
        Some(&rest),
        &[("Idempotency-Key", "refund-4")],
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    // A key names one refund of one order.
    let other = paid_order(&app, &[(variant, 1)]).await;
    let (status, _) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{other}/refunds"),
        Some(&refunder),
        Some(&body),
        &[("Idempotency-Key", "refund-1")],
    )
    .await;
    assert_eq!(status, 409);
}

async fn create_api_token_on_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let data_dir = dir.path().display().to_string();
    let kassa = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kassa"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &url)
            .env("KASSA_DATA_DIR", &data_dir)
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run kassa")
    };
    assert!(kassa(&["migrate"]).status.success());
    let db = app::db::Db::connect(&url).await.unwrap();
    for (email, role) in [
        ("staff@shop.test", Role::Staff),
        ("shopper@shop.test", Role::Customer),
    ] {
        app::admin::auth::create_account(&db, email, "a long enough password", role, false)
            .await
            .unwrap();
    }
    let output = kassa(&[
        "create-api-token",
        "--email",
        "Staff@shop.test",
        "--name",
        "first integration",
        "--expires-days",
        "7",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(
        token.starts_with("kassa_at_") && token.len() >= 41,
        "{token}"
    );
    let (_, account) = app::admin::tokens::resolve(&db, &token, app::db::now_epoch())
        .await
        .unwrap()
        .expect("the token works");
    assert_eq!(account.email, "staff@shop.test");
    assert_eq!(account.token.as_deref(), Some("first integration"));
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(stored, hex::encode(Sha256::digest(token.as_bytes())));
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM audit_log WHERE action = 'API token created'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(actor.contains("command line"), "{actor}");

    for (email, expected) in [
        (
            "nobody@shop.test",
            "no account has the email nobody@shop.test",
        ),
        (
            "shopper@shop.test",
            "shopper@shop.test is not a staff account",
        ),
    ] {
        let output = kassa(&["create-api-token", "--email", email, "--name", "x"]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
        assert!(output.stdout.is_empty());
    }
    let output = kassa(&[
        "create-api-token",
        "--email",
        "staff@shop.test",
        "--name",
        "x",
        "--expires-days",
        "0",
    ]);
    assert!(!output.status.success());
    assert_eq!(count_tokens(&db).await, 1);
    db.close().await;
}

async fn count_tokens(db: &app::db::Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// The storefront's routes; the admin's are in `ADMIN_ENDPOINTS`.
const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/{slug}"),
    ("GET", "/api/v1/collections"),
    ("GET", "/api/v1/collections/{slug}"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/cart/quote"),
    ("POST", "/api/v1/checkout"),
    ("POST", "/api/v1/events"),
    ("GET", "/api/v1/orders/{number}"),
    ("POST", "/api/v1/orders/{number}/returns"),
    ("GET", "/api/v1/orders/{number}/returns"),
    ("POST", "/api/v1/customer/sign-in/code"),
    ("POST", "/api/v1/customer/sign-in"),
    ("POST", "/api/v1/customer/sign-out"),
    ("GET", "/api/v1/customer"),
    ("GET", "/api/v1/customer/orders"),
    ("GET", "/api/v1/customer/addresses"),
    ("POST", "/api/v1/customer/addresses"),
    ("PUT", "/api/v1/customer/addresses/{id}"),
    ("DELETE", "/api/v1/customer/addresses/{id}"),
    ("GET", "/api/v1/customer/cart"),
    ("PUT", "/api/v1/customer/cart"),
    ("POST", "/api/v1/customer/cart/merge"),
    ("GET", "/api/v1/customer/preferences"),
    ("PUT", "/api/v1/customer/preferences"),
    ("POST", "/api/v1/customer/passkeys/registration"),
    ("POST", "/api/v1/customer/passkeys"),
    ("GET", "/api/v1/customer/passkeys"),
    ("PUT", "/api/v1/customer/passkeys/{id}"),
    ("DELETE", "/api/v1/customer/passkeys/{id}"),
    ("POST", "/api/v1/customer/sign-in/passkey/options"),
    ("POST", "/api/v1/customer/sign-in/passkey"),
];

async fn the_openapi_document_describes_every_api_route_and_method(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, doc) = app.json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = ADMIN_ENDPOINTS
        .iter()
        .filter(|(_, path, _)| path.starts_with("/api/v1/"))
        .map(|(method, path, _)| (*method, *path))
        .chain(PUBLIC_ROUTES.iter().copied());
    for (method, path) in routes {
        let operation = &doc["paths"][path][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        if path.starts_with("/api/v1/admin/") {
            assert_eq!(
                operation["security"],
                json!([{"bearer": []}]),
                "{method} {path}"
            );
        }
    }
    // Every documented path answers exactly its documented methods: a method the router
    // serves but the document does not name (or the reverse) fails here.
    let paths = doc["paths"].as_object().unwrap();
    for (path, operations) in paths {
        let url = path
            .replace("{slug}", "linen")
            .replace("{number}", "1001")
            .replace("{product}", "1")
            .replace("{variant}", "1")
            .replace("{collection}", "1")
            .replace("{shipment}", "1")
            .replace("{rma}", "R1001-1")
            .replace("{id}", "1");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let documented = operations.get(method.to_lowercase()).is_some();
            let response = app
                .client
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("{}{url}", app.address),
                )
                .send()
                .await
                .unwrap();
            let served = response.status().as_u16() != 405;
            assert_eq!(served, documented, "{method} {path}: {}", response.status());
        }
    }
    // Every schema referred to exists.
    let text = doc.to_string();
    let refs: Vec<&str> = text
        .split("\"$ref\":\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert!(refs.len() > 20, "{refs:?}");
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{reference} is not a schema reference"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // What the API answers is what the document says (no two types under one name).
    let (_, owner_token, _, _) = team(&app).await;
    let (variant, _) = variant_with_stock(&app, 0, 20).await;
    let number = paid_order(&app, &[(variant, 2)]).await;
    let mut answers = Vec::new();
    let (status, product) = send(
        &app,
        "POST",
        "/api/v1/admin/products",
        &owner_token,
        new_product("documented"),
    )
    .await;
    answers.push(("post", "/api/v1/admin/products", status, product.clone()));
    let (status, order) = get(
        &app,
        &format!("/api/v1/admin/orders/{number}"),
        &owner_token,
    )
    .await;
    answers.push((
        "get",
        "/api/v1/admin/orders/{number}",
        status,
        order.clone(),
    ));
    let line = order["lines"][0]["id"].as_i64().unwrap();
    let ship = json!({"lines": [{"line_id": line, "quantity": 1}], "carrier": "DHL", "tracking_number": "1"});
    let (status, shipment) = send(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{number}/shipments"),
        &owner_token,
        ship,
    )
    .await;
    answers.push((
        "post",
        "/api/v1/admin/orders/{number}/shipments",
        status,
        shipment,
    ));
    let refund = json!({"amount": {"amount": 100, "currency": "EUR"}});
    let (status, refunded) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{number}/refunds"),
        Some(&owner_token),
        Some(&refund),
        &[("Idempotency-Key", "doc")],
    )
    .await;
    answers.push((
        "post",
        "/api/v1/admin/orders/{number}/refunds",
        status,
        refunded,
    ));
    let (status, order) = get(
        &app,
        &format!("/api/v1/admin/orders/{number}"),
        &owner_token,
    )
    .await;
    answers.push(("get", "/api/v1/admin/orders/{number}", status, order));
    let (status, stock) = send(
        &app,
        "POST",
        &format!("/api/v1/admin/variants/{variant}/stock"),
        &owner_token,
        json!({"delta": 1}),
    )
    .await;
    answers.push((
        "post",
        "/api/v1/admin/variants/{variant}/stock",
        status,
        stock,
    ));
    for (path, url) in [
        (
            "/api/v1/admin/products",
            "/api/v1/admin/products".to_string(),
        ),
        ("/api/v1/admin/orders", "/api/v1/admin/orders".to_string()),
        (
            "/api/v1/admin/collections",
            "/api/v1/admin/collections".to_string(),
        ),
        (
            "/api/v1/admin/products/{product}",
            format!("/api/v1/admin/products/{}", product["id"]),
        ),
    ] {
        let (status, answer) = get(&app, &url, &owner_token).await;
        answers.push(("get", path, status, answer));
    }
    let (status, answer) = get(&app, "/api/v1/admin/orders?status=nonsense", &owner_token).await;
    answers.push(("get", "/api/v1/admin/orders", status, answer));
    let slug: String =
        sqlx::query_scalar("SELECT slug FROM products WHERE status = 'active' ORDER BY id LIMIT 1")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    for (path, url) in [
        ("/api/v1/products", "/api/v1/products".to_string()),
        (
            "/api/v1/products/{slug}",
            format!("/api/v1/products/{slug}"),
        ),
        ("/api/v1/collections", "/api/v1/collections".to_string()),
    ] {
        let (status, answer) = app.json(&url).await;
        answers.push(("get", path, status, answer));
    }
    for (method, path, status, answer) in answers {
        let schema = &doc["paths"][path][method]["responses"][status.to_string()]["content"]
            ["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {path} {status} is not documented: {answer}"
        );
        conforms(&doc, schema, &answer, &format!("{method} {path} {status}"));
    }
}

/// Checks that every key of `value` is a property of `schema` and every required one is
/// there, through references, objects and arrays (alternatives are not followed).
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return conforms(doc, &doc["components"]["schemas"][name], value, at);
    }
    match value {
        Value::Object(map) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (key, item) in map {
                let property = properties
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}: `{key}` is not in the schema {schema}"));
                conforms(doc, property, item, &format!("{at}.{key}"));
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap();
                assert!(map.contains_key(key), "{at}: `{key}` is required");
            }
        }
        Value::Array(items) if schema.get("items").is_some_and(Value::is_object) => {
            for (i, item) in items.iter().enumerate() {
                conforms(doc, &schema["items"], item, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}
