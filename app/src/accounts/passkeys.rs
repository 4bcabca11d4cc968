//! Passkeys (WebAuthn, by `webauthn-rs`): the quick way back for a shopper who signed in once
//! with a code. A signed-in shopper adds passkeys on `/account` (and names or removes them);
//! anyone signs in with one on `/account/sign-in` without typing an email (a discoverable
//! credential: the authenticator offers the accounts it holds for this shop).
//!
//! Each ceremony's state is kept in the database (`passkey_ceremonies`, five minutes, used
//! once), so with several servers on one database any of them can finish what another began.
//! The shop keeps only public keys; an erased account's passkeys are deleted with it, so they
//! cannot sign anyone in again.

use std::net::SocketAddr;

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid,
};
use webauthn_rs::Webauthn;

use super::http::{account_answer, body_error, form_fields, signed_in_answer, SignInResponse};
use super::service::{record_attempt, saved_passkey_from_row, start_session, Accounts, SignedIn};
use super::{AccountError, Customer, SavedPasskey};
use crate::cookies::{self, token_hash};
use crate::db::now_epoch;
use crate::error::ErrorBody;
use crate::write_queue::JobFuture;

/// How long a ceremony may take, from the options to the browser's answer.
pub const CEREMONY_SECS: i64 = 5 * 60;
/// An account holds at most this many passkeys.
pub const MAX_PASSKEYS: usize = 20;
/// Sign-in ceremonies one address may start per limits' window (each is a row until it ends).
pub const CEREMONIES_PER_ADDRESS: i64 = 100;
/// Passkeys refused from one address per limits' window before it must wait.
pub const REFUSALS_PER_ADDRESS: i64 = 50;
/// The longest name a passkey may have.
pub const MAX_NAME_CHARS: usize = 60;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Accounts: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/customer/passkeys/registration", post(start_adding))
        .route("/api/v1/customer/passkeys", post(add).get(list_passkeys))
        .route(
            "/api/v1/customer/passkeys/{id}",
            put(rename_passkey).delete(remove_passkey),
        )
        .route(
            "/api/v1/customer/sign-in/passkey/options",
            post(start_sign_in),
        )
        .route("/api/v1/customer/sign-in/passkey", post(sign_in))
        .route("/account/passkeys/{id}", post(change_passkey_form))
}

fn webauthn(accounts: &Accounts) -> Result<&Webauthn, AccountError> {
    accounts.webauthn().ok_or_else(|| {
        AccountError::BadRequest(
            "Passkeys need the shop to be served under a domain name (KASSA_PUBLIC_URL).".into(),
        )
    })
}

