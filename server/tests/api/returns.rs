//! Returns, end to end over HTTP on both databases: the shopper's request with every rule
//! (delivered units only, the window, final sale, quantities, another order's line), staff's
//! approve, decline, receive and refund with fees and limits, and a model-based run of random
//! shipments, returns, receipts, refunds and cancellations checked against the ledgers.

use serde_json::{json, Value};
use sqlx::Row;

use crate::admin_api::{api, assert_names, get, send, team};
use crate::checkout::{
    checkout, count, ledger_of, order_body, stock_of, token_of, variant_with_stock,
};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_return_goes_from_request_to_refund_with_the_fees_of_its_day,
    the_window_final_sale_and_a_decline_decide_what_can_be_returned,
    an_exchange_places_a_replacement_at_no_charge_instead_of_a_refund,
    two_requests_at_once_get_their_own_rma_numbers,
    random_shipments_returns_and_refunds_keep_every_ledger_true,
);

struct Order {
    number: String,
    token: String,
    /// (line id, variant id, quantity)
    lines: Vec<(i64, i64, i64)>,
    total: i64,
}

async fn order(app: &TestApp, lines: &[(i64, u32)]) -> Order {
    order_with(app, lines, &[]).await
}

/// An order placed with discount codes.
async fn order_with(app: &TestApp, lines: &[(i64, u32)], codes: &[&str]) -> Order {
    let mut body = order_body(lines, "pm_card_visa");
    if !codes.is_empty() {
        body["discount_codes"] = json!(codes);
    }
    let (status, placed) = checkout(app, &body, &app::checkout::service::random_token()).await;
    assert_eq!(status, 201, "{placed}");
    let number = placed["order"]["number"].as_str().unwrap().to_string();
    let token = token_of(&placed);
    let (status, shown) = api(
        app,
        "GET",
        &format!("/api/v1/orders/{number}?token={token}"),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    let lines = shown["order"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_i64().unwrap(),
                l["variant_id"].as_i64().unwrap(),
                l["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    Order {
        number,
        token,
        lines,
        total: shown["order"]["total"]["amount"].as_i64().unwrap(),
    }
}

/// Ships `units` of a line and marks the shipment delivered.
async fn deliver(app: &TestApp, staff: &str, number: &str, line: i64, units: i64) {
    let (status, shipment) = send(
        app,
        "POST",
        &format!("/api/v1/admin/orders/{number}/shipments"),
        staff,
        json!({"lines": [{"line_id": line, "quantity": units}], "carrier": "DHL", "tracking_number": "T1"}),
    )
    .await;
    assert_eq!(status, 201, "{shipment}");
    let id = shipment["id"].as_i64().unwrap();
    let (status, body) = api(
        app,
        "POST",
        &format!("/api/v1/admin/shipments/{id}/delivered"),
        Some(staff),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn ask(app: &TestApp, order: &Order, body: Value) -> (u16, Value) {
    api(
        app,
        "POST",
        &format!("/api/v1/orders/{}/returns", order.number),
        Some(&order.token),
        Some(&body),
        &[],
    )
    .await
}

fn line(id: i64, quantity: i64, reason: &str) -> Value {
    json!({"line_id": id, "quantity": quantity, "reason": reason})
}

async fn staff_step(
    app: &TestApp,
    token: &str,
    rma: &str,
    step: &str,
    body: Value,
) -> (u16, Value) {
    send(
        app,
        "POST",
        &format!("/api/v1/admin/returns/{rma}/{step}"),
        token,
        body,
    )
    .await
}

async fn refund(app: &TestApp, token: &str, rma: &str, key: &str, body: Value) -> (u16, Value) {
    api(
        app,
        "POST",
        &format!("/api/v1/admin/returns/{rma}/refund"),
        Some(token),
        Some(&body),
        &[("Idempotency-Key", key)],
    )
    .await
}

async fn order_refunded(app: &TestApp, number: &str) -> i64 {
    sqlx::query_scalar("SELECT refunded_amount FROM orders WHERE id = $1")
        .bind(number.parse::<i64>().unwrap() - 1000)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn set_policy(app: &TestApp, days: i64, fee: i64, percent: i64) {
    sqlx::query(
        "UPDATE shop_settings SET return_window_days = $1, return_shipping_fee = $2, \
         restocking_fee_percent = $3 WHERE id = 1",
    )
    .bind(days)
    .bind(fee)
    .bind(percent)
    .execute(app.db.pool())
    .await
    .unwrap();
}

async fn a_return_goes_from_request_to_refund_with_the_fees_of_its_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, staff, refunder) = team(&app).await;
    let (a, price_a) = variant_with_stock(&app, 0, 10).await;
    let (b, _) = variant_with_stock(&app, 1, 10).await;
    let placed = order(&app, &[(a, 2), (b, 1)]).await;
    let other = order(&app, &[(b, 1)]).await;
    let (line_a, variant_a, _) = placed.lines[0];
    assert_eq!(variant_a, a, "order lines carry their variant");
    let line_b = placed.lines[1].0;
    let path = format!("/api/v1/orders/{}/returns", placed.number);

    // Nothing delivered yet: nothing to return, with the reason.
    let (status, body) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_a, 1, "too_small")]}),
    )
    .await;
    assert_names(status, &body, 422, "lines[0].line_id");
    assert!(body.to_string().contains("not been delivered"), "{body}");
    deliver(&app, &owner, &placed.number, line_a, 2).await;
    set_policy(&app, 30, 200, 10).await;

    // Who may ask: the order's token (or its customer), nobody else.
    let (status, _) = api(&app, "POST", &path, None, Some(&json!({"lines": []})), &[]).await;
    assert_eq!(status, 401);
    let (status, _) = api(
        &app,
        "POST",
        &path,
        Some(&other.token),
        Some(&json!({"lines": [line(line_a, 1, "too_small")]})),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    // Each rule names its field.
    let cases = [
        (json!({"lines": []}), "lines"),
        (
            json!({"lines": [line(line_a, 3, "too_small")]}),
            "lines[0].quantity",
        ),
        (
            json!({"lines": [line(line_a, 0, "too_small")]}),
            "lines[0].quantity",
        ),
        (
            json!({"lines": [line(line_a, 1, "bored")]}),
            "lines[0].reason",
        ),
        (
            json!({"lines": [line(line_b, 1, "too_small")]}),
            "lines[0].line_id",
        ),
        (
            json!({"lines": [line(other.lines[0].0, 1, "too_small")]}),
            "lines[0].line_id",
        ),
        (
            json!({"lines": [line(line_a, 1, "other"), line(line_a, 1, "other")]}),
            "lines[1].line_id",
        ),
        (
            json!({"lines": [line(line_a, 1, "other")], "comment": "x".repeat(2001)}),
            "comment",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = ask(&app, &placed, body).await;
        assert_names(status, &answer, 422, field);
    }
    let (status, answer) = ask(&app, &placed, json!({"lines": [{"line_id": line_a}]})).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_a, 1, "too_small")], "exchange": 1}),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused: {answer}");

    // A good request: an RMA, a conversation, an email.
    let (status, asked) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_a, 1, "too_small")], "comment": null}),
    )
    .await;
    assert_eq!(status, 201, "{asked}");
    assert_eq!(asked["status"], "requested");
    let rma = asked["rma"].as_str().unwrap().to_string();
    assert_eq!(rma, format!("R{}-1", placed.number));
    let paid_per_unit = price_a; // prices include tax, no discount: a unit was paid its price
    assert_eq!(
        asked["refund_due"]["amount"],
        paid_per_unit - paid_per_unit / 10 - 200
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'return_requested'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM support_conversations WHERE order_id IS NOT NULL"
        )
        .await,
        1
    );
    // One unit left to return; a policy change now does not touch this request's fees.
    let (status, answer) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_a, 2, "too_small")]}),
    )
    .await;
    assert_names(status, &answer, 422, "lines[0].quantity");
    set_policy(&app, 30, 0, 0).await;
    let (status, listed) = api(
        &app,
        "GET",
        &format!("{path}?token={}", placed.token),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["rma"], rma.as_str());

    // Staff: approve needs instructions, and only once.
    let (status, answer) = staff_step(&app, &owner, &rma, "approve", json!({"message": " "})).await;
    assert_names(status, &answer, 422, "message");
    let (status, answer) = staff_step(
        &app,
        &owner,
        &rma,
        "receive",
        json!({"lines": [{"line_id": line_a, "quantity": 1, "restock": true}]}),
    )
    .await;
    assert_eq!(status, 409, "receive before approval: {answer}");
    let (status, approved) = staff_step(
        &app,
        &owner,
        &rma,
        "approve",
        json!({"message": "Send it to Shop, Street 1."}),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    let (status, _) = staff_step(&app, &owner, &rma, "approve", json!({"message": "again"})).await;
    assert_eq!(status, 409);
    let (status, _) =
        staff_step(&app, &owner, &rma, "decline", json!({"reason": "too late"})).await;
    assert_eq!(status, 409);

    // Receive: never more than the return holds; restocked units go back once.
    let (on_hand, _) = stock_of(&app, a).await;
    let (status, answer) = staff_step(
        &app,
        &staff,
        &rma,
        "receive",
        json!({"lines": [{"line_id": line_a, "quantity": 2, "restock": true}]}),
    )
    .await;
    assert_names(status, &answer, 422, "lines[0].quantity");
    let (status, answer) = staff_step(
        &app,
        &staff,
        &rma,
        "receive",
        json!({"lines": [{"line_id": line_b, "quantity": 1, "restock": true}]}),
    )
    .await;
    assert_names(status, &answer, 422, "lines[0].quantity");
    let (status, received) = staff_step(
        &app,
        &staff,
        &rma,
        "receive",
        json!({"lines": [{"line_id": line_a, "quantity": 1, "restock": true}]}),
    )
    .await;
    assert_eq!(status, 200, "{received}");
    assert_eq!(received["status"], "received");
    assert_eq!(received["lines"][0]["restocked"], 1);
    assert_eq!(stock_of(&app, a).await.0, on_hand + 1);
    let (status, _) = staff_step(
        &app,
        &staff,
        &rma,
        "receive",
        json!({"lines": [{"line_id": line_a, "quantity": 1, "restock": true}]}),
    )
    .await;
    assert_eq!(status, 409, "a return is received once");
    let (ledger_on_hand, _, _) = ledger_of(&app, a).await;
    let returned_entries = count(
        &app,
        &format!("SELECT COUNT(*) FROM stock_ledger WHERE reason = 'return' AND variant_id = {a}"),
    )
    .await;
    assert_eq!(returned_entries, 1);
    assert_eq!(
        ledger_on_hand - stock_of(&app, a).await.0,
        ledger_on_hand - (on_hand + 1)
    );

    // Refund: a key is required; staff without refunds may not; never above what is due.
    let due = paid_per_unit - paid_per_unit / 10 - 200;
    let (status, answer) = send(
        &app,
        "POST",
        &format!("/api/v1/admin/returns/{rma}/refund"),
        &owner,
        json!({}),
    )
    .await;
    assert_names(status, &answer, 400, "Idempotency-Key");
    let (status, _) = refund(&app, &staff, &rma, "k1", json!({})).await;
    assert_eq!(status, 403);
    let (status, answer) = refund(
        &app,
        &refunder,
        &rma,
        "k1",
        json!({"amount": {"amount": due + 1, "currency": "EUR"}, "reason": "goodwill"}),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        order_refunded(&app, &placed.number).await,
        0,
        "nothing half-done"
    );
    let (status, answer) = refund(
        &app,
        &refunder,
        &rma,
        "k1",
        json!({"amount": {"amount": due - 100, "currency": "EUR"}}),
    )
    .await;
    assert_names(status, &answer, 422, "reason");
    let (status, refunded) = refund(&app, &refunder, &rma, "k1", json!({"amount": null})).await;
    assert_eq!(status, 201, "{refunded}");
    assert_eq!(refunded["refund"]["amount"], due);
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(order_refunded(&app, &placed.number).await, due);
    // The same key again: the same refund, not a second.
    let (status, again) = refund(&app, &refunder, &rma, "k1", json!({})).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["refund"]["amount"], due);
    assert_eq!(order_refunded(&app, &placed.number).await, due);
    // Another key on a refunded return: refused.
    let (status, _) = refund(&app, &refunder, &rma, "k2", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(order_refunded(&app, &placed.number).await, due);
    for kind in ["return_approved", "return_refunded"] {
        assert_eq!(
            count(
                &app,
                &format!("SELECT COUNT(*) FROM outbox WHERE kind = '{kind}'")
            )
            .await,
            1,
            "{kind}"
        );
    }
    // The shopper sees it; the admin list filters by status.
    let (_, listed) = api(
        &app,
        "GET",
        &format!("{path}?token={}", placed.token),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(listed["items"][0]["status"], "refunded");
    assert_eq!(listed["items"][0]["refund"]["amount"], due);
    let (status, list) = get(&app, "/api/v1/admin/returns?status=refunded", &owner).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, list) = get(&app, "/api/v1/admin/returns?status=nonsense", &owner).await;
    assert_names(status, &list, 400, "status");
    let (status, _) = get(&app, "/api/v1/admin/returns/R9-9", &owner).await;
    assert_eq!(status, 404);
    // Every staff step is in the audit log.
    for action in ["Return approved", "Return received", "Refunded"] {
        assert!(
            count(
                &app,
                &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")
            )
            .await
                >= 1,
            "{action}"
        );
    }
}

