//! The admin over HTTP: who may call what, sign-in limits, sessions, cross-site requests,
//! fulfilment, refunds, cancellation and stock, on both databases.

use app::admin::{Access, Role, ADMIN_ENDPOINTS};
use serde_json::{json, Value};
use sqlx::Row;

use crate::checkout::{
    checkout, count, ledger_of, order_body, stock_of, token_of, variant_with_stock,
};
use crate::helpers::{
    spawn_app, spawn_app_with, spawn_app_with_page_cache, Backend, Options, TestApp,
};
use crate::on_both_databases;

on_both_databases!(
    every_admin_endpoint_checks_the_role,
    sign_in_is_rate_limited_per_account_and_per_address,
    cross_site_writes_are_refused,
    sessions_rotate_at_sign_in_and_expire_when_idle,
    orders_ship_in_parts_and_refunds_never_exceed_the_payment,
    cancelling_an_unfulfilled_order_returns_stock_and_money,
    stock_edits_cannot_silently_overwrite_each_other,
    every_response_carries_the_security_headers,
    the_order_list_filters_and_pages,
    staff_create_publish_edit_and_archive_products,
    pictures_collections_and_csv_imports_from_the_browser,
    the_owner_adds_staff_who_refund_only_when_allowed,
    staff_edits_show_on_cached_pages_at_once,
    the_back_office_has_its_own_frame_and_one_search,
    the_inventory_table_pages_filters_and_adjusts_in_place,
    the_product_table_filters_sorts_pages_and_changes_in_bulk,
    orders_ship_in_bulk_from_a_pasted_sheet,
    the_owners_settings_change_what_checkout_charges,
    the_product_editor_grid_generates_saves_and_removes_variants,
    pictures_are_reordered_and_deleted_and_collections_deleted,
);

pub(crate) const PASSWORD: &str = "a long enough password";

/// A signed-in account of the role: its session cookie (`name=value`).
pub(crate) async fn account(app: &TestApp, email: &str, role: Role, can_refund: bool) -> String {
    app::admin::auth::create_account(&app.db, email, PASSWORD, role, can_refund)
        .await
        .unwrap();
    sign_in(app, email, PASSWORD).await.expect("signed in")
}

/// Signs in through the form; the session cookie (`name=value`) on success, the status if not.
pub(crate) async fn sign_in(app: &TestApp, email: &str, password: &str) -> Result<String, u16> {
    sign_in_with(app, email, password, None).await
}

async fn sign_in_with(
    app: &TestApp,
    email: &str,
    password: &str,
    cookie: Option<&str>,
) -> Result<String, u16> {
    let mut request = app
        .client
        .post(format!("{}/admin/sign-in", app.address))
        .header("Origin", &app.address)
        .form(&[("email", email), ("password", password)]);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    match response.headers().get("set-cookie") {
        Some(cookie) if status == 303 => {
            let cookie = cookie.to_str().unwrap();
            assert!(
                cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
                "{cookie}"
            );
            Ok(cookie.split(';').next().unwrap().to_string())
        }
        _ => Err(status),
    }
}

async fn as_user(
    app: &TestApp,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, String) {
    let url = format!("{}{path}", app.address);
    let mut request = match method {
        "GET" => app.client.get(url).header("Accept", "application/json"),
        _ if path.starts_with("/api/v1/") => app
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .header("Origin", &app.address)
            .json(&json!({})),
        _ if path.starts_with("/api/") => {
            // Server functions take their arguments as JSON.
            let body = match path {
                "/api/admin/orders" => json!({"filter": {}}),
                "/api/admin/order" => {
                    json!({"number": form.first().map(|f| f.1).unwrap_or("1001")})
                }
                "/api/admin/variant"
                | "/api/admin/product"
                | "/api/admin/discount"
                | "/api/admin/gift-card"
                | "/api/admin/campaign"
                | "/api/admin/support-conversation" => {
                    json!({"id": form.first().and_then(|f| f.1.parse::<i64>().ok()).unwrap_or(1)})
                }
                "/api/admin/products" => json!({"filter": {}}),
                "/api/admin/inventory" => json!({"filter": {}}),
                "/api/admin/import-status" => json!({"job": "none"}),
                "/api/admin/support" => json!({"status": "open", "q": ""}),
                "/api/admin/order-conversations" => json!({"number": "1001"}),
                "/api/admin/returns" => json!({"status": "all", "order": ""}),
                "/api/admin/analytics" => json!({"from": "", "to": ""}),
                "/api/admin/return" => {
                    json!({"rma": form.first().map(|f| f.1).unwrap_or("R1001-1")})
                }
                _ => json!({}),
            };
            app.client
                .post(url)
                .header("Origin", &app.address)
                .json(&body)
        }
        _ => app
            .client
            .post(url)
            .header("Origin", &app.address)
            .form(form),
    };
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location)
}

async fn paid_order(app: &TestApp, lines: &[(i64, u32)]) -> Value {
    let (status, placed) = checkout(
        app,
        &order_body(lines, "pm_card_visa"),
        &app::checkout::service::random_token(),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    placed
}

/// Every staff route the server has, read from the routers themselves: the admin's form and
/// event routes, the pages under /admin and the admin's server functions.
fn served_admin_routes() -> Vec<(String, String)> {
    use kassa::startup::AppState;
    let mut served: Vec<(String, String)> = Vec::new();
    let listed = app::admin::api::listed_routes::<AppState>();
    let catalog = app::admin::catalog::listed_routes::<AppState>();
    let rest = app::admin::rest::listed_routes::<AppState>();
    let tokens = app::admin::tokens::listed_routes::<AppState>();
    let settings = app::admin::settings::listed_routes::<AppState>();
    let privacy = app::admin::privacy::listed_routes::<AppState>();
    let security = app::admin::security::listed_routes::<AppState>();
    let discounts = app::admin::discounts::ssr::listed_routes::<AppState>();
    let newsletter = app::admin::newsletter::ssr::listed_routes::<AppState>();
    let gift_cards = app::admin::gift_cards::ssr::listed_routes::<AppState>();
    let campaigns = app::admin::campaigns::ssr::listed_routes::<AppState>();
    let support = app::admin::support::ssr::listed_routes::<AppState>();
    let returns = app::admin::returns::ssr::listed_routes::<AppState>();
    let analytics = app::admin::analytics::ssr::listed_routes::<AppState>();
    for (method, path) in listed
        .listed()
        .iter()
        .chain(catalog.listed())
        .chain(rest.listed())
        .chain(tokens.listed())
        .chain(settings.listed())
        .chain(privacy.listed())
        .chain(security.listed())
        .chain(discounts.listed())
        .chain(newsletter.listed())
        .chain(gift_cards.listed())
        .chain(campaigns.listed())
        .chain(support.listed())
        .chain(returns.listed())
        .chain(analytics.listed())
    {
        served.push((method.to_string(), path.to_string()));
    }
    for route in leptos_axum::generate_route_list(app::App) {
        if route.path() == "/admin" || route.path().starts_with("/admin/") {
            served.push(("GET".into(), route.path().to_string()));
        }
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        if path.starts_with("/api/admin/") {
            served.push((method.as_str().to_string(), path.to_string()));
        }
    }
    // Signing in and out is open to everyone by nature.
    served.retain(|(_, path)| {
        !["/admin/sign-in", "/admin/sign-in/code", "/admin/sign-out"].contains(&path.as_str())
    });
    served.sort();
    served.dedup();
    served
}

async fn every_admin_endpoint_checks_the_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 50).await;
    let placed = paid_order(&app, &[(variant, 1)]).await;
    let number = placed["order"]["number"].as_str().unwrap().to_string();
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let customer = account(&app, "shopper@shop.test", Role::Customer, false).await;
    let variant_text = variant.to_string();
    let product: i64 = sqlx::query_scalar("SELECT product_id FROM variants WHERE id = $1")
        .bind(variant)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    // The list of access levels must cover exactly what the server serves.
    let served = served_admin_routes();
    for (method, path) in &served {
        assert!(
            ADMIN_ENDPOINTS
                .iter()
                .any(|(m, p, _)| m == method && p == path),
            "{method} {path} is served but has no access level in ADMIN_ENDPOINTS"
        );
    }
    // A listed path is served by a route whose template matches it ("/admin/products/new" by
    // "/admin/products/{product}").
    let matches = |template: &str, path: &str| {
        let (t, p): (Vec<&str>, Vec<&str>) =
            (template.split('/').collect(), path.split('/').collect());
        t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t == p || t.starts_with('{'))
    };
    for (method, path, _) in ADMIN_ENDPOINTS {
        assert!(
            served.iter().any(|(m, p)| m == method && matches(p, path)),
            "{method} {path} is in ADMIN_ENDPOINTS but not served"
        );
    }
    let discount = crate::discounts::a_discount(&app).await.to_string();
    let card = crate::gift_cards::a_gift_card(&app).await.to_string();
    let campaign = crate::campaigns::a_campaign(&app).await.to_string();
    let conversation = crate::support::a_conversation(&app).await.to_string();
    let rma = crate::returns::a_return(&app).await;
    for (method, template, access) in ADMIN_ENDPOINTS {
        let path = if template.contains("/gift-cards/") {
            template.replace("{id}", &card).replace("{card}", &card)
        } else if template.contains("/support/") {
            template
                .replace("{id}", &conversation)
                .replace("{conversation}", &conversation)
        } else if template.contains("/campaigns/") {
            template
                .replace("{id}", &campaign)
                .replace("{campaign}", &campaign)
        } else {
            template.to_string()
        };
        let path = path
            .replace("{product}", &product.to_string())
            .replace("{number}", &number)
            .replace("{variant}", &variant_text)
            .replace("{discount}", &discount)
            .replace("{id}", &discount)
            .replace("{shipment}", "1")
            .replace("{zone}", "1")
            .replace("{rate}", "1")
            .replace("{tax}", "1")
            .replace("{image}", "1")
            .replace("{job}", "no-such-job")
            .replace("{rma}", &rma)
            .replace("{report}", "summary")
            .replace("{reply}", "1");
        let args: &[(&str, &str)] = match *template {
            "/api/admin/order" => &[("number", number.as_str())],
            "/api/admin/variant" => &[("id", variant_text.as_str())],
            "/api/admin/product" => &[("id", variant_text.as_str())],
            "/api/admin/discount" => &[("id", discount.as_str())],
            "/api/admin/gift-card" => &[("id", card.as_str())],
            "/api/admin/campaign" => &[("id", campaign.as_str())],
            "/api/admin/support-conversation" => &[("id", conversation.as_str())],
            "/api/admin/return" => &[("rma", rma.as_str())],
            "/api/admin/returns" => &[("status", "all")],
            "/api/admin/import-status" => &[("job", "none")],
            _ => &[],
        };
        let (anonymous, _) = as_user(&app, method, &path, None, args).await;
        assert_eq!(anonymous, 401, "{method} {path} as anonymous");
        let (shopper, _) = as_user(&app, method, &path, Some(&customer), args).await;
        assert_eq!(shopper, 403, "{method} {path} as a customer");
        let (as_staff, _) = as_user(&app, method, &path, Some(&staff), args).await;
        match access {
            Access::Staff => assert!(
                as_staff != 401 && as_staff != 403,
                "{method} {path} as staff: {as_staff}"
            ),
            Access::Refunds
            | Access::Privacy
            | Access::Support
            | Access::Analytics
            | Access::Owner => {
                assert_eq!(as_staff, 403, "{method} {path} as staff")
            }
        }
        let needs_query = [
            "/admin/events",
            "/admin/import/{job}",
            "/admin/privacy/export",
        ];
        if *method == "GET" && !needs_query.contains(template) {
            let (as_owner, _) = as_user(&app, method, &path, Some(&owner), &[]).await;
            assert_eq!(as_owner, 200, "{method} {path} as owner");
        }
    }
    // A browser without a session is sent to sign in, and comes back afterwards.
    let response = app
        .get_with("/admin/orders", &[("Accept", "text/html")])
        .await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        response.headers()["location"],
        "/admin/sign-in?next=%2Fadmin%2Forders"
    );
}

