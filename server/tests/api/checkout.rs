//! Quotes, checkout, idempotency and stock, over HTTP on both databases.

use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_quote_reprices_the_cart_and_says_what_changed,
    a_test_card_pays_and_takes_the_stock,
    a_declined_card_is_402_and_takes_no_stock,
    authentication_reserves_until_confirmed,
    an_unpaid_reservation_expires_and_the_stock_returns,
    bad_requests_get_clear_answers,
    insufficient_stock_is_409_naming_the_variants,
    a_repeated_key_returns_the_same_order,
    the_order_api_needs_the_access_token,
    two_hundred_buyers_for_ten_units_make_ten_orders,
    twenty_requests_with_one_key_make_one_order,
    opposite_line_orders_do_not_deadlock,
    a_variant_that_allows_backorders_sells_beyond_its_stock,
    the_pages_server_functions_answer_with_the_errors_status,
);

/// An active demo variant given exactly `stock` units (no reservations, no backorders);
/// its id and unit price.
pub async fn variant_with_stock(app: &TestApp, nth: i64, stock: i64) -> (i64, i64) {
    let row = sqlx::query(
        "SELECT v.id, v.price_amount FROM variants v JOIN products p ON p.id = v.product_id \
         WHERE p.status = 'active' ORDER BY v.id LIMIT 1 OFFSET $1",
    )
    .bind(nth)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let id: i64 = row.get("id");
    sqlx::query("UPDATE variants SET on_hand = $1, reserved = 0, backorder = 'deny' WHERE id = $2")
        .bind(stock)
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    (id, row.get("price_amount"))
}

pub async fn stock_of(app: &TestApp, variant: i64) -> (i64, i64) {
    let row = sqlx::query("SELECT on_hand, reserved FROM variants WHERE id = $1")
        .bind(variant)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    (row.get("on_hand"), row.get("reserved"))
}

/// The ledger's sums for a variant: (on_hand delta, reserved delta, entries).
pub async fn ledger_of(app: &TestApp, variant: i64) -> (i64, i64, i64) {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(on_hand_delta), 0) AS BIGINT) AS on_hand, \
         CAST(COALESCE(SUM(reserved_delta), 0) AS BIGINT) AS reserved, COUNT(*) AS entries \
         FROM stock_ledger WHERE variant_id = $1",
    )
    .bind(variant)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    (row.get("on_hand"), row.get("reserved"), row.get("entries"))
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

pub fn order_body(lines: &[(i64, u32)], token: &str) -> Value {
    json!({
        "email": "erika@example.com",
        "shipping_address": {
            "name": "Erika Mustermann", "line1": "Heidestraße 17", "line2": "",
            "city": "Köln", "postal_code": "51147", "region": "", "country": "DE"
        },
        "lines": lines.iter().map(|(id, q)| json!({"variant_id": id, "quantity": q})).collect::<Vec<_>>(),
        "payment": {"gateway": "test", "token": token}
    })
}

pub async fn checkout(app: &TestApp, body: &Value, key: &str) -> (u16, Value) {
    app.post_json("/api/v1/checkout", body, &[("Idempotency-Key", key)])
        .await
}

/// The access token at the end of an order's link.
pub fn token_of(placed: &Value) -> String {
    let url = placed["order_url"].as_str().expect("an order_url");
    url.rsplit('/').next().unwrap().to_string()
}

fn key() -> String {
    app::checkout::service::random_token()
}

