//! Passkeys and email preferences over HTTP on both databases. The authenticator is
//! webauthn-authenticator-rs's software passkey (real keys, real signatures), answering the
//! options the shop sends as a browser would.

use serde_json::{json, Value};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

use crate::accounts::{send, signed_in};
use crate::helpers::{spawn_app, spawn_app_with, Backend, Options, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_passkey_added_once_signs_the_shopper_in_again,
    a_passkey_is_refused_when_replayed_forged_or_removed,
    passkeys_belong_to_their_customer_and_go_with_the_account,
    a_shop_on_an_ip_address_offers_no_passkeys,
    email_preferences_record_consent_and_never_assume_it,
);

/// The address the shop is served under in these tests (a domain name, as passkeys need;
/// requests still go to the test server's own address).
const SHOP: &str = "http://localhost";

async fn shop(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            env: vec![("KASSA_PUBLIC_URL", SHOP.to_string())],
            ..Options::default()
        },
    )
    .await
}

fn origin() -> url::Url {
    url::Url::parse(SHOP).unwrap()
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    match token {
        Some(token) => send(app, reqwest::Method::POST, path, token, Some(body)).await,
        None => app.post_json(path, &body, &[]).await,
    }
}

/// Adds a passkey held by `authenticator` to the signed-in shopper; the passkey as listed and
/// the user handle the shop gave the authenticator.
async fn add_passkey(
    app: &TestApp,
    token: &str,
    authenticator: &mut SoftPasskey,
    name: &str,
) -> (Value, Vec<u8>) {
    let (status, start) = post(
        app,
        "/api/v1/customer/passkeys/registration",
        Some(token),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let options: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let handle = options.public_key.user.id.to_vec();
    let credential = authenticator.do_registration(origin(), options).unwrap();
    let (status, saved) = post(
        app,
        "/api/v1/customer/passkeys",
        Some(token),
        json!({ "ceremony": start["ceremony"], "name": name, "credential": credential }),
    )
    .await;
    assert_eq!(status, 201, "{saved}");
    (saved, handle)
}

/// What the browser sends to sign in: the authenticator's assertion for the shop's options.
/// A discoverable credential names its user; the software passkey does not keep one, so the
/// user handle the shop gave it at registration is added here, as a platform passkey would.
async fn assertion(
    app: &TestApp,
    authenticator: &mut SoftPasskey,
    credential_id: &[u8],
    handle: &[u8],
) -> (String, PublicKeyCredential) {
    let (status, start) = post(
        app,
        "/api/v1/customer/sign-in/passkey/options",
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let mut options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    assert!(
        options.public_key.allow_credentials.is_empty(),
        "discoverable: no email first"
    );
    options.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: credential_id.to_vec(),
        transports: None,
    }];
    let mut credential = authenticator.do_authentication(origin(), options).unwrap();
    credential.response.user_handle = Some(handle.to_vec());
    (start["ceremony"].as_str().unwrap().to_string(), credential)
}

async fn sign_in_with(
    app: &TestApp,
    ceremony: &str,
    credential: &PublicKeyCredential,
) -> (u16, Value) {
    post(
        app,
        "/api/v1/customer/sign-in/passkey",
        None,
        json!({ "ceremony": ceremony, "credential": credential }),
    )
    .await
}

fn credential_id_of(credential: &PublicKeyCredential) -> Vec<u8> {
    credential.raw_id.to_vec()
}

async fn a_passkey_added_once_signs_the_shopper_in_again(backend: Backend) {
    let app = shop(backend).await;
    let token = signed_in(&app, "ada@example.com").await;
    let mut laptop = SoftPasskey::new(true);
    let (saved, handle) = add_passkey(&app, &token, &mut laptop, "  Laptop ").await;
    assert_eq!(saved["name"], "Laptop");
    assert!(saved["last_used_at"].is_null());

    // The first assertion tells the credential id (the software passkey holds only this one).
    let (status, start) = post(
        &app,
        "/api/v1/customer/sign-in/passkey/options",
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let mut options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let registered: Vec<String> = sqlx::query_scalar("SELECT credential_id FROM customer_passkeys")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    use base64::Engine;
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&registered[0])
        .unwrap();
    options.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: id.clone(),
        transports: None,
    }];
    let mut credential = laptop.do_authentication(origin(), options).unwrap();
    assert_eq!(credential_id_of(&credential), id);
    credential.response.user_handle = Some(handle.clone());
    let (status, body) = sign_in_with(&app, start["ceremony"].as_str().unwrap(), &credential).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["customer"]["email"], "ada@example.com");
    let new_token = body["token"].as_str().unwrap();
    let (status, me) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/customer",
        new_token,
        None,
    )
    .await;
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some("ada@example.com"))
    );

    // A second sign-in works too, and the list shows when it was last used.
    let (ceremony, credential) = assertion(&app, &mut laptop, &id, &handle).await;
    assert_eq!(sign_in_with(&app, &ceremony, &credential).await.0, 200);
    let (_, list) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/customer/passkeys",
        &token,
        None,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0]["last_used_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
}

