//! Staff two-factor authentication on both databases: turning it on, signing in with a code
//! or a recovery code (each once), the challenge's limits, and the owner requiring it.

use app::admin::two_factor::code_at;
use app::admin::Role;
use app::db::now_epoch;
use serde_json::Value;

use crate::admin::account;
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    staff_turn_on_two_factor_and_then_sign_in_with_a_code,
    a_recovery_code_signs_in_once,
    a_challenge_allows_five_codes_and_then_the_password_again,
    the_owner_can_require_two_factor_of_all_staff,
);

const PASSWORD: &str = "a long enough password";

async fn post(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .header("Origin", &app.address)
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

fn cookie_named(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Turns two-factor on for the signed-in `cookie`'s account; its secret and recovery codes.
async fn enrol(app: &TestApp, cookie: &str, email: &str) -> (String, Vec<String>) {
    let started = post(app, "/admin/security/start", cookie, &[]).await;
    assert_eq!(started.status(), 303);
    let secret: String = sqlx::query_scalar("SELECT totp_pending FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let page = app.html_as("/admin/security", cookie).await;
    assert!(
        page.contains(&secret) && page.contains("<svg"),
        "the key and its QR code"
    );
    let wrong = post(
        app,
        "/admin/security/confirm",
        cookie,
        &[("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status(), 422, "a wrong first code turns nothing on");
    let code = code_at(&secret, now_epoch()).unwrap();
    let confirmed = post(app, "/admin/security/confirm", cookie, &[("code", &code)]).await;
    assert_eq!(confirmed.status(), 200);
    let body: Value = confirmed.json().await.unwrap();
    let codes: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// The password step: the challenge cookie (and no session).
async fn password_step(app: &TestApp, email: &str) -> String {
    let response = app
        .client
        .post(format!("{}/admin/sign-in", app.address))
        .header("Origin", &app.address)
        .header("Accept", "text/html")
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("next", "/admin/orders"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/admin/sign-in?step=code"));
    assert_eq!(
        cookie_named(&response, "kassa_session"),
        None,
        "no session yet"
    );
    cookie_named(&response, "kassa_2fa").expect("a challenge")
}

async fn code_step(app: &TestApp, challenge: &str, code: &str) -> reqwest::Response {
    post(
        app,
        "/admin/sign-in/code",
        challenge,
        &[("code", code), ("next", "/admin/orders")],
    )
    .await
}

async fn staff_turn_on_two_factor_and_then_sign_in_with_a_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = account(&app, "staff@shop.test", Role::Staff, false).await;
    let (secret, _) = enrol(&app, &cookie, "staff@shop.test").await;
    let page = app.html_as("/admin/security", &cookie).await;
    assert!(page.contains("Recovery codes left: 10"));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE action = '2fa.enabled'")
            .fetch_one(app.db.pool())
            .await
            .unwrap(),
        1
    );

    let challenge = password_step(&app, "staff@shop.test").await;
    let refused = code_step(&app, &challenge, "123 456").await;
    assert_eq!(refused.status(), 401);
    // The code the app shows next (the one shown now was spent turning it on).
    let code = code_at(&secret, now_epoch() + 30).unwrap();
    let signed_in = code_step(&app, &challenge, &code).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/admin/orders");
    let session = cookie_named(&signed_in, "kassa_session").expect("a session");
    assert_eq!(
        app.get_with("/admin/orders", &[("Cookie", &session)])
            .await
            .status(),
        200
    );
    // The same code never works twice.
    let again = password_step(&app, "staff@shop.test").await;
    assert_eq!(code_step(&app, &again, &code).await.status(), 401);

    // Turning it off takes a current code.
    let off = post(
        &app,
        "/admin/security/disable",
        &session,
        &[("code", "111111")],
    )
    .await;
    assert_eq!(off.status(), 422);
    // A minute later (the codes of this half-minute and the next are used up).
    sqlx::query("UPDATE accounts SET totp_last_step = totp_last_step - 4")
        .execute(app.db.pool())
        .await
        .unwrap();
    let code = code_at(&secret, now_epoch()).unwrap();
    let off = post(
        &app,
        "/admin/security/disable",
        &session,
        &[("code", &code)],
    )
    .await;
    assert_eq!(off.status(), 303);
    let response = app
        .client
        .post(format!("{}/admin/sign-in", app.address))
        .header("Origin", &app.address)
        .form(&[("email", "staff@shop.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        cookie_named(&response, "kassa_session").is_some(),
        "the password alone again"
    );
}

async fn a_recovery_code_signs_in_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = account(&app, "owner@shop.test", Role::Owner, true).await;
    let (_, codes) = enrol(&app, &cookie, "owner@shop.test").await;
    let challenge = password_step(&app, "owner@shop.test").await;
    let typed = codes[3].to_uppercase().replace('-', " ");
    let signed_in = code_step(&app, &challenge, &typed).await;
    assert_eq!(signed_in.status(), 303, "a recovery code however typed");
    let challenge = password_step(&app, "owner@shop.test").await;
    assert_eq!(
        code_step(&app, &challenge, &codes[3]).await.status(),
        401,
        "once"
    );
    let session = cookie_named(&signed_in, "kassa_session").unwrap();
    assert!(app
        .html_as("/admin/security", &session)
        .await
        .contains("Recovery codes left: 9"));
    // New codes replace the old ones.
    let renewed = post(&app, "/admin/security/recovery-codes", &session, &[]).await;
    let fresh: Value = renewed.json().await.unwrap();
    assert_eq!(fresh["recovery_codes"].as_array().unwrap().len(), 10);
    let challenge = password_step(&app, "owner@shop.test").await;
    assert_eq!(code_step(&app, &challenge, &codes[0]).await.status(), 401);
}

async fn a_challenge_allows_five_codes_and_then_the_password_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = account(&app, "staff@shop.test", Role::Staff, false).await;
    let (secret, _) = enrol(&app, &cookie, "staff@shop.test").await;
    let challenge = password_step(&app, "staff@shop.test").await;
    for _ in 0..app::admin::two_factor::CHALLENGE_TRIES {
        assert_eq!(code_step(&app, &challenge, "999999").await.status(), 401);
    }
    let code = code_at(&secret, now_epoch() + 30).unwrap();
    let over = code_step(&app, &challenge, &code).await;
    assert_eq!(over.status(), 401);
    let body: Value = over.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("password again"));
    // Without a challenge cookie there is nothing to answer.
    assert_eq!(code_step(&app, "", &code).await.status(), 401);
}

async fn the_owner_can_require_two_factor_of_all_staff(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, false).await;
    let (_, _) = enrol(&app, &owner, "owner@shop.test").await;
    sqlx::query("UPDATE shop_settings SET require_staff_2fa = 1")
        .execute(app.db.pool())
        .await
        .unwrap();
    // Staff without a second factor may only set one up.
    let page = app
        .get_with(
            "/admin/orders",
            &[("Cookie", &staff), ("Accept", "text/html")],
        )
        .await;
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/admin/security?required=1");
    assert_eq!(
        app.get_with("/admin/orders", &[("Cookie", &staff)])
            .await
            .status(),
        403
    );
    let api = app
        .get_with("/api/v1/admin/orders", &[("Cookie", &staff)])
        .await;
    assert_eq!(api.status(), 403);
    let action = post(&app, "/admin/variants/1/adjust", &staff, &[("delta", "1")]).await;
    assert_eq!(action.status(), 403);
    let page = app.html_as("/admin/security?required=1", &staff).await;
    assert!(page.contains("requires two-factor"));
    let (secret, _) = enrol(&app, &staff, "staff@shop.test").await;
    assert_eq!(
        app.get_with("/admin/orders", &[("Cookie", &staff)])
            .await
            .status(),
        200
    );
    // Required: it cannot be turned off.
    let code = code_at(&secret, now_epoch() + 30).unwrap();
    let off = post(&app, "/admin/security/disable", &staff, &[("code", &code)]).await;
    assert_eq!(off.status(), 422);
    // The owner with a second factor was never held up.
    assert_eq!(
        app.get_with("/admin/orders", &[("Cookie", &owner)])
            .await
            .status(),
        200
    );
}
