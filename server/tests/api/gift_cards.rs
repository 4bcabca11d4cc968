//! Gift cards over HTTP on both databases: issued through the admin API (the code shown once,
//! kept only as a keyed hash), paying all or part of an order, never spent past their balance
//! however many checkouts race, given back by failed and expired payments, refunded after the
//! card, and guarded against guessing.

use serde_json::{json, Value};
use sqlx::Row;

use crate::admin_api::{api, assert_names, get, send, team};
use crate::checkout::{checkout, count, order_body, token_of, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    gift_cards_are_issued_shown_once_listed_and_disabled,
    a_gift_card_pays_part_of_an_order_and_the_card_the_rest,
    a_gift_card_that_pays_everything_needs_no_card,
    twenty_checkouts_with_one_card_never_spend_more_than_its_balance,
    a_failed_or_expired_payment_gives_the_gift_card_its_amount_back,
    a_refund_pays_the_card_back_first_then_the_gift_card,
    unusable_cards_have_their_reasons_and_guessing_is_stopped,
    a_gift_card_bought_in_the_shop_is_issued_once_paid_and_its_code_emailed,
);

/// A gift card straight in the database (€20.00, an unusable hash), for tests of other things
/// that need one to exist; its id.
pub async fn a_gift_card(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO gift_cards (code_hash, last4, currency, initial_amount, balance, created_at, updated_at) \
         VALUES ('not-a-hash', 'TEST', 'EUR', 2000, 2000, 0, 0) RETURNING id",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

fn key() -> String {
    app::checkout::service::random_token()
}

fn amount(value: &Value) -> i64 {
    value["amount"]
        .as_i64()
        .unwrap_or_else(|| panic!("no amount in {value}"))
}

/// Issues a card worth `cents` with the refunder's token; (id, code).
async fn issue(app: &TestApp, token: &str, cents: i64) -> (i64, String) {
    let (status, made) = send(
        app,
        "POST",
        "/api/v1/admin/gift-cards",
        token,
        json!({"amount": {"amount": cents, "currency": "EUR"}}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    (
        made["id"].as_i64().unwrap(),
        made["code"].as_str().unwrap().to_string(),
    )
}

async fn balance(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar("SELECT balance FROM gift_cards WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

fn with_cards(mut body: Value, cards: &[&str]) -> Value {
    body["gift_cards"] = json!(cards);
    body
}

async fn quote(app: &TestApp, body: Value) -> (u16, Value) {
    app.post_json("/api/v1/cart/quote", &body, &[]).await
}

/// The ledger's kinds and amounts for a card, oldest first.
async fn ledger(app: &TestApp, id: i64) -> Vec<(String, i64)> {
    sqlx::query("SELECT kind, amount FROM gift_card_ledger WHERE gift_card_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("kind"), r.get("amount")))
        .collect()
}

async fn gift_cards_are_issued_shown_once_listed_and_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, staff, refunder) = team(&app).await;
    let (status, made) = send(
        &app,
        "POST",
        "/api/v1/admin/gift-cards",
        &refunder,
        json!({"amount": {"amount": 5000, "currency": "EUR"}, "expires_at": "2099-12-31T23:59:59Z",
               "recipient_email": "Friend@Example.com", "note": "Raffle prize"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_i64().unwrap();
    let code = made["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 19, "four groups of four: {code}");
    let plain = code.replace('-', "");
    assert_eq!(made["last4"], &plain[12..]);
    assert_eq!(made["balance"], json!({"amount": 5000, "currency": "EUR"}));
    assert_eq!(made["status"], "active");
    // The database has no copy of the code, only a keyed hash (not the plain SHA-256 either).
    let row = sqlx::query("SELECT code_hash, last4 FROM gift_cards WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let hash: String = row.get("code_hash");
    use sha2::Digest;
    assert_ne!(hash, hex::encode(sha2::Sha256::digest(plain.as_bytes())));
    assert!(!hash.contains(&plain));
    // The recipient gets it by email.
    let email: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox WHERE kind = 'gift_card' AND lower(recipient) = 'friend@example.com'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(email.contains(&code), "{email}");

    // Never again in full: the card and the list show the last four.
    let (status, shown) = get(&app, &format!("/api/v1/admin/gift-cards/{id}"), &staff).await;
    assert_eq!(status, 200, "{shown}");
    assert!(shown.get("code").is_none(), "{shown}");
    assert!(!shown.to_string().contains(&plain));
    assert_eq!(shown["ledger"][0]["kind"], "issue");
    assert_eq!(shown["ledger"][0]["balance_after"]["amount"], 5000);
    assert_eq!(shown["note"], "Raffle prize");
    let (status, listed) = get(&app, "/api/v1/admin/gift-cards?limit=1", &staff).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["id"], id);
    assert!(!listed.to_string().contains(&plain));

    // Issuing is money: staff without the refund permission may not; bad input is named.
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/admin/gift-cards",
        &staff,
        json!({"amount": {"amount": 5000, "currency": "EUR"}}),
    )
    .await;
    assert_eq!(status, 403);
    for (body, field) in [
        (
            json!({"amount": {"amount": 0, "currency": "EUR"}}),
            "amount.amount",
        ),
        (
            json!({"amount": {"amount": 100, "currency": "USD"}}),
            "amount.currency",
        ),
        (
            json!({"amount": {"amount": 100, "currency": "EUR"}, "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"amount": {"amount": 100, "currency": "EUR"}, "expires_at": "soon"}),
            "expires_at",
        ),
        (
            json!({"amount": {"amount": 100, "currency": "EUR"}, "recipient_email": "nope"}),
            "recipient_email",
        ),
    ] {
        let (status, refused) = send(&app, "POST", "/api/v1/admin/gift-cards", &owner, body).await;
        assert_names(status, &refused, 422, field);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gift_cards").await, 1);

    // Disabled: it keeps its balance and can no longer pay.
    let (status, disabled) = send(
        &app,
        "POST",
        &format!("/api/v1/admin/gift-cards/{id}/disable"),
        &refunder,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["balance"]["amount"], 5000);
    let (a, _) = variant_with_stock(&app, 0, 10).await;
    let (status, refused) = quote(&app, with_cards(order_body(&[(a, 1)], "x"), &[&code])).await;
    assert_names(status, &refused, 422, "gift_cards[0]");
    let (status, _) = get(&app, "/api/v1/admin/gift-cards/999999", &staff).await;
    assert_eq!(status, 404);
    let audited = count(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('Gift card issued', 'Gift card disabled')",
    )
    .await;
    assert_eq!(audited, 2);
}

async fn a_gift_card_pays_part_of_an_order_and_the_card_the_rest(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, _, refunder) = team(&app).await;
    let (a, price) = variant_with_stock(&app, 0, 10).await;
    assert!(
        price > 1000,
        "the demo's first variant costs more than the card"
    );
    let (card, code) = issue(&app, &refunder, 1000).await;
    // Typed in lower case with spaces: still the card.
    let typed = code.to_lowercase().replace('-', " ");
    let (status, quoted) = quote(&app, with_cards(order_body(&[(a, 2)], "x"), &[&typed])).await;
    assert_eq!(status, 200, "{quoted}");
    let total = amount(&quoted["total"]);
    assert_eq!(quoted["gift_cards"][0]["amount"]["amount"], 1000);
    assert_eq!(quoted["gift_cards"][0]["last4"], &code[15..]);
    assert_eq!(amount(&quoted["amount_due"]), total - 1000);

    let body = with_cards(order_body(&[(a, 2)], "pm_card_visa"), &[&code]);
    let (status, placed) = checkout(&app, &body, &key()).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["order"]["status"], "paid");
    assert_eq!(balance(&app, card).await, 0);
    assert_eq!(
        ledger(&app, card).await,
        vec![("issue".to_string(), 1000), ("redeem".to_string(), -1000)]
    );
    // The card was charged the rest, and the order says who paid what.
    let charged: i64 = sqlx::query_scalar(
        "SELECT amount FROM payments WHERE kind = 'charge' AND status = 'succeeded'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(charged, total - 1000);
    let number = placed["order"]["number"].as_str().unwrap();
    let (status, order) = api(
        &app,
        "GET",
        &format!("/api/v1/orders/{number}?token={}", token_of(&placed)),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{order}");
    let order = &order["order"];
    assert_eq!(order["gift_cards"][0]["amount"]["amount"], 1000);
    assert_eq!(amount(&order["amount_due"]), total - 1000);
    let page = app
        .get(&format!("/orders/{}", token_of(&placed)))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Gift card ••••{}", &code[15..])),
        "{number}"
    );
    let email: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox WHERE kind = 'order_confirmation' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(email.contains("Gift card ••••"), "{email}");
    assert!(email.contains("Paid by card"), "{email}");

    // Spent: the next quote says so by its place; an unknown code says that.
    let (status, empty) = quote(&app, with_cards(order_body(&[(a, 1)], "x"), &[&code])).await;
    assert_names(status, &empty, 422, "gift_cards[0]");
    let reason = empty["error"]["fields"][0]["message"].to_string();
    assert!(reason.contains("no balance left"), "{reason}");
    let (status, unknown) = quote(
        &app,
        with_cards(order_body(&[(a, 1)], "x"), &["ABCD-EFGH-JKMN-PQRS"]),
    )
    .await;
    assert_names(status, &unknown, 422, "gift_cards[0]");
    let reason = unknown["error"]["fields"][0]["message"].to_string();
    assert!(
        reason.contains("We do not know this gift card code"),
        "{reason}"
    );
}

async fn a_gift_card_that_pays_everything_needs_no_card(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, _, refunder) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 10).await;
    let (card, code) = issue(&app, &refunder, 100_000).await;
    let mut body = with_cards(order_body(&[(a, 1)], "x"), &[&code]);
    body["payment"] = json!({"gateway": "test", "token": null});
    let (status, placed) = checkout(&app, &body, &key()).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["order"]["status"], "paid");
    let total = amount(&placed["order"]["total"]);
    assert_eq!(balance(&app, card).await, 100_000 - total);
    let row = sqlx::query("SELECT gateway, gift_card_amount FROM orders")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("gateway"), "gift_card");
    assert_eq!(row.get::<i64, _>("gift_card_amount"), total);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM payments").await,
        0,
        "no card charged"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM stock_ledger WHERE reason = 'sale'"
        )
        .await,
        1,
        "sold from stock at once"
    );
    // Without a gift card big enough, a card is still needed, and the message says how much.
    let (small, small_code) = issue(&app, &refunder, 100).await;
    let (status, refused) = checkout(&app, &with_cards(body.clone(), &[&small_code]), &key()).await;
    assert_names(status, &refused, 422, "payment.token");
    let message = refused["error"]["fields"][0]["message"].as_str().unwrap();
    assert!(message.contains("The gift cards pay €1.00"), "{message}");
    assert_eq!(
        balance(&app, small).await,
        100,
        "nothing spent on a refused order"
    );
    let (status, refused) = checkout(&app, &with_cards(body, &[]), &key()).await;
    assert_names(status, &refused, 422, "payment.token");
}

async fn twenty_checkouts_with_one_card_never_spend_more_than_its_balance(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, _, refunder) = team(&app).await;
    let (a, price) = variant_with_stock(&app, 0, 1000).await;
    // Enough for about three orders: most checkouts find it spent or short.
    let initial = price * 3 + price / 2;
    let (card, code) = issue(&app, &refunder, initial).await;
    let attempts = (0..20).map(|i| {
        let (app, code) = (&app, &code);
        async move {
            let mut body = with_cards(order_body(&[(a, 1)], "pm_card_visa"), &[code]);
            body["email"] = json!(format!("buyer{i}@example.com"));
            checkout(app, &body, &key()).await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    for (status, body) in &answers {
        match status {
            201 => {}
            _ => assert_names(*status, body, 422, "gift_cards[0]"),
        }
    }
    let spent = count(
        &app,
        "SELECT CAST(COALESCE(SUM(gift_card_amount), 0) AS BIGINT) FROM orders",
    )
    .await;
    assert!(spent <= initial, "spent {spent} of {initial}");
    assert_eq!(balance(&app, card).await, initial - spent);
    let redeemed = count(
        &app,
        "SELECT CAST(COALESCE(-SUM(amount), 0) AS BIGINT) FROM gift_card_ledger WHERE kind = 'redeem'",
    )
    .await;
    assert_eq!(redeemed, spent, "the ledger and the orders agree");
    // Every order paid in full between the card and the gift card.
    let orders = answers.iter().filter(|(s, _)| *s == 201).count() as i64;
    assert!(orders >= 3, "{orders} orders");
    let charged = count(
        &app,
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE kind = 'charge'",
    )
    .await;
    let totals = count(
        &app,
        "SELECT CAST(COALESCE(SUM(total_amount), 0) AS BIGINT) FROM orders",
    )
    .await;
    assert_eq!(charged + spent, totals);
}

async fn a_failed_or_expired_payment_gives_the_gift_card_its_amount_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, _, refunder) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 100).await;
    let (card, code) = issue(&app, &refunder, 500).await;
    let order = |token: &str| with_cards(order_body(&[(a, 1)], token), &[&code]);
    // A declined card spends nothing.
    let (status, declined) = checkout(&app, &order("pm_card_chargeDeclined"), &key()).await;
    assert_eq!(status, 402, "{declined}");
    assert_eq!(balance(&app, card).await, 500);
    // A payment waiting for authentication holds the amount…
    let (status, pending) = checkout(&app, &order("pm_card_authenticationRequired"), &key()).await;
    assert_eq!(status, 201, "{pending}");
    assert_eq!(balance(&app, card).await, 0);
    // …until it fails: then it comes back.
    let (status, _) = app
        .post_json(
            "/api/checkout/confirm-test-payment",
            &json!({"access_token": token_of(&pending), "approve": false}),
            &[],
        )
        .await;
    assert!(status < 300, "{status}");
    assert_eq!(balance(&app, card).await, 500);
    // An expired one gives it back too.
    let (status, _) = checkout(&app, &order("pm_card_authenticationRequired"), &key()).await;
    assert_eq!(status, 201);
    assert_eq!(balance(&app, card).await, 0);
    let later = app::db::now_epoch() + 24 * 3600;
    app::checkout::jobs::expire_reservations(&app.checkout, later)
        .await
        .unwrap();
    assert_eq!(balance(&app, card).await, 500);
    // A paid order keeps it, and its replay spends once.
    let again = key();
    let (status, first) = checkout(&app, &order("pm_card_visa"), &again).await;
    assert_eq!(status, 201, "{first}");
    let (status, replay) = checkout(&app, &order("pm_card_visa"), &again).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["order"]["number"], first["order"]["number"]);
    assert_eq!(balance(&app, card).await, 0);
    let kinds: Vec<String> = ledger(&app, card)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        kinds,
        ["issue", "redeem", "release", "redeem", "release", "redeem"]
    );
}