/// The one credential id of the shop's only passkey.
async fn only_credential_id(app: &TestApp) -> Vec<u8> {
    use base64::Engine;
    let id: String = sqlx::query_scalar("SELECT credential_id FROM customer_passkeys")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .unwrap()
}

async fn a_passkey_is_refused_when_replayed_forged_or_removed(backend: Backend) {
    let app = shop(backend).await;
    let token = signed_in(&app, "ada@example.com").await;
    let mut laptop = SoftPasskey::new(true);
    let (saved, handle) = add_passkey(&app, &token, &mut laptop, "Laptop").await;
    let id = only_credential_id(&app).await;

    // A ceremony is used once: the same assertion again is refused.
    let (ceremony, credential) = assertion(&app, &mut laptop, &id, &handle).await;
    assert_eq!(sign_in_with(&app, &ceremony, &credential).await.0, 200);
    let (status, body) = sign_in_with(&app, &ceremony, &credential).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));

    // A signature over other data, or another user's handle, is refused.
    let (ceremony, mut forged) = assertion(&app, &mut laptop, &id, &handle).await;
    let mut signature = forged.response.signature.to_vec();
    let last = signature.len() - 1;
    signature[last] ^= 1;
    forged.response.signature = signature;
    assert_eq!(sign_in_with(&app, &ceremony, &forged).await.0, 401);
    let (ceremony, mut stranger) = assertion(&app, &mut laptop, &id, &handle).await;
    stranger.response.user_handle = Some(vec![7u8; 16]);
    let (status, body) = sign_in_with(&app, &ceremony, &stranger).await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not known"));

    // An unknown ceremony, and credentials that are not credentials.
    let (_, credential) = assertion(&app, &mut laptop, &id, &handle).await;
    assert_eq!(
        sign_in_with(&app, &"0".repeat(64), &credential).await.0,
        401
    );
    for bad in [
        json!({}),
        json!({"ceremony": "x", "credential": 5}),
        json!("nope"),
    ] {
        let (status, body) = post(&app, "/api/v1/customer/sign-in/passkey", None, bad).await;
        assert!(status == 400 || status == 422, "{status} {body}");
    }
    let (status, body) = post(
        &app,
        "/api/v1/customer/passkeys",
        Some(&token),
        json!({ "ceremony": "x", "credential": {"id": 1} }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "credential");

    // Removed, it signs nobody in.
    let path = format!("/api/v1/customer/passkeys/{}", saved["id"]);
    let (status, _) = send(&app, reqwest::Method::DELETE, &path, &token, None).await;
    assert_eq!(status, 204);
    let (ceremony, credential) = assertion(&app, &mut laptop, &id, &handle).await;
    assert_eq!(sign_in_with(&app, &ceremony, &credential).await.0, 401);
}