async fn the_window_final_sale_and_a_decline_decide_what_can_be_returned(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 10).await;
    // B of another product than A: final sale is a product's.
    let product_of = |v: i64| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, i64>("SELECT product_id FROM variants WHERE id = $1")
                .bind(v)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
        }
    };
    let mut nth = 1;
    let b = loop {
        let (b, _) = variant_with_stock(&app, nth, 10).await;
        if product_of(b).await != product_of(a).await {
            break b;
        }
        nth += 1;
    };
    let placed = order(&app, &[(a, 1), (b, 1)]).await;
    let (line_a, line_b) = (placed.lines[0].0, placed.lines[1].0);
    deliver(&app, &owner, &placed.number, line_a, 1).await;
    deliver(&app, &owner, &placed.number, line_b, 1).await;

    // Final sale: B's product.
    sqlx::query("UPDATE products SET final_sale = 1 WHERE id = (SELECT product_id FROM variants WHERE id = $1)")
        .bind(b)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, answer) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_b, 1, "changed_mind")]}),
    )
    .await;
    assert_names(status, &answer, 422, "lines[0].line_id");
    assert!(answer.to_string().contains("final sale"), "{answer}");

    // Decline gives the units back to what can be returned.
    let (status, asked) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_a, 1, "changed_mind")]}),
    )
    .await;
    assert_eq!(status, 201, "{asked}");
    let rma = asked["rma"].as_str().unwrap().to_string();
    let (status, answer) = staff_step(&app, &owner, &rma, "decline", json!({})).await;
    assert_names(status, &answer, 422, "reason");
    let (status, declined) = staff_step(
        &app,
        &owner,
        &rma,
        "decline",
        json!({"reason": "Worn, with the tags removed."}),
    )
    .await;
    assert_eq!(status, 200, "{declined}");
    assert_eq!(declined["status"], "declined");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'return_declined'"
        )
        .await,
        1
    );
    let (status, again) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_a, 1, "changed_mind")]}),
    )
    .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["rma"], format!("R{}-2", placed.number));

    // The window: a delivery 31 days ago is too old for a 30-day policy.
    let placed = order(&app, &[(a, 1)]).await;
    deliver(&app, &owner, &placed.number, placed.lines[0].0, 1).await;
    sqlx::query(
        "UPDATE shipments SET delivered_at = delivered_at - 31 * 86400 WHERE order_id = $1",
    )
    .bind(placed.number.parse::<i64>().unwrap() - 1000)
    .execute(app.db.pool())
    .await
    .unwrap();
    let (status, answer) = ask(
        &app,
        &placed,
        json!({"lines": [line(placed.lines[0].0, 1, "too_large")]}),
    )
    .await;
    assert_names(status, &answer, 422, "lines[0].line_id");
    assert!(answer.to_string().contains("30 days"), "{answer}");
    set_policy(&app, 45, 0, 0).await;
    let (status, answer) = ask(
        &app,
        &placed,
        json!({"lines": [line(placed.lines[0].0, 1, "too_large")]}),
    )
    .await;
    assert_eq!(status, 201, "a longer window lets it in: {answer}");
}

