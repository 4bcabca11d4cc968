//! Discounts over HTTP on both databases: made through the admin API, applied by quotes and
//! checkout, counted exactly once per order however many checkouts race, given back when a
//! payment fails or expires, and refunded on what the shopper paid.

use serde_json::{json, Value};
use sqlx::Row;

use crate::admin_api::{assert_names, audit_rows, get, send, team};
use crate::checkout::{checkout, count, order_body, token_of, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    discounts_are_made_read_changed_and_deactivated_through_the_api,
    bad_discounts_are_refused_field_by_field,
    a_code_takes_its_amount_off_the_quote_the_order_and_the_email,
    each_unusable_code_gets_its_own_reason,
    two_hundred_checkouts_for_a_code_limited_to_ten_make_ten_orders_with_it,
    one_shopper_racing_for_a_once_per_customer_code_gets_it_once,
    a_failed_or_expired_payment_gives_the_use_back_and_a_replay_counts_once,
    the_best_automatic_discount_applies_and_free_shipping_takes_the_shipping,
    a_refund_by_line_pays_back_what_the_line_was_paid,
);

/// A discount straight in the database (10 % off the order, code `TEST`), for tests of other
/// things that need one to exist; its id.
pub async fn a_discount(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO discounts (title, code, code_key, kind, rule_json, created_at, updated_at) \
         VALUES ('Test', 'TEST', 'test', 'percentage', \
         '{\"OrderPercent\":{\"percent_bp\":1000}}', 0, 0) RETURNING id",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

fn key() -> String {
    app::checkout::service::random_token()
}

/// Makes a discount with the owner's token; its id.
async fn discount(app: &TestApp, token: &str, body: Value) -> i64 {
    let (status, made) = send(app, "POST", "/api/v1/admin/discounts", token, body).await;
    assert_eq!(status, 201, "{made}");
    made["id"].as_i64().unwrap()
}

async fn times_used(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar("SELECT times_used FROM discounts WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

fn with_codes(mut body: Value, codes: &[&str]) -> Value {
    body["discount_codes"] = json!(codes);
    body
}

async fn quote(app: &TestApp, body: Value) -> (u16, Value) {
    app.post_json("/api/v1/cart/quote", &body, &[]).await
}

fn amount(value: &Value) -> i64 {
    value["amount"]
        .as_i64()
        .unwrap_or_else(|| panic!("no amount in {value}"))
}

/// The slug of the product a variant belongs to.
pub async fn product_slug(app: &TestApp, variant: i64) -> String {
    sqlx::query_scalar(
        "SELECT p.slug FROM products p JOIN variants v ON v.product_id = p.id WHERE v.id = $1",
    )
    .bind(variant)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

async fn discounts_are_made_read_changed_and_deactivated_through_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, staff, _) = team(&app).await;
    let (variant, _) = variant_with_stock(&app, 0, 10).await;
    let slug = product_slug(&app, variant).await;
    let (status, made) = send(
        &app,
        "POST",
        "/api/v1/admin/discounts",
        &staff,
        json!({
            "title": "Winter sale", "code": "Winter-25", "kind": "percentage", "percent": 12.5,
            "applies_to": {"products": [slug]},
            "minimum_subtotal": {"amount": 2000, "currency": "EUR"},
            "starts_at": "2026-12-01T00:00:00+01:00", "ends_at": null, "usage_limit": 100,
            "once_per_customer": true, "combines_with": ["shipping"]
        }),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_i64().unwrap();
    assert_eq!(made["code"], "Winter-25");
    assert_eq!(made["percent"], 12.5);
    assert_eq!(made["applies_to"]["products"][0], slug.as_str());
    assert_eq!(made["starts_at"], "2026-11-30T23:00:00Z", "kept in UTC");
    assert_eq!(made["times_used"], 0);
    assert_eq!(made["status"], "active");
    assert_eq!(made["combines_with"], json!(["shipping"]));
    assert!(made.get("ends_at").is_none_or(Value::is_null), "{made}");

    // A patch changes what it names; null clears.
    let (status, changed) = send(
        &app,
        "PATCH",
        &format!("/api/v1/admin/discounts/{id}"),
        &owner,
        json!({"percent": 15, "usage_limit": null, "title": "Winter sale, week 2"}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["percent"], 15.0);
    assert!(changed.get("usage_limit").is_none_or(Value::is_null));
    assert_eq!(changed["code"], "Winter-25", "untouched");
    // Another discount cannot take the same code in another case.
    let (status, clash) = send(
        &app,
        "POST",
        "/api/v1/admin/discounts",
        &owner,
        json!({"title": "Copy", "code": "WINTER-25", "kind": "free_shipping"}),
    )
    .await;
    assert_names(status, &clash, 422, "code");

    let (status, listed) = get(&app, "/api/v1/admin/discounts?limit=1", &staff).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["id"], id);

    let (status, off) = send(
        &app,
        "POST",
        &format!("/api/v1/admin/discounts/{id}/deactivate"),
        &staff,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(off["status"], "inactive");
    let (status, _) = get(&app, "/api/v1/admin/discounts/999999", &staff).await;
    assert_eq!(status, 404);
    let actions: Vec<String> = [
        "Discount created",
        "Discount changed",
        "Discount deactivated",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    for action in &actions {
        let rows = audit_rows(&app, action).await;
        assert_eq!(rows.len(), 1, "{action}: {rows:?}");
        assert_eq!(rows[0].1, format!("discount:{id}"));
    }
    // The shop's pages cannot use the deactivated code any more.
    let body = with_codes(
        json!({"lines": [{"variant_id": variant, "quantity": 9}]}),
        &["winter-25"],
    );
    let (status, refused) = quote(&app, body).await;
    assert_names(status, &refused, 422, "discount_codes[0]");
}

async fn bad_discounts_are_refused_field_by_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let cases = [
        (
            json!({"title": "", "code": "X", "kind": "percentage", "percent": 10}),
            "title",
        ),
        (
            json!({"title": "T", "code": "has space", "kind": "percentage", "percent": 10}),
            "code",
        ),
        (
            json!({"title": "T", "kind": "percentage", "percent": 0}),
            "percent",
        ),
        (
            json!({"title": "T", "kind": "percentage", "percent": 100.001}),
            "percent",
        ),
        (json!({"title": "T", "kind": "percentage"}), "percent"),
        (
            json!({"title": "T", "kind": "fixed_amount", "amount": {"amount": 500, "currency": "USD"}}),
            "amount.currency",
        ),
        (
            json!({"title": "T", "kind": "fixed_amount", "amount": {"amount": -5, "currency": "EUR"}}),
            "amount.amount",
        ),
        (
            json!({"title": "T", "kind": "percentage", "percent": 5, "applies_to": {"products": ["no-such-thing"]}}),
            "applies_to.products[0]",
        ),
        (
            json!({"title": "T", "kind": "buy_x_get_y", "buy": {"quantity": 0}, "get": {"quantity": 1}}),
            "buy.quantity",
        ),
        (
            json!({"title": "T", "kind": "buy_x_get_y", "buy": {"quantity": 2}}),
            "get",
        ),
        (
            json!({"title": "T", "kind": "free_shipping", "percent": 5}),
            "percent",
        ),
        (
            json!({"title": "T", "kind": "free_shipping", "countries": ["Germany"]}),
            "countries[0]",
        ),
        (json!({"title": "T", "kind": "bogus"}), "kind"),
        (
            json!({"title": "T", "kind": "free_shipping", "starts_at": "tomorrow"}),
            "starts_at",
        ),
        (
            json!({"title": "T", "kind": "free_shipping", "starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "T", "kind": "free_shipping", "usage_limit": -1}),
            "usage_limit",
        ),
        (
            json!({"title": "T", "kind": "free_shipping", "combines_with": ["everything"]}),
            "combines_with[0]",
        ),
        (
            json!({"title": "T", "kind": "free_shipping", "colour": "red"}),
            "colour",
        ),
        (json!({"kind": "free_shipping"}), "title"),
    ];
    for (body, field) in cases {
        let (status, answer) = send(
            &app,
            "POST",
            "/api/v1/admin/discounts",
            &owner,
            body.clone(),
        )
        .await;
        assert_names(status, &answer, 422, field);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM discounts").await, 0);
    let (status, answer) = app
        .client
        .post(format!("{}/api/v1/admin/discounts", app.address))
        .bearer_auth(&owner)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!((status, answer), (400, ()));
    // A patch that breaks the discount is refused whole.
    let id = discount(
        &app,
        &owner,
        json!({"title": "Ten", "code": "TEN", "kind": "percentage", "percent": 10}),
    )
    .await;
    let (status, answer) = send(
        &app,
        "PATCH",
        &format!("/api/v1/admin/discounts/{id}"),
        &owner,
        json!({"kind": "fixed_amount"}),
    )
    .await;
    assert_names(status, &answer, 422, "amount");
    let (_, still) = get(&app, &format!("/api/v1/admin/discounts/{id}"), &owner).await;
    assert_eq!(still["percent"], 10.0);
}

async fn a_code_takes_its_amount_off_the_quote_the_order_and_the_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (a, price_a) = variant_with_stock(&app, 0, 10).await;
    let (b, price_b) = variant_with_stock(&app, 5, 10).await;
    let id = discount(
        &app,
        &owner,
        json!({"title": "Welcome", "code": "WELCOME10", "kind": "percentage", "percent": 10}),
    )
    .await;
    let lines = [(a, 2), (b, 1)];
    let goods = price_a * 2 + price_b;
    let quote_body = with_codes(
        json!({
            "lines": [{"variant_id": a, "quantity": 2}, {"variant_id": b, "quantity": 1}],
            "shipping_address": {"country": "DE"}
        }),
        &["welcome10"],
    );
    let (status, quoted) = quote(&app, quote_body).await;
    assert_eq!(status, 200, "{quoted}");
    let off = (goods * 10 + 50) / 100;
    assert_eq!(quoted["discounts"][0]["code"], "WELCOME10");
    assert_eq!(quoted["discounts"][0]["title"], "Welcome");
    assert_eq!(amount(&quoted["discounts"][0]["amount"]), off);
    assert_eq!(amount(&quoted["discount_total"]), off);
    let shares: i64 = quoted["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| amount(&l["discount"]))
        .sum();
    assert_eq!(shares, off, "the lines' shares add up exactly");
    let shipping = amount(&quoted["shipping"]);
    assert_eq!(
        amount(&quoted["total"]),
        goods - off + shipping,
        "tax included"
    );
    assert_eq!(quoted["amount_due"], quoted["total"]);

    let body = with_codes(order_body(&lines, "pm_card_visa"), &["Welcome10"]);
    let (status, placed) = checkout(&app, &body, &key()).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(amount(&placed["order"]["total"]), amount(&quoted["total"]));
    assert_eq!(times_used(&app, id).await, 1);
    let number = placed["order"]["number"].as_str().unwrap();
    let (status, order) = app
        .json(&format!(
            "/api/v1/orders/{number}?token={}",
            token_of(&placed)
        ))
        .await;
    assert_eq!(status, 200, "{order}");
    let order = &order["order"];
    assert_eq!(order["discounts"][0]["code"], "WELCOME10");
    assert_eq!(amount(&order["discount_total"]), off);
    let line_shares: i64 = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| amount(&l["discount"]))
        .sum();
    assert_eq!(line_shares, off);
    let paid: i64 = sqlx::query_scalar("SELECT amount FROM payments WHERE kind = 'charge'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        paid,
        goods - off + shipping,
        "the card is charged the discounted total"
    );
    let email: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox WHERE kind = 'order_confirmation' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(email.contains("Welcome (WELCOME10): −€"), "{email}");
    let page = app.html(&format!("/orders/{}", token_of(&placed))).await;
    assert!(
        page.contains("Welcome (WELCOME10)"),
        "the order page names it"
    );
}

async fn each_unusable_code_gets_its_own_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (a, price) = variant_with_stock(&app, 0, 50).await;
    let other_slug: String = sqlx::query_scalar(
        "SELECT slug FROM products WHERE id <> (SELECT product_id FROM variants WHERE id = $1) \
         ORDER BY id LIMIT 1",
    )
    .bind(a)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let codes = [
        (
            json!({"code": "OLD", "ends_at": "2020-01-01T00:00:00Z"}),
            "This code has expired.",
        ),
        (
            json!({"code": "SOON", "starts_at": "2099-01-01T00:00:00Z"}),
            "This code is not valid yet.",
        ),
        (
            json!({"code": "GONE", "usage_limit": 0}),
            "This code has been used up.",
        ),
        (
            json!({"code": "BIG", "minimum_subtotal": {"amount": price * 10, "currency": "EUR"}}),
            "This code is for orders of at least",
        ),
        (
            json!({"code": "MANY", "minimum_quantity": 5}),
            "This code needs at least 5 items in the cart.",
        ),
        (
            json!({"code": "ELSEWHERE", "applies_to": {"products": [other_slug]}}),
            "This code is not for the products in your cart.",
        ),
        (
            json!({"code": "FIRST", "first_order_only": true}),
            "This code is for a first order only.",
        ),
    ];
    for (extra, _) in &codes {
        let mut body = json!({"title": "Test", "kind": "percentage", "percent": 10});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        discount(&app, &owner, body).await;
    }
    // The shopper has ordered before (for the first-order code).
    let (status, _) = checkout(&app, &order_body(&[(a, 1)], "pm_card_visa"), &key()).await;
    assert_eq!(status, 201);
    let lines = json!([{"variant_id": a, "quantity": 1}]);
    let mut all = vec![("NOPE", "This code does not exist.")];
    all.extend(codes.iter().map(|(c, m)| (c["code"].as_str().unwrap(), *m)));
    for (code, message) in all {
        let body = json!({"lines": lines, "discount_codes": ["ok-but-unknown-first", code], "email": "erika@example.com"});
        let (status, answer) = quote(&app, body).await;
        assert_names(status, &answer, 422, "discount_codes[1]");
        let said = answer["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == "discount_codes[1]")
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(said.starts_with(message), "{code}: {said}");
        let order = with_codes(order_body(&[(a, 1)], "pm_card_visa"), &[code]);
        let (status, answer) = checkout(&app, &order, &key()).await;
        assert_names(status, &answer, 422, "discount_codes[0]");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM orders").await,
        1,
        "no refused order was made"
    );
    // Malformed codes are named too, never a 500.
    for codes in [
        json!(["bad code"]),
        json!([""]),
        json!(["x".repeat(41)]),
        json!(["a", "b", "c", "d", "e", "f"]),
    ] {
        let (status, answer) = quote(&app, json!({"lines": lines, "discount_codes": codes})).await;
        assert_eq!(status, 422, "{answer}");
    }
    let (status, _) = quote(&app, json!({"lines": lines, "discount_codes": null})).await;
    assert_eq!(status, 200, "null is no codes");
    let (status, _) = quote(&app, json!({"lines": lines, "discount_codes": "WELCOME"})).await;
    assert!(status == 400 || status == 422, "{status}");
}

async fn two_hundred_checkouts_for_a_code_limited_to_ten_make_ten_orders_with_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (hot, _) = variant_with_stock(&app, 0, 1000).await;
    let id = discount(
        &app,
        &owner,
        json!({"title": "Flash", "code": "FLASH", "kind": "fixed_amount",
               "amount": {"amount": 500, "currency": "EUR"}, "usage_limit": 10}),
    )
    .await;
    let attempts = (0..200).map(|i| {
        let app = &app;
        async move {
            let mut body = with_codes(order_body(&[(hot, 1)], "pm_card_visa"), &["flash"]);
            body["email"] = json!(format!("buyer{i}@example.com"));
            checkout(app, &body, &key()).await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(
        created,
        10,
        "{:?}",
        answers.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
    for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_names(*status, body, 422, "discount_codes[0]");
        assert_eq!(
            body["error"]["fields"][0]["message"],
            "This code has been used up."
        );
    }
    assert_eq!(times_used(&app, id).await, 10);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 10);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM order_discounts WHERE counted = 1"
        )
        .await,
        10
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM orders WHERE discount_amount = 500"
        )
        .await,
        10
    );
}

async fn one_shopper_racing_for_a_once_per_customer_code_gets_it_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 1000).await;
    let id = discount(
        &app,
        &owner,
        json!({"title": "Hello", "code": "HELLO", "kind": "percentage", "percent": 20,
               "once_per_customer": true}),
    )
    .await;
    let attempts = (0..12).map(|_| {
        let app = &app;
        async move {
            let body = with_codes(order_body(&[(a, 1)], "pm_card_visa"), &["HELLO"]);
            checkout(app, &body, &key()).await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1);
    for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_names(*status, body, 422, "discount_codes[0]");
    }
    assert_eq!(times_used(&app, id).await, 1);
    // Another email may use it; the same one in capitals may not.
    let mut other = with_codes(order_body(&[(a, 1)], "pm_card_visa"), &["hello"]);
    other["email"] = json!("someone.else@example.com");
    assert_eq!(checkout(&app, &other, &key()).await.0, 201);
    let mut same = with_codes(order_body(&[(a, 1)], "pm_card_visa"), &["hello"]);
    same["email"] = json!("ERIKA@example.com");
    let (status, answer) = checkout(&app, &same, &key()).await;
    assert_names(status, &answer, 422, "discount_codes[0]");
    assert_eq!(
        answer["error"]["fields"][0]["message"],
        "You have already used this code."
    );
}

async fn a_failed_or_expired_payment_gives_the_use_back_and_a_replay_counts_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 100).await;
    let id = discount(
        &app,
        &owner,
        json!({"title": "Only one", "code": "ONE", "kind": "percentage", "percent": 50,
               "usage_limit": 1, "once_per_customer": true}),
    )
    .await;
    let order = |token: &str| with_codes(order_body(&[(a, 1)], token), &["ONE"]);
    // A declined card uses nothing up.
    let (status, declined) = checkout(&app, &order("pm_card_chargeDeclined"), &key()).await;
    assert_eq!(status, 402, "{declined}");
    assert_eq!(times_used(&app, id).await, 0);
    // A payment waiting for authentication holds the use…
    let (status, pending) = checkout(&app, &order("pm_card_authenticationRequired"), &key()).await;
    assert_eq!(status, 201, "{pending}");
    assert_eq!(times_used(&app, id).await, 1);
    let (status, refused) = checkout(&app, &order("pm_card_visa"), &key()).await;
    assert_names(status, &refused, 422, "discount_codes[0]");
    // …until it fails: then the use (and the once-per-customer mark) come back.
    let token = token_of(&pending);
    let (status, _) = app
        .post_json(
            "/api/checkout/confirm-test-payment",
            &json!({"access_token": token, "approve": false}),
            &[],
        )
        .await;
    assert!(status < 300, "{status}");
    assert_eq!(times_used(&app, id).await, 0);
    // An expired one gives it back too.
    let (status, pending) = checkout(&app, &order("pm_card_authenticationRequired"), &key()).await;
    assert_eq!(status, 201, "{pending}");
    assert_eq!(times_used(&app, id).await, 1);
    let later = app::db::now_epoch() + 24 * 3600;
    app::checkout::jobs::expire_reservations(&app.checkout, later)
        .await
        .unwrap();
    assert_eq!(times_used(&app, id).await, 0);
    // A paid order keeps it, and its replay counts once.
    let again = key();
    let (status, first) = checkout(&app, &order("pm_card_visa"), &again).await;
    assert_eq!(status, 201, "{first}");
    let (status, replay) = checkout(&app, &order("pm_card_visa"), &again).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["order"]["number"], first["order"]["number"]);
    assert_eq!(times_used(&app, id).await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM order_discounts WHERE released_at IS NULL"
        )
        .await,
        1
    );
}

