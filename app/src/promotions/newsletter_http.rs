//! The newsletter's routes: the API's sign-up, the footer's form, and the buttons the emailed
//! links lead to (see [`super::newsletter`] for the rules and the records).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::newsletter::ssr::{ask, confirm, unsubscribe, unsubscribe_address};
use super::newsletter::Source;
use crate::checkout::address::{validate_email, FieldError};
use crate::checkout::service::Checkout;
use crate::db::now_epoch;
use crate::notifications;
use crate::write_queue::JobFuture;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Checkout: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/newsletter", post(sign_up_api))
        .route("/newsletter", post(sign_up_form))
        .route("/newsletter/confirm", post(confirm_form))
        .route("/newsletter/unsubscribe", post(unsubscribe_form))
}

async fn sign_up(checkout: &Checkout, email: &str, source: Source) -> Result<(), Response> {
    let email = validate_email(email).map_err(|field| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"error": {"status": 422, "message": field.message, "fields": [field]}})),
        )
            .into_response()
    })?;
    let rules = checkout.rules().await.map_err(|_| internal())?;
    let (site, shop) = (checkout.site_url().to_string(), rules.shop_name.clone());
    checkout
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move { ask(conn, &email, source, &site, &shop, now_epoch()).await })
        })
        .await
        .map_err(|_| internal())?;
    notifications::wake_sender();
    Ok(())
}

fn internal() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({"error": {"status": 500, "message": "something went wrong on our side; please try again in a moment", "fields": []}})),
    )
        .into_response()
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignUp {
    email: String,
}

/// Sign up for the newsletter: a confirmation email goes to the address (double opt-in).
/// The same answer whether it was subscribed already or not.
#[utoipa::path(post, path = "/api/v1/newsletter", tag = "newsletter",
    request_body = SignUp,
    responses((status = 202, description = "Asked: the address gets a link to confirm"), (status = 400, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn sign_up_api(
    State(checkout): State<Checkout>,
    body: Result<Json<SignUp>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let status = if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_REQUEST
            };
            let field = FieldError::new("body", rejection.body_text());
            return (
                status,
                Json(serde_json::json!({"error": {"status": status.as_u16(), "message": rejection.body_text(), "fields": [field]}})),
            )
                .into_response();
        }
    };
    match sign_up(&checkout, &body.email, Source::Api).await {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({"message": "If the address can get our newsletter, a link to confirm is on its way."})),
        )
            .into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

fn back(query: &str) -> Response {
    Redirect::to(&format!("/newsletter?{query}")).into_response()
}

fn said(text: &str) -> String {
    format!("error={}", crate::admin::respond::urlencode(text))
}

async fn sign_up_form(
    State(checkout): State<Checkout>,
    form: Result<Form<EmailForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let email = form.map(|Form(f)| f.email).unwrap_or_default();
    match sign_up(&checkout, &email, Source::Footer).await {
        Ok(()) => back("sent=1"),
        Err(response) if response.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            back(&said("Enter an email address like name@example.com."))
        }
        Err(response) => response,
    }
}

#[derive(Deserialize, Default)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize, Default)]
struct TokenForm {
    #[serde(default)]
    token: String,
    /// RFC 8058: a mail client's one-click unsubscribe sends `List-Unsubscribe=One-Click`.
    #[serde(default, rename = "List-Unsubscribe")]
    one_click: String,
}

async fn confirm_form(
    State(checkout): State<Checkout>,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let token = form.map(|Form(f)| f.token).unwrap_or_default();
    let done = checkout
        .writes()
        .run(
            move |conn| -> JobFuture<'_, Result<Option<String>, sqlx::Error>> {
                Box::pin(async move { confirm(conn, &token, now_epoch()).await })
            },
        )
        .await;
    match done {
        Ok(Some(_)) => back("confirmed=1"),
        Ok(None) => back(&said(
            "This link is not valid any more (a newer email has the current one). Sign up again below.",
        )),
        Err(_) => internal(),
    }
}

/// Unsubscribes by the token in the link (`?token=`, as `List-Unsubscribe` carries it) or
/// in the page's form. A mail client's one-click POST gets a plain 200.
async fn unsubscribe_form(
    State(checkout): State<Checkout>,
    Query(query): Query<TokenQuery>,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let one_click = form.one_click == "One-Click";
    let token = if form.token.is_empty() {
        query.token
    } else {
        form.token
    };
    // A marketing email's link carries a signed address (`e.…`) rather than a stored token;
    // only those need the server's key.
    let signed = if token.trim().starts_with("e.") {
        match checkout.gift_card_key().await {
            Ok(key) => super::reminders::ssr::signed_email(key, &token),
            Err(_) => return internal(),
        }
    } else {
        None
    };
    let done = checkout
        .writes()
        .run(
            move |conn| -> JobFuture<'_, Result<Option<String>, sqlx::Error>> {
                Box::pin(async move {
                    match signed {
                        Some(email) => unsubscribe_address(conn, &email, now_epoch()).await,
                        None => unsubscribe(conn, &token, now_epoch()).await,
                    }
                })
            },
        )
        .await;
    match (done, one_click) {
        (Ok(Some(_)), true) => (StatusCode::OK, "Unsubscribed.").into_response(),
        (Ok(None), true) => (StatusCode::NOT_FOUND, "Unknown link.").into_response(),
        (Ok(Some(_)), false) => back("unsubscribed=1"),
        (Ok(None), false) => back(&said("This link is not valid; nothing was changed.")),
        (Err(_), _) => internal(),
    }
}