async fn an_exchange_places_a_replacement_at_no_charge_instead_of_a_refund(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    // Two variants of one product (the demo's first: one tee in two sizes), and another product.
    let (small, _) = variant_with_stock(&app, 0, 10).await;
    let (larger, _) = variant_with_stock(&app, 1, 1).await;
    let product = |v: i64| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, i64>("SELECT product_id FROM variants WHERE id = $1")
                .bind(v)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
        }
    };
    assert_eq!(product(small).await, product(larger).await);
    let other: i64 = sqlx::query_scalar(
        "SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id \
         WHERE p.status = 'active' AND v.product_id <> $1 ORDER BY v.id LIMIT 1",
    )
    .bind(product(small).await)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let placed = order(&app, &[(small, 1)]).await;
    let line_id = placed.lines[0].0;
    deliver(&app, &owner, &placed.number, line_id, 1).await;

    let (status, answer) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_id, 1, "too_small")], "exchange_variant_id": other}),
    )
    .await;
    assert_names(status, &answer, 422, "exchange_variant_id");
    let (status, answer) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_id, 1, "too_small")], "exchange_variant_id": 987654321}),
    )
    .await;
    assert_names(status, &answer, 422, "exchange_variant_id");
    let (status, asked) = ask(
        &app,
        &placed,
        json!({"lines": [line(line_id, 1, "too_small")], "exchange_variant_id": larger}),
    )
    .await;
    assert_eq!(status, 201, "{asked}");
    assert_eq!(asked["exchange_variant_id"], larger);
    assert!(
        asked["refund_due"].is_null(),
        "an exchange is not paid back: {asked}"
    );
    let rma = asked["rma"].as_str().unwrap().to_string();

    // Out of stock: approving would promise what is not there.
    sqlx::query("UPDATE variants SET on_hand = 0 WHERE id = $1")
        .bind(larger)
        .execute(app.db.pool())
        .await
        .unwrap();
    let orders_before = count(&app, "SELECT COUNT(*) FROM orders").await;
    let (status, answer) = staff_step(
        &app,
        &owner,
        &rma,
        "approve",
        json!({"message": "Send it back."}),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM orders").await,
        orders_before,
        "nothing half-written"
    );
    sqlx::query("UPDATE variants SET on_hand = 1 WHERE id = $1")
        .bind(larger)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, approved) = staff_step(
        &app,
        &owner,
        &rma,
        "approve",
        json!({"message": "Send it back."}),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    let replacement = approved["replacement_order"]
        .as_str()
        .expect("a replacement order")
        .to_string();
    let row = sqlx::query(
        "SELECT o.status, o.total_amount, ol.variant_id, ol.quantity, ol.unit_price_amount \
         FROM orders o JOIN order_lines ol ON ol.order_id = o.id WHERE o.id = $1",
    )
    .bind(replacement.parse::<i64>().unwrap() - 1000)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("status"), "paid");
    assert_eq!(row.get::<i64, _>("total_amount"), 0);
    assert_eq!(row.get::<i64, _>("variant_id"), larger);
    assert_eq!(row.get::<i64, _>("quantity"), 1);
    assert_eq!(row.get::<i64, _>("unit_price_amount"), 0);
    assert_eq!(
        stock_of(&app, larger).await.0,
        0,
        "the replacement left the shelf"
    );
    // It ships like any order.
    let replacement_line: i64 =
        sqlx::query_scalar("SELECT id FROM order_lines WHERE order_id = $1")
            .bind(replacement.parse::<i64>().unwrap() - 1000)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    deliver(&app, &owner, &replacement, replacement_line, 1).await;
    // The returned unit comes back; there is nothing to refund.
    let (status, received) = staff_step(
        &app,
        &owner,
        &rma,
        "receive",
        json!({"lines": [{"line_id": line_id, "quantity": 1, "restock": true}]}),
    )
    .await;
    assert_eq!(status, 200, "{received}");
    assert_eq!(received["status"], "received");
    let (status, _) = refund(&app, &owner, &rma, "x1", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(order_refunded(&app, &placed.number).await, 0);
}