async fn sign_in_is_rate_limited_per_account_and_per_address(backend: Backend) {
    let app = spawn_app(backend).await;
    app::admin::auth::create_account(&app.db, "owner@shop.test", PASSWORD, Role::Owner, true)
        .await
        .unwrap();
    for _ in 0..app::admin::auth::MAX_FAILURES_PER_ACCOUNT {
        assert_eq!(
            sign_in(&app, "owner@shop.test", "wrong password!").await,
            Err(401)
        );
    }
    // Now even the right password waits.
    assert_eq!(sign_in(&app, "owner@shop.test", PASSWORD).await, Err(429));
    // Per address: many accounts guessed from one place.
    let app = spawn_app(backend).await;
    app::admin::auth::create_account(&app.db, "owner@shop.test", PASSWORD, Role::Owner, true)
        .await
        .unwrap();
    for i in 0..app::admin::auth::MAX_FAILURES_PER_ADDRESS {
        let _ = sign_in(&app, &format!("guess{i}@shop.test"), "wrong password!").await;
    }
    assert_eq!(sign_in(&app, "owner@shop.test", PASSWORD).await, Err(429));
    // The failures are remembered in the database, not only in one process.
    assert!(count(&app, "SELECT COUNT(*) FROM sign_in_failures").await >= 20);
    // Once out of the window they count in, the housekeeping forgets them and the owner
    // signs in again.
    sqlx::query("UPDATE sign_in_failures SET at = at - $1")
        .bind(app::admin::auth::FAILURE_WINDOW_SECS + 1)
        .execute(app.db.pool())
        .await
        .unwrap();
    let forgotten = app::admin::auth::forget_old_failures(&app.db, app::db::now_epoch())
        .await
        .unwrap();
    assert!(forgotten >= 20, "{forgotten}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM sign_in_failures").await,
        0
    );
    assert!(sign_in(&app, "owner@shop.test", PASSWORD).await.is_ok());
}

async fn cross_site_writes_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 5).await;
    let placed = paid_order(&app, &[(variant, 1)]).await;
    let number = placed["order"]["number"].as_str().unwrap();
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let cancel = format!("{}/admin/orders/{number}/cancel", app.address);
    // Another site's form, riding on the owner's cookie.
    let forged = app
        .client
        .post(&cancel)
        .header("Cookie", &owner)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let no_origin = app
        .client
        .post(&cancel)
        .header("Cookie", &owner)
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status().as_u16(), 403);
    let foreign_referer = app
        .client
        .post(&cancel)
        .header("Cookie", &owner)
        .header("Referer", "https://evil.example/page")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_referer.status().as_u16(), 403);
    // Server functions too.
    let forged_fn = app
        .client
        .post(format!("{}/api/admin/dashboard", app.address))
        .header("Cookie", &owner)
        .header("Origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged_fn.status().as_u16(), 403);
    assert_eq!(
        stock_of(&app, variant).await,
        (4, 0),
        "nothing was cancelled"
    );
    // The shop's own page may.
    let (status, location) = as_user(
        &app,
        "POST",
        &format!("/admin/orders/{number}/cancel"),
        Some(&owner),
        &[],
    )
    .await;
    assert_eq!(status, 303, "{location}");
    assert_eq!(stock_of(&app, variant).await, (5, 0));
}

async fn sessions_rotate_at_sign_in_and_expire_when_idle(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = account(&app, "owner@shop.test", Role::Owner, true).await;
    let (status, _) = as_user(&app, "GET", "/admin", Some(&first), &[]).await;
    assert_eq!(status, 200);
    // Signing in again from the same browser replaces the session: the old token is dead.
    let second = sign_in_with(&app, "owner@shop.test", PASSWORD, Some(&first))
        .await
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        as_user(&app, "GET", "/admin", Some(&first), &[]).await.0,
        401
    );
    assert_eq!(
        as_user(&app, "GET", "/admin", Some(&second), &[]).await.0,
        200
    );
    // Idle for longer than allowed: the session ends.
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - $1")
        .bind(app::admin::auth::IDLE_SECS + 1)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        as_user(&app, "GET", "/admin", Some(&second), &[]).await.0,
        401
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
    // Sign-out ends a session too.
    let third = sign_in(&app, "owner@shop.test", PASSWORD).await.unwrap();
    let (status, _) = as_user(&app, "POST", "/admin/sign-out", Some(&third), &[]).await;
    assert_eq!(status, 303);
    assert_eq!(
        as_user(&app, "GET", "/admin", Some(&third), &[]).await.0,
        401
    );
    // Passwords are stored as argon2id hashes only.
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD));
}

async fn orders_ship_in_parts_and_refunds_never_exceed_the_payment(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (b, _) = variant_with_stock(&app, 1, 5).await;
    let placed = paid_order(&app, &[(a, 2), (b, 1)]).await;
    let number = placed["order"]["number"].as_str().unwrap().to_string();
    let total = placed["order"]["total"]["amount"].as_i64().unwrap();
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let lines: Vec<i64> = sqlx::query_scalar("SELECT id FROM order_lines ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let ship = |line: i64, quantity: &str, tracking: &str| {
        (
            format!("qty_{line}"),
            quantity.to_string(),
            tracking.to_string(),
        )
    };
    for (field, quantity, tracking) in [
        ship(lines[0], "2", "TRACK-1"),
        ship(lines[1], "1", "TRACK-2"),
    ] {
        let (status, location) = as_user(
            &app,
            "POST",
            &format!("/admin/orders/{number}/shipments"),
            Some(&owner),
            &[
                (&field, &quantity),
                ("carrier", "DHL"),
                ("tracking_number", &tracking),
            ],
        )
        .await;
        assert_eq!(status, 303);
        assert!(location.contains("notice="), "{location}");
    }
    // Nothing is left to ship.
    let (status, _) = as_user(
        &app,
        "POST",
        &format!("/admin/orders/{number}/shipments"),
        Some(&owner),
        &[
            (&format!("qty_{}", lines[0]), "1"),
            ("carrier", "DHL"),
            ("tracking_number", "X"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    // The shopper sees both shipments with their tracking numbers.
    let order = app
        .checkout
        .order_by_token(&token_of(&placed))
        .await
        .unwrap();
    let tracking: Vec<&str> = order
        .shipments
        .iter()
        .map(|s| s.tracking_number.as_str())
        .collect();
    assert_eq!(tracking, ["TRACK-1", "TRACK-2"]);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'order_shipped'"
        )
        .await,
        2
    );
    let fulfilment: String = sqlx::query_scalar("SELECT fulfilment FROM orders")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(fulfilment, "fulfilled");
    let shipment: i64 = sqlx::query_scalar("SELECT MIN(id) FROM shipments")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (status, _) = as_user(
        &app,
        "POST",
        &format!("/admin/orders/{number}/shipments/{shipment}/delivered"),
        Some(&owner),
        &[],
    )
    .await;
    assert_eq!(status, 303);

    // Refund part; the same form twice refunds once; never more than was paid.
    let refund = |amount: &str, key: &str| {
        vec![
            ("amount".to_string(), amount.to_string()),
            ("key".to_string(), key.to_string()),
        ]
    };
    for _ in 0..2 {
        let form = refund("10.00", "key-one");
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, _) = as_user(
            &app,
            "POST",
            &format!("/admin/orders/{number}/refunds"),
            Some(&owner),
            &form,
        )
        .await;
        assert_eq!(status, 303);
    }
    let refunded: i64 = sqlx::query_scalar("SELECT refunded_amount FROM orders")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(refunded, 1000);
    let too_much = format!(
        "{}.{:02}",
        (total - 1000 + 1) / 100,
        (total - 1000 + 1) % 100
    );
    let form = refund(&too_much, "key-two");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, _) = as_user(
        &app,
        "POST",
        &format!("/admin/orders/{number}/refunds"),
        Some(&owner),
        &form,
    )
    .await;
    assert_eq!(status, 422);
    let rest = format!("{}.{:02}", (total - 1000) / 100, (total - 1000) % 100);
    let form = refund(&rest, "key-three");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, _) = as_user(
        &app,
        "POST",
        &format!("/admin/orders/{number}/refunds"),
        Some(&owner),
        &form,
    )
    .await;
    assert_eq!(status, 303);
    let row = sqlx::query("SELECT refunded_amount, total_amount FROM orders")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        row.get::<i64, _>("refunded_amount"),
        row.get::<i64, _>("total_amount")
    );
    let refunds: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(amount) AS BIGINT) FROM payments WHERE kind = 'refund' AND status = 'succeeded'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(refunds, total, "the refunds add up to what was paid");
    // Everything is in the timeline and the audit log.
    let audit: i64 = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    assert_eq!(audit, 2 + 1 + 2, "two shipments, one delivery, two refunds");
}

