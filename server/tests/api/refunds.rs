//! Refunds and stock edits with awkward input: keys of any text, keys reused on other orders,
//! amounts in currencies without cents, and numbers past what any shop needs.

use sqlx::Row;

use crate::admin::account;
use crate::checkout::{checkout, order_body, stock_of, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    refund_keys_belong_to_their_order_and_may_be_any_text,
    refunds_are_typed_in_the_orders_currency,
    numbers_out_of_range_are_refused_not_crashed,
);

async fn paid(app: &TestApp, variant: i64) -> String {
    let (status, placed) = checkout(
        app,
        &order_body(&[(variant, 1)], "pm_card_visa"),
        &app::checkout::service::random_token(),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    placed["order"]["number"].as_str().unwrap().to_string()
}

async fn post(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> u16 {
    app.client
        .post(format!("{}{path}", app.address))
        .header("Origin", &app.address)
        .header("Cookie", cookie)
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn refunded(app: &TestApp, number: &str) -> i64 {
    sqlx::query_scalar("SELECT refunded_amount FROM orders WHERE id = $1")
        .bind(number.parse::<i64>().unwrap() - 1000)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn refund_keys_belong_to_their_order_and_may_be_any_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 10).await;
    let first = paid(&app, a).await;
    let second = paid(&app, a).await;
    let owner = account(&app, "owner@shop.test", app::admin::Role::Owner, true).await;
    // A key whose 16th byte falls inside a character: slicing it by bytes would panic after
    // the amount was already reserved.
    let key = "aéééééééé-🔑-ключ";
    let refund = |number: String| {
        let (app, owner) = (&app, &owner);
        async move {
            post(
                app,
                owner,
                &format!("/admin/orders/{number}/refunds"),
                &[("amount", "1.00"), ("key", key), ("reason", "scratched")],
            )
            .await
        }
    };
    assert_eq!(refund(first.clone()).await, 303);
    assert_eq!(refunded(&app, &first).await, 100);
    // The same key again on the same order: the same refund, not a second one.
    assert_eq!(refund(first.clone()).await, 303);
    assert_eq!(refunded(&app, &first).await, 100);
    // The same key on another order is that order's own refund.
    assert_eq!(refund(second.clone()).await, 303);
    assert_eq!(refunded(&app, &second).await, 100);
    let refunds: Vec<(String, i64)> =
        sqlx::query("SELECT status, order_id FROM payments WHERE kind = 'refund' ORDER BY id")
            .fetch_all(app.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("status"), r.get("order_id")))
            .collect();
    assert_eq!(refunds.len(), 2, "{refunds:?}");
    assert!(refunds.iter().all(|(status, _)| status == "succeeded"));
    let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'Refunded'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(audit, 2);
}

async fn refunds_are_typed_in_the_orders_currency(backend: Backend) {
    let app = spawn_app(backend).await;
    // A yen shop: no minor unit, so "500" is ¥500.
    for sql in [
        "UPDATE shop_settings SET currency = 'JPY'",
        "UPDATE variants SET currency = 'JPY'",
    ] {
        sqlx::query(sql).execute(app.db.pool()).await.unwrap();
    }
    app.checkout.forget_rules().await;
    let (a, _) = variant_with_stock(&app, 0, 10).await;
    let number = paid(&app, a).await;
    let owner = account(&app, "owner@shop.test", app::admin::Role::Owner, true).await;
    let path = format!("/admin/orders/{number}/refunds");
    assert_eq!(
        post(&app, &owner, &path, &[("amount", "500"), ("key", "k1")]).await,
        303
    );
    assert_eq!(refunded(&app, &number).await, 500);
    // Yen have no cents to type.
    assert_eq!(
        post(&app, &owner, &path, &[("amount", "1.50"), ("key", "k2")]).await,
        422
    );
    assert_eq!(refunded(&app, &number).await, 500);
    // The order page prints yen without decimals.
    let page = app
        .client
        .get(format!("{}/admin/orders/{number}", app.address))
        .header("Cookie", &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refunded_text = page
        .split("data-testid=\"admin-refunded\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default();
    assert_eq!(refunded_text, "¥500");
    assert!(page.contains("Refunded ¥500"), "the timeline says ¥500");
}

async fn numbers_out_of_range_are_refused_not_crashed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 10).await;
    let number = paid(&app, a).await;
    let owner = account(&app, "owner@shop.test", app::admin::Role::Owner, true).await;
    for bad in [
        "-9223372036854775808",
        "9223372036854775807",
        "99999999999999999999",
    ] {
        let status = app
            .client
            .get(format!("{}/admin/orders/{bad}", app.address))
            .header("Cookie", &owner)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 404, "order {bad}");
        let status = app
            .get(&format!("/api/v1/orders/{bad}?token=x"))
            .await
            .status()
            .as_u16();
        assert!(status == 404 || status == 401, "API order {bad}: {status}");
        let status = post(
            &app,
            &owner,
            &format!("/admin/orders/{bad}/refunds"),
            &[("amount", "1"), ("key", "k")],
        )
        .await;
        assert_eq!(status, 404, "refund on order {bad}");
    }
    let version: i64 = sqlx::query_scalar("SELECT version FROM variants WHERE id = $1")
        .bind(a)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let version = version.to_string();
    let path = format!("/admin/variants/{a}/adjust");
    for (reason, quantity) in [
        ("received", "9223372036854775807"),
        ("correction", "-9223372036854775808"),
        ("correction", "9223372036854775807"),
        ("counted", "1000000000000"),
        ("received", "1000000001"),
    ] {
        let status = post(
            &app,
            &owner,
            &path,
            &[
                ("reason", reason),
                ("quantity", quantity),
                ("version", &version),
            ],
        )
        .await;
        assert_eq!(status, 422, "{reason} {quantity}");
    }
    assert_eq!(stock_of(&app, a).await, (9, 0), "nothing moved");
    // An amount past any real order is a clear 422, not an overflow.
    let status = post(
        &app,
        &owner,
        &format!("/admin/orders/{number}/refunds"),
        &[("amount", "99999999999999999"), ("key", "huge")],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(refunded(&app, &number).await, 0);
}