/// A ceremony's options for the browser, and the id to finish it with.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CeremonyStart {
    pub ceremony: String,
    /// WebAuthn's `PublicKeyCredentialCreationOptions` or `…RequestOptions` as JSON
    /// (`{"publicKey": {…}}`, binary fields in base64url).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// The browser's new credential, to add as a passkey.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPasskey {
    pub ceremony: String,
    /// A name to tell it by; "Passkey" when empty.
    #[serde(default)]
    pub name: Option<String>,
    /// The `PublicKeyCredential` from `navigator.credentials.create`, binary fields in
    /// base64url.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// The browser's assertion, to sign in with.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasskeySignIn {
    pub ceremony: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get`, binary fields in base64url.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasskeyName {
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PasskeyList {
    pub items: Vec<SavedPasskey>,
    pub next_cursor: Option<String>,
}

/// A passkey's name, trimmed: "Passkey" when empty, at most [`MAX_NAME_CHARS`] characters.
pub fn parse_name(name: Option<&str>) -> Result<String, AccountError> {
    let name = name.unwrap_or_default().trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AccountError::field(
            "name",
            &format!("A passkey's name has at most {MAX_NAME_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AccountError::field(
            "name",
            "A passkey's name cannot hold control characters.",
        ));
    }
    Ok(if name.is_empty() { "Passkey" } else { name }.to_string())
}

fn credential<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, AccountError> {
    serde_json::from_value(value).map_err(|error| {
        AccountError::field(
            "credential",
            &format!("This is not a WebAuthn credential the shop can read: {error}."),
        )
    })
}

/// Keeps a ceremony's state; the id for the browser.
async fn keep_ceremony(
    conn: &mut AnyConnection,
    customer_id: Option<i64>,
    state: String,
    now: i64,
) -> Result<String, sqlx::Error> {
    let ceremony = cookies::new_token();
    sqlx::query(
        "INSERT INTO passkey_ceremonies (id_hash, customer_id, state, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&ceremony))
    .bind(customer_id)
    .bind(state)
    .bind(now + CEREMONY_SECS)
    .execute(&mut *conn)
    .await?;
    Ok(ceremony)
}

/// Takes a ceremony's state once: it is deleted as it is read, so a replay finds nothing.
/// `None` if unknown, expired, or another customer's.
async fn take_ceremony(
    conn: &mut AnyConnection,
    ceremony: &str,
    customer_id: Option<i64>,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    if !cookies::is_token(ceremony) {
        return Ok(None);
    }
    let row = sqlx::query(
        "DELETE FROM passkey_ceremonies WHERE id_hash = $1 RETURNING customer_id, state, expires_at",
    )
    .bind(token_hash(ceremony))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owner: Option<i64> = row.try_get("customer_id")?;
    let expires_at: i64 = row.try_get("expires_at")?;
    (owner == customer_id && expires_at > now)
        .then(|| row.try_get("state"))
        .transpose()
}

/// Starts adding a passkey: the options for `navigator.credentials.create`. The account's
/// passkeys are excluded, so one authenticator is not added twice.
pub async fn start_adding_passkey(
    accounts: &Accounts,
    customer: &Customer,
) -> Result<CeremonyStart, AccountError> {
    let webauthn = webauthn(accounts)?.clone();
    let customer = customer.clone();
    let now = now_epoch();
    accounts
        .db()
        .writes()
        .run(
            move |conn| -> JobFuture<'_, Result<CeremonyStart, AccountError>> {
                Box::pin(async move {
                    let handle: Option<String> =
                        sqlx::query_scalar("SELECT passkey_handle FROM customers WHERE id = $1")
                            .bind(customer.id)
                            .fetch_one(&mut *conn)
                            .await?;
                    let handle = match handle.and_then(|h| Uuid::parse_str(&h).ok()) {
                        Some(handle) => handle,
                        None => {
                            let handle = Uuid::new_v4();
                            sqlx::query("UPDATE customers SET passkey_handle = $1 WHERE id = $2")
                                .bind(handle.to_string())
                                .bind(customer.id)
                                .execute(&mut *conn)
                                .await?;
                            handle
                        }
                    };
                    let kept = passkeys_of(conn, customer.id).await?;
                    if kept.len() >= MAX_PASSKEYS {
                        return Err(AccountError::BadRequest(format!(
                            "An account holds at most {MAX_PASSKEYS} passkeys; remove one first."
                        )));
                    }
                    let exclude = kept.iter().map(|(_, p)| p.cred_id().clone()).collect();
                    let display = if customer.name.is_empty() {
                        customer.email.clone()
                    } else {
                        customer.name.clone()
                    };
                    let (options, state) = webauthn
                        .start_passkey_registration(
                            handle,
                            &customer.email,
                            &display,
                            Some(exclude),
                        )
                        .map_err(|error| {
                            tracing::error!(%error, "could not start a passkey registration");
                            AccountError::Internal
                        })?;
                    let state =
                        serde_json::to_string(&state).map_err(|_| AccountError::Internal)?;
                    let ceremony = keep_ceremony(conn, Some(customer.id), state, now).await?;
                    Ok(CeremonyStart {
                        ceremony,
                        options: serde_json::to_value(options)
                            .map_err(|_| AccountError::Internal)?,
                    })
                })
            },
        )
        .await
}

/// Every passkey of the customer: its row id and webauthn-rs's record.
async fn passkeys_of(
    conn: &mut AnyConnection,
    customer_id: i64,
) -> Result<Vec<(i64, Passkey)>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, passkey FROM customer_passkeys WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut passkeys = Vec::with_capacity(rows.len());
    for row in &rows {
        let text: String = row.try_get("passkey")?;
        let passkey = serde_json::from_str(&text)
            .map_err(|_| crate::db::decode_error("passkey", "unreadable passkey"))?;
        passkeys.push((row.try_get("id")?, passkey));
    }
    Ok(passkeys)
}

/// A credential id as the table keeps it (base64url, as the browser names it).
fn credential_key(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// Finishes adding a passkey with the browser's new credential.
pub async fn add_passkey(
    accounts: &Accounts,
    customer: &Customer,
    input: NewPasskey,
) -> Result<SavedPasskey, AccountError> {
    let webauthn = webauthn(accounts)?.clone();
    let name = parse_name(input.name.as_deref())?;
    let credential: RegisterPublicKeyCredential = credential(input.credential)?;
    let (customer_id, ceremony) = (customer.id, input.ceremony);
    let now = now_epoch();
    accounts
        .db()
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<SavedPasskey, AccountError>> {
            Box::pin(async move {
                let Some(state) = take_ceremony(conn, &ceremony, Some(customer_id), now).await?
                else {
                    return Err(AccountError::field(
                        "ceremony",
                        "This request to add a passkey has expired or was used; start again.",
                    ));
                };
                let state: PasskeyRegistration =
                    serde_json::from_str(&state).map_err(|_| AccountError::Internal)?;
                let passkey = webauthn
                    .finish_passkey_registration(&credential, &state)
                    .map_err(|error| {
                        AccountError::field(
                            "credential",
                            &format!("The passkey could not be verified ({error})."),
                        )
                    })?;
                let key = credential_key(passkey.cred_id().as_ref());
                let taken: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM customer_passkeys WHERE credential_id = $1",
                )
                .bind(&key)
                .fetch_one(&mut *conn)
                .await?;
                if taken > 0 {
                    return Err(AccountError::field(
                        "credential",
                        "This passkey was already added.",
                    ));
                }
                let text = serde_json::to_string(&passkey).map_err(|_| AccountError::Internal)?;
                let row = sqlx::query(
                    "INSERT INTO customer_passkeys (customer_id, credential_id, name, passkey, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id, name, created_at, last_used_at",
                )
                .bind(customer_id)
                .bind(key)
                .bind(name)
                .bind(text)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
                Ok(saved_passkey_from_row(&row)?)
            })
        })
        .await
}

pub async fn rename(
    accounts: &Accounts,
    customer_id: i64,
    id: i64,
    name: &str,
) -> Result<SavedPasskey, AccountError> {
    let name = parse_name(Some(name))?;
    accounts
        .db()
        .writes()
        .run(
            move |conn| -> JobFuture<'_, Result<SavedPasskey, AccountError>> {
                Box::pin(async move {
                    let row = sqlx::query(
                    "UPDATE customer_passkeys SET name = $1 WHERE id = $2 AND customer_id = $3 \
                     RETURNING id, name, created_at, last_used_at",
                )
                .bind(name)
                .bind(id)
                .bind(customer_id)
                .fetch_optional(&mut *conn)
                .await?;
                    match row {
                        Some(row) => Ok(saved_passkey_from_row(&row)?),
                        None => Err(AccountError::NotFound("This passkey".into())),
                    }
                })
            },
        )
        .await
}

pub async fn remove(accounts: &Accounts, customer_id: i64, id: i64) -> Result<(), AccountError> {
    accounts
        .db()
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<(), AccountError>> {
            Box::pin(async move {
                let done =
                    sqlx::query("DELETE FROM customer_passkeys WHERE id = $1 AND customer_id = $2")
                        .bind(id)
                        .bind(customer_id)
                        .execute(&mut *conn)
                        .await?;
                if done.rows_affected() == 0 {
                    return Err(AccountError::NotFound("This passkey".into()));
                }
                Ok(())
            })
        })
        .await
}

/// Starts a sign-in with a passkey: options without credentials, so the authenticator offers
/// the accounts it holds for this shop.
pub async fn start_passkey_sign_in(
    accounts: &Accounts,
    address: &str,
) -> Result<CeremonyStart, AccountError> {
    let webauthn = webauthn(accounts)?.clone();
    let now = now_epoch();
    let (_, started_here) = accounts
        .recent_attempts("passkey_ceremony", "", address, now)
        .await?;
    if started_here >= CEREMONIES_PER_ADDRESS {
        return Err(AccountError::RateLimited);
    }
    let address = address.to_string();
    accounts
        .db()
        .writes()
        .run(
            move |conn| -> JobFuture<'_, Result<CeremonyStart, AccountError>> {
                Box::pin(async move {
                    let (options, state) =
                        webauthn
                            .start_discoverable_authentication()
                            .map_err(|error| {
                                tracing::error!(%error, "could not start a passkey sign-in");
                                AccountError::Internal
                            })?;
                    let state =
                        serde_json::to_string(&state).map_err(|_| AccountError::Internal)?;
                    record_attempt(conn, "passkey_ceremony", "", &address, now).await?;
                    let ceremony = keep_ceremony(conn, None, state, now).await?;
                    Ok(CeremonyStart {
                        ceremony,
                        options: serde_json::to_value(options)
                            .map_err(|_| AccountError::Internal)?,
                    })
                })
            },
        )
        .await
}

/// Signs in with a passkey's assertion; the session rotates as with a code. The signature
/// counter is kept, so a cloned authenticator replaying an old count is refused.
pub async fn sign_in_with_passkey(
    accounts: &Accounts,
    input: PasskeySignIn,
    address: &str,
    previous_token: Option<&str>,
) -> Result<SignedIn, AccountError> {
    let webauthn = webauthn(accounts)?.clone();
    let now = now_epoch();
    let (_, refused_here) = accounts
        .recent_attempts("passkey_refused", "", address, now)
        .await?;
    if refused_here >= REFUSALS_PER_ADDRESS {
        return Err(AccountError::RateLimited);
    }
    let credential: PublicKeyCredential = credential(input.credential)?;
    let token = cookies::new_token();
    let session_hash = token_hash(&token);
    let previous = previous_token.map(token_hash);
    let (address, ceremony) = (address.to_string(), input.ceremony);
    let outcome = accounts
        .db()
        .writes()
        .run(
            move |conn| -> JobFuture<'_, Result<Result<Customer, String>, AccountError>> {
                Box::pin(async move {
                    let verdict =
                        check_assertion(conn, &webauthn, &ceremony, &credential, now).await?;
                    match verdict {
                        Ok(customer) => {
                            start_session(conn, customer.id, &session_hash, previous, now).await?;
                            Ok(Ok(customer))
                        }
                        Err(refusal) => {
                            record_attempt(conn, "passkey_refused", "", &address, now).await?;
                            Ok(Err(refusal))
                        }
                    }
                })
            },
        )
        .await?;
    match outcome {
        Ok(customer) => Ok(SignedIn {
            customer,
            token,
            claimed_orders: 0,
        }),
        Err(refusal) => Err(AccountError::PasskeyRefused(refusal)),
    }
}

/// Whose passkey signed the assertion, or why it is refused (in the shopper's words).
async fn check_assertion(
    conn: &mut AnyConnection,
    webauthn: &Webauthn,
    ceremony: &str,
    credential: &PublicKeyCredential,
    now: i64,
) -> Result<Result<Customer, String>, AccountError> {
    let Some(state) = take_ceremony(conn, ceremony, None, now).await? else {
        return Ok(Err("This sign-in has expired; try again.".into()));
    };
    let state: DiscoverableAuthentication =
        serde_json::from_str(&state).map_err(|_| AccountError::Internal)?;
    let unknown = || Ok(Err("This passkey is not known to this shop.".to_string()));
    let Ok((handle, credential_id)) = webauthn.identify_discoverable_authentication(credential)
    else {
        return unknown();
    };
    let row = sqlx::query(
        "SELECT p.id AS passkey_id, p.passkey, c.id, c.email, c.name FROM customer_passkeys p \
         JOIN customers c ON c.id = p.customer_id \
         WHERE p.credential_id = $1 AND c.passkey_handle = $2 AND c.erased_at IS NULL",
    )
    .bind(credential_key(credential_id))
    .bind(handle.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return unknown();
    };
    let text: String = row.try_get("passkey")?;
    let mut passkey: Passkey = serde_json::from_str(&text).map_err(|_| AccountError::Internal)?;
    let result = match webauthn.finish_discoverable_authentication_v2(credential, state, &passkey) {
        Ok(result) => result,
        Err(error) => {
            tracing::info!(%error, "a passkey sign-in was refused");
            return Ok(Err("This passkey's signature was not accepted.".into()));
        }
    };
    passkey.update_credential(&result);
    let text = serde_json::to_string(&passkey).map_err(|_| AccountError::Internal)?;
    sqlx::query("UPDATE customer_passkeys SET passkey = $1, last_used_at = $2 WHERE id = $3")
        .bind(text)
        .bind(now)
        .bind(row.try_get::<i64, _>("passkey_id")?)
        .execute(&mut *conn)
        .await?;
    Ok(Ok(Customer {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
    }))
}

// HTTP.

fn passkey_id(text: &str) -> Result<i64, AccountError> {
    text.parse()
        .map_err(|_| AccountError::NotFound("This passkey".into()))
}

/// Start adding a passkey: the options for `navigator.credentials.create`.
#[utoipa::path(post, path = "/api/v1/customer/passkeys/registration", tag = "customer",
    operation_id = "startPasskeyRegistration", security(("customer" = [])),
    responses((status = 200, body = CeremonyStart), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn start_adding(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Json<CeremonyStart>, AccountError> {
    let customer = accounts.require(&headers).await?;
    Ok(Json(start_adding_passkey(&accounts, &customer).await?))
}

/// Finish adding a passkey with the browser's new credential.
#[utoipa::path(post, path = "/api/v1/customer/passkeys", tag = "customer",
    operation_id = "addPasskey", security(("customer" = [])), request_body = NewPasskey,
    responses((status = 201, body = SavedPasskey), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    body: Result<Json<NewPasskey>, JsonRejection>,
) -> Result<Response, AccountError> {
    let customer = accounts.require(&headers).await?;
    let Json(input) = body.map_err(body_error)?;
    let saved = add_passkey(&accounts, &customer, input).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// The account's passkeys.
#[utoipa::path(get, path = "/api/v1/customer/passkeys", tag = "customer",
    operation_id = "listPasskeys", security(("customer" = [])),
    responses((status = 200, body = PasskeyList), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_passkeys(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Json<PasskeyList>, AccountError> {
    let customer = accounts.require(&headers).await?;
    Ok(Json(PasskeyList {
        items: accounts.passkeys(customer.id).await?,
        next_cursor: None,
    }))
}

/// Rename a passkey.
#[utoipa::path(put, path = "/api/v1/customer/passkeys/{id}", tag = "customer",
    operation_id = "renamePasskey", security(("customer" = [])), request_body = PasskeyName,
    params(("id" = i64, Path)),
    responses((status = 200, body = SavedPasskey), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn rename_passkey(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<PasskeyName>, JsonRejection>,
) -> Result<Json<SavedPasskey>, AccountError> {
    let customer = accounts.require(&headers).await?;
    let id = passkey_id(&id)?;
    let Json(input) = body.map_err(body_error)?;
    Ok(Json(rename(&accounts, customer.id, id, &input.name).await?))
}

/// Remove a passkey: it can no longer sign in.
#[utoipa::path(delete, path = "/api/v1/customer/passkeys/{id}", tag = "customer",
    operation_id = "removePasskey", security(("customer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn remove_passkey(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, AccountError> {
    let customer = accounts.require(&headers).await?;
    remove(&accounts, customer.id, passkey_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start signing in with a passkey: the options for `navigator.credentials.get`.
#[utoipa::path(post, path = "/api/v1/customer/sign-in/passkey/options", tag = "customer",
    operation_id = "startPasskeySignIn",
    responses((status = 200, body = CeremonyStart), (status = 400, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub(crate) async fn start_sign_in(
    State(accounts): State<Accounts>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<CeremonyStart>, AccountError> {
    Ok(Json(
        start_passkey_sign_in(&accounts, &peer.ip().to_string()).await?,
    ))
}

/// Sign in with a passkey's assertion: the customer and a session token (and the cookie).
#[utoipa::path(post, path = "/api/v1/customer/sign-in/passkey", tag = "customer",
    operation_id = "signInWithPasskey", request_body = PasskeySignIn,
    responses((status = 200, body = SignInResponse), (status = 400, body = ErrorBody),
        (status = 401, description = "An unknown passkey, a bad signature, or an expired ceremony", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn sign_in(
    State(accounts): State<Accounts>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<PasskeySignIn>, JsonRejection>,
) -> Result<Response, AccountError> {
    let Json(input) = body.map_err(body_error)?;
    let previous = Accounts::token_of(&headers);
    let signed_in = sign_in_with_passkey(
        &accounts,
        input,
        &peer.ip().to_string(),
        previous.as_deref(),
    )
    .await?;
    Ok(signed_in_answer(&accounts, signed_in))
}

/// The account page's form on each passkey: rename, or remove (`intent=delete`).
async fn change_passkey_form(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<std::collections::HashMap<String, String>>, FormRejection>,
) -> Response {
    let outcome = async {
        let customer = accounts.require(&headers).await?;
        let id = passkey_id(&id)?;
        let fields = form_fields(form)?;
        if fields.get("intent").map(String::as_str) == Some("delete") {
            remove(&accounts, customer.id, id).await?;
            Ok("Passkey removed.")
        } else {
            let name = fields.get("name").map(String::as_str).unwrap_or_default();
            rename(&accounts, customer.id, id, name).await?;
            Ok("Passkey renamed.")
        }
    }
    .await;
    account_answer(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passkey_is_named_briefly_and_plainly() {
        assert_eq!(parse_name(None).unwrap(), "Passkey");
        assert_eq!(parse_name(Some("  Laptop ")).unwrap(), "Laptop");
        assert!(parse_name(Some(&"x".repeat(MAX_NAME_CHARS + 1))).is_err());
        assert!(parse_name(Some("a\u{0}b")).is_err());
    }

    #[test]
    fn only_a_domain_name_can_be_a_relying_party() {
        use super::super::service::relying_party;
        assert!(relying_party("https://shop.example").is_some());
        assert!(relying_party("http://localhost:3000").is_some());
        assert!(relying_party("http://127.0.0.1:3000").is_none());
        assert!(relying_party("not a url").is_none());
    }
}
