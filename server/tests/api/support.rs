//! Customer support on both databases: a shopper writes (API, contact form, order page), staff
//! answer from the inbox (replies emailed with the private link, notes never shown), the
//! status follows who wrote last, orders are linked only for their own shopper, and spam is
//! held back (a honeypot, limits per address and per conversation).

use serde_json::{json, Value};

use crate::admin_api::{api, assert_names, audit_rows, get, send, team};
use crate::checkout::{checkout, count, order_body, token_of, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_shopper_writes_staff_answer_and_the_thread_follows_who_wrote_last,
    orders_are_linked_only_for_their_own_shopper_and_spam_is_held_back,
    the_shoppers_pages_and_the_inbox_work_without_javascript,
    saved_replies_are_kept_once_and_filled_in_for_each_conversation,
    a_page_that_listens_after_a_quiet_spell_hears_of_what_changed_in_it,
);

/// Opens the admin's event stream; the response, to read `changed` from.
async fn listen(app: &TestApp, cookie: &str) -> reqwest::Response {
    let response = app
        .client
        .get(format!("{}/admin/events", app.address))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response
}

/// Whether `changed` arrives within `seconds`.
async fn hears_changed(response: &mut reqwest::Response, seconds: u64) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let mut seen = String::new();
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen.contains("event: changed") {
            return true;
        }
    }
    false
}

async fn a_page_that_listens_after_a_quiet_spell_hears_of_what_changed_in_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner_cookie, _, _, _) = team(&app).await;
    // A dashboard listens, so the watcher has figures; then nobody does.
    let mut first = listen(&app, &owner_cookie).await;
    assert!(!hears_changed(&mut first, 2).await, "nothing changed yet");
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // A shopper writes while no page listens (the next page is still being rendered)...
    let (status, _) = start(
        &app,
        &json!({"email": "quiet@example.com", "name": "Quiet", "message": "Hello?"}),
        None,
    )
    .await;
    assert_eq!(status, 201);
    // ...and the page that then listens hears of it.
    let mut second = listen(&app, &owner_cookie).await;
    assert!(
        hears_changed(&mut second, 4).await,
        "the message written in between is announced"
    );
}

async fn saved_replies_are_kept_once_and_filled_in_for_each_conversation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner_cookie, owner, staff, _) = team(&app).await;
    let path = "/api/v1/admin/support/saved-replies";
    let (status, _) = get(&app, path, &staff).await;
    assert_eq!(status, 403, "staff without the support permission");
    let (status, answer) = send(
        &app,
        "POST",
        path,
        &owner,
        json!({"title": " ", "body": "x"}),
    )
    .await;
    assert_names(status, &answer, 422, "title");
    let (status, answer) = send(
        &app,
        "POST",
        path,
        &owner,
        json!({"title": "Parcel", "body": ""}),
    )
    .await;
    assert_names(status, &answer, 422, "body");
    let (status, saved) = send(
        &app,
        "POST",
        path,
        &owner,
        json!({"title": "Where is my parcel", "body": "Hello {name}, {order} left our warehouse today."}),
    )
    .await;
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_i64().unwrap();
    let (status, list) = get(&app, path, &owner).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["title"], "Where is my parcel");
    // In a conversation's reply form, filled in for its shopper.
    let conversation = a_conversation(&app).await;
    let page = app
        .html_as(
            &format!("/admin/support/{conversation}?reply={id}"),
            &owner_cookie,
        )
        .await;
    assert!(
        page.contains("Hello Someone, your order left our warehouse today."),
        "{page:.300}"
    );
    let (status, _) = api(
        &app,
        "DELETE",
        &format!("{path}/{id}"),
        Some(&owner),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = api(
        &app,
        "DELETE",
        &format!("{path}/{id}"),
        Some(&owner),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        crate::checkout::count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'Saved reply%'"
        )
        .await,
        2
    );
}

