//! Shoppers' accounts over HTTP on both databases: sign-in with an emailed code, sessions,
//! the address book, the order history, checkout while signed in, and the pages without
//! JavaScript.

use serde_json::{json, Value};

use crate::checkout::{checkout, count, order_body, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_code_signs_a_shopper_in_and_the_first_one_makes_the_account,
    asking_for_a_code_tells_nothing_about_accounts,
    wrong_codes_count_down_and_then_a_new_code_is_needed,
    an_expired_or_used_code_is_refused,
    codes_are_limited_per_email,
    guest_orders_join_only_when_a_code_proves_their_email,
    an_order_placed_while_signed_in_joins_the_account,
    the_address_book_belongs_to_its_customer,
    sessions_end_at_sign_out_and_when_idle_and_never_open_the_admin,
    the_pages_sign_in_without_javascript,
    bad_input_is_named_and_never_a_500,
    stale_sign_in_data_is_forgotten,
);

/// The code in the newest sign-in email to `email`, as the shopper reads it.
pub async fn code_sent_to(app: &TestApp, email: &str) -> String {
    let subject: String = sqlx::query_scalar(
        "SELECT subject FROM outbox WHERE kind = 'sign_in_code' AND recipient = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(email)
    .fetch_one(app.db.pool())
    .await
    .expect("a sign-in email");
    subject[..6].to_string()
}

pub async fn ask_for_code(app: &TestApp, email: &str) -> (u16, Value) {
    app.post_json(
        "/api/v1/customer/sign-in/code",
        &json!({ "email": email }),
        &[],
    )
    .await
}

pub async fn sign_in_with_code(app: &TestApp, email: &str, code: &str) -> (u16, Value) {
    app.post_json(
        "/api/v1/customer/sign-in",
        &json!({ "email": email, "code": code }),
        &[],
    )
    .await
}

/// Signs `email` in through the API; the session token.
pub async fn signed_in(app: &TestApp, email: &str) -> String {
    assert_eq!(ask_for_code(app, email).await.0, 202);
    let code = code_sent_to(app, &email.to_lowercase()).await;
    let (status, body) = sign_in_with_code(app, email, &code).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

pub(crate) async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    send(
        app,
        reqwest::Method::POST,
        "/api/v1/customer/addresses",
        token,
        Some(body),
    )
    .await
}

async fn get_as(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    send(app, reqwest::Method::GET, path, token, None).await
}

fn address(name: &str, postal_code: &str) -> Value {
    json!({
        "name": name, "line1": "Heidestraße 17", "line2": null, "city": "Köln",
        "postal_code": postal_code, "region": null, "country": "DE"
    })
}

async fn a_code_signs_a_shopper_in_and_the_first_one_makes_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, _) = ask_for_code(&app, " Ada@Example.com ").await;
    assert_eq!(status, 202);
    // No account before the code is used.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers").await, 0);
    let code = code_sent_to(&app, "ada@example.com").await;
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    // Only the code's hash is kept.
    let stored: String = sqlx::query_scalar("SELECT code_hash FROM sign_in_codes")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(!stored.contains(&code));

    let response = app
        .client
        .post(format!("{}/api/v1/customer/sign-in", app.address))
        .json(&json!({ "email": "ADA@example.com", "code": format!("{} {}", &code[..3], &code[3..]) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.starts_with("kassa_customer=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["customer"]["email"], "ada@example.com");
    let token = body["token"].as_str().unwrap();
    assert!(cookie.contains(token));
    // The session table keeps the token's hash only.
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM customer_sessions WHERE token_hash = '{token}'")
        )
        .await,
        0
    );
    let (status, me) = get_as(&app, "/api/v1/customer", token).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "ada@example.com");
    // The cookie works as well as the bearer token.
    let response = app
        .get_with(
            "/api/v1/customer",
            &[("Cookie", &format!("kassa_customer={token}"))],
        )
        .await;
    assert_eq!(response.status(), 200);

    // A second sign-in finds the same account and starts a second session.
    let again = signed_in(&app, "ada@example.com").await;
    assert_ne!(again, token);
    let (_, me_again) = get_as(&app, "/api/v1/customer", &again).await;
    assert_eq!(me_again["id"], me["id"]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers").await, 1);
    // The code is used up.
    let (status, body) = sign_in_with_code(&app, "ada@example.com", &code).await;
    assert_eq!(status, 401, "{body}");
}

async fn asking_for_a_code_tells_nothing_about_accounts(backend: Backend) {
    let app = spawn_app(backend).await;
    signed_in(&app, "known@example.com").await;
    let known = ask_for_code(&app, "known@example.com").await;
    let unknown = ask_for_code(&app, "nobody@example.com").await;
    assert_eq!(known, unknown);
    assert_eq!(known.0, 202);
    // Both get an email: the answer cannot differ by what happens next either.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox WHERE kind = 'sign_in_code' AND recipient = 'nobody@example.com'").await,
        1
    );
}