async fn a_quote_reprices_the_cart_and_says_what_changed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (plenty, price) = variant_with_stock(&app, 0, 50).await;
    let (scarce, _) = variant_with_stock(&app, 1, 2).await;
    let (gone, _) = variant_with_stock(&app, 2, 0).await;
    let body = json!({
        "lines": [
            {"variant_id": plenty, "quantity": 2, "seen_price": {"amount": price - 100, "currency": "EUR"},
             "unit_price": {"amount": 1, "currency": "EUR"}},
            {"variant_id": scarce, "quantity": 5},
            {"variant_id": gone, "quantity": 1},
            {"variant_id": 999999, "quantity": 1}
        ],
        "shipping_address": {"country": "DE"}
    });
    let (status, quote) = app.post_json("/api/v1/cart/quote", &body, &[]).await;
    assert_eq!(status, 200, "{quote}");
    let lines = quote["lines"].as_array().unwrap();
    assert_eq!(
        lines.len(),
        2,
        "sold-out and unknown variants are not priced: {quote}"
    );
    // The client's unit price is ignored; the database's is used.
    assert_eq!(lines[0]["unit_price"]["amount"], price);
    assert_eq!(lines[0]["line_total"]["amount"], price * 2);
    assert_eq!(lines[1]["quantity"], 2, "lowered to the stock left");
    let kinds: Vec<(i64, &str)> = quote["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["variant_id"].as_i64().unwrap(),
                n["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(kinds.contains(&(plenty, "price_changed")), "{kinds:?}");
    assert!(kinds.contains(&(scarce, "limited_stock")), "{kinds:?}");
    assert!(kinds.contains(&(gone, "unavailable")), "{kinds:?}");
    assert!(kinds.contains(&(999999, "unavailable")), "{kinds:?}");
    // Totals add up: prices include tax, so the total is goods plus shipping.
    let subtotal = quote["subtotal"]["amount"].as_i64().unwrap();
    let shipping = quote["shipping"]["amount"].as_i64().unwrap();
    assert_eq!(
        quote["total"]["amount"].as_i64().unwrap(),
        subtotal + shipping
    );
    assert_eq!(
        quote["shipping_method"],
        quote["shipping_options"][0]["code"]
    );
    assert!(
        quote["tax_label"].as_str().unwrap().contains("19"),
        "{quote}"
    );
    assert!(quote["tax"]["amount"].as_i64().unwrap() > 0);
}

async fn a_test_card_pays_and_takes_the_stock(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, price_a) = variant_with_stock(&app, 0, 5).await;
    let (b, price_b) = variant_with_stock(&app, 1, 5).await;
    let body = order_body(&[(a, 2), (b, 1)], "pm_card_visa");
    let (status, placed) = checkout(&app, &body, &key()).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["order"]["status"], "paid");
    let goods = price_a * 2 + price_b;
    let total = placed["order"]["total"]["amount"].as_i64().unwrap();
    let quote = app
        .post_json(
            "/api/v1/cart/quote",
            &json!({"lines": body["lines"], "shipping_address": body["shipping_address"]}),
            &[],
        )
        .await
        .1;
    assert_eq!(
        total,
        quote["total"]["amount"].as_i64().unwrap(),
        "checkout charges what the quote said"
    );
    assert!(total >= goods);
    assert!(placed["order_url"].as_str().unwrap().contains("/orders/"));
    assert_eq!(stock_of(&app, a).await, (3, 0));
    assert_eq!(stock_of(&app, b).await, (4, 0));
    assert_eq!(ledger_of(&app, a).await, (-2, 0, 1));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'order_confirmation'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM payments WHERE status = 'succeeded'"
        )
        .await,
        1
    );
}

async fn a_declined_card_is_402_and_takes_no_stock(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let key = key();
    let body = order_body(&[(a, 1)], "pm_card_chargeDeclined");
    let (status, error) = checkout(&app, &body, &key).await;
    assert_eq!(status, 402, "{error}");
    assert_eq!(error["error"]["message"], "Your card was declined.");
    assert_eq!(error["error"]["order"]["status"], "payment_failed");
    assert_eq!(stock_of(&app, a).await, (5, 0));
    assert_eq!(ledger_of(&app, a).await.2, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox").await, 0);
    // Retrying the same attempt gives the same answer, not a charge.
    let (again, _) = checkout(&app, &body, &key).await;
    assert_eq!(again, 402);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 1);
}

async fn authentication_reserves_until_confirmed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (status, placed) = checkout(
        &app,
        &order_body(&[(a, 2)], "pm_card_authenticationRequired"),
        &key(),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["order"]["status"], "pending_payment");
    assert_eq!(placed["next_action"]["type"], "confirm_test_payment");
    assert_eq!(stock_of(&app, a).await, (5, 2), "reserved, not yet sold");
    let token = token_of(&placed);
    let confirmed = app
        .checkout
        .confirm_test_payment(&token, true)
        .await
        .unwrap();
    assert_eq!(confirmed.status, app::orders::OrderStatus::Paid);
    assert_eq!(stock_of(&app, a).await, (3, 0));
    assert_eq!(ledger_of(&app, a).await, (-2, 0, 2), "reserve, then commit");
    // Confirming twice changes nothing.
    app.checkout
        .confirm_test_payment(&token, true)
        .await
        .unwrap();
    assert_eq!(stock_of(&app, a).await, (3, 0));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox").await, 1);

    // A failed authentication releases the stock.
    let (_, placed) = checkout(
        &app,
        &order_body(&[(a, 1)], "pm_card_authenticationRequired"),
        &key(),
    )
    .await;
    let token = token_of(&placed);
    assert_eq!(stock_of(&app, a).await, (3, 1));
    let failed = app
        .checkout
        .confirm_test_payment(&token, false)
        .await
        .unwrap();
    assert_eq!(failed.status, app::orders::OrderStatus::PaymentFailed);
    assert_eq!(stock_of(&app, a).await, (3, 0));
}

