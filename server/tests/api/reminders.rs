//! Abandoned-checkout reminders on both databases: one email per abandoned checkout, only to a
//! newsletter subscriber who did not order, sent once however many job runs race for it, with
//! a link that restores the cart and a one-click unsubscribe (RFC 8058) the mailer carries.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use serde_json::{json, Value};

use crate::checkout::{checkout, count, order_body, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_subscribers_abandoned_checkout_gets_one_reminder_that_restores_the_cart,
    no_reminder_without_consent_after_an_order_or_when_turned_off,
);

const HOUR: i64 = 3600;

async fn subscribe(app: &TestApp, email: &str) {
    sqlx::query(
        "INSERT INTO newsletter_subscribers (email, status, token_hash, source, wording, asked_at, confirmed_at) \
         VALUES ($1, 'subscribed', $2, 'footer', 'test', 0, 1)",
    )
    .bind(email)
    .bind(format!("hash-of-{email}"))
    .execute(app.db.pool())
    .await
    .unwrap();
}

async fn remember(app: &TestApp, email: &str, lines: &[(i64, u32)]) {
    let (status, body) = app
        .post_json(
            "/api/checkout/remember",
            &json!({
                "email": email,
                "lines": lines.iter().map(|(v, q)| json!({"variant_id": v, "quantity": q})).collect::<Vec<_>>(),
                "codes": ["Summer10"],
            }),
            &[],
        )
        .await;
    assert!(status < 300, "{status} {body}");
}

async fn run_job(app: &TestApp, at: i64) -> usize {
    app::promotions::reminders::ssr::send_due(&app.checkout, at)
        .await
        .unwrap()
}

async fn outcome(app: &TestApp, email: &str) -> Option<String> {
    sqlx::query_scalar("SELECT outcome FROM checkout_reminders WHERE email = $1")
        .bind(email)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn a_subscribers_abandoned_checkout_gets_one_reminder_that_restores_the_cart(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 50).await;
    subscribe(&app, "erika@example.com").await;
    remember(&app, "Erika@Example.com", &[(variant, 2)]).await;
    let now = app::db::now_epoch();
    assert_eq!(run_job(&app, now + HOUR).await, 0, "not before four hours");
    // Four job runs at once, as from several servers: one email.
    let later = now + 5 * HOUR;
    let runs = futures::future::join_all((0..4).map(|_| run_job(&app, later))).await;
    assert_eq!(runs.iter().sum::<usize>(), 1, "{runs:?}");
    assert_eq!(run_job(&app, later + HOUR).await, 0, "once");
    assert_eq!(
        outcome(&app, "erika@example.com").await.as_deref(),
        Some("sent")
    );
    let row: (String, String, Option<String>) = sqlx::query_as(
        "SELECT recipient, body_text, unsubscribe_url FROM outbox WHERE kind = 'checkout_reminder'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let (recipient, body, unsubscribe) = row;
    assert_eq!(recipient, "erika@example.com");
    assert!(body.contains("2 × "), "{body}");
    let token = body
        .split("/cart?restore=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a restore link");
    let unsubscribe = unsubscribe.expect("a marketing email has its unsubscribe address");
    assert!(body.contains(&unsubscribe), "the link is in the text too");

    // The link's cart: what was in it, as it sells now, with the codes.
    let (status, restored) = app
        .post_json("/api/checkout/restore", &json!({"token": token}), &[])
        .await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["items"][0][0]["variant_id"], variant);
    assert_eq!(restored["items"][0][1], 2);
    assert_eq!(restored["codes"], json!(["Summer10"]));
    let (status, _) = app
        .post_json(
            "/api/checkout/restore",
            &json!({"token": "0123456789abcdef0123456789abcdef"}),
            &[],
        )
        .await;
    assert_eq!(status, 404);

    // The mailer sends it with RFC 8058's headers.
    let (port, sessions) = crate::mail::smtp_server().await;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .build();
    let from: Mailbox = "Kassa <shop@localhost>".parse().unwrap();
    kassa::mailer::send_due(&app.db, &transport, &from)
        .await
        .unwrap();
    let said = sessions.lock().unwrap().concat();
    assert!(
        said.contains(&format!("List-Unsubscribe: <{unsubscribe}>")),
        "{said}"
    );
    assert!(
        said.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{said}"
    );

    // One click unsubscribes: the mail client POSTs to the link itself.
    let path = unsubscribe
        .split_once("/newsletter")
        .map(|(_, p)| format!("/newsletter{p}"))
        .unwrap();
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let status: String = sqlx::query_scalar(
        "SELECT status FROM newsletter_subscribers WHERE email = 'erika@example.com'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(status, "unsubscribed");
    // A signature is for its address only.
    let forged = path.replace(
        &hex::encode("erika@example.com"),
        &hex::encode("other@example.com"),
    );
    let response = app
        .client
        .post(format!("{}{forged}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // A new checkout within the week is not reminded of again.
    remember(&app, "erika@example.com", &[(variant, 1)]).await;
    subscribe_again(&app, "erika@example.com").await;
    assert_eq!(run_job(&app, later + 10 * HOUR).await, 0);
}

async fn subscribe_again(app: &TestApp, email: &str) {
    sqlx::query("UPDATE newsletter_subscribers SET status = 'subscribed' WHERE email = $1")
        .bind(email)
        .execute(app.db.pool())
        .await
        .unwrap();
}

async fn no_reminder_without_consent_after_an_order_or_when_turned_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 50).await;
    let now = app::db::now_epoch();
    // Never subscribed: nothing.
    remember(&app, "stranger@example.com", &[(variant, 1)]).await;
    // Subscribed, but ordered after the checkout began.
    subscribe(&app, "erika@example.com").await;
    remember(&app, "erika@example.com", &[(variant, 1)]).await;
    let body: Value = order_body(&[(variant, 1)], "pm_card_visa");
    let (status, placed) = checkout(&app, &body, "reminder-order").await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(run_job(&app, now + 5 * HOUR).await, 0);
    assert_eq!(
        outcome(&app, "stranger@example.com").await.as_deref(),
        Some("not_subscribed")
    );
    assert_eq!(
        outcome(&app, "erika@example.com").await.as_deref(),
        Some("ordered")
    );
    // Turned off: nothing is even looked at.
    subscribe(&app, "later@example.com").await;
    remember(&app, "later@example.com", &[(variant, 1)]).await;
    sqlx::query("UPDATE shop_settings SET reminder_hours = 0")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(run_job(&app, now + 5 * HOUR).await, 0);
    assert_eq!(outcome(&app, "later@example.com").await, None);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'checkout_reminder'"
        )
        .await,
        0
    );
    // Bad input to the page's call is a 4xx.
    let (status, _) = app
        .post_json(
            "/api/checkout/remember",
            &json!({"email": "nope", "lines": [], "codes": []}),
            &[],
        )
        .await;
    assert!((400..500).contains(&status), "{status}");
}