async fn two_requests_at_once_get_their_own_rma_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 50).await;
    let placed = order(&app, &[(a, 8)]).await;
    let line_id = placed.lines[0].0;
    deliver(&app, &owner, &placed.number, line_id, 8).await;
    let asks = (0..4).map(|_| ask(&app, &placed, json!({"lines": [line(line_id, 2, "other")]})));
    let answers = futures::future::join_all(asks).await;
    let mut rmas: Vec<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["rma"].as_str().unwrap().to_string()
        })
        .collect();
    rmas.sort();
    rmas.dedup();
    assert_eq!(rmas.len(), 4, "{rmas:?}");
    // Every delivered unit is now in a return: a fifth is refused by name.
    let (status, answer) = ask(&app, &placed, json!({"lines": [line(line_id, 1, "other")]})).await;
    assert_names(status, &answer, 422, "lines[0].line_id");
}

/// A small deterministic random source (xorshift), so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

async fn random_shipments_returns_and_refunds_keep_every_ledger_true(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 500).await;
    let (b, _) = variant_with_stock(&app, 1, 500).await;
    let variants = [a, b];
    // The stock was set without a ledger row: from here on, every change has one.
    let start = [ledger_of(&app, a).await.0, ledger_of(&app, b).await.0];
    let mut dice = Dice(0x5eed_2026_1203);
    // A tenth off the order: lines are paid back at their share of it.
    crate::discounts::a_discount(&app).await;
    let mut orders = Vec::new();
    for i in 0..4 {
        let qa = 1 + dice.roll(3) as u32;
        let qb = 1 + dice.roll(3) as u32;
        let codes: &[&str] = if i % 2 == 0 { &["TEST"] } else { &[] };
        orders.push(order_with(&app, &[(a, qa), (b, qb)], codes).await);
    }
    assert!(
        count(
            &app,
            "SELECT COUNT(*) FROM orders WHERE discount_amount > 0"
        )
        .await
            >= 2,
        "half the orders took the discount"
    );
    let mut rmas: Vec<(usize, String)> = Vec::new();
    for step in 0..60 {
        let o = dice.roll(orders.len() as u64) as usize;
        let placed = &orders[o];
        let (line_id, _, quantity) = placed.lines[dice.roll(2) as usize];
        match dice.roll(7) {
            0 | 1 => {
                // Ship and deliver some units (any over what is left is refused).
                let units = 1 + dice.roll(quantity as u64) as i64;
                let (status, _) = send(&app, "POST", &format!("/api/v1/admin/orders/{}/shipments", placed.number), &owner,
                    json!({"lines": [{"line_id": line_id, "quantity": units}], "carrier": "DHL", "tracking_number": format!("S{step}")})).await;
                if status == 201 {
                    let id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM shipments")
                        .fetch_one(app.db.pool())
                        .await
                        .unwrap();
                    let (status, _) = api(
                        &app,
                        "POST",
                        &format!("/api/v1/admin/shipments/{id}/delivered"),
                        Some(&owner),
                        None,
                        &[],
                    )
                    .await;
                    assert_eq!(status, 200);
                }
            }
            2 => {
                let units = 1 + dice.roll(quantity as u64) as i64;
                let (status, body) = ask(
                    &app,
                    placed,
                    json!({"lines": [line(line_id, units, "other")]}),
                )
                .await;
                assert!(
                    status == 201 || status == 422,
                    "step {step}: {status} {body}"
                );
                if status == 201 {
                    rmas.push((o, body["rma"].as_str().unwrap().to_string()));
                }
            }
            3 if !rmas.is_empty() => {
                let (_, rma) = &rmas[dice.roll(rmas.len() as u64) as usize];
                let step_name = if dice.roll(4) == 0 {
                    "decline"
                } else {
                    "approve"
                };
                let body = json!({"message": "ok", "reason": "no"});
                let body = if step_name == "approve" {
                    json!({"message": body["message"]})
                } else {
                    json!({"reason": body["reason"]})
                };
                let (status, answer) = staff_step(&app, &owner, rma, step_name, body).await;
                assert!(
                    status == 200 || status == 409,
                    "step {step}: {status} {answer}"
                );
            }
            4 if !rmas.is_empty() => {
                let (_, rma) = &rmas[dice.roll(rmas.len() as u64) as usize];
                let (_, shown) = get(&app, &format!("/api/v1/admin/returns/{rma}"), &owner).await;
                let first = &shown["lines"][0];
                let left = first["quantity"].as_i64().unwrap()
                    - first["restocked"].as_i64().unwrap()
                    - first["damaged"].as_i64().unwrap();
                let units = 1 + dice.roll(left.max(1) as u64) as i64;
                let restock = dice.roll(3) != 0;
                let (status, answer) = staff_step(&app, &owner, rma, "receive",
                    json!({"lines": [{"line_id": first["line_id"], "quantity": units, "restock": restock}]})).await;
                assert!(
                    status == 200 || status == 409 || status == 422,
                    "step {step}: {status} {answer}"
                );
            }
            5 if !rmas.is_empty() => {
                let (_, rma) = &rmas[dice.roll(rmas.len() as u64) as usize];
                let (status, answer) =
                    refund(&app, &owner, rma, &format!("m{step}"), json!({})).await;
                assert!(
                    status == 201 || status == 409,
                    "step {step}: {status} {answer}"
                );
            }
            _ => {
                // A refund by lines on the order page's API, or a cancellation: the other ways
                // money goes back, which returns must respect.
                if dice.roll(5) == 0 {
                    let (status, answer) = api(
                        &app,
                        "POST",
                        &format!("/api/v1/admin/orders/{}/cancel", placed.number),
                        Some(&owner),
                        Some(&json!({})),
                        &[],
                    )
                    .await;
                    assert!(status < 500, "step {step}: {status} {answer}");
                } else {
                    let (status, answer) = api(
                        &app,
                        "POST",
                        &format!("/api/v1/admin/orders/{}/refunds", placed.number),
                        Some(&owner),
                        Some(&json!({"lines": [{"line_id": line_id, "quantity": 1}]})),
                        &[("Idempotency-Key", &format!("l{step}"))],
                    )
                    .await;
                    assert!(status < 500, "step {step}: {status} {answer}");
                }
            }
        }
        // The invariants, after every step.
        for placed in &orders {
            let id = placed.number.parse::<i64>().unwrap() - 1000;
            let refunded = order_refunded(&app, &placed.number).await;
            assert!(
                refunded <= placed.total,
                "step {step}: refunded {refunded} > paid {}",
                placed.total
            );
            let payments: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments \
                 WHERE order_id = $1 AND kind = 'refund' AND status IN ('succeeded', 'requires_action')",
            )
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
            assert_eq!(
                refunded, payments,
                "step {step}: the order's summary equals its refund ledger"
            );
            let lines = sqlx::query(
                "SELECT ol.id, ol.quantity, ol.returned_quantity, ol.refunded_quantity, \
                 CAST(COALESCE((SELECT SUM(rl.restocked_quantity + rl.damaged_quantity) FROM return_lines rl \
                   JOIN returns r ON r.id = rl.return_id WHERE rl.order_line_id = ol.id), 0) AS BIGINT) AS received, \
                 CAST(COALESCE((SELECT SUM(sl.quantity) FROM shipment_lines sl JOIN shipments s ON s.id = sl.shipment_id \
                   WHERE sl.order_line_id = ol.id AND s.status = 'delivered'), 0) AS BIGINT) AS delivered \
                 FROM order_lines ol WHERE ol.order_id = $1",
            )
            .bind(id)
            .fetch_all(app.db.pool())
            .await
            .unwrap();
            for l in &lines {
                let (returned, delivered, received): (i64, i64, i64) = (
                    l.get("returned_quantity"),
                    l.get("delivered"),
                    l.get("received"),
                );
                assert!(
                    returned <= delivered,
                    "step {step}: returned {returned} > delivered {delivered}"
                );
                assert!(
                    received <= returned,
                    "step {step}: received {received} > returned {returned}"
                );
                assert!(
                    received <= delivered,
                    "step {step}: every unit is received at most once"
                );
                assert!(
                    l.get::<i64, _>("refunded_quantity") <= l.get::<i64, _>("quantity"),
                    "step {step}"
                );
            }
        }
        for (variant, start) in variants.into_iter().zip(start) {
            let (on_hand, _) = stock_of(&app, variant).await;
            let (ledger_on_hand, _, _) = ledger_of(&app, variant).await;
            assert_eq!(
                on_hand - 500,
                ledger_on_hand - start,
                "step {step}: stock follows its ledger"
            );
        }
    }
    // Restocked units came back exactly once each: the ledger's returns equal the returns'.
    let restocked_by_returns = count(
        &app,
        "SELECT CAST(COALESCE(SUM(restocked_quantity), 0) AS BIGINT) FROM return_lines",
    )
    .await;
    let ledger_returns = count(&app, "SELECT CAST(COALESCE(SUM(on_hand_delta), 0) AS BIGINT) FROM stock_ledger WHERE reason = 'return'").await;
    assert_eq!(restocked_by_returns, ledger_returns);
    assert!(!rmas.is_empty(), "the run asked for returns");
}

/// A requested return on a fresh order whose one unit was delivered; its RMA number.
pub async fn a_return(app: &TestApp) -> String {
    let (variant, _) = variant_with_stock(app, 0, 50).await;
    let placed = order(app, &[(variant, 1)]).await;
    let (line_id, _, _) = placed.lines[0];
    let order_id = placed.number.parse::<i64>().unwrap() - 1000;
    let now = app::db::now_epoch();
    let shipment: i64 = sqlx::query_scalar(
        "INSERT INTO shipments (order_id, carrier, tracking_number, status, created_at, delivered_at) \
         VALUES ($1, 'DHL', 'T', 'delivered', $2, $2) RETURNING id",
    )
    .bind(order_id)
    .bind(now)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO shipment_lines (shipment_id, order_line_id, quantity) VALUES ($1, $2, 1)",
    )
    .bind(shipment)
    .bind(line_id)
    .execute(app.db.pool())
    .await
    .unwrap();
    let (status, asked) = ask(
        app,
        &placed,
        json!({"lines": [line(line_id, 1, "too_small")]}),
    )
    .await;
    assert_eq!(status, 201, "{asked}");
    asked["rma"].as_str().unwrap().to_string()
}