async fn an_unpaid_reservation_expires_and_the_stock_returns(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 3).await;
    let (_, placed) = checkout(
        &app,
        &order_body(&[(a, 3)], "pm_card_authenticationRequired"),
        &key(),
    )
    .await;
    assert_eq!(stock_of(&app, a).await, (3, 3));
    // Nobody else can buy the reserved units meanwhile.
    let (status, _) = checkout(&app, &order_body(&[(a, 1)], "pm_card_visa"), &key()).await;
    assert_eq!(status, 409);
    let now = app::db::now_epoch();
    let early = app::checkout::jobs::expire_reservations(&app.checkout, now)
        .await
        .unwrap();
    assert_eq!(early, 0, "not before the 15 minutes are up");
    let expired = app::checkout::jobs::expire_reservations(&app.checkout, now + 15 * 60 + 1)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(stock_of(&app, a).await, (3, 0));
    assert_eq!(ledger_of(&app, a).await, (0, 0, 2), "reserve, then release");
    let token = token_of(&placed);
    let order = app.checkout.order_by_token(&token).await.unwrap();
    assert_eq!(order.status, app::orders::OrderStatus::Expired);
    // Confirming after expiry charges nothing and says why.
    let late = app
        .checkout
        .confirm_test_payment(&token, true)
        .await
        .unwrap_err();
    assert_eq!(late.status(), 409);
}

async fn bad_requests_get_clear_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let good = order_body(&[(a, 1)], "pm_card_visa");

    let (status, error) = app.post_json("/api/v1/checkout", &good, &[]).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));

    let mut bad = good.clone();
    bad["email"] = json!("not-an-email");
    bad["shipping_address"]["postal_code"] = json!("ABC");
    bad["lines"][0]["quantity"] = json!(0);
    let (status, error) = checkout(&app, &bad, &key()).await;
    assert_eq!(status, 422, "{error}");
    let fields: Vec<&str> = error["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["email", "shipping_address.postal_code", "lines[0].quantity"]
    );

    let mut bad = good.clone();
    bad["shipping_method"] = json!("teleport");
    let (status, error) = checkout(&app, &bad, &key()).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["fields"][0]["field"], "shipping_method");

    let mut bad = good.clone();
    bad["payment"]["token"] = json!("pm_card_stolen");
    let (status, error) = checkout(&app, &bad, &key()).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["fields"][0]["field"], "payment.token");

    let (status, error) = checkout(&app, &json!({"email": "a@b.de"}), &key()).await;
    assert_eq!(status, 422, "{error}");
    let response = app
        .client
        .post(format!("{}/api/v1/checkout", app.address))
        .header("Idempotency-Key", "k1")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // Nothing was written by any of them.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 0);
    assert_eq!(stock_of(&app, a).await, (5, 0));
}

async fn insufficient_stock_is_409_naming_the_variants(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 1).await;
    let (b, _) = variant_with_stock(&app, 1, 10).await;
    let (status, error) =
        checkout(&app, &order_body(&[(a, 2), (b, 1)], "pm_card_visa"), &key()).await;
    assert_eq!(status, 409, "{error}");
    let variants = error["error"]["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 1);
    assert_eq!(variants[0]["variant_id"], a);
    assert_eq!(variants[0]["available"], 1);
    assert_eq!(
        stock_of(&app, b).await,
        (10, 0),
        "the other line took nothing"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 0);
}

async fn a_repeated_key_returns_the_same_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 1).await;
    let key = key();
    let body = order_body(&[(a, 1)], "pm_card_visa");
    let (first, placed) = checkout(&app, &body, &key).await;
    assert_eq!(first, 201);
    // The last unit is gone, yet the retry still gets its order back.
    let response = app
        .client
        .post(format!("{}/api/v1/checkout", app.address))
        .header("Idempotency-Key", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    let again: Value = response.json().await.unwrap();
    assert_eq!(again["order"]["number"], placed["order"]["number"]);
    assert_eq!(again["order_url"], placed["order_url"]);
    // The same key for a different cart is a client bug, not a second order.
    let (status, error) = checkout(&app, &order_body(&[(a, 2)], "pm_card_visa"), &key).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 1);
}

