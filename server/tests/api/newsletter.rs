//! The newsletter over HTTP on both databases: double opt-in, the same answer for everyone,
//! one-click unsubscribe (RFC 8058), the box at checkout, and limits on confirmation emails.

use serde_json::json;

use crate::checkout::{checkout, count, order_body, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_sign_up_is_confirmed_by_the_emailed_link_and_undone_in_one_click,
    the_answer_is_the_same_for_everyone_and_bad_input_is_named,
    the_box_at_checkout_asks_the_address_to_confirm,
);

/// The token in the newest confirmation email to `to`.
async fn emailed_token(app: &TestApp, to: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox WHERE kind = 'newsletter_confirmation' AND recipient = $1 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let at = body.find("confirm=").expect("a confirmation link") + "confirm=".len();
    body[at..at + 32].to_string()
}

async fn status_of(app: &TestApp, email: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM newsletter_subscribers WHERE email = $1")
        .bind(email)
        .fetch_optional(app.db.pool())
        .await
        .unwrap()
}

/// Posts a form as a browser does; where it is sent back to (`/newsletter?…`).
async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> String {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .form(fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303, "{path}");
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn a_sign_up_is_confirmed_by_the_emailed_link_and_undone_in_one_click(backend: Backend) {
    let app = spawn_app(backend).await;
    // The footer's form, as a browser without JavaScript sends it.
    let back = form(&app, "/newsletter", &[("email", "Ada@Example.com")]).await;
    assert_eq!(back, "/newsletter?sent=1");
    assert_eq!(
        status_of(&app, "ada@example.com").await.as_deref(),
        Some("pending")
    );
    let token = emailed_token(&app, "ada@example.com").await;
    // Opening the link changes nothing (mail scanners open links); the button confirms.
    let page = app.html(&format!("/newsletter?confirm={token}")).await;
    assert!(page.contains("Confirm my subscription"));
    assert_eq!(
        status_of(&app, "ada@example.com").await.as_deref(),
        Some("pending")
    );
    let back = form(&app, "/newsletter/confirm", &[("token", &token)]).await;
    assert_eq!(back, "/newsletter?confirmed=1");
    assert_eq!(
        status_of(&app, "ada@example.com").await.as_deref(),
        Some("subscribed")
    );
    let consent = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT source, wording, asked_at FROM newsletter_subscribers WHERE email = 'ada@example.com'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(consent.0, "footer");
    assert_eq!(consent.1, app::promotions::newsletter::WORDING);
    assert!(consent.2 > 0);
    // A mail client's one-click unsubscribe: a POST to the link with the RFC 8058 body.
    let response = app
        .client
        .post(format!(
            "{}/newsletter/unsubscribe?token={token}",
            app.address
        ))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        status_of(&app, "ada@example.com").await.as_deref(),
        Some("unsubscribed")
    );
    // An unsubscribed address is not confirmed back by an old link.
    let back = form(&app, "/newsletter/confirm", &[("token", &token)]).await;
    assert!(back.starts_with("/newsletter?error="), "{back}");
    assert_eq!(
        status_of(&app, "ada@example.com").await.as_deref(),
        Some("unsubscribed")
    );
    // Unknown tokens change nothing and say so.
    let back = form(
        &app,
        "/newsletter/unsubscribe",
        &[("token", "f".repeat(32).as_str())],
    )
    .await;
    assert!(back.starts_with("/newsletter?error="), "{back}");
}

async fn the_answer_is_the_same_for_everyone_and_bad_input_is_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, first) = app
        .post_json(
            "/api/v1/newsletter",
            &json!({"email": "bo@example.com"}),
            &[],
        )
        .await;
    assert_eq!(status, 202, "{first}");
    let token = emailed_token(&app, "bo@example.com").await;
    form(&app, "/newsletter/confirm", &[("token", &token)]).await;
    // Subscribed already: the same answer, and no email.
    let (status, again) = app
        .post_json(
            "/api/v1/newsletter",
            &json!({"email": "BO@example.com"}),
            &[],
        )
        .await;
    assert_eq!((status, &again), (202, &first));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE recipient = 'bo@example.com'"
        )
        .await,
        1
    );
    // A stranger's address cannot be flooded: three confirmation emails a day at most.
    for _ in 0..6 {
        let (status, _) = app
            .post_json(
                "/api/v1/newsletter",
                &json!({"email": "victim@example.com"}),
                &[],
            )
            .await;
        assert_eq!(status, 202);
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE recipient = 'victim@example.com'"
        )
        .await,
        app::promotions::newsletter::CONFIRMATIONS_PER_DAY
    );
    for body in [
        json!({"email": "not an address"}),
        json!({"email": null}),
        json!({}),
        json!([]),
    ] {
        let (status, answer) = app.post_json("/api/v1/newsletter", &body, &[]).await;
        assert!(status == 400 || status == 422, "{body}: {status} {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
    }
    let back = form(&app, "/newsletter", &[("email", "nope")]).await;
    assert!(back.starts_with("/newsletter?error="), "{back}");
    assert_eq!(status_of(&app, "nope").await, None);
}

async fn the_box_at_checkout_asks_the_address_to_confirm(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 10).await;
    let (status, _) = checkout(&app, &order_body(&[(variant, 1)], "pm_card_visa"), "no-box").await;
    assert_eq!(status, 201);
    assert_eq!(
        status_of(&app, "erika@example.com").await,
        None,
        "unticked: nothing"
    );
    let mut body = order_body(&[(variant, 1)], "pm_card_visa");
    body["newsletter"] = json!(true);
    let (status, placed) = checkout(&app, &body, "with-box").await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(
        status_of(&app, "erika@example.com").await.as_deref(),
        Some("pending")
    );
    let source: String = sqlx::query_scalar(
        "SELECT source FROM newsletter_subscribers WHERE email = 'erika@example.com'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(source, "checkout");
    assert!(!emailed_token(&app, "erika@example.com").await.is_empty());
    // Staff see it in the subscribers' CSV, with where it came from.
    let staff =
        crate::admin::account(&app, "staff@shop.test", app::admin::Role::Staff, false).await;
    let csv = app
        .client
        .get(format!("{}/admin/newsletter.csv", app.address))
        .header("Cookie", &staff)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("email,status,source,asked_at,confirmed_at,unsubscribed_at")
    );
    assert!(lines
        .next()
        .unwrap()
        .starts_with("erika@example.com,pending,checkout,20"));
    let anonymous = app.get("/admin/newsletter.csv").await;
    assert_eq!(anonymous.status(), 401);
}
