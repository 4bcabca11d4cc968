//! Newsletter campaigns on both databases: a Markdown draft (checked by field, rendered safe),
//! a test copy to the staff member, then every confirmed subscriber at the time of sending, a
//! batch a minute, one batch however many job runs race for it, each copy with its own
//! unsubscribe link; unsubscribing meanwhile skips the copy; stopping skips the rest; the
//! figures (sent, failed, skipped) come from the outbox.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use serde_json::{json, Value};

use crate::admin_api::{api, assert_names, audit_rows, get, send, team};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_campaign_goes_to_every_subscriber_a_batch_a_minute_with_its_own_unsubscribe_link,
    sending_needs_subscribers_and_a_campaign_can_be_stopped_or_deleted,
    the_campaign_pages_write_preview_test_and_send,
);

/// A draft straight in the database, for tests of other things that need one; its id.
pub async fn a_campaign(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO campaigns (subject, body_markdown, created_by, created_at, updated_at) \
         VALUES ('News', 'Hello', 1, 0, 0) RETURNING id",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

async fn subscriber(app: &TestApp, email: &str, status: &str) {
    sqlx::query(
        "INSERT INTO newsletter_subscribers (email, status, token_hash, source, wording, asked_at, confirmed_at) \
         VALUES ($1, $2, $3, 'footer', 'test', 0, 1)",
    )
    .bind(email)
    .bind(status)
    .bind(format!("hash-of-{email}"))
    .execute(app.db.pool())
    .await
    .unwrap();
}

async fn run_job(app: &TestApp, at: i64) -> usize {
    app::promotions::campaigns::ssr::send_due(
        &app.checkout,
        at,
        app.checkout.newsletter_per_minute(),
    )
    .await
    .unwrap()
}

/// (recipient, unsubscribe link) of the campaign's copies in the outbox, in order.
async fn copies(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT recipient, unsubscribe_url FROM outbox WHERE kind = $1 ORDER BY id")
        .bind(kind)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

fn progress(campaign: &Value, figure: &str) -> i64 {
    campaign["progress"][figure].as_i64().unwrap()
}

async fn a_campaign_goes_to_every_subscriber_a_batch_a_minute_with_its_own_unsubscribe_link(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (_, owner, staff, _) = team(&app).await;
    for n in 1..=5 {
        subscriber(&app, &format!("reader{n}@example.com"), "subscribed").await;
    }
    subscriber(&app, "pending@example.com", "pending").await;
    subscriber(&app, "gone@example.com", "unsubscribed").await;

    // Bad input is named by field.
    let (status, body) = send(
        &app,
        "POST",
        "/api/v1/admin/campaigns",
        &staff,
        json!({"subject": " ", "body_markdown": ""}),
    )
    .await;
    assert_names(status, &body, 422, "subject");
    assert_names(status, &body, 422, "body_markdown");
    let (status, body) = send(
        &app,
        "POST",
        "/api/v1/admin/campaigns",
        &staff,
        json!({"subject": "Two\nlines", "body_markdown": "x"}),
    )
    .await;
    assert_names(status, &body, 422, "subject");
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/admin/campaigns",
        &staff,
        json!({"subject": "x", "body_markdown": "x", "audience": "all"}),
    )
    .await;
    assert!(status == 400 || status == 422, "unknown fields are refused");

    // A draft: Markdown rendered, anything that could run dropped.
    let markdown = "# Linen is back\n\n**New shirts** in [the shop](https://shop.example/collections/linen).\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))";
    let (status, created) = send(
        &app,
        "POST",
        "/api/v1/admin/campaigns",
        &staff,
        json!({"subject": "Spring news", "body_markdown": markdown}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "draft");
    let preview = created["preview_html"].as_str().unwrap();
    assert!(preview.contains("<strong>New shirts</strong>"), "{preview}");
    assert!(
        !preview.contains("<script") && !preview.contains("javascript:"),
        "{preview}"
    );
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/campaigns/{id}");
    let (status, patched) = send(
        &app,
        "PATCH",
        &path,
        &staff,
        json!({"subject": "Spring is here", "body_markdown": null}),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["subject"], "Spring is here");
    assert_eq!(patched["body_markdown"], markdown, "null keeps the body");

    // A test goes to the staff member only, and counts for nothing.
    let (status, tested) = send(&app, "POST", &format!("{path}/test"), &staff, json!({})).await;
    assert_eq!(status, 202, "{tested}");
    let tests = copies(&app, "campaign_test").await;
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0].0, "staff@shop.test");
    let (subject, html): (String, String) =
        sqlx::query_as("SELECT subject, body_html FROM outbox WHERE kind = 'campaign_test'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(subject, "[Test] Spring is here");
    assert!(
        html.contains("<h1>Linen is back</h1>") && html.contains("Unsubscribe"),
        "{html}"
    );
    assert_eq!(progress(&tested, "recipients"), 0);

    // Sending: the five confirmed subscribers, two a minute; the first batch at once.
    app.checkout.set_newsletter_per_minute(2);
    let (status, sending) = send(&app, "POST", &format!("{path}/send"), &staff, json!({})).await;
    assert_eq!(status, 202, "{sending}");
    assert_eq!(sending["status"], "sending");
    assert_eq!(progress(&sending, "recipients"), 5);
    assert_eq!(progress(&sending, "queued"), 2);
    assert_eq!(progress(&sending, "waiting"), 3);
    let now = app::db::now_epoch();
    assert_eq!(run_job(&app, now).await, 0, "the next batch waits a minute");

    // Reader 4 unsubscribes before their turn; two servers race for the next minute's batch.
    sqlx::query("UPDATE newsletter_subscribers SET status = 'unsubscribed' WHERE email = 'reader4@example.com'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (a, b) = tokio::join!(run_job(&app, now + 61), run_job(&app, now + 61));
    assert_eq!(
        a + b,
        1,
        "one batch (reader 3; reader 4 skipped), taken by one run"
    );
    assert_eq!(run_job(&app, now + 122).await, 1);
    let (_, done) = get(&app, &path, &owner).await;
    assert_eq!(done["status"], "sent", "{done}");
    assert!(done["finished_at"].is_string());
    assert_eq!(progress(&done, "skipped"), 1);
    assert_eq!(progress(&done, "waiting"), 0);
    assert_eq!(run_job(&app, now + 300).await, 0, "nothing is sent twice");

    let sent = copies(&app, "campaign").await;
    let recipients: Vec<&str> = sent.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(
        recipients,
        [
            "reader1@example.com",
            "reader2@example.com",
            "reader3@example.com",
            "reader5@example.com"
        ]
    );
    for (to, link) in &sent {
        assert!(
            link.contains(&format!("e.{}.", hex::encode(to))),
            "each copy has its own link: {link}"
        );
    }

    // A sent campaign stays as it went out.
    let (status, body) = send(&app, "PATCH", &path, &staff, json!({"subject": "Changed"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        send(&app, "POST", &format!("{path}/send"), &staff, json!({}))
            .await
            .0,
        409
    );
    assert_eq!(
        api(&app, "DELETE", &path, Some(&staff), None, &[]).await.0,
        409
    );

    // The mailer sends each copy as text and HTML with RFC 8058's headers. One copy the mail
    // server never took counts as failed.
    sqlx::query(&format!(
        "UPDATE outbox SET attempts = {} WHERE recipient = 'reader5@example.com'",
        app::notifications::MAX_ATTEMPTS
    ))
    .execute(app.db.pool())
    .await
    .unwrap();
    let (port, sessions) = crate::mail::smtp_server().await;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .build();
    let from: Mailbox = "Kassa <shop@localhost>".parse().unwrap();
    kassa::mailer::send_due(&app.db, &transport, &from)
        .await
        .unwrap();
    let said = sessions.lock().unwrap().concat();
    assert!(said.contains("multipart/alternative"), "{said}");
    assert!(said.contains("Content-Type: text/html"), "{said}");
    assert!(
        said.contains(&format!("List-Unsubscribe: <{}>", sent[0].1)),
        "{said}"
    );
    let (_, after) = get(&app, &path, &owner).await;
    assert_eq!(progress(&after, "sent"), 3, "{after}");
    assert_eq!(progress(&after, "failed"), 1, "{after}");
    assert_eq!(progress(&after, "queued"), 0, "{after}");

    let (status, list) = get(&app, "/api/v1/admin/campaigns?limit=1", &owner).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["id"], id);
    assert!(list["items"][0].get("preview_html").is_none());
    let audit = audit_rows(&app, "Campaign sent").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].2, "5 subscribers");
}

async fn sending_needs_subscribers_and_a_campaign_can_be_stopped_or_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner, staff, _) = team(&app).await;
    let (status, created) = send(
        &app,
        "POST",
        "/api/v1/admin/campaigns",
        &staff,
        json!({"subject": "Sale", "body_markdown": "Everything -20 %."}),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/campaigns/{id}");

    // Nobody to send to: a clear 422, and it stays a draft.
    let (status, body) = send(&app, "POST", &format!("{path}/send"), &staff, json!({})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Nobody"));
    assert_eq!(get(&app, &path, &owner).await.1["status"], "draft");
    // Stopping a draft is a conflict.
    assert_eq!(
        send(&app, "POST", &format!("{path}/stop"), &staff, json!({}))
            .await
            .0,
        409
    );

    for n in 1..=3 {
        subscriber(&app, &format!("reader{n}@example.com"), "subscribed").await;
    }
    app.checkout.set_newsletter_per_minute(1);
    let (status, _) = send(&app, "POST", &format!("{path}/send"), &staff, json!({})).await;
    assert_eq!(status, 202);
    let (status, stopped) = send(&app, "POST", &format!("{path}/stop"), &staff, json!({})).await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(progress(&stopped, "queued"), 1);
    assert_eq!(progress(&stopped, "skipped"), 2);
    let later = app::db::now_epoch() + 3600;
    assert_eq!(
        run_job(&app, later).await,
        0,
        "a stopped campaign sends nothing more"
    );
    assert_eq!(copies(&app, "campaign").await.len(), 1);

    // A draft can be deleted; a campaign that went out cannot.
    assert_eq!(
        api(&app, "DELETE", &path, Some(&staff), None, &[]).await.0,
        409
    );
    let (_, draft) = send(
        &app,
        "POST",
        "/api/v1/admin/campaigns",
        &staff,
        json!({"subject": "Draft", "body_markdown": "Not yet."}),
    )
    .await;
    let draft_path = format!("/api/v1/admin/campaigns/{}", draft["id"]);
    assert_eq!(
        api(&app, "DELETE", &draft_path, Some(&staff), None, &[])
            .await
            .0,
        204
    );
    assert_eq!(get(&app, &draft_path, &owner).await.0, 404);
    for bad in ["abc", "0", "-1", "99999999999999999999"] {
        let (status, body) = get(&app, &format!("/api/v1/admin/campaigns/{bad}"), &owner).await;
        assert_eq!(status, 404, "{bad}: {body}");
    }
    let (status, _) = get(&app, "/api/v1/admin/campaigns?limit=0", &owner).await;
    assert_eq!(status, 400);
}

async fn the_campaign_pages_write_preview_test_and_send(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, _, _, _) = team(&app).await;
    subscriber(&app, "reader@example.com", "subscribed").await;
    let form = |path: String, fields: Vec<(&'static str, &'static str)>| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let response = app
                .client
                .post(format!("{}{path}", app.address))
                .header("Origin", &app.address)
                .header("Cookie", owner)
                .header("Accept", "text/html")
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 303, "{path}");
            response.headers()["location"].to_str().unwrap().to_string()
        }
    };
    let back = form(
        "/admin/newsletter/campaigns".into(),
        vec![("subject", ""), ("body_markdown", "x")],
    )
    .await;
    assert!(
        back.starts_with("/admin/newsletter/campaigns?error="),
        "{back}"
    );
    let back = form(
        "/admin/newsletter/campaigns".into(),
        vec![
            ("subject", "Autumn"),
            ("body_markdown", "## Wool\n\n*Warm* at last."),
        ],
    )
    .await;
    let page = back.split('?').next().unwrap().to_string();
    assert!(page.starts_with("/admin/newsletter/campaigns/"), "{back}");
    let html = app.html_as(&page, &owner).await;
    assert!(
        html.contains("<h2>Wool</h2>") && html.contains("<em>Warm</em>"),
        "the preview"
    );
    assert!(
        html.contains("would go to 1 subscribers"),
        "who it would reach"
    );
    assert!(html.contains("Send a test to owner@shop.test"));

    let back = form(format!("{page}/test"), vec![]).await;
    assert!(back.contains("notice="), "{back}");
    assert_eq!(copies(&app, "campaign_test").await[0].0, "owner@shop.test");
    let back = form(format!("{page}/send"), vec![]).await;
    assert!(back.contains("notice=Sending"), "{back}");
    let html = app.html_as(&page, &owner).await;
    assert!(
        html.contains("data-testid=\"campaign-progress\""),
        "{html:.300}"
    );
    let list = app.html_as("/admin/newsletter/campaigns", &owner).await;
    assert!(list.contains("Autumn"));
    let newsletter = app.html_as("/admin/newsletter", &owner).await;
    assert!(newsletter.contains("href=\"/admin/newsletter/campaigns\""));
}