async fn cancelling_an_unfulfilled_order_returns_stock_and_money(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let placed = paid_order(&app, &[(a, 3)]).await;
    let number = placed["order"]["number"].as_str().unwrap();
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    assert_eq!(stock_of(&app, a).await, (2, 0));
    let (status, _) = as_user(
        &app,
        "POST",
        &format!("/admin/orders/{number}/cancel"),
        Some(&owner),
        &[],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(stock_of(&app, a).await, (5, 0));
    assert_eq!(ledger_of(&app, a).await, (0, 0, 2), "sale, then cancel");
    let row = sqlx::query("SELECT status, refunded_amount, total_amount FROM orders")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("status"), "cancelled");
    assert_eq!(
        row.get::<i64, _>("refunded_amount"),
        row.get::<i64, _>("total_amount")
    );
    // A second cancel changes nothing.
    let (status, _) = as_user(
        &app,
        "POST",
        &format!("/admin/orders/{number}/cancel"),
        Some(&owner),
        &[],
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(stock_of(&app, a).await, (5, 0));
}

async fn stock_edits_cannot_silently_overwrite_each_other(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let path = format!("/admin/variants/{a}/adjust");
    let version: i64 = sqlx::query_scalar("SELECT version FROM variants WHERE id = $1")
        .bind(a)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let v = version.to_string();
    // Two people loaded the page at the same version; the first saves, the second is told.
    let (status, _) = as_user(
        &app,
        "POST",
        &path,
        Some(&staff),
        &[("reason", "received"), ("quantity", "10"), ("version", &v)],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = as_user(
        &app,
        "POST",
        &path,
        Some(&staff),
        &[("reason", "counted"), ("quantity", "7"), ("version", &v)],
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(stock_of(&app, a).await, (15, 0));
    let next = (version + 1).to_string();
    let (status, _) = as_user(
        &app,
        "POST",
        &path,
        Some(&staff),
        &[
            ("reason", "counted"),
            ("quantity", "12"),
            ("version", &next),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(stock_of(&app, a).await, (12, 0));
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT reason FROM stock_ledger WHERE variant_id = $1 ORDER BY id")
            .bind(a)
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(reasons, ["received", "counted"]);
    assert_eq!(ledger_of(&app, a).await, (7, 0, 2));
    // Taking away more than is there is refused with a reason.
    let last = (version + 2).to_string();
    let (status, _) = as_user(
        &app,
        "POST",
        &path,
        Some(&staff),
        &[
            ("reason", "damaged"),
            ("quantity", "13"),
            ("version", &last),
        ],
    )
    .await;
    assert_eq!(status, 422);
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/", "/api/v1/products", "/admin/sign-in", "/no-such-page"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
    }
    // A page's inline script carries the nonce its policy names.
    let response = app.get("/").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce");
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the page's scripts carry the nonce"
    );
}

async fn the_order_list_filters_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 100).await;
    for _ in 0..3 {
        paid_order(&app, &[(a, 1)]).await;
    }
    let (_, declined) = checkout(
        &app,
        &order_body(&[(a, 1)], "pm_card_chargeDeclined"),
        "declined-1",
    )
    .await;
    let declined_number = declined["error"]["order"]["number"]
        .as_str()
        .unwrap()
        .to_string();
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let list = |filter: Value| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let response = app
                .client
                .post(format!("{}/api/admin/orders", app.address))
                .header("Origin", &app.address)
                .header("Cookie", owner)
                .json(&json!({ "filter": filter }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let all = list(json!({})).await;
    assert_eq!(all["rows"].as_array().unwrap().len(), 4);
    let failed = list(json!({"status": "payment_failed"})).await;
    assert_eq!(failed["rows"][0]["number"], declined_number.as_str());
    assert_eq!(failed["rows"].as_array().unwrap().len(), 1);
    let by_number = list(json!({"q": format!("#{declined_number}")})).await;
    assert_eq!(by_number["rows"].as_array().unwrap().len(), 1);
    let by_name = list(json!({"q": "MUSTER"})).await;
    assert_eq!(by_name["rows"].as_array().unwrap().len(), 4);
    // The days the orders were placed on (a run across midnight places them on two).
    let (first, last): (i64, i64) =
        sqlx::query_as("SELECT MIN(created_at), MAX(created_at) FROM orders")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let (from, to) = (
        app::admin::format_date(first),
        app::admin::format_date(last),
    );
    let dated = list(json!({"from": from, "to": to})).await;
    assert_eq!(dated["rows"].as_array().unwrap().len(), 4);
    let none = list(json!({"to": "2000-01-01"})).await;
    assert_eq!(none["rows"].as_array().unwrap().len(), 0);
    let response = app
        .client
        .post(format!("{}/api/admin/orders", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &owner)
        .json(&json!({"filter": {"status": "lost"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
}

async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    as_user(app, "POST", path, Some(cookie), form).await
}

async fn staff_create_publish_edit_and_archive_products(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    // Field errors, all at once, and nothing written.
    let (status, _) = post_form(
        &app,
        "/admin/products",
        &staff,
        &[("title", ""), ("slug", "Bad Slug")],
    )
    .await;
    assert_eq!(status, 422);
    let products_before = count(&app, "SELECT COUNT(*) FROM products").await;
    let (status, location) = post_form(
        &app,
        "/admin/products",
        &staff,
        &[
            ("title", "Zephyr Linen Shirt"),
            ("slug", "linen-shirt"),
            ("description_md", "Cool *linen*."),
            ("tags", "Summer, linen"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{location}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM products").await,
        products_before + 1
    );
    let id: i64 = location
        .trim_start_matches("/admin/products/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let variants = format!("/admin/products/{id}/variants");
    let (status, _) = post_form(
        &app,
        &variants,
        &staff,
        &[("sku", "LIN-M"), ("options", "M"), ("price", "49.90")],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = post_form(
        &app,
        &variants,
        &staff,
        &[("sku", "LIN-M"), ("price", "49.90")],
    )
    .await;
    assert_eq!(status, 422, "duplicate SKU");
    let (status, _) = post_form(
        &app,
        &variants,
        &staff,
        &[("sku", "LIN-L"), ("price", "forty")],
    )
    .await;
    assert_eq!(status, 422, "bad price");
    // A draft is not in the shop; published, it is.
    assert_eq!(app.json("/api/v1/products/linen-shirt").await.0, 404);
    let edit = format!("/admin/products/{id}");
    let (status, _) = post_form(
        &app,
        &edit,
        &staff,
        &[
            ("title", "Zephyr Linen Shirt"),
            ("slug", "linen-shirt"),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (status, product) = app.json("/api/v1/products/linen-shirt").await;
    assert_eq!(status, 200);
    assert_eq!(product["variants"][0]["price"]["amount"], 4990);
    // Search finds it by its new words.
    let (_, found) = app.json("/api/v1/products?q=zephyr").await;
    assert_eq!(found["items"][0]["slug"], "linen-shirt");
    // Price edits need the version they were made against.
    let (variant, version): (i64, i64) = {
        let row = sqlx::query("SELECT id, version FROM variants WHERE sku = 'LIN-M'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        (row.get("id"), row.get("version"))
    };
    let v = version.to_string();
    let path = format!("/admin/variants/{variant}");
    let (status, _) = post_form(
        &app,
        &path,
        &staff,
        &[
            ("sku", "LIN-M"),
            ("options", "M"),
            ("price", "39.90"),
            ("version", &v),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = post_form(
        &app,
        &path,
        &staff,
        &[
            ("sku", "LIN-M"),
            ("options", "M"),
            ("price", "29.90"),
            ("version", &v),
        ],
    )
    .await;
    assert_eq!(status, 409, "a stale form is refused");
    assert_eq!(
        app.json("/api/v1/products/linen-shirt").await.1["variants"][0]["price"]["amount"],
        3990
    );
    // Archived, it leaves the shop.
    let (status, _) = post_form(
        &app,
        &edit,
        &staff,
        &[
            ("title", "Zephyr Linen Shirt"),
            ("slug", "linen-shirt"),
            ("status", "archived"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(app.json("/api/v1/products/linen-shirt").await.0, 404);
    assert!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE subject LIKE 'product:%' OR subject LIKE 'variant:%'").await >= 5);
}

async fn pictures_collections_and_csv_imports_from_the_browser(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let product: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = 'stoneware-mug'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    // A picture, resized into the media store.
    let mut png = Vec::new();
    image::RgbImage::from_pixel(800, 600, image::Rgb([200, 120, 40]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .part(
            "picture",
            reqwest::multipart::Part::bytes(png).file_name("mug.png"),
        )
        .text("alt", "The mug from above");
    let response = app
        .client
        .post(format!("{}/admin/products/{product}/images", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &staff)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let url: String =
        sqlx::query_scalar("SELECT url FROM product_images WHERE alt = 'The mug from above'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(url.starts_with("/media/"), "{url}");
    assert_eq!(app.get(&url).await.status().as_u16(), 200);

    // A collection in a chosen order; an unknown handle is refused.
    let (status, _) = post_form(
        &app,
        "/admin/collections",
        &staff,
        &[
            ("title", "Gifts"),
            ("slug", "gifts"),
            ("products", "stoneware-mug\nridge-fleece-hoodie"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, gifts) = app.json("/api/v1/collections/gifts").await;
    assert_eq!(gifts["products"]["items"][0]["slug"], "stoneware-mug");
    assert_eq!(gifts["products"]["items"][1]["slug"], "ridge-fleece-hoodie");
    let (status, _) = post_form(
        &app,
        "/admin/collections",
        &staff,
        &[
            ("title", "Gifts"),
            ("slug", "gifts"),
            ("products", "no-such-thing"),
        ],
    )
    .await;
    assert_eq!(status, 422);

    // CSV from the browser: checked like the CLI, imported in the background.
    let upload = |csv: &'static str| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("p.csv"),
        );
        app.client
            .post(format!("{}/admin/import", app.address))
            .header("Origin", &app.address)
            .header("Cookie", &staff)
            .header("Accept", "application/json")
            .multipart(form)
            .send()
    };
    let bad = upload("Handle,Title,Variant SKU,Variant Price\nbad handle!,Thing,SKU-1,ten\n")
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    let message = bad.text().await.unwrap();
    assert!(message.contains("line 2"), "{message}");
    let good = upload("Handle,Title,Variant SKU,Variant Price,Status\nbrowser-import,Browser Import,BI-1,12.50,active\n").await.unwrap();
    assert_eq!(good.status().as_u16(), 303);
    let job = good.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/admin/import/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let mut finished = Value::Null;
    for _ in 0..100 {
        let response = app
            .client
            .post(format!("{}/api/admin/import-status", app.address))
            .header("Origin", &app.address)
            .header("Cookie", &staff)
            .json(&json!({"job": job}))
            .send()
            .await
            .unwrap();
        finished = response.json().await.unwrap();
        if finished["finished"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(finished["finished"], true, "{finished}");
    assert_eq!(finished["imported"], 1, "{finished}");
    assert_eq!(app.json("/api/v1/products/browser-import").await.0, 200);
    // The page the upload led to says how it went.
    let page = app
        .client
        .get(format!("{}/admin/import/{job}", app.address))
        .header("Cookie", &staff)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Done: 1 products imported."), "{page}");
}

async fn the_owner_adds_staff_who_refund_only_when_allowed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let placed = paid_order(&app, &[(a, 1)]).await;
    let number = placed["order"]["number"].as_str().unwrap();
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let (status, _) = post_form(
        &app,
        "/admin/staff",
        &owner,
        &[("email", "packer@shop.test"), ("password", "short")],
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post_form(
        &app,
        "/admin/staff",
        &owner,
        &[("email", "packer@shop.test"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = post_form(
        &app,
        "/admin/staff",
        &owner,
        &[
            ("email", "cashier@shop.test"),
            ("password", PASSWORD),
            ("can_refund", "on"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let packer = sign_in(&app, "packer@shop.test", PASSWORD).await.unwrap();
    let cashier = sign_in(&app, "cashier@shop.test", PASSWORD).await.unwrap();
    let refund = format!("/admin/orders/{number}/refunds");
    assert_eq!(
        post_form(
            &app,
            &refund,
            &packer,
            &[("amount", "1.00"), ("key", "k-packer")]
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post_form(
            &app,
            &refund,
            &cashier,
            &[("amount", "1.00"), ("key", "k-cashier")]
        )
        .await
        .0,
        303
    );
    // Staff cannot add staff.
    assert_eq!(
        post_form(
            &app,
            "/admin/staff",
            &cashier,
            &[("email", "x@shop.test"), ("password", PASSWORD)]
        )
        .await
        .0,
        403
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'Staff account created'"
        )
        .await,
        2
    );
}

/// The stoneware mug's page: where it came from (`x-kassa-cache`) and its HTML.
async fn mug_page(app: &TestApp) -> (String, String) {
    let response = app
        .client
        .get(format!("{}/products/stoneware-mug", app.address))
        .send()
        .await
        .unwrap();
    let outcome = response.headers()["x-kassa-cache"]
        .to_str()
        .unwrap()
        .to_string();
    (outcome, response.text().await.unwrap())
}

async fn staff_edits_show_on_cached_pages_at_once(backend: Backend) {
    let app = spawn_app_with_page_cache(backend).await;
    let page = mug_page;
    assert_eq!(page(&app).await.0, "miss");
    let (outcome, html) = page(&app).await;
    assert_eq!(outcome, "hit");
    assert!(html.contains("<h1>Stoneware Mug</h1>"));

    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = 'stoneware-mug'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    // A refused edit leaves the cache alone.
    let (status, _) = post_form(
        &app,
        &format!("/admin/products/{id}"),
        &staff,
        &[
            ("title", ""),
            ("slug", "stoneware-mug"),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(page(&app).await.0, "hit");

    let (status, _) = post_form(
        &app,
        &format!("/admin/products/{id}"),
        &staff,
        &[
            ("title", "Stoneware Mug, Glazed"),
            ("slug", "stoneware-mug"),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (outcome, html) = page(&app).await;
    assert_eq!(outcome, "miss", "the edit cleared the cache");
    assert!(html.contains("<h1>Stoneware Mug, Glazed</h1>"));
}

/// Several servers on one Postgres database: an edit made through one clears the cached pages of
/// the others at once (LISTEN/NOTIFY), long before their pages would expire.
mod several_servers {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_staff_edit_clears_the_cached_pages_of_every_server() {
        crate::helpers::within_time_limit(super::a_staff_edit_clears_every_servers_pages()).await
    }
}

async fn a_staff_edit_clears_every_servers_pages() {
    let editing = spawn_app_with_page_cache(Backend::Postgres).await;
    let serving = spawn_app_with(
        Backend::Postgres,
        Options {
            seed_demo: false,
            page_cache_ms: 60_000,
            database_url: Some(editing.database_url.clone()),
            ..Options::default()
        },
    )
    .await;
    let page = mug_page;
    let mut kept = false;
    for _ in 0..50 {
        let (outcome, html) = page(&serving).await;
        assert!(html.contains("<h1>Stoneware Mug</h1>"));
        if outcome == "hit" {
            kept = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(kept, "the serving server caches the page");

    let staff = account(&editing, "staff@shop.test", Role::Staff, false).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = 'stoneware-mug'")
        .fetch_one(editing.db.pool())
        .await
        .unwrap();
    let (status, _) = post_form(
        &editing,
        &format!("/admin/products/{id}"),
        &staff,
        &[
            ("title", "Stoneware Mug, Glazed"),
            ("slug", "stoneware-mug"),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let started = std::time::Instant::now();
    loop {
        let (_, html) = page(&serving).await;
        if html.contains("<h1>Stoneware Mug, Glazed</h1>") {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the other server still serves the old page"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The back office has its own frame: its sections in a sidebar with the current one marked, a
/// search in the top bar and who is signed in; not the shop's header, cart or footer. The
/// search finds orders by number and email and products by title and SKU.
async fn the_back_office_has_its_own_frame_and_one_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 100).await;
    let placed = paid_order(&app, &[(variant, 1)]).await;
    let number = placed["order"]["number"].as_str().unwrap().to_string();
    let (sku, title): (String, String) = sqlx::query_as(
        "SELECT v.sku, p.title FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id = $1",
    )
    .bind(variant)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let clerk = account(&app, "clerk@shop.test", Role::Staff, false).await;
    let page = |path: String| {
        let (app, clerk) = (&app, &clerk);
        async move { app.html_as(&path, clerk).await }
    };

    let html = page(format!("/admin/orders/{number}")).await;
    assert!(html.contains(r#"data-testid="admin-sidebar""#), "{html}");
    assert!(html.contains(r#"<a href="/admin/orders" aria-current="page">Orders</a>"#));
    assert_eq!(html.matches(r#"aria-current="page""#).count(), 1);
    assert!(html.contains(
        r#"class="admin-staff"><a href="/admin/security" title="Security: two-factor authentication">clerk@shop.test</a></p>"#
    ), "{html}");
    assert!(html.contains(r#"action="/admin/search""#));
    for shop_part in [
        r#"class="site-header""#,
        r#"data-testid="cart-count""#,
        r#"class="site-footer""#,
    ] {
        assert!(!html.contains(shop_part), "{shop_part} in the admin");
    }
    let shop = app.html("/").await;
    assert!(shop.contains(r#"class="site-header""#) && !shop.contains("admin-sidebar"));
    // Signed out, the sign-in page has the frame but no sections and nobody named.
    let sign_in = app.html("/admin/sign-in").await;
    assert!(sign_in.contains(r#"class="admin-shell""#));
    assert!(!sign_in.contains(r#"data-testid="admin-sidebar""#));
    assert!(!sign_in.contains(r#"data-testid="admin-staff""#));

    let found = |html: &str, section: &str| {
        let start = html
            .find(&format!(r#"data-testid="found-{section}""#))
            .unwrap();
        let end = start + html[start..].find("</section>").unwrap();
        html[start..end].to_string()
    };
    let html = page(format!("/admin/search?q=%23{number}")).await;
    assert!(
        found(&html, "orders").contains(&format!(">#{number}<"))
            || found(&html, "orders").contains(&number),
        "{html}"
    );
    assert!(found(&html, "products").contains("No products match."));
    let html = page("/admin/search?q=ERIKA%40EXAMPLE".to_string()).await;
    assert!(found(&html, "orders").contains(&number), "by email");
    let html = page(format!("/admin/search?q={}", sku.to_lowercase())).await;
    assert!(found(&html, "products").contains(&title), "by SKU: {html}");
    assert!(found(&html, "orders").contains("No orders match."));
    // What was searched stays in the box; markup in it stays text.
    let html = page("/admin/search?q=%3Cb%3Ebold".to_string()).await;
    assert!(html.contains(r#"value="&lt;b&gt;bold""#), "{html}");
    assert!(!html.contains("<b>bold"), "{html}");
    // Only staff may search.
    let response = app
        .get_with("/admin/search?q=a", &[("Accept", "text/html")])
        .await;
    assert_eq!(response.status().as_u16(), 303);
}

/// Every variant, fifty to a page, narrowed by SKU or product and to low stock; a row's
/// adjustment comes back to the same page of the table with a notice.
async fn the_inventory_table_pages_filters_and_adjusts_in_place(backend: Backend) {
    let app = spawn_app(backend).await;
    let clerk = account(&app, "clerk@shop.test", Role::Staff, false).await;
    let page = |path: String| {
        let (app, clerk) = (&app, &clerk);
        async move { app.html_as(&path, clerk).await }
    };
    let rows = |html: &str| html.matches(r#"data-testid="inventory-row""#).count();
    let variants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM variants")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(variants > 50, "the demo has more than a page of variants");

    let first = page("/admin/inventory".to_string()).await;
    assert_eq!(rows(&first), 50);
    assert!(first.contains(r#"<a href="/admin/inventory" aria-current="page">Inventory</a>"#));
    let next = first
        .split(r#"href="/admin/inventory?cursor="#)
        .nth(1)
        .expect("a next page");
    let cursor = &next[..next.find('"').unwrap()];
    let mut seen = 50;
    let mut cursor = Some(cursor.to_string());
    while let Some(c) = cursor {
        let html = page(format!("/admin/inventory?cursor={c}")).await;
        seen += rows(&html);
        cursor = html
            .split(r#"href="/admin/inventory?cursor="#)
            .nth(1)
            .map(|n| n[..n.find('"').unwrap()].to_string());
    }
    assert_eq!(seen as i64, variants, "every variant once");

    // By SKU, and low stock only.
    let (id, sku, version): (i64, String, i64) =
        sqlx::query_as("SELECT id, sku, version FROM variants ORDER BY id LIMIT 1 OFFSET 3")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let html = page(format!("/admin/inventory?q={}", sku.to_lowercase())).await;
    assert_eq!(rows(&html), 1, "{html}");
    assert!(html.contains(&sku));
    let low: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM variants WHERE on_hand - reserved <= low_stock_threshold",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let html = page("/admin/inventory?low=1".to_string()).await;
    assert_eq!(rows(&html) as i64, low.min(50));

    // An adjustment from the row comes back to the table as it was.
    let back = format!("/admin/inventory?q={}", sku.to_lowercase());
    let adjust = |back: String, version: i64| {
        let app = &app;
        let clerk = clerk.clone();
        async move {
            app.client
                .post(format!("{}/admin/variants/{id}/adjust", app.address))
                .header("Origin", &app.address)
                .header("Cookie", clerk)
                .header("Accept", "text/html")
                .form(&[
                    ("reason", "received"),
                    ("quantity", "4"),
                    ("version", &version.to_string()),
                    ("back", &back),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let before: i64 = sqlx::query_scalar("SELECT on_hand FROM variants WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let response = adjust(back.clone(), version).await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("{back}&notice=Stock+updated."));
    let after: i64 = sqlx::query_scalar("SELECT on_hand FROM variants WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(after, before + 4);
    // The same row again, its version now stale: refused, back on the table with the reason.
    let response = adjust(back.clone(), version).await;
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("{back}&error=")),
        "{location}"
    );
    // Anywhere else is not a place to return to.
    let response = adjust("https://evil.example/".to_string(), version + 1).await;
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("/admin/variants/{id}?")),
        "{location}"
    );
}

/// The product ids in a page of the product table, in order.
fn product_ids(html: &str) -> Vec<i64> {
    html.split(r#"name="product" value=""#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The table's next-page address in `html`, if it has one.
fn next_products_page(html: &str) -> Option<String> {
    let at = html.find(r#"data-testid="next-page""#)?;
    let link = &html[..at];
    let href = &link[link.rfind("href=\"").unwrap() + 6..];
    Some(href[..href.find('"').unwrap()].replace("&amp;", "&"))
}

async fn the_product_table_filters_sorts_pages_and_changes_in_bulk(backend: Backend) {
    let app = spawn_app(backend).await;
    let clerk = account(&app, "clerk@shop.test", Role::Staff, false).await;
    let page = |path: String| {
        let (app, clerk) = (&app, &clerk);
        async move { app.html_as(&path, clerk).await }
    };
    let ids_where = |sql: &'static str| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_all(app.db.pool())
                .await
                .unwrap()
        }
    };
    let all = ids_where("SELECT id FROM products ORDER BY title, id").await;
    assert!(all.len() > 50, "the demo has more than a page of products");

    // Every sort walks every product once, in its order, a page at a time.
    for (sort, sql) in [
        ("title", "SELECT id FROM products ORDER BY title, id"),
        (
            "title-desc",
            "SELECT id FROM products ORDER BY title DESC, id DESC",
        ),
        ("newest", "SELECT id FROM products ORDER BY id DESC"),
        (
            "updated",
            "SELECT id FROM products ORDER BY updated_at DESC, id DESC",
        ),
    ] {
        let mut seen = Vec::new();
        let mut next = Some(format!("/admin/products?sort={sort}"));
        while let Some(path) = next {
            let html = page(path).await;
            let ids = product_ids(&html);
            assert!(ids.len() <= 50);
            seen.extend(ids);
            next = next_products_page(&html);
        }
        assert_eq!(seen, ids_where(sql).await, "{sort}");
    }

    // Filters: by collection, by status, by stock, and a SKU.
    let in_apparel = ids_where(
        "SELECT cp.product_id FROM collection_products cp JOIN collections c ON c.id = cp.collection_id \
         JOIN products p ON p.id = cp.product_id WHERE c.slug = 'apparel' ORDER BY p.title, p.id",
    )
    .await;
    assert!(!in_apparel.is_empty());
    let html = page("/admin/products?collection=apparel".into()).await;
    assert_eq!(product_ids(&html), in_apparel[..in_apparel.len().min(50)]);
    assert!(
        html.contains(r#"<option value="apparel" selected"#),
        "the filter shows what it filters"
    );
    let (sold_out, sku): (i64, String) =
        sqlx::query_as("SELECT product_id, sku FROM variants ORDER BY id LIMIT 1 OFFSET 7")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    sqlx::query("UPDATE variants SET on_hand = reserved WHERE product_id = $1")
        .bind(sold_out)
        .execute(app.db.pool())
        .await
        .unwrap();
    let html = page("/admin/products?stock=out".into()).await;
    assert!(
        product_ids(&html).contains(&sold_out),
        "sold out is listed as out of stock"
    );
    let html = page("/admin/products?stock=in".into()).await;
    assert!(!product_ids(&html).contains(&sold_out));
    let html = page(format!("/admin/products?q={}", sku.to_lowercase())).await;
    assert_eq!(product_ids(&html), vec![sold_out]);
    assert!(html.contains("Out of stock"));

    // Bulk: archive three, then publish them again, back on the same filtered page.
    let picked: Vec<String> = all[..3].iter().map(i64::to_string).collect();
    let bulk = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        let clerk = clerk.clone();
        async move {
            let response = app
                .client
                .post(format!("{}/admin/products/bulk", app.address))
                .header("Origin", &app.address)
                .header("Cookie", clerk)
                .header("Accept", "text/html")
                .form(&fields)
                .send()
                .await
                .unwrap();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string())
                .unwrap_or_default();
            (response.status().as_u16(), location)
        }
    };
    let with = |action: &'static str, extra: Vec<(&'static str, String)>| {
        let mut fields: Vec<(&'static str, String)> =
            picked.iter().map(|id| ("product", id.clone())).collect();
        fields.push(("action", action.to_string()));
        fields.push(("back", "/admin/products?sort=title".to_string()));
        fields.extend(extra);
        fields
    };
    let (status, location) = bulk(with("archive", vec![])).await;
    assert_eq!(status, 303);
    assert_eq!(
        location,
        "/admin/products?sort=title&notice=3+products+archived."
    );
    let archived: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM products WHERE status = 'archived' AND id IN ({})",
        picked.join(", ")
    ))
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(archived, 3);
    let html = page("/admin/products?status=archived".into()).await;
    assert_eq!(product_ids(&html), all[..3]);
    let first_slug: String = sqlx::query_scalar("SELECT slug FROM products WHERE id = $1")
        .bind(all[0])
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        app.json(&format!("/api/v1/products/{first_slug}")).await.0,
        404,
        "out of the shop"
    );
    let (status, _) = bulk(with("publish", vec![])).await;
    assert_eq!(status, 303);
    assert_eq!(
        app.json(&format!("/api/v1/products/{first_slug}")).await.0,
        200,
        "back in the shop"
    );

    // Into a collection: at its end, once, and shown in the shop's collection.
    let (status, location) = bulk(with(
        "add-to-collection",
        vec![("collection", "apparel".into())],
    ))
    .await;
    assert_eq!(status, 303, "{location}");
    let (status, _) = bulk(with(
        "add-to-collection",
        vec![("collection", "apparel".into())],
    ))
    .await;
    assert_eq!(status, 303, "adding again changes nothing");
    let members: Vec<i64> = sqlx::query_scalar(
        "SELECT cp.product_id FROM collection_products cp JOIN collections c ON c.id = cp.collection_id \
         WHERE c.slug = 'apparel' ORDER BY cp.position",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    for id in &all[..3] {
        assert_eq!(members.iter().filter(|m| *m == id).count(), 1);
    }
    let (_, listed) = app.json("/api/v1/collections/apparel?limit=100").await;
    let listed: Vec<&str> = listed["products"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&first_slug.as_str()), "{listed:?}");
    let (status, _) = bulk(with(
        "remove-from-collection",
        vec![("collection", "apparel".into())],
    ))
    .await;
    assert_eq!(status, 303);
    let html = page("/admin/products?collection=apparel".into()).await;
    assert!(!product_ids(&html).contains(&all[0]));

    // Prices by percent, rounded to the cent, and the shop quotes the new price.
    let prices = |app: &TestApp| {
        let ids = picked.join(", ");
        let pool = app.db.pool().clone();
        async move {
            sqlx::query_as::<_, (i64, i64)>(&format!(
                "SELECT id, price_amount FROM variants WHERE archived_at IS NULL AND product_id IN ({ids}) ORDER BY id"
            ))
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let before = prices(&app).await;
    let (status, location) = bulk(with("price", vec![("percent", "-10".into())])).await;
    assert_eq!(status, 303, "{location}");
    let after = prices(&app).await;
    assert_eq!(after.len(), before.len());
    for ((id, was), (_, now)) in before.iter().zip(&after) {
        assert_eq!(*now, (was * 9000 + 5000) / 10_000, "variant {id}");
    }
    let (status, quote) = app
        .post_json(
            "/api/v1/cart/quote",
            &json!({"lines": [{"variant_id": after[0].0, "quantity": 1}], "shipping_address": {"country": "DE", "region": null}}),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!(quote["lines"][0]["unit_price"]["amount"], after[0].1);

    // Mistakes change nothing and say why, on the page staff came from.
    for (fields, expected) in [
        (with("price", vec![("percent", "ten".into())]), "percentage"),
        (with("price", vec![("percent", "-100".into())]), "between"),
        (with("add-to-collection", vec![]), "Choose+a+collection"),
        (
            with("add-to-collection", vec![("collection", "nowhere".into())]),
            "no+collection",
        ),
        (with("delete", vec![]), "not+a+bulk+action"),
        (vec![("action", "publish".into())], "Tick+the+products"),
        (
            vec![("product", "99999999".into()), ("action", "publish".into())],
            "deleted+meanwhile",
        ),
        (
            vec![("product", "x".into()), ("action", "publish".into())],
            "not+a+product",
        ),
    ] {
        let (status, location) = bulk(fields).await;
        assert_eq!(status, 303);
        assert!(
            location.contains("error=") && location.contains(expected),
            "{location}"
        );
    }
    assert_eq!(prices(&app).await, after, "nothing changed");
    // A return address elsewhere is ignored.
    let mut elsewhere = with("publish", vec![]);
    elsewhere.retain(|(k, _)| *k != "back");
    elsewhere.push(("back", "https://evil.example/admin/products".into()));
    assert!(bulk(elsewhere)
        .await
        .1
        .starts_with("/admin/products?notice="));
    // Programs get JSON errors.
    let response = app
        .client
        .post(format!("{}/admin/products/bulk", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &clerk)
        .form(&[("product", "1"), ("action", "price"), ("percent", "1e3")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("percentage"));
}

async fn orders_ship_in_bulk_from_a_pasted_sheet(backend: Backend) {
    let app = spawn_app(backend).await;
    let clerk = account(&app, "clerk@shop.test", Role::Staff, false).await;
    let (a, _) = variant_with_stock(&app, 0, 10).await;
    let (b, _) = variant_with_stock(&app, 1, 10).await;
    let number = |placed: &Value| placed["order"]["number"].as_str().unwrap().to_string();
    let first = paid_order(&app, &[(a, 2), (b, 1)]).await;
    let second = paid_order(&app, &[(b, 3)]).await;
    let (status, unpaid) = checkout(
        &app,
        &order_body(&[(a, 1)], "pm_card_authenticationRequired"),
        &app::checkout::service::random_token(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(unpaid["order"]["status"], "pending_payment");
    // The first order is half shipped already: the sheet ships what is left.
    let line: i64 = sqlx::query_scalar("SELECT MIN(id) FROM order_lines")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (status, _) = as_user(
        &app,
        "POST",
        &format!("/admin/orders/{}/shipments", number(&first)),
        Some(&clerk),
        &[
            (&format!("qty_{line}"), "1"),
            ("carrier", "DHL"),
            ("tracking_number", "EARLY-1"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let ship = |sheet: String| {
        let app = &app;
        let clerk = clerk.clone();
        async move {
            let response = app
                .client
                .post(format!("{}/admin/orders/ship-many", app.address))
                .header("Origin", &app.address)
                .header("Cookie", clerk)
                .header("Accept", "text/html")
                .form(&[("tracking", sheet)])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 303);
            response.headers()["location"].to_str().unwrap().to_string()
        }
    };
    let shipments = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM shipments")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
    };

    // One bad line stops the whole sheet, and every problem is named.
    let sheet = format!(
        "Order\tCarrier\tTracking\n#{}\tDHL\tJD-1\n{}\tUPS\t1Z-2\n{}\tDHL\tJD-3\n999999\tDHL\tJD-4\n",
        number(&first),
        number(&second),
        number(&unpaid)
    );
    let location = ship(sheet).await;
    assert!(
        location.starts_with("/admin/orders?error=Nothing+was+shipped."),
        "{location}"
    );
    assert!(
        location.contains("line+4%3A+order+") && location.contains("is+not+paid"),
        "{location}"
    );
    assert!(
        location.contains("line+5%3A+there+is+no+order+999999"),
        "{location}"
    );
    assert_eq!(shipments().await, 1, "nothing shipped");
    let location = ship(format!("{}\tDHL\n", number(&second))).await;
    assert!(
        location.contains("line+1%3A+give+the+order+number"),
        "{location}"
    );

    // A right sheet ships both orders in full, each with its tracking, and emails both.
    let sheet = format!(
        "#{}, DHL, JD-1\n\n{}; UPS; 1Z-2\n",
        number(&first),
        number(&second)
    );
    let location = ship(sheet).await;
    assert_eq!(
        location,
        "/admin/orders?notice=2+orders+shipped%3B+the+customers+were+emailed."
    );
    let fulfilment: Vec<String> =
        sqlx::query_scalar("SELECT fulfilment FROM orders WHERE status = 'paid' ORDER BY id")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(fulfilment, ["fulfilled", "fulfilled"]);
    let order = app
        .checkout
        .order_by_token(&token_of(&second))
        .await
        .unwrap();
    assert_eq!(order.shipments.len(), 1);
    assert_eq!(order.shipments[0].carrier, "UPS");
    assert_eq!(order.shipments[0].tracking_number, "1Z-2");
    let shipped_first = app
        .checkout
        .order_by_token(&token_of(&first))
        .await
        .unwrap();
    let tracking: Vec<&str> = shipped_first
        .shipments
        .iter()
        .map(|s| s.tracking_number.as_str())
        .collect();
    assert_eq!(tracking, ["EARLY-1", "JD-1"]);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'order_shipped'"
        )
        .await,
        3
    );
    // Shipped orders cannot be shipped again.
    let location = ship(format!("{}\tDHL\tAGAIN", number(&second))).await;
    assert!(location.contains("has+already+been+shipped"), "{location}");
    assert_eq!(shipments().await, 3);
    // The list page offers the form and shows the outcome.
    let html = app
        .html_as("/admin/orders?notice=2+orders+shipped", &clerk)
        .await;
    assert!(html.contains(r#"action="/admin/orders/ship-many""#));
    assert!(html.contains("2 orders shipped"));
}

async fn the_owners_settings_change_what_checkout_charges(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let clerk = account(&app, "clerk@shop.test", Role::Staff, false).await;
    let (variant, price) = variant_with_stock(&app, 0, 10).await;
    let settings = |form: Vec<(&'static str, String)>, path: String| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let response = app
                .client
                .post(format!("{}{path}", app.address))
                .header("Origin", &app.address)
                .header("Cookie", owner)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let general = |name: &str, sender: &str, currency: &str, minutes: &str| {
        vec![
            ("shop_name", name.to_string()),
            ("email_from", sender.to_string()),
            ("currency", currency.to_string()),
            ("prices_include_tax", "on".to_string()),
            ("reservation_minutes", minutes.to_string()),
        ]
    };
    let quote = |country: &'static str| {
        let app = &app;
        async move {
            let (status, quote) = app
                .post_json(
                    "/api/v1/cart/quote",
                    &json!({"lines": [{"variant_id": variant, "quantity": 1}],
                            "shipping_address": {"country": country, "region": null}}),
                    &[],
                )
                .await;
            assert_eq!(status, 200, "{quote}");
            quote
        }
    };

    // Only the owner changes settings.
    let response = app
        .client
        .post(format!("{}/admin/settings", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &clerk)
        .form(&general("Mine", "", "EUR", "15"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let page = app.html_as("/admin/settings", &owner).await;
    assert!(
        page.contains(r#"value="Kassa""#),
        "the shop's name is on the page"
    );

    // The name is the shop's header and titles at once; the hold time is checkout's.
    let (status, body) = settings(
        general("Fjord & Fell", "Fjord <hi@fjord.example>", "EUR", "30"),
        "/admin/settings".into(),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let home = app.get("/").await.text().await.unwrap();
    let header = &home[home.find("site-header").unwrap_or(0)..];
    assert!(
        home.contains(r#"<a href="/" class="brand">Fjord &amp; Fell</a>"#),
        "{header:.600}"
    );
    let head = &home[home.find("<title").unwrap_or(0)..];
    assert!(
        home.contains("<title>Shop · Fjord &amp; Fell</title>"),
        "{head:.200}"
    );
    let stored: (String, String, i64) = sqlx::query_as(
        "SELECT shop_name, email_from, reservation_minutes FROM shop_settings WHERE id = 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        stored,
        ("Fjord & Fell".into(), "Fjord <hi@fjord.example>".into(), 30)
    );

    // Shipping: a rate's new price and threshold are what the next quote charges.
    let before = quote("DE").await;
    let standard = before["shipping_options"][0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let rate: i64 = sqlx::query_scalar("SELECT id FROM shipping_rates WHERE code = $1")
        .bind(&standard)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (status, body) = settings(
        vec![
            ("name", "Standard (DHL)".into()),
            ("price", "5.90".into()),
            ("free_above", "".into()),
            ("min_days", "1".into()),
            ("max_days", "2".into()),
        ],
        format!("/admin/settings/rates/{rate}"),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let after = quote("DE").await;
    assert_eq!(
        after["shipping_options"][0]["price"]["amount"], 590,
        "{after}"
    );
    assert_eq!(after["shipping_options"][0]["max_days"], 2);
    assert_eq!(after["shipping"]["amount"], 590);

    // Tax: Germany at 7 %, included in the price.
    let tax: i64 =
        sqlx::query_scalar("SELECT id FROM tax_rates WHERE country = 'DE' AND region = ''")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let (status, body) = settings(
        vec![
            ("country", "de".into()),
            ("region", "".into()),
            ("name", "MwSt. (ermäßigt)".into()),
            ("percent", "7".into()),
        ],
        format!("/admin/settings/taxes/{tax}"),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let taxed = quote("DE").await;
    assert!(
        taxed["tax_label"].as_str().unwrap().contains("7 %"),
        "{taxed}"
    );
    let total = taxed["total"]["amount"].as_i64().unwrap();
    assert_eq!(total, price + 590);
    let expected_tax = (total as f64 * 7.0 / 107.0).round() as i64;
    assert!(
        (taxed["tax"]["amount"].as_i64().unwrap() - expected_tax).abs() <= 1,
        "{taxed}"
    );

    // A new zone takes its countries out of the rest of the world.
    let world = quote("NO").await;
    assert_eq!(world["shipping_options"][0]["name"], "International");
    let (status, body) = settings(
        vec![("name", "Nordics".into()), ("countries", "no, is".into())],
        "/admin/settings/zones".into(),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let zone: i64 = sqlx::query_scalar("SELECT id FROM shipping_zones WHERE name = 'Nordics'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (status, body) = settings(
        vec![
            ("name", "Nordic Post".into()),
            ("price", "12".into()),
            ("free_above", "150".into()),
            ("min_days", "2".into()),
            ("max_days", "4".into()),
        ],
        format!("/admin/settings/zones/{zone}/rates"),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let nordic = quote("NO").await;
    assert_eq!(
        nordic["shipping_options"].as_array().unwrap().len(),
        1,
        "{nordic}"
    );
    assert_eq!(nordic["shipping_options"][0]["name"], "Nordic Post");
    assert_eq!(nordic["shipping_options"][0]["price"]["amount"], 1200);
    // Deleted, Norway is the rest of the world's again.
    let (status, _) = settings(
        vec![("intent", "delete".into())],
        format!("/admin/settings/zones/{zone}"),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        quote("NO").await["shipping_options"][0]["name"],
        "International"
    );

    // Mistakes are named by field and change nothing.
    for (path, form, expected) in [
        (
            "/admin/settings".to_string(),
            general("", "not an address", "EURO", "0"),
            vec!["shop name", "email sender", "reservation", "currency"],
        ),
        (
            "/admin/settings".to_string(),
            general("Fjord", "x <a@b.de>\r\nBcc: all@b.de", "EUR", "15"),
            vec!["email sender"],
        ),
        (
            "/admin/settings/zones".to_string(),
            vec![("name", "Twice".into()), ("countries", "DE".into())],
            vec!["already in the zone 'Germany'"],
        ),
        (
            "/admin/settings/zones".to_string(),
            vec![("name", "World".into()), ("countries", "*".into())],
            vec!["the rest of the world"],
        ),
        (
            "/admin/settings/zones".to_string(),
            vec![("name", "Odd".into()), ("countries", "DEU".into())],
            vec!["countries"],
        ),
        (
            "/admin/settings/taxes".to_string(),
            vec![
                ("country", "DE".into()),
                ("name", "Twice".into()),
                ("percent", "19".into()),
            ],
            vec!["already has a tax rate"],
        ),
        (
            "/admin/settings/taxes".to_string(),
            vec![
                ("country", "NO".into()),
                ("name", "MVA".into()),
                ("percent", "120".into()),
            ],
            vec!["rate"],
        ),
        (
            format!("/admin/settings/rates/{rate}"),
            vec![
                ("name", "X".into()),
                ("price", "-1".into()),
                ("min_days", "3".into()),
                ("max_days", "1".into()),
            ],
            vec!["price", "days"],
        ),
        (
            "/admin/settings/rates/999999".to_string(),
            vec![("intent", "delete".into())],
            vec!["not found"],
        ),
    ] {
        let (status, body) = settings(form, path.clone()).await;
        assert!(status == 422 || status == 404, "{path}: {status} {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let message = body["error"]["message"].as_str().unwrap().to_lowercase();
        for word in expected {
            assert!(message.contains(&word.to_lowercase()), "{path}: {message}");
        }
    }
    assert_eq!(
        quote("DE").await["shipping_options"][0]["price"]["amount"],
        590,
        "unchanged"
    );

    // Until the first order the currency can change; prices keep their numbers.
    let (status, body) = settings(
        general("Fjord & Fell", "", "usd", "30"),
        "/admin/settings".into(),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let dollars = quote("DE").await;
    assert_eq!(dollars["total"]["currency"], "USD", "{dollars}");
    assert_eq!(dollars["lines"][0]["unit_price"]["amount"], price);
    assert_eq!(dollars["shipping"]["amount"], 590);
    let (status, placed) = checkout(
        &app,
        &order_body(&[(variant, 1)], "pm_card_authenticationRequired"),
        &app::checkout::service::random_token(),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let (created, until): (i64, Option<i64>) =
        sqlx::query_as("SELECT created_at, reserved_until FROM orders")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        until,
        Some(created + 30 * 60),
        "stock is held for the owner's 30 minutes"
    );
    let (status, body) = settings(
        general("Fjord & Fell", "", "EUR", "30"),
        "/admin/settings".into(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("has orders in USD"), "{body}");
    let page = app.html_as("/admin/settings", &owner).await;
    assert!(page.contains("The shop has orders, so its currency stays."));
}

/// A staff form post that answers JSON: (status, message of an error or "").
async fn staff_post(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(String, String)],
) -> (u16, String) {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("Origin", &app.address)
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|b| b["error"]["message"].as_str().map(String::from))
        .unwrap_or_default();
    (status, message)
}

fn owned(form: &[(&str, &str)]) -> Vec<(String, String)> {
    form.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The grid's form as the editor renders it: every live variant's fields and version.
async fn grid_form(app: &TestApp, product: i64) -> Vec<(String, String)> {
    let rows = sqlx::query(
        "SELECT id, sku, option1, option2, price_amount, version FROM variants \
         WHERE product_id = $1 AND archived_at IS NULL ORDER BY position, id",
    )
    .bind(product)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let mut form = vec![("option_count".to_string(), "2".to_string())];
    for row in &rows {
        let id: i64 = row.get("id");
        let field = |name: &str| format!("v{id}.{name}");
        let price: i64 = row.get("price_amount");
        form.push(("row".into(), id.to_string()));
        form.push((field("version"), row.get::<i64, _>("version").to_string()));
        form.push((field("sku"), row.get("sku")));
        form.push((
            field("option1"),
            row.get::<Option<String>, _>("option1").unwrap_or_default(),
        ));
        form.push((
            field("option2"),
            row.get::<Option<String>, _>("option2").unwrap_or_default(),
        ));
        form.push((
            field("price"),
            format!("{}.{:02}", price / 100, price % 100),
        ));
        form.push((field("weight_grams"), "0".into()));
        form.push((field("threshold"), "5".into()));
    }
    form
}

fn set(form: &mut [(String, String)], key: &str, value: &str) {
    form.iter_mut().find(|(k, _)| k == key).unwrap().1 = value.to_string();
}

async fn the_product_editor_grid_generates_saves_and_removes_variants(backend: Backend) {
    let app = spawn_app(backend).await;
    let clerk = account(&app, "clerk@shop.test", Role::Staff, false).await;
    let post = |path: String, form: Vec<(String, String)>| {
        let (app, clerk) = (&app, clerk.clone());
        async move { staff_post(app, &clerk, &path, &form).await }
    };
    let (status, _) = post(
        "/admin/products".into(),
        owned(&[
            ("title", "Grid Tee"),
            ("slug", "grid-tee"),
            ("status", "active"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    let product: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = 'grid-tee'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (status, _) = post(
        format!("/admin/products/{product}/variants"),
        owned(&[("sku", "GRID-1"), ("price", "20")]),
    )
    .await;
    assert_eq!(status, 303);
    let skus = |app: &TestApp| {
        let pool = app.db.pool().clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>, Option<String>, i64)>(
                "SELECT sku, option1, option2, price_amount FROM variants WHERE product_id = $1 AND archived_at IS NULL ORDER BY position, id",
            )
            .bind(product)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };

    // Generated from options: the plain variant becomes the first combination.
    let generate = format!("/admin/products/{product}/variants/generate");
    let (status, message) = post(
        generate.clone(),
        owned(&[
            ("options", "Size: S, M\nColour: Navy, Forest"),
            ("price", "25"),
            ("sku_prefix", "gt"),
        ]),
    )
    .await;
    assert_eq!(status, 303, "{message}");
    let made = skus(&app).await;
    assert_eq!(
        made,
        vec![
            (
                "GRID-1".to_string(),
                Some("S".to_string()),
                Some("Navy".to_string()),
                2000
            ),
            (
                "GT-S-FOREST".to_string(),
                Some("S".to_string()),
                Some("Forest".to_string()),
                2500
            ),
            (
                "GT-M-NAVY".to_string(),
                Some("M".to_string()),
                Some("Navy".to_string()),
                2500
            ),
            (
                "GT-M-FOREST".to_string(),
                Some("M".to_string()),
                Some("Forest".to_string()),
                2500
            ),
        ]
    );
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM product_options WHERE product_id = $1 ORDER BY position",
    )
    .bind(product)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(names, ["Size", "Colour"]);
    // A new value adds only its combinations; the options must come in the product's order.
    let (status, _) = post(
        generate.clone(),
        owned(&[
            ("options", "Size: S, M, L\nColour: Navy, Forest"),
            ("price", "25"),
            ("sku_prefix", "GT"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(skus(&app).await.len(), 6);
    let (status, message) = post(
        generate.clone(),
        owned(&[("options", "Colour: Navy\nSize: S"), ("price", "25")]),
    )
    .await;
    assert_eq!(status, 422);
    assert!(message.contains("Size, Colour"), "{message}");
    let (status, message) = post(
        generate.clone(),
        owned(&[("options", "Size"), ("price", "x")]),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        message.contains("options") && message.contains("price"),
        "{message}"
    );

    // The grid: one price changed, every stock counted to 7, in one save.
    let grid = format!("/admin/products/{product}/variants/grid");
    let mut form = grid_form(&app, product).await;
    let navy_m: i64 = sqlx::query_scalar("SELECT id FROM variants WHERE sku = 'GT-M-NAVY'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    set(&mut form, &format!("v{navy_m}.price"), "30.00");
    form.push(("all_stock".into(), "7".into()));
    let (status, message) = post(grid.clone(), form).await;
    assert_eq!(status, 303, "{message}");
    let on_hand: Vec<i64> =
        sqlx::query_scalar("SELECT on_hand FROM variants WHERE product_id = $1")
            .bind(product)
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(on_hand, vec![7; 6]);
    let counted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stock_ledger l JOIN variants v ON v.id = l.variant_id WHERE v.product_id = $1 AND l.reason = 'counted'",
    )
    .bind(product)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(counted, 6, "each count is in the ledger");
    assert_eq!(skus(&app).await[2].3, 3000);

    // A row changed by someone else meanwhile stops the whole save.
    let mut stale = grid_form(&app, product).await;
    let mut fresh = grid_form(&app, product).await;
    set(&mut fresh, &format!("v{navy_m}.price"), "31.00");
    assert_eq!(post(grid.clone(), fresh).await.0, 303);
    set(&mut stale, &format!("v{navy_m}.price"), "32.00");
    let first = stale.iter().find(|(k, _)| k == "row").unwrap().1.clone();
    set(&mut stale, &format!("v{first}.price"), "19.00");
    let (status, message) = post(grid.clone(), stale).await;
    assert_eq!(status, 409, "{message}");
    assert!(message.contains("GT-M-NAVY"), "{message}");
    let prices: Vec<i64> = skus(&app).await.iter().map(|v| v.3).collect();
    assert_eq!(prices[0], 2000, "the other row was not saved either");
    assert_eq!(prices[2], 3100);
    // The same SKU in two rows, and a bad price, are named.
    let mut twice = grid_form(&app, product).await;
    let second = twice
        .iter()
        .filter(|(k, _)| k == "row")
        .nth(1)
        .unwrap()
        .1
        .clone();
    set(&mut twice, &format!("v{second}.sku"), "GRID-1");
    assert!(post(grid.clone(), twice)
        .await
        .1
        .contains("'GRID-1' is in two rows"));
    let mut bad = grid_form(&app, product).await;
    set(&mut bad, &format!("v{second}.price"), "a lot");
    let (status, message) = post(grid.clone(), bad).await;
    assert_eq!(status, 422);
    assert!(message.contains("GT-S-FOREST: price"), "{message}");

    // Removing: with stock history it is archived, and can come back; without, deleted.
    let (status, message) = post(format!("/admin/variants/{navy_m}/remove"), vec![]).await;
    assert_eq!(status, 303, "{message}");
    let archived: Option<i64> =
        sqlx::query_scalar("SELECT archived_at FROM variants WHERE id = $1")
            .bind(navy_m)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(archived.is_some());
    let (_, shown) = app.json("/api/v1/products/grid-tee").await;
    assert!(
        !shown["variants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["sku"] == "GT-M-NAVY"),
        "out of the shop"
    );
    let (status, _) = post(
        format!("/admin/variants/{navy_m}/remove"),
        owned(&[("intent", "restore")]),
    )
    .await;
    assert_eq!(status, 303);
    let (_, shown) = app.json("/api/v1/products/grid-tee").await;
    assert!(
        shown["variants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["sku"] == "GT-M-NAVY"),
        "back in the shop"
    );
    let (status, _) = post(
        format!("/admin/products/{product}/variants"),
        owned(&[
            ("sku", "GT-SPARE"),
            ("options", "XL / Navy"),
            ("price", "20"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    let spare: i64 = sqlx::query_scalar("SELECT id FROM variants WHERE sku = 'GT-SPARE'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        post(format!("/admin/variants/{spare}/remove"), vec![])
            .await
            .0,
        303
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM variants WHERE sku = 'GT-SPARE'").await,
        0,
        "deleted"
    );
    assert_eq!(
        post("/admin/variants/999999/remove".into(), vec![]).await.0,
        404
    );

    // The editor shows the grid with its rows and the generator with the current values.
    let html = app
        .html_as(&format!("/admin/products/{product}"), &clerk)
        .await;
    assert_eq!(html.matches(r#"data-testid="variant-row""#).count(), 6);
    assert!(
        html.contains("Size: S, M, L"),
        "the generator starts from the values there are"
    );
}

async fn pictures_are_reordered_and_deleted_and_collections_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let clerk = account(&app, "clerk@shop.test", Role::Staff, false).await;
    let post = |path: String, form: Vec<(String, String)>| {
        let (app, clerk) = (&app, clerk.clone());
        async move { staff_post(app, &clerk, &path, &form).await }
    };
    let product: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = 'stoneware-mug'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let order = |app: &TestApp| {
        let pool = app.db.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM product_images WHERE product_id = $1 ORDER BY position, id",
            )
            .bind(product)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let before = order(&app).await;
    assert!(before.len() >= 2, "the demo mug has pictures");
    // The last first, the rest after it in their order.
    let mut form: Vec<(String, String)> = before
        .iter()
        .enumerate()
        .map(|(n, id)| (format!("position.{id}"), (n + 2).to_string()))
        .collect();
    form.last_mut().unwrap().1 = "1".into();
    let path = format!("/admin/products/{product}/images/order");
    let (status, message) = post(path.clone(), form).await;
    assert_eq!(status, 303, "{message}");
    let mut expected = vec![*before.last().unwrap()];
    expected.extend(&before[..before.len() - 1]);
    assert_eq!(order(&app).await, expected);
    let (_, shown) = app.json("/api/v1/products/stoneware-mug").await;
    assert!(shown["images"][0]["url"].is_string());
    // A form that leaves a picture out changes nothing.
    let (status, message) = post(
        path.clone(),
        vec![(format!("position.{}", before[0]), "1".into())],
    )
    .await;
    assert_eq!(status, 422, "{message}");
    assert_eq!(order(&app).await, expected);
    // Deleted, it is gone from the product and the shop.
    let (status, _) = post(format!("/admin/images/{}/remove", expected[0]), vec![]).await;
    assert_eq!(status, 303);
    assert_eq!(order(&app).await, expected[1..]);
    assert_eq!(
        post(format!("/admin/images/{}/remove", expected[0]), vec![])
            .await
            .0,
        404
    );

    // A collection deleted: gone from the shop, its products stay.
    let (status, _) = post(
        "/admin/collections".into(),
        owned(&[
            ("title", "Gone Soon"),
            ("slug", "gone-soon"),
            ("products", "stoneware-mug"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(app.json("/api/v1/collections/gone-soon").await.0, 200);
    let (status, _) = post(
        "/admin/collections".into(),
        owned(&[
            ("title", "Gone Soon"),
            ("slug", "gone-soon"),
            ("intent", "delete"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(app.json("/api/v1/collections/gone-soon").await.0, 404);
    assert_eq!(app.json("/api/v1/products/stoneware-mug").await.0, 200);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM catalog_listing WHERE collection_id NOT IN (SELECT id FROM collections) AND collection_id <> 0").await, 0);
    let (status, _) = post(
        "/admin/collections".into(),
        owned(&[("title", "x"), ("slug", "gone-soon"), ("intent", "delete")]),
    )
    .await;
    assert_eq!(status, 404);
}