async fn wrong_codes_count_down_and_then_a_new_code_is_needed(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(ask_for_code(&app, "ada@example.com").await.0, 202);
    let code = code_sent_to(&app, "ada@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for tries_left in (0..5).rev() {
        let (status, body) = sign_in_with_code(&app, "ada@example.com", wrong).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["tries_left"], tries_left);
    }
    // Spent: now even the right code is refused, with a 429 and a way forward.
    let (status, body) = sign_in_with_code(&app, "ada@example.com", &code).await;
    assert_eq!(status, 429, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("new one"));
    // A new code has fresh tries.
    assert_eq!(ask_for_code(&app, "ada@example.com").await.0, 202);
    let fresh = code_sent_to(&app, "ada@example.com").await;
    assert_eq!(
        sign_in_with_code(&app, "ada@example.com", &fresh).await.0,
        200
    );

    // Parallel guesses each spend their own try: twenty at once leave no tries and no sign-in.
    assert_eq!(ask_for_code(&app, "bob@example.com").await.0, 202);
    let code = code_sent_to(&app, "bob@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let guesses = (0..20).map(|_| sign_in_with_code(&app, "bob@example.com", wrong));
    let answers = futures::future::join_all(guesses).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 401).count(), 5);
    assert_eq!(answers.iter().filter(|(s, _)| *s == 429).count(), 15);
    assert_eq!(
        sign_in_with_code(&app, "bob@example.com", &code).await.0,
        429
    );
}

async fn an_expired_or_used_code_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = sign_in_with_code(&app, "ada@example.com", "123456").await;
    assert_eq!(status, 401, "no code was sent: {body}");
    assert_eq!(ask_for_code(&app, "ada@example.com").await.0, 202);
    let code = code_sent_to(&app, "ada@example.com").await;
    sqlx::query("UPDATE sign_in_codes SET expires_at = expires_at - 601")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (status, body) = sign_in_with_code(&app, "ada@example.com", &code).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    // A second code replaces the first.
    assert_eq!(ask_for_code(&app, "ada@example.com").await.0, 202);
    let second = code_sent_to(&app, "ada@example.com").await;
    if second != code {
        assert_eq!(
            sign_in_with_code(&app, "ada@example.com", &code).await.0,
            401
        );
    }
    assert_eq!(
        sign_in_with_code(&app, "ada@example.com", &second).await.0,
        200
    );
}

async fn codes_are_limited_per_email(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..app::accounts::codes::CODES_PER_EMAIL {
        assert_eq!(ask_for_code(&app, "ada@example.com").await.0, 202);
    }
    let (status, body) = ask_for_code(&app, "ADA@example.com").await;
    assert_eq!(status, 429, "{body}");
    // Another email from the same place is not held up by the first.
    assert_eq!(ask_for_code(&app, "bob@example.com").await.0, 202);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE recipient = 'ada@example.com'"
        )
        .await,
        app::accounts::codes::CODES_PER_EMAIL
    );
}