/// A conversation straight in the database, for tests of other things that need one; its id.
pub async fn a_conversation(app: &TestApp) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO support_conversations (token_hash, email, name, status, created_at, last_message_at) \
         VALUES ('not-a-hash', 'someone@example.com', 'Someone', 'open', 0, 0) RETURNING id",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO support_messages (conversation_id, author, body, created_at) VALUES ($1, 'shopper', 'Hello', 0)",
    )
    .bind(id)
    .execute(app.db.pool())
    .await
    .unwrap();
    id
}

async fn start(app: &TestApp, body: &Value, bearer: Option<&str>) -> (u16, Value) {
    let mut headers = Vec::new();
    let auth;
    if let Some(token) = bearer {
        auth = format!("Bearer {token}");
        headers.push(("Authorization", auth.as_str()));
    }
    app.post_json("/api/v1/support/conversations", body, &headers)
        .await
}

fn message(email: &str, text: &str) -> Value {
    json!({"email": email, "name": "Erika", "order_number": null, "message": text})
}

/// The newest email to `to`: (subject, body).
async fn last_email(app: &TestApp, to: &str) -> (String, String) {
    sqlx::query_as(
        "SELECT subject, body_text FROM outbox WHERE recipient = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

async fn support_staff(app: &TestApp) -> (String, String) {
    let (owner_cookie, owner, staff, _) = team(app).await;
    // Answering customers is a permission of its own.
    let (status, _) = get(app, "/api/v1/admin/support/conversations", &staff).await;
    assert_eq!(status, 403, "staff without the support permission");
    sqlx::query("UPDATE accounts SET can_support = 1 WHERE email = 'staff@shop.test'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let _ = owner_cookie;
    (owner, staff)
}

async fn a_shopper_writes_staff_answer_and_the_thread_follows_who_wrote_last(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, staff) = support_staff(&app).await;

    // Bad input is named by field.
    let (status, body) = start(
        &app,
        &json!({"email": "nope", "name": " ", "message": ""}),
        None,
    )
    .await;
    for field in ["email", "name", "message"] {
        assert_names(status, &body, 422, field);
    }
    let (status, body) = start(
        &app,
        &json!({"email": "a@example.com", "name": "A", "message": "x", "subject": "extra"}),
        None,
    )
    .await;
    assert!(status == 400 || status == 422, "{status} {body}");

    let (status, started) = start(
        &app,
        &message("Erika@Example.com", "Where is my parcel?"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let token = started["token"].as_str().unwrap().to_string();
    assert!(started["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/support/{token}")));
    let (subject, email) = last_email(&app, "erika@example.com").await;
    assert!(subject.contains("We got your message"), "{subject}");
    assert!(email.contains(&format!("/support/{token}")), "{email}");
    // Only the token's hash is kept.
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM support_conversations WHERE token_hash = '{token}'")
        )
        .await,
        0
    );

    let path = format!("/api/v1/support/conversations/{token}");
    let (status, seen) = app.json(&path).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["status"], "open");
    assert_eq!(seen["messages"][0]["from"], "shopper");
    assert_eq!(seen["messages"][0]["body"], "Where is my parcel?");

    // The inbox has it; staff keep a note (never shown) and reply (emailed with the link).
    let (status, inbox) = get(
        &app,
        "/api/v1/admin/support/conversations?status=open",
        &staff,
    )
    .await;
    assert_eq!(status, 200, "{inbox}");
    assert_eq!(inbox["items"][0]["email"], "erika@example.com");
    assert_eq!(inbox["items"][0]["token"], token.as_str());
    let id = inbox["items"][0]["id"].as_i64().unwrap();
    let admin_path = format!("/api/v1/admin/support/conversations/{id}");
    let (status, noted) = send(
        &app,
        "POST",
        &format!("{admin_path}/messages"),
        &staff,
        json!({"body": "Customer called too; DHL says Tuesday.", "internal": true}),
    )
    .await;
    assert_eq!(status, 201, "{noted}");
    assert_eq!(noted["status"], "open", "a note changes nothing");
    assert_eq!(noted["messages"][1]["from"], "note");
    let emails_before = count(&app, "SELECT COUNT(*) FROM outbox").await;
    let (status, replied) = send(
        &app,
        "POST",
        &format!("{admin_path}/messages"),
        &staff,
        json!({"body": "It ships on Tuesday.", "internal": null}),
    )
    .await;
    assert_eq!(status, 201, "{replied}");
    assert_eq!(replied["status"], "waiting");
    assert_eq!(replied["messages"][2]["staff"], "staff@shop.test");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox").await,
        emails_before + 1
    );
    let (_, email) = last_email(&app, "erika@example.com").await;
    assert!(
        email.contains("It ships on Tuesday.") && email.contains(&format!("/support/{token}")),
        "{email}"
    );
    assert!(!email.contains("DHL says"), "notes never leave the shop");

    let (_, seen) = app.json(&path).await;
    let bodies: Vec<&str> = seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["Where is my parcel?", "It ships on Tuesday."],
        "no notes for the shopper"
    );
    assert_eq!(seen["status"], "waiting");

    // The shopper answers: open again. Closed, a new message opens it again.
    let (status, after) = app
        .post_json(
            &format!("{path}/messages"),
            &json!({"body": "Thanks!"}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{after}");
    assert_eq!(after["status"], "open");
    let (status, closed) = send(
        &app,
        "POST",
        &format!("{admin_path}/close"),
        &staff,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(closed["status"], "closed");
    app.post_json(
        &format!("{path}/messages"),
        &json!({"body": "One more thing"}),
        &[],
    )
    .await;
    assert_eq!(get(&app, &admin_path, &staff).await.1["status"], "open");
    let (status, body) = app
        .post_json(&format!("{path}/messages"), &json!({"body": "  "}), &[])
        .await;
    assert_names(status, &body, 422, "body");

    // Assigning names a staff member; anyone else is refused by field.
    let (status, assigned) = send(
        &app,
        "POST",
        &format!("{admin_path}/assign"),
        &owner,
        json!({"email": "Staff@Shop.test"}),
    )
    .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["assigned_to"], "staff@shop.test");
    let (status, body) = send(
        &app,
        "POST",
        &format!("{admin_path}/assign"),
        &owner,
        json!({"email": "erika@example.com"}),
    )
    .await;
    assert_names(status, &body, 422, "email");
    let (_, unassigned) = send(
        &app,
        "POST",
        &format!("{admin_path}/assign"),
        &owner,
        json!({"email": null}),
    )
    .await;
    assert!(unassigned["assigned_to"].is_null());

    // Search by address or text; bad filters are 400.
    for q in ["erika@", "PARCEL", "tuesday"] {
        let (_, found) = get(
            &app,
            &format!("/api/v1/admin/support/conversations?q={q}"),
            &staff,
        )
        .await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1, "{q}");
    }
    let (_, none) = get(
        &app,
        "/api/v1/admin/support/conversations?q=50%25_off",
        &staff,
    )
    .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    for bad in ["status=deleted", "limit=0", "cursor=x"] {
        let (status, _) = get(
            &app,
            &format!("/api/v1/admin/support/conversations?{bad}"),
            &staff,
        )
        .await;
        assert_eq!(status, 400, "{bad}");
    }
    // Unknown tokens and ids.
    for bad in ["0123456789abcdef0123456789abcdef", "short", "../../etc"] {
        let (status, _) = app
            .json(&format!("/api/v1/support/conversations/{bad}"))
            .await;
        assert_eq!(status, 404, "{bad}");
    }
    assert_eq!(
        get(&app, "/api/v1/admin/support/conversations/999999", &staff)
            .await
            .0,
        404
    );
    let (status, _) = api(
        &app,
        "POST",
        "/api/v1/support/conversations/0123456789abcdef0123456789abcdef/messages",
        None,
        Some(&json!({"body": "hi"})),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(audit_rows(&app, "Support reply sent").await.len(), 1);
    assert_eq!(audit_rows(&app, "Support note added").await.len(), 1);
}

async fn orders_are_linked_only_for_their_own_shopper_and_spam_is_held_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 5, 100).await;
    let (status, placed) = checkout(
        &app,
        &order_body(&[(variant, 1)], "pm_card_visa"),
        &app::checkout::service::random_token(),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let number = placed["order"]["number"].as_str().unwrap().to_string();

    // The email the order was placed with links it.
    let mut body = message("erika@example.com", "About my order");
    body["order_number"] = json!(format!("#{number}"));
    let (status, started) = start(&app, &body, None).await;
    assert_eq!(status, 201, "{started}");
    let (_, seen) = app
        .json(&format!(
            "/api/v1/support/conversations/{}",
            started["token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(seen["order_number"], number.as_str());
    // Someone else's address does not.
    body["email"] = json!("mallory@example.com");
    let (status, refused) = start(&app, &body, None).await;
    assert_names(status, &refused, 422, "order_number");
    // The order's access token shows it is theirs.
    let (status, started) = start(&app, &body, Some(&token_of(&placed))).await;
    assert_eq!(status, 201, "{started}");
    body["order_number"] = json!("not a number");
    let (status, refused) = start(&app, &body, None).await;
    assert_names(status, &refused, 422, "order_number");
    // The order's admin page lists them for staff who may answer customers, and only for them.
    let (owner, _, _, _) = team(&app).await;
    let page = app
        .html_as(&format!("/admin/orders/{number}"), &owner)
        .await;
    assert!(
        page.contains("data-testid=\"order-conversations\""),
        "{page:.300}"
    );
    assert!(page.contains("About my order"));
    let staff =
        crate::admin::account(&app, "helper@shop.test", app::admin::Role::Staff, false).await;
    let response = app
        .get_with(
            &format!("/admin/orders/{number}"),
            &[("Cookie", &staff), ("Accept", "text/html")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(!response
        .text()
        .await
        .unwrap()
        .contains("order-conversations"));

    // Five conversations an hour per address; the sixth waits.
    for n in 0..4 {
        let (status, _) = start(
            &app,
            &message("busy@example.com", &format!("Question {n}")),
            None,
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, _) = start(&app, &message("busy@example.com", "Question 5"), None).await;
    assert_eq!(status, 201);
    let (status, body) = start(&app, &message("busy@example.com", "Question 6"), None).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM support_conversations WHERE email = 'busy@example.com'"
        )
        .await,
        5
    );

    // The contact form's hidden field catches bots: told the same, nothing kept or sent.
    let before = count(&app, "SELECT COUNT(*) FROM support_conversations").await;
    let response = app
        .client
        .post(format!("{}/contact", app.address))
        .form(&[
            ("name", "Bot"),
            ("email", "bot@example.com"),
            ("message", "Buy now"),
            ("website", "http://spam.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/contact?sent=1");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM support_conversations").await,
        before
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE recipient = 'bot@example.com'"
        )
        .await,
        0
    );
}

async fn the_shoppers_pages_and_the_inbox_work_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner_cookie, _, _, _) = team(&app).await;
    let page = app.html("/contact").await;
    assert!(page.contains("data-testid=\"contact-form\""));
    let response = app
        .client
        .post(format!("{}/contact", app.address))
        .form(&[
            ("name", "Ada <b>Lovelace</b>"),
            ("email", "ada@example.com"),
            ("order_number", ""),
            ("message", "Do you ship to <script>Iceland</script>?"),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let to = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/support/") && to.ends_with("?sent=1"),
        "{to}"
    );
    let thread = app.html(&to).await;
    assert!(
        thread.contains("Do you ship to &lt;script&gt;Iceland&lt;/script&gt;?"),
        "escaped"
    );
    assert!(thread.contains("noindex"));
    let token = to
        .trim_start_matches("/support/")
        .trim_end_matches("?sent=1")
        .to_string();
    let response = app
        .client
        .post(format!("{}/support/{token}", app.address))
        .multipart(reqwest::multipart::Form::new().text("body", "And to Norway?"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert!(app
        .html(&format!("/support/{token}"))
        .await
        .contains("And to Norway?"));
    // A picture goes with a message: read by its content, stored re-encoded with the media.
    let mut png = Vec::new();
    image::RgbImage::from_pixel(300, 200, image::Rgb([200, 40, 40]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let response = app
        .client
        .post(format!("{}/support/{token}", app.address))
        .multipart(
            reqwest::multipart::Form::new()
                .text("body", "The box arrived like this.")
                .part(
                    "picture",
                    reqwest::multipart::Part::bytes(png).file_name("box.png"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("?sent=1"));
    let url: String = sqlx::query_scalar(
        "SELECT picture_url FROM support_messages WHERE picture_url IS NOT NULL",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(url.starts_with("/media/"), "{url}");
    let picture = app.get(&url).await;
    assert_eq!(picture.status().as_u16(), 200);
    assert!(picture.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/"));
    assert!(app.html(&format!("/support/{token}")).await.contains(&url));
    // HTML named like a picture is refused, and nothing is written.
    let response = app
        .client
        .post(format!("{}/support/{token}", app.address))
        .multipart(
            reqwest::multipart::Form::new().text("body", "Look").part(
                "picture",
                reqwest::multipart::Part::bytes(b"<html><script>alert(1)</script></html>".to_vec())
                    .file_name("evil.png")
                    .mime_str("image/png")
                    .unwrap(),
            ),
        )
        .send()
        .await
        .unwrap();
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .contains("error="));
    assert_eq!(
        crate::checkout::count(
            &app,
            "SELECT COUNT(*) FROM support_messages WHERE body = 'Look'"
        )
        .await,
        0
    );
    // Too large: refused before it is decoded.
    let response = app
        .client
        .post(format!("{}/support/{token}", app.address))
        .multipart(
            reqwest::multipart::Form::new().text("body", "Big").part(
                "picture",
                reqwest::multipart::Part::bytes(vec![0u8; app::support::MAX_PICTURE_BYTES + 1])
                    .file_name("big.png"),
            ),
        )
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_redirection() || response.status().as_u16() == 413,
        "{}",
        response.status()
    );
    let missing = app.get("/support/0123456789abcdef0123456789abcdef").await;
    assert_eq!(missing.status().as_u16(), 404);
    // A bad form goes back with the problem said.
    let response = app
        .client
        .post(format!("{}/contact", app.address))
        .form(&[
            ("name", "Ada"),
            ("email", "not-an-address"),
            ("message", "Hi"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/contact?error="));

    // The owner's inbox lists it; a reply and a note from the conversation's page.
    let inbox = app.html_as("/admin/support", &owner_cookie).await;
    assert!(
        inbox.contains("Ada &lt;b&gt;Lovelace&lt;/b&gt;"),
        "{inbox:.200}"
    );
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM support_conversations WHERE email = 'ada@example.com'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    for (body, internal) in [("Yes, in 3 days.", false), ("Check the rates first", true)] {
        let mut fields = vec![("body", body)];
        if internal {
            fields.push(("internal", "1"));
        }
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name, value);
        }
        let response = app
            .client
            .post(format!("{}/admin/support/{id}/messages", app.address))
            .header("Origin", &app.address)
            .header("Cookie", &owner_cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
        assert!(response.headers()["location"]
            .to_str()
            .unwrap()
            .contains("notice="));
    }
    let page = app
        .html_as(&format!("/admin/support/{id}"), &owner_cookie)
        .await;
    assert!(
        page.contains("data-testid=\"message-note\"") && page.contains("Check the rates first")
    );
    let shopper = app.html(&format!("/support/{token}")).await;
    assert!(shopper.contains("Yes, in 3 days.") && !shopper.contains("Check the rates first"));

    // Signed in with the same address, the shopper finds it in their account.
    let session = crate::accounts::signed_in(&app, "ada@example.com").await;
    let cookie = format!("{}={session}", app::accounts::COOKIE);
    let account = app.html_as("/account", &cookie).await;
    assert!(
        account.contains("data-testid=\"account-conversations\""),
        "{account:.300}"
    );
    assert!(account.contains(&format!("/support/{token}")));
    let stranger = crate::accounts::signed_in(&app, "someone@example.com").await;
    let theirs = app
        .html_as("/account", &format!("{}={stranger}", app::accounts::COOKIE))
        .await;
    assert!(!theirs.contains(&token), "only one's own conversations");
}