async fn passkeys_belong_to_their_customer_and_go_with_the_account(backend: Backend) {
    let app = shop(backend).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let bob = signed_in(&app, "bob@example.com").await;
    let mut laptop = SoftPasskey::new(true);
    let (saved, handle) = add_passkey(&app, &ada, &mut laptop, "Laptop").await;
    let id = only_credential_id(&app).await;
    let path = format!("/api/v1/customer/passkeys/{}", saved["id"]);

    // Bob can neither see, rename nor remove it; Ada can rename it, within limits.
    let (_, bobs) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/customer/passkeys",
        &bob,
        None,
    )
    .await;
    assert_eq!(bobs["items"], json!([]));
    let rename = json!({ "name": "Bob's now" });
    assert_eq!(
        send(
            &app,
            reqwest::Method::PUT,
            &path,
            &bob,
            Some(rename.clone())
        )
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
    let (status, renamed) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        &ada,
        Some(json!({ "name": "Work laptop" })),
    )
    .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("Work laptop"))
    );
    let long = json!({ "name": "x".repeat(61) });
    let (status, body) = send(&app, reqwest::Method::PUT, &path, &ada, Some(long)).await;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (422, Some("name"))
    );
    let (status, _) = send(
        &app,
        reqwest::Method::PUT,
        "/api/v1/customer/passkeys/x",
        &ada,
        Some(rename),
    )
    .await;
    assert_eq!(status, 404);

    // Adding the same authenticator again is refused by the authenticator itself (it is
    // excluded in the options).
    let (_, start) = post(
        &app,
        "/api/v1/customer/passkeys/registration",
        Some(&ada),
        json!({}),
    )
    .await;
    let excluded = start["options"]["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(excluded, 1);

    // A ceremony started for Ada cannot be finished by Bob.
    let options: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let credential = SoftPasskey::new(true)
        .do_registration(origin(), options)
        .unwrap();
    let (status, body) = post(
        &app,
        "/api/v1/customer/passkeys",
        Some(&bob),
        json!({ "ceremony": start["ceremony"], "credential": credential }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (422, Some("ceremony"))
    );

    // Deleting the account deletes its passkeys: they sign nobody in any more.
    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/customer",
        &ada,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (ceremony, credential) = assertion(&app, &mut laptop, &id, &handle).await;
    assert_eq!(sign_in_with(&app, &ceremony, &credential).await.0, 401);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customer_passkeys")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

async fn a_shop_on_an_ip_address_offers_no_passkeys(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_in(&app, "ada@example.com").await;
    let (status, body) = post(
        &app,
        "/api/v1/customer/passkeys/registration",
        Some(&token),
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("domain name"));
    let page = app.html("/account/sign-in").await;
    assert!(!page.contains("passkey-sign-in"));
}

async fn email_preferences_record_consent_and_never_assume_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_in(&app, "ada@example.com").await;
    let path = "/api/v1/customer/preferences";
    let (status, preferences) = send(&app, reqwest::Method::GET, path, &token, None).await;
    assert_eq!(
        (status, preferences),
        (200, json!({ "news": false })),
        "never assumed"
    );
    let (status, _) = send(
        &app,
        reqwest::Method::PUT,
        path,
        &token,
        Some(json!({ "news": true })),
    )
    .await;
    assert_eq!(status, 200);
    // The account's box is the newsletter's consent: one record per address, with when, where
    // and the wording; confirmed at once (signing in proved the address).
    let record = || async {
        sqlx::query_as::<_, (String, String, String, Option<i64>)>(
            "SELECT status, source, wording, confirmed_at FROM newsletter_subscribers \
             WHERE email = 'ada@example.com'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap()
    };
    let (status, source, wording, consented) = record().await;
    assert_eq!(
        (status.as_str(), source.as_str(), wording.as_str()),
        (
            "subscribed",
            "account",
            app::promotions::newsletter::WORDING
        )
    );
    assert!(consented.is_some(), "the consent's date is kept");
    assert_eq!(
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'newsletter_confirmation'"
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap(),
        0,
        "no confirmation email for a proven address"
    );
    // Saying yes again keeps the first date.
    send(
        &app,
        reqwest::Method::PUT,
        path,
        &token,
        Some(json!({ "news": true })),
    )
    .await;
    assert_eq!(record().await.3, consented);
    let (_, now) = send(&app, reqwest::Method::GET, path, &token, None).await;
    assert_eq!(now, json!({ "news": true }));
    let (status, _) = send(
        &app,
        reqwest::Method::PUT,
        path,
        &token,
        Some(json!({ "news": false })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        send(&app, reqwest::Method::GET, path, &token, None).await.1,
        json!({ "news": false })
    );
    assert_eq!(
        record().await.0,
        "unsubscribed",
        "the withdrawal is kept too"
    );
    for bad in [json!({}), json!({ "news": "yes" }), json!({ "news": null })] {
        let (status, body) =
            send(&app, reqwest::Method::PUT, path, &token, Some(bad.clone())).await;
        assert_eq!(status, 422, "{bad} → {body}");
    }
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