async fn guest_orders_join_only_when_a_code_proves_their_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 10).await;
    // Two guest orders by Erika (one typed in capitals), one by someone else.
    let mut body = order_body(&[(variant, 1)], "pm_card_visa");
    assert_eq!(checkout(&app, &body, "k1").await.0, 201);
    body["email"] = json!("Erika@Example.com");
    assert_eq!(checkout(&app, &body, "k2").await.0, 201);
    body["email"] = json!("mallory@example.com");
    assert_eq!(checkout(&app, &body, "k3").await.0, 201);

    // Someone signing up with another email sees nothing.
    let mallory = signed_in(&app, "mallory2@example.com").await;
    let (_, list) = get_as(&app, "/api/v1/customer/orders", &mallory).await;
    assert_eq!(list["items"], json!([]));
    // Erika proves her email with a code: her two orders join, nobody else's.
    let erika = signed_in(&app, "erika@example.com").await;
    let (status, list) = get_as(&app, "/api/v1/customer/orders", &erika).await;
    assert_eq!(status, 200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["number"], "1002", "newest first");
    assert_eq!(items[0]["status"], "paid");
    assert!(items[0]["order_url"].as_str().unwrap().contains("/orders/"));
    assert!(items[0]["placed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(list["next_cursor"], Value::Null);
}

async fn an_order_placed_while_signed_in_joins_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 30).await;
    let token = signed_in(&app, "ada@example.com").await;
    // An order with another email still joins the signed-in shopper's account.
    let mut body = order_body(&[(variant, 1)], "pm_card_visa");
    body["email"] = json!("ada.work@example.com");
    let response = app
        .client
        .post(format!("{}/api/v1/checkout", app.address))
        .bearer_auth(&token)
        .header("Idempotency-Key", "signed-in-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let (_, list) = get_as(&app, "/api/v1/customer/orders", &token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Pages of twenty, by cursor.
    for n in 0..21 {
        let response = app
            .client
            .post(format!("{}/api/v1/checkout", app.address))
            .bearer_auth(&token)
            .header("Idempotency-Key", format!("more-{n}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let (_, first) = get_as(&app, "/api/v1/customer/orders", &token).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 20);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = get_as(
        &app,
        &format!("/api/v1/customer/orders?cursor={cursor}"),
        &token,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert_eq!(second["next_cursor"], Value::Null);
    let (status, body) = get_as(&app, "/api/v1/customer/orders?cursor=abc", &token).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "cursor");
}

async fn the_address_book_belongs_to_its_customer(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let bob = signed_in(&app, "bob@example.com").await;
    let (status, home) = post(
        &app,
        &ada,
        json!({ "address": address("Ada Home", "51147") }),
    )
    .await;
    assert_eq!(status, 201, "{home}");
    assert_eq!(home["is_default"], true, "the first address is the default");
    let (_, work) = post(
        &app,
        &ada,
        json!({ "address": address("Ada Work", "10115"), "is_default": null }),
    )
    .await;
    assert_eq!(work["is_default"], false);
    let (_, office) = post(
        &app,
        &ada,
        json!({ "address": address("Ada Office", "80331"), "is_default": true }),
    )
    .await;
    assert_eq!(office["is_default"], true);
    let (_, list) = get_as(&app, "/api/v1/customer/addresses", &ada).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Ada Office", "Ada Home", "Ada Work"],
        "one default, listed first"
    );

    // Bob cannot see, change or delete Ada's addresses.
    let (_, bobs) = get_as(&app, "/api/v1/customer/addresses", &bob).await;
    assert_eq!(bobs["items"], json!([]));
    let path = format!("/api/v1/customer/addresses/{}", home["id"]);
    let put = json!({ "address": address("Bob", "51147") });
    assert_eq!(
        send(&app, reqwest::Method::PUT, &path, &bob, Some(put.clone()))
            .await
            .0,
        404
    );
    assert_eq!(
        send(&app, reqwest::Method::DELETE, &path, &bob, None)
            .await
            .0,
        404
    );

    // Ada changes one; a postal code that is not German's shape is named by its path.
    let (status, changed) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        &ada,
        Some(json!({ "address": address("Ada Home 2", "51147") })),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["address"]["name"], "Ada Home 2");
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        &ada,
        Some(json!({ "address": address("Ada", "ABC") })),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "address.postal_code");

    // Deleting the default makes the oldest left the default.
    let office_path = format!("/api/v1/customer/addresses/{}", office["id"]);
    assert_eq!(
        send(&app, reqwest::Method::DELETE, &office_path, &ada, None)
            .await
            .0,
        204
    );
    let (_, list) = get_as(&app, "/api/v1/customer/addresses", &ada).await;
    assert_eq!(list["items"][0]["id"], home["id"]);
    assert_eq!(list["items"][0]["is_default"], true);
    assert_eq!(
        send(&app, reqwest::Method::DELETE, &office_path, &ada, None)
            .await
            .0,
        404
    );
    assert_eq!(
        send(
            &app,
            reqwest::Method::DELETE,
            "/api/v1/customer/addresses/x",
            &ada,
            None
        )
        .await
        .0,
        404
    );
    // Signed out: 401.
    let (status, _) = app
        .post_json(
            "/api/v1/customer/addresses",
            &json!({ "address": address("X", "51147") }),
            &[],
        )
        .await;
    assert_eq!(status, 401);
}