async fn the_order_api_needs_the_access_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (_, placed) = checkout(&app, &order_body(&[(a, 1)], "pm_card_visa"), &key()).await;
    let number = placed["order"]["number"].as_str().unwrap();
    let token = token_of(&placed);
    let (status, _) = app.json(&format!("/api/v1/orders/{number}")).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .json(&format!(
            "/api/v1/orders/{number}?token=00000000000000000000000000000000"
        ))
        .await;
    assert_eq!(status, 404);
    let response = app
        .client
        .get(format!("{}/api/v1/orders/{number}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["order"]["status"], "paid");
    assert_eq!(order["order"]["lines"][0]["quantity"], 1);
    assert_eq!(order["order"]["shipping_address"]["city"], "Köln");
    // Another order's token does not open this one.
    let (_, other) = checkout(&app, &order_body(&[(a, 1)], "pm_card_visa"), &key()).await;
    let other_token = token_of(&other);
    let (status, _) = app
        .json(&format!("/api/v1/orders/{number}?token={other_token}"))
        .await;
    assert_eq!(status, 404);
}

async fn two_hundred_buyers_for_ten_units_make_ten_orders(backend: Backend) {
    let app = spawn_app(backend).await;
    let (hot, _) = variant_with_stock(&app, 0, 10).await;
    let attempts = (0..200).map(|_| {
        let app = &app;
        async move {
            let body = order_body(&[(hot, 1)], "pm_card_visa");
            checkout(app, &body, &key()).await.0
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, refused), (10, 190), "{statuses:?}");
    assert_eq!(stock_of(&app, hot).await, (0, 0));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM orders WHERE status = 'paid'").await,
        10
    );
    // The ledger accounts for every unit: 10 on hand at the start, 10 sold.
    assert_eq!(ledger_of(&app, hot).await, (-10, 0, 10));
}

async fn twenty_requests_with_one_key_make_one_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 100).await;
    let key = key();
    let body = order_body(&[(a, 3)], "pm_card_visa");
    let attempts = (0..20).map(|_| checkout(&app, &body, &key));
    let answers = futures::future::join_all(attempts).await;
    let numbers: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert!(*status == 201 || *status == 200, "{status} {body}");
            body["order"]["number"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(numbers.len(), 1);
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(stock_of(&app, a).await, (97, 0));
}

async fn opposite_line_orders_do_not_deadlock(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 1000).await;
    let (b, _) = variant_with_stock(&app, 1, 1000).await;
    let attempts = (0..100).map(|i| {
        let app = &app;
        async move {
            let lines = if i % 2 == 0 {
                [(a, 1), (b, 1)]
            } else {
                [(b, 1), (a, 1)]
            };
            checkout(app, &order_body(&lines, "pm_card_visa"), &key())
                .await
                .0
        }
    });
    let statuses = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        futures::future::join_all(attempts),
    )
    .await
    .expect("checkouts deadlocked");
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(stock_of(&app, a).await, (900, 0));
    assert_eq!(stock_of(&app, b).await, (900, 0));
}

async fn a_variant_that_allows_backorders_sells_beyond_its_stock(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 1).await;
    sqlx::query("UPDATE variants SET backorder = 'allow' WHERE id = $1")
        .bind(a)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, placed) = checkout(&app, &order_body(&[(a, 3)], "pm_card_visa"), &key()).await;
    assert_eq!(status, 201, "{placed}");
    // One unit from the shelf, two on backorder; stock never goes below zero.
    assert_eq!(stock_of(&app, a).await, (0, 0));
    assert_eq!(ledger_of(&app, a).await, (-1, 0, 1));
    let token = token_of(&placed);
    let order = app.checkout.order_by_token(&token).await.unwrap();
    assert_eq!(
        (order.lines[0].quantity, order.lines[0].backordered),
        (3, 2)
    );
}

async fn the_pages_server_functions_answer_with_the_errors_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 1).await;
    let call = |token: &str, quantity: u32| json!({"request": order_body(&[(a, quantity)], token), "idempotency_key": key()});
    let (status, error) = app
        .post_json(
            "/api/checkout/place-order",
            &call("pm_card_chargeDeclined", 1),
            &[],
        )
        .await;
    assert_eq!(status, 402, "{error}");
    assert!(error.to_string().contains("declined"), "{error}");
    let (status, _) = app
        .post_json("/api/checkout/place-order", &call("pm_card_visa", 5), &[])
        .await;
    assert_eq!(status, 409);
    let (status, placed) = app
        .post_json("/api/checkout/place-order", &call("pm_card_visa", 1), &[])
        .await;
    assert_eq!(status, 200, "{placed}");
    assert_eq!(placed["order"]["status"], "paid");
    let (status, quote) = app
        .post_json(
            "/api/cart/quote",
            &json!({"request": {"lines": [{"variant_id": a, "quantity": 0}]}}),
            &[],
        )
        .await;
    assert_eq!(status, 422, "{quote}");
}