async fn a_refund_pays_the_card_back_first_then_the_gift_card(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, _, refunder) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 100).await;
    let (card, code) = issue(&app, &refunder, 1000).await;
    let body = with_cards(order_body(&[(a, 2)], "pm_card_visa"), &[&code]);
    let (status, placed) = checkout(&app, &body, &key()).await;
    assert_eq!(status, 201, "{placed}");
    let number = placed["order"]["number"].as_str().unwrap().to_string();
    let total = amount(&placed["order"]["total"]);
    let by_card = total - 1000;
    let refund = |cents: i64, key: &'static str| {
        let (app, refunder, number) = (&app, &refunder, &number);
        async move {
            api(
                app,
                "POST",
                &format!("/api/v1/admin/orders/{number}/refunds"),
                Some(refunder),
                Some(
                    &json!({"amount": {"amount": cents, "currency": "EUR"}, "reason": "returned"}),
                ),
                &[("Idempotency-Key", key)],
            )
            .await
        }
    };
    // Less than the card paid: all of it to the card.
    let (status, first) = refund(by_card - 300, "g1").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(amount(&first["to_gift_cards"]), 0);
    assert_eq!(balance(&app, card).await, 0);
    // The rest: 300 to the card, 1000 back onto the gift card.
    let (status, rest) = refund(1300, "g2").await;
    assert_eq!(status, 201, "{rest}");
    assert_eq!(amount(&rest["amount"]), 1300);
    assert_eq!(amount(&rest["to_gift_cards"]), 1000);
    assert_eq!(rest["status"], "succeeded");
    assert_eq!(balance(&app, card).await, 1000);
    let (status, _) = refund(1300, "g2").await;
    assert_eq!(status, 200, "the same key is the same refund");
    assert_eq!(balance(&app, card).await, 1000);
    let (status, over) = refund(1, "g3").await;
    assert_names(status, &over, 422, "amount");
    // What the gateway was asked for adds up to what the card was charged.
    let to_card = count(
        &app,
        "SELECT CAST(SUM(amount - gift_card_amount) AS BIGINT) FROM payments WHERE kind = 'refund' AND status = 'succeeded'",
    )
    .await;
    assert_eq!(to_card, by_card);
    assert_eq!(
        ledger(&app, card).await.last().unwrap(),
        &("refund".to_string(), 1000)
    );
    // A card paid in full by gift card is refunded onto it without the gateway.
    let (big, big_code) = issue(&app, &refunder, 100_000).await;
    let mut body = with_cards(order_body(&[(a, 1)], "x"), &[&big_code]);
    body["payment"] = json!({"gateway": "test", "token": null});
    let (status, placed) = checkout(&app, &body, &key()).await;
    assert_eq!(status, 201, "{placed}");
    let number = placed["order"]["number"].as_str().unwrap();
    let total = amount(&placed["order"]["total"]);
    let (status, back) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{number}/refunds"),
        Some(&refunder),
        Some(&json!({"amount": {"amount": total, "currency": "EUR"}})),
        &[("Idempotency-Key", "g4")],
    )
    .await;
    assert_eq!(status, 201, "{back}");
    assert_eq!(amount(&back["to_gift_cards"]), total);
    assert_eq!(balance(&app, big).await, 100_000);
}