async fn sessions_end_at_sign_out_and_when_idle_and_never_open_the_admin(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_in(&app, "ada@example.com").await;
    // A shopper's session is not a staff session.
    let cookie = format!("kassa_customer={token}");
    let admin = app
        .get_with("/admin", &[("Cookie", &cookie), ("Accept", "text/html")])
        .await;
    assert_eq!(admin.status(), 303);
    assert!(admin.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/admin/sign-in"));
    let (status, _) = get_as(&app, "/api/v1/admin/orders", &token).await;
    assert_eq!(status, 401);

    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/customer/sign-out",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(get_as(&app, "/api/v1/customer", &token).await.0, 401);

    // Idle for more than thirty days: over.
    let token = signed_in(&app, "ada@example.com").await;
    sqlx::query("UPDATE customer_sessions SET last_seen_at = last_seen_at - $1")
        .bind(app::accounts::IDLE_SECS + 1)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(get_as(&app, "/api/v1/customer", &token).await.0, 401);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM customer_sessions").await,
        0
    );
}

/// Posts a form as a browser on this shop would.
async fn post_form(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .header("Origin", &app.address)
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn the_pages_sign_in_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    // Signed out, the account page sends the shopper to sign in; the header says "Sign in".
    let response = app.get_with("/account", &[("Accept", "text/html")]).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert!(location(&response).starts_with("/account/sign-in"));
    let home = app.html("/").await;
    assert!(home.contains(r#"href="/account/sign-in""#));

    let page = app.html("/account/sign-in").await;
    assert!(page.contains(r#"action="/account/sign-in/code""#));
    let response = post_form(
        &app,
        "/account/sign-in/code",
        &[("email", "ada@example.com"), ("next", "/checkout")],
        None,
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert!(
        to.contains("sent=1") && to.contains("email=ada%40example.com"),
        "{to}"
    );
    let page = app.html(&to).await;
    assert!(
        page.contains(r#"autocomplete="one-time-code""#),
        "the code form"
    );

    let code = code_sent_to(&app, "ada@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let response = post_form(
        &app,
        "/account/sign-in",
        &[
            ("email", "ada@example.com"),
            ("code", wrong),
            ("next", "/checkout"),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), 303);
    let again = location(&response);
    assert!(
        again.contains("sent=1") && again.contains("error="),
        "{again}"
    );
    assert!(app.html(&again).await.contains("4 tries left"));

    let response = post_form(
        &app,
        "/account/sign-in",
        &[
            ("email", "ada@example.com"),
            ("code", &code),
            ("next", "https://evil.example"),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account", "never to another site");
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    // Signed in: the account page, "Account" in the header, never cached for others.
    let response = app
        .get_with("/account", &[("Cookie", &cookie), ("Accept", "text/html")])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("ada@example.com") && page.contains("No orders yet"));
    assert!(
        page.contains(r#"href="/account">Account</a>"#)
            || page.contains(r#"<a href="/account" class="account-link">Account</a>"#),
        "header link"
    );

    // The address book through its forms.
    let form = [
        ("name", "Ada Lovelace"),
        ("line1", "Heidestraße 17"),
        ("line2", ""),
        ("city", "Köln"),
        ("postal_code", "51147"),
        ("region", ""),
        ("country", "DE"),
    ];
    let response = post_form(&app, "/account/addresses", &form, Some(&cookie)).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("notice="));
    let page = app.html_as("/account", &cookie).await;
    assert!(page.contains("Ada Lovelace") && page.contains("Default shipping address"));
    let mut bad = form.to_vec();
    bad[4] = ("postal_code", "ABCDE");
    let response = post_form(&app, "/account/addresses", &bad, Some(&cookie)).await;
    assert!(location(&response).contains("error="));
    // Checkout fills in the email and the default address.
    let page = app.html_as("/checkout", &cookie).await;
    assert!(
        page.contains("Ada Lovelace") && page.contains("ada@example.com"),
        "prefilled checkout"
    );

    // Signing out ends the session and clears the cookie.
    let response = post_form(&app, "/account/sign-out", &[], Some(&cookie)).await;
    assert_eq!(response.status(), 303);
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    // The browser's cart goes too (a shared computer keeps nothing of the shopper).
    assert_eq!(response.headers()["clear-site-data"], "\"storage\"");
    let response = app
        .get_with("/account", &[("Cookie", &cookie), ("Accept", "text/html")])
        .await;
    assert!(response.status().is_redirection());
    // A cross-site form cannot sign anyone out or add addresses.
    let response = app
        .client
        .post(format!("{}/account/addresses", app.address))
        .header("Origin", "https://evil.example")
        .header("Cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

async fn bad_input_is_named_and_never_a_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = ask_for_code(&app, "not an email").await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "email");
    let (status, _) = app
        .post_json("/api/v1/customer/sign-in/code", &json!({ "email": 5 }), &[])
        .await;
    assert_eq!(status, 422);
    let response = app
        .client
        .post(format!("{}/api/v1/customer/sign-in", app.address))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let (status, body) = sign_in_with_code(&app, "nope", "12ab").await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "code"]);
    let token = signed_in(&app, "ada@example.com").await;
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/customer/addresses",
        &token,
        Some(json!({ "address": { "name": "x" } })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = get_as(&app, "/api/v1/customer", "not-a-token").await;
    assert_eq!(status, 401);
}

async fn stale_sign_in_data_is_forgotten(backend: Backend) {
    let app = spawn_app(backend).await;
    let kept = signed_in(&app, "ada@example.com").await;
    let old = signed_in(&app, "bob@example.com").await;
    assert_eq!(ask_for_code(&app, "cleo@example.com").await.0, 202);
    assert_eq!(ask_for_code(&app, "dora@example.com").await.0, 202);
    let day = 24 * 60 * 60;
    for sql in [
        "UPDATE customer_sessions SET last_seen_at = last_seen_at - $1 WHERE customer_id = \
         (SELECT id FROM customers WHERE email = 'bob@example.com')",
        "UPDATE sign_in_codes SET expires_at = expires_at - $1 WHERE email = 'cleo@example.com'",
        "UPDATE sign_in_attempts SET at = at - $1 WHERE email <> 'dora@example.com'",
    ] {
        sqlx::query(sql)
            .bind(31 * day)
            .execute(app.db.pool())
            .await
            .unwrap();
    }
    // A passkey sign-in started and never finished.
    sqlx::query(
        "INSERT INTO passkey_ceremonies (id_hash, customer_id, state, expires_at) VALUES ('h', NULL, '{}', $1)",
    )
    .bind(app::db::now_epoch() - 1)
    .execute(app.db.pool())
    .await
    .unwrap();
    let now = app::db::now_epoch();
    let forgotten = app::accounts::service::forget_stale(&app.db, now)
        .await
        .unwrap();
    assert!(forgotten >= 4, "{forgotten}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM passkey_ceremonies").await,
        0
    );
    assert_eq!(get_as(&app, "/api/v1/customer", &kept).await.0, 200);
    assert_eq!(get_as(&app, "/api/v1/customer", &old).await.0, 401);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sign_in_codes").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM sign_in_attempts WHERE email <> 'dora@example.com'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM sign_in_attempts").await,
        1
    );
}