async fn the_best_automatic_discount_applies_and_free_shipping_takes_the_shipping(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (_, owner, _, _) = team(&app).await;
    let (a, price) = variant_with_stock(&app, 0, 100).await;
    discount(
        &app,
        &owner,
        json!({"title": "Five percent", "code": null, "kind": "percentage", "percent": 5}),
    )
    .await;
    discount(
        &app,
        &owner,
        json!({"title": "Ten percent", "kind": "percentage", "percent": 10}),
    )
    .await;
    discount(
        &app,
        &owner,
        json!({"title": "Ships free", "code": "SHIPFREE", "kind": "free_shipping",
               "countries": ["DE"], "combines_with": ["order", "product"]}),
    )
    .await;
    let lines = json!([{"variant_id": a, "quantity": 1}]);
    let (status, quoted) = quote(
        &app,
        json!({"lines": lines, "shipping_address": {"country": "DE"}, "shipping_method": "express"}),
    )
    .await;
    assert_eq!(status, 200, "{quoted}");
    let discounts = quoted["discounts"].as_array().unwrap();
    assert_eq!(
        discounts.len(),
        1,
        "automatic ones that do not combine: the best alone"
    );
    assert_eq!(discounts[0]["title"], "Ten percent");
    assert!(discounts[0]["code"].is_null());
    assert_eq!(amount(&discounts[0]["amount"]), (price * 10 + 50) / 100);
    // The free shipping code does not combine with an order discount that does not combine
    // with shipping: the code wins, the automatic ones step aside.
    let (status, quoted) = quote(
        &app,
        json!({"lines": lines, "shipping_address": {"country": "DE"}, "shipping_method": "express",
               "discount_codes": ["SHIPFREE"]}),
    )
    .await;
    assert_eq!(status, 200, "{quoted}");
    let titles: Vec<&str> = quoted["discounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["Ships free"]);
    let shipping = amount(&quoted["shipping"]);
    assert!(shipping > 0);
    assert_eq!(amount(&quoted["discount_total"]), shipping);
    assert_eq!(
        amount(&quoted["total"]),
        price,
        "goods only: shipping is free"
    );
    let line_shares: i64 = quoted["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| amount(&l["discount"]))
        .sum();
    assert_eq!(line_shares, 0, "a shipping discount is no line's share");
}

async fn a_refund_by_line_pays_back_what_the_line_was_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, _, refunder) = team(&app).await;
    let (a, price_a) = variant_with_stock(&app, 0, 100).await;
    let (b, price_b) = variant_with_stock(&app, 5, 100).await;
    discount(
        &app,
        &owner,
        json!({"title": "Third off", "code": "THIRD", "kind": "fixed_amount",
               "amount": {"amount": 1000, "currency": "EUR"}}),
    )
    .await;
    let body = with_codes(order_body(&[(a, 3), (b, 1)], "pm_card_visa"), &["THIRD"]);
    let (status, placed) = checkout(&app, &body, &key()).await;
    assert_eq!(status, 201, "{placed}");
    let number = placed["order"]["number"].as_str().unwrap().to_string();
    let (_, order) = get(&app, &format!("/api/v1/admin/orders/{number}"), &refunder).await;
    assert_eq!(amount(&order["discount_total"]), 1000);
    let line = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["variant_id"] == a)
        .unwrap()
        .clone();
    let line_id = line["id"].as_i64().unwrap();
    let paid_for_line = price_a * 3 - amount(&line["discount"]);
    assert!(amount(&line["discount"]) > 0 && amount(&line["discount"]) < 1000);
    assert_eq!(
        price_a * 3 + price_b - 1000,
        amount(&order["subtotal"]) - 1000
    );
    let refund = |units: i64, key: &'static str| {
        let (app, refunder) = (&app, &refunder);
        let path = format!("/api/v1/admin/orders/{number}/refunds");
        async move {
            crate::admin_api::api(
                app,
                "POST",
                &path,
                Some(refunder),
                Some(&json!({"lines": [{"line_id": line_id, "quantity": units}], "reason": "returned"})),
                &[("Idempotency-Key", key)],
            )
            .await
        }
    };
    let (status, first) = refund(1, "r1").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(amount(&first["amount"]), paid_for_line / 3);
    // The same key again is the same refund, not another unit.
    let (status, _) = refund(1, "r1").await;
    assert_eq!(status, 200);
    let (status, rest) = refund(2, "r2").await;
    assert_eq!(status, 201, "{rest}");
    assert_eq!(
        amount(&first["amount"]) + amount(&rest["amount"]),
        paid_for_line,
        "every unit back is exactly what the line was paid"
    );
    let (status, none_left) = refund(1, "r3").await;
    assert_names(status, &none_left, 422, "lines[0].quantity");
    let refunded: i64 = sqlx::query("SELECT refunded_amount FROM orders")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get("refunded_amount");
    assert_eq!(refunded, paid_for_line);
    let (status, both) = crate::admin_api::api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{number}/refunds"),
        Some(&refunder),
        Some(&json!({"amount": {"amount": 1, "currency": "EUR"}, "lines": [{"line_id": line_id, "quantity": 1}]})),
        &[("Idempotency-Key", "r4")],
    )
    .await;
    assert_names(status, &both, 422, "amount");
}
