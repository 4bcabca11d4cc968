//! The checkout's public HTTP API: `POST /api/v1/cart/quote`, `POST /api/v1/checkout`,
//! `GET /api/v1/orders/{number}`, and Stripe's webhook at `POST /webhooks/stripe`.
//! Names and shapes are a contract for integrators (see `catalog/openapi.json`).

use axum::{
    body::Bytes,
    extract::{rejection::JsonRejection, Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::json;

use super::jobs::handle_stripe_event;
use super::service::Checkout;
use super::{CheckoutError, CheckoutRequest, QuoteRequest};
use crate::db::now_epoch;
use crate::payments::gateway::Gateway;
use crate::payments::webhook::{verify_signature, Event};

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Checkout: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/cart/quote", post(quote))
        .route("/api/v1/checkout", post(checkout))
        .route("/api/v1/orders/{number}", get(order))
        .route("/webhooks/stripe", post(stripe_webhook))
}

impl IntoResponse for CheckoutError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = json!({ "status": status.as_u16(), "message": self.to_string() });
        match &self {
            CheckoutError::Invalid(fields) => error["fields"] = json!(fields),
            CheckoutError::OutOfStock(shortages) => error["variants"] = json!(shortages),
            CheckoutError::Declined {
                order, order_url, ..
            } => {
                error["order"] = json!(order);
                error["order_url"] = json!(order_url);
            }
            _ => {}
        }
        (status, Json(json!({ "error": error }))).into_response()
    }
}

/// Body problems in the caller's words: malformed JSON is a 400, a missing or mistyped field 422.
fn body_error(rejection: JsonRejection) -> CheckoutError {
    match rejection {
        JsonRejection::JsonDataError(error) => {
            CheckoutError::Invalid(vec![super::address::FieldError::new(
                "body",
                error.body_text(),
            )])
        }
        other => CheckoutError::BadRequest(other.body_text()),
    }
}

async fn quote(
    State(checkout): State<Checkout>,
    body: Result<Json<QuoteRequest>, JsonRejection>,
) -> Result<Response, CheckoutError> {
    let Json(request) = body.map_err(body_error)?;
    Ok(Json(checkout.quote(request).await?).into_response())
}

async fn checkout(
    State(checkout): State<Checkout>,
    headers: HeaderMap,
    body: Result<Json<CheckoutRequest>, JsonRejection>,
) -> Result<Response, CheckoutError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Json(request) = body.map_err(body_error)?;
    let placed = checkout.place_order(request, &key).await?;
    let status = if placed.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(placed.response)).into_response();
    if placed.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The order for whoever holds its access token: `Authorization: Bearer …` or `?token=…`.
async fn order(
    State(checkout): State<Checkout>,
    Path(number): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response, CheckoutError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let Some(token) = bearer.or(query.token) else {
        let body = json!({ "error": { "status": 401, "message":
            "Send the order's access token as 'Authorization: Bearer <token>' (it is in the order link)." } });
        return Ok((StatusCode::UNAUTHORIZED, Json(body)).into_response());
    };
    let order = checkout.order_by_number(&number, token.trim()).await?;
    Ok(Json(json!({ "order": order })).into_response())
}

/// Stripe's webhook: verify, then apply at most once. A forged or stale signature is a 400
/// (Stripe shows it in its dashboard); everything verified is acknowledged with 200.
async fn stripe_webhook(
    State(checkout): State<Checkout>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Gateway::Stripe(stripe) = checkout.gateway() else {
        return (StatusCode::NOT_FOUND, "Stripe is not configured").into_response();
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Err(error) = verify_signature(&body, signature, &stripe.webhook_secret, now_epoch()) {
        tracing::warn!(%error, "rejected a Stripe webhook");
        return (
            StatusCode::BAD_REQUEST,
            format!("invalid signature: {error}"),
        )
            .into_response();
    }
    let event: Event = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not a Stripe event: {error}"),
            )
                .into_response()
        }
    };
    let id = event.id.clone();
    match handle_stripe_event(&checkout, event).await {
        Ok(changed) => {
            tracing::info!(event = %id, changed, "Stripe webhook handled");
            (StatusCode::OK, "ok").into_response()
        }
        Err(error) => {
            // A 500 makes Stripe retry later, which is what we want when the database hiccups.
            tracing::error!(%error, event = %id, "Stripe webhook failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response()
        }
    }
}