async fn unusable_cards_have_their_reasons_and_guessing_is_stopped(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, _, refunder) = team(&app).await;
    let (a, _) = variant_with_stock(&app, 0, 100).await;
    let (expired, expired_code) = issue(&app, &refunder, 1000).await;
    sqlx::query("UPDATE gift_cards SET expires_at = 1 WHERE id = $1")
        .bind(expired)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (dollars, dollar_code) = issue(&app, &refunder, 1000).await;
    sqlx::query("UPDATE gift_cards SET currency = 'USD' WHERE id = $1")
        .bind(dollars)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (_, good) = issue(&app, &refunder, 1000).await;
    let (status, refused) = quote(
        &app,
        with_cards(order_body(&[(a, 1)], "x"), &[&expired_code, &dollar_code]),
    )
    .await;
    assert_names(status, &refused, 422, "gift_cards[0]");
    let reasons = refused["error"]["fields"].to_string();
    assert!(reasons.contains("expired"), "{reasons}");
    assert!(reasons.contains("in USD"), "{reasons}");
    let (status, too_many) = quote(
        &app,
        with_cards(
            order_body(&[(a, 1)], "x"),
            &[&good, &good, &good, &good, &good, &good],
        ),
    )
    .await;
    assert_names(status, &too_many, 422, "gift_cards");

    // Ten wrong codes from one address, then even a right one waits.
    for i in 0..app::promotions::gift_cards::MISSES_PER_WINDOW {
        let wrong = format!(
            "ABCD-EFGH-JKMN-PQ{}",
            ["RS", "RT", "RU", "RV", "RW", "RX", "RY", "RZ", "R2", "R3"][i as usize % 10]
        );
        let (status, body) = quote(&app, with_cards(order_body(&[(a, 1)], "x"), &[&wrong])).await;
        assert_names(status, &body, 422, "gift_cards[0]");
    }
    let (status, limited) = quote(&app, with_cards(order_body(&[(a, 1)], "x"), &[&good])).await;
    assert_eq!(status, 429, "{limited}");
    assert!(limited["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Too many"));
    let (status, _) = checkout(
        &app,
        &with_cards(order_body(&[(a, 1)], "pm_card_visa"), &[&good]),
        &key(),
    )
    .await;
    assert_eq!(status, 429);
    // Without gift cards nothing is held up.
    let (status, _) = quote(&app, order_body(&[(a, 1)], "x")).await;
    assert_eq!(status, 200);
}

async fn a_gift_card_bought_in_the_shop_is_issued_once_paid_and_its_code_emailed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (voucher, price) = variant_with_stock(&app, 2, 100).await;
    sqlx::query(
        "UPDATE products SET product_type = 'Gift card' WHERE id = \
         (SELECT product_id FROM variants WHERE id = $1)",
    )
    .bind(voucher)
    .execute(app.db.pool())
    .await
    .unwrap();
    // Waiting for the card's authentication: no gift card yet.
    let (status, pending) = checkout(
        &app,
        &order_body(&[(voucher, 2)], "pm_card_authenticationRequired"),
        &key(),
    )
    .await;
    assert_eq!(status, 201, "{pending}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gift_cards").await, 0);
    let (status, _) = app
        .post_json(
            "/api/checkout/confirm-test-payment",
            &json!({"access_token": token_of(&pending), "approve": true}),
            &[],
        )
        .await;
    assert!(status < 300, "{status}");
    // Paid: two cards worth the unit price each, their codes in one email to the buyer.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM gift_cards WHERE order_id IS NOT NULL AND balance = {price}"
            )
        )
        .await,
        2
    );
    let email: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox WHERE kind = 'gift_card' AND recipient = 'erika@example.com'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let codes: Vec<&str> = email
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .filter(|code| code.len() == 19)
        .collect();
    assert_eq!(codes.len(), 2, "{email}");
    // A code from the email pays.
    let (plain, _) = variant_with_stock(&app, 0, 10).await;
    let (status, quoted) = quote(
        &app,
        with_cards(order_body(&[(plain, 1)], "x"), &[codes[0]]),
    )
    .await;
    assert_eq!(status, 200, "{quoted}");
    assert_eq!(quoted["gift_cards"][0]["last4"], &codes[0][15..]);
    // Paid at once by card: the cards come with the order.
    let (status, placed) =
        checkout(&app, &order_body(&[(voucher, 1)], "pm_card_visa"), &key()).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gift_cards").await, 3);

    // Refunding a gift card line disables a card of that order that was never spent: paid
    // back, it must not pay again.
    let (_, _, _, refunder) = team(&app).await;
    let first = pending["order"]["number"].as_str().unwrap().to_string();
    let (_, order) = get(&app, &format!("/api/v1/admin/orders/{first}"), &refunder).await;
    let line = order["lines"][0]["id"].as_i64().unwrap();
    let (status, body) = crate::admin_api::api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{first}/refunds"),
        Some(&refunder),
        Some(&json!({"lines": [{"line_id": line, "quantity": 1}], "reason": "changed their mind"})),
        &[("Idempotency-Key", "refund-one-card")],
    )
    .await;
    assert!(status < 300, "{status} {body}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM gift_cards WHERE order_id IS NOT NULL AND disabled_at IS NOT NULL"
        )
        .await,
        1
    );
    // A card that has paid for something since cannot be paid back in full: cancelling the
    // second order is refused, and nothing changes.
    let second = placed["order"]["number"].as_str().unwrap().to_string();
    sqlx::query(
        "UPDATE gift_cards SET balance = balance - 100 WHERE order_id = \
         (SELECT MAX(order_id) FROM gift_cards)",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let (status, body) = crate::admin_api::api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{second}/cancel"),
        Some(&refunder),
        Some(&json!({})),
        &[],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("used since"),
        "{body}"
    );
    let (_, order) = get(&app, &format!("/api/v1/admin/orders/{second}"), &refunder).await;
    assert_eq!(order["status"], "paid", "{order}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM gift_cards WHERE order_id IS NOT NULL AND disabled_at IS NOT NULL"
        )
        .await,
        1
    );
}
