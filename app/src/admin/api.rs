//! The admin's HTTP side: sign-in and sign-out, the action forms, the live event stream, and
//! the guard that keeps every `/admin` page behind a staff session.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::{self, SignInError};
use super::listed::ListedRouter;
use super::orders::RefundOf;
use super::respond::{form_error, outcome, return_to, urlencode, wants_html};
use super::service::Admin;
use super::two_factor;
use super::{Access, AdminError};
use crate::orders::shipments;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: axum::extract::FromRef<S>,
{
    listed_routes().into_router()
}

/// The admin's own routes, listed (see [`ListedRouter`]).
pub fn listed_routes<S>() -> ListedRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: axum::extract::FromRef<S>,
{
    ListedRouter::default()
        .post("/admin/sign-in", sign_in)
        .post("/admin/sign-in/code", sign_in_code)
        .post("/admin/sign-out", sign_out)
        .get("/admin/events", events)
        .post("/admin/orders/ship-many", ship_many)
        .post("/admin/orders/{number}/shipments", ship)
        .post(
            "/admin/orders/{number}/shipments/{shipment}/delivered",
            delivered,
        )
        .post("/admin/orders/{number}/cancel", cancel)
        .post("/admin/orders/{number}/refunds", refund)
        .post("/admin/variants/{variant}/adjust", adjust)
        .post("/admin/staff", create_staff)
}

/// Every `/admin` page but sign-in needs a staff session: a browser without one is sent to
/// sign in; anything else gets 401, and a signed-in account without a staff role 403.
pub async fn guard(State(admin): State<Admin>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let protected = (path == "/admin" || path.starts_with("/admin/"))
        && path != "/admin/sign-in"
        && request.method() == Method::GET;
    if !protected {
        return next.run(request).await;
    }
    // The Security page is where a staff member the owner requires a second factor of sets it up.
    let authorized = if path == "/admin/security" {
        admin.authorize_for_setup(request.headers()).await
    } else {
        admin.authorize(request.headers(), Access::Staff).await
    };
    match authorized {
        Ok(account) => {
            // The page's shell names who is signed in.
            request.extensions_mut().insert(account);
            let mut response = next.run(request).await;
            // Staff pages hold customer data: never cache them anywhere.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(AdminError::SetUpTwoFactor) if wants_html(request.headers()) => {
            Redirect::to("/admin/security?required=1").into_response()
        }
        Err(AdminError::Unauthorized) if wants_html(request.headers()) => {
            let next_path = request.uri().path().to_string();
            Redirect::to(&format!("/admin/sign-in?next={}", urlencode(&next_path))).into_response()
        }
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn sign_in(
    State(admin): State<Admin>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let previous = auth::token_from_cookies(&headers);
    let address = peer.ip().to_string();
    let next = safe_admin_next(&form.next);
    match auth::sign_in(
        admin.checkout().db(),
        &form.email,
        &form.password,
        &address,
        previous.as_deref(),
    )
    .await
    {
        Ok(auth::SignedIn::Session(_, token)) => signed_in(&admin, &next, &token),
        Ok(auth::SignedIn::NeedsCode(account_id)) => {
            let challenge =
                match two_factor::start_challenge(admin.checkout().db(), account_id).await {
                    Ok(challenge) => challenge,
                    Err(error) => {
                        tracing::error!(%error, "could not start a two-factor challenge");
                        return sign_in_refused(&headers, "/admin/sign-in?", SignInError::Internal);
                    }
                };
            let mut response = if wants_html(&headers) {
                Redirect::to(&format!(
                    "/admin/sign-in?step=code&next={}",
                    urlencode(&next)
                ))
                .into_response()
            } else {
                (
                    StatusCode::ACCEPTED,
                    Json(serde_json::json!({"next": "code", "message": "Enter the code from your authenticator app."})),
                )
                    .into_response()
            };
            let cookie = crate::cookies::set(
                two_factor::CHALLENGE_COOKIE,
                &challenge,
                two_factor::CHALLENGE_SECS,
                admin.secure_cookies(),
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(error) => sign_in_refused(&headers, "/admin/sign-in?", error),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
    #[serde(default)]
    next: String,
}

/// The second step of a sign-in with two-factor on: the code from the app, or a recovery code.
async fn sign_in_code(
    State(admin): State<Admin>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let next = safe_admin_next(&form.next);
    let Some(challenge) = crate::cookies::token(&headers, two_factor::CHALLENGE_COOKIE) else {
        return sign_in_refused(&headers, "/admin/sign-in?", SignInError::ChallengeOver);
    };
    let previous = auth::token_from_cookies(&headers);
    match two_factor::finish_sign_in(
        admin.checkout().db(),
        &challenge,
        &form.code,
        &peer.ip().to_string(),
        previous.as_deref(),
    )
    .await
    {
        Ok((_, token)) => {
            let mut response = signed_in(&admin, &next, &token);
            let clear = crate::cookies::clear(two_factor::CHALLENGE_COOKIE, admin.secure_cookies());
            if let Ok(value) = HeaderValue::from_str(&clear) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(SignInError::WrongCode) => sign_in_refused(
            &headers,
            &format!("/admin/sign-in?step=code&next={}&", urlencode(&next)),
            SignInError::WrongCode,
        ),
        Err(error) => sign_in_refused(&headers, "/admin/sign-in?", error),
    }
}

/// Only pages of the back office are followed after signing in.
fn safe_admin_next(next: &str) -> String {
    if next.starts_with("/admin") && !next.starts_with("//") && !next.contains(['\\', '\r', '\n']) {
        next.to_string()
    } else {
        "/admin".to_string()
    }
}

/// Signed in: to `next`, with the session cookie.
fn signed_in(admin: &Admin, next: &str, token: &str) -> Response {
    let mut response = Redirect::to(next).into_response();
    let cookie = auth::session_cookie(token, admin.secure_cookies());
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A refused sign-in: back to the form (`back` ends in `?` or `&`) with the reason, or JSON.
fn sign_in_refused(headers: &HeaderMap, back: &str, error: SignInError) -> Response {
    let status = match error {
        SignInError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        SignInError::WrongCredentials | SignInError::WrongCode | SignInError::ChallengeOver => {
            StatusCode::UNAUTHORIZED
        }
        SignInError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if wants_html(headers) {
        Redirect::to(&format!("{back}error={}", urlencode(&error.to_string()))).into_response()
    } else {
        (
            status,
            Json(serde_json::json!({"error": {"status": status.as_u16(), "message": error.to_string()}})),
        )
            .into_response()
    }
}

async fn sign_out(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    if let Some(token) = auth::token_from_cookies(&headers) {
        let _ = auth::sign_out(admin.checkout().db(), &token).await;
    }
    let mut response = Redirect::to("/admin/sign-in").into_response();
    if let Ok(value) = HeaderValue::from_str(&auth::clear_cookie(admin.secure_cookies())) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Server-sent events: `changed` whenever orders or stock change.
async fn events(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    if let Err(error) = admin.authorize(&headers, Access::Staff).await {
        return error.into_response();
    }
    let stream = changes(admin.subscribe());
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn changes(
    receiver: tokio::sync::broadcast::Receiver<&'static str>,
) -> impl futures::Stream<Item = Result<Event, Infallible>> {
    use tokio::sync::broadcast::error::RecvError;
    futures::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Ok(kind) => Some((Ok(Event::default().event(kind).data(kind)), receiver)),
            // Missed some: one "changed" covers them all.
            Err(RecvError::Lagged(_)) => Some((
                Ok(Event::default().event("changed").data("changed")),
                receiver,
            )),
            Err(RecvError::Closed) => None,
        }
    })
}

async fn ship(
    State(admin): State<Admin>,
    Path(number): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let to = format!("/admin/orders/{number}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let mut lines = Vec::new();
        for (name, value) in &form {
            if let Some(line) = name
                .strip_prefix("qty_")
                .and_then(|l| l.parse::<i64>().ok())
            {
                let quantity = value.trim();
                if quantity.is_empty() {
                    continue;
                }
                let quantity = quantity
                    .parse::<u32>()
                    .map_err(|_| AdminError::Invalid(format!("'{quantity}' is not a quantity.")))?;
                lines.push((line, quantity));
            }
        }
        let carrier = form.get("carrier").map(String::as_str).unwrap_or_default();
        let tracking = form
            .get("tracking_number")
            .map(String::as_str)
            .unwrap_or_default();
        admin
            .create_shipment(&account, &number, lines, carrier, tracking)
            .await?;
        Ok("Shipment created; the customer was emailed.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

/// Ships several orders from tracking numbers pasted as a sheet (see
/// [`shipments::parse_tracking_sheet`]), back to the order list.
async fn ship_many(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<ShipManyForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(form) = form.map_err(form_error)?;
        let sheet = shipments::parse_tracking_sheet(&form.tracking).map_err(|problems| {
            AdminError::Invalid(format!("Nothing was shipped. {}.", problems.join("; ")))
        })?;
        let shipped = admin.ship_many(&account, sheet).await?;
        let orders = if shipped == 1 { "order" } else { "orders" };
        Ok(format!(
            "{shipped} {orders} shipped; the customers were emailed."
        ))
    }
    .await;
    outcome(&headers, "/admin/orders", result)
}

#[derive(Deserialize)]
struct ShipManyForm {
    #[serde(default)]
    tracking: String,
}

async fn delivered(
    State(admin): State<Admin>,
    Path((number, shipment)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    let to = format!("/admin/orders/{number}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        admin.mark_delivered(&account, &number, shipment).await?;
        Ok("Marked as delivered.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

async fn cancel(
    State(admin): State<Admin>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Response {
    let to = format!("/admin/orders/{number}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        admin.cancel(&account, &number).await?;
        Ok("Order cancelled.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

#[derive(Deserialize)]
struct RefundForm {
    /// In the currency's major units as typed ("12.50"), parsed as decimal text; or empty
    /// when units of a line are refunded.
    #[serde(default)]
    amount: String,
    /// An order line's id, to refund `units` of it at what they were paid.
    #[serde(default)]
    line: String,
    #[serde(default)]
    units: String,
    key: String,
    #[serde(default)]
    reason: String,
}

async fn refund(
    State(admin): State<Admin>,
    Path(number): Path<String>,
    headers: HeaderMap,
    form: Result<Form<RefundForm>, FormRejection>,
) -> Response {
    let to = format!("/admin/orders/{number}");
    let result = async {
        let account = admin.authorize(&headers, Access::Refunds).await?;
        let Form(form) = form.map_err(form_error)?;
        let of = if form.line.trim().is_empty() {
            // Typed in the order's currency: "500" on a yen order is ¥500.
            let currency = admin.order_currency(&number).await?;
            let amount = crate::money::Money::parse(&form.amount, currency)
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
            RefundOf::Amount(amount.amount)
        } else {
            let line = form
                .line
                .trim()
                .parse::<i64>()
                .map_err(|_| AdminError::Invalid("Choose a line of this order.".into()))?;
            let units = form
                .units
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|u| (1..=crate::checkout::MAX_LINE_QUANTITY).contains(u))
                .ok_or_else(|| AdminError::Invalid("Enter how many units to refund.".into()))?;
            RefundOf::Lines(vec![(line, units)])
        };
        admin
            .refund_of(&account, &number, of, &form.key, &form.reason)
            .await?;
        Ok("Refund made.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

#[derive(Deserialize)]
struct AdjustForm {
    reason: String,
    quantity: String,
    #[serde(default)]
    note: String,
    version: i64,
    /// The page to return to when it is the inventory table (filters and page kept); the
    /// variant's own page otherwise.
    #[serde(default)]
    back: String,
}

async fn adjust(
    State(admin): State<Admin>,
    Path(variant): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<AdjustForm>, FormRejection>,
) -> Response {
    let to = form
        .as_ref()
        .ok()
        .and_then(|Form(f)| return_to(&f.back, "/admin/inventory"))
        .map_or_else(|| format!("/admin/variants/{variant}"), str::to_string);
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(form) = form.map_err(form_error)?;
        let quantity = form.quantity.trim().parse::<i64>().map_err(|_| {
            AdminError::Invalid(format!("'{}' is not a whole number.", form.quantity))
        })?;
        admin
            .adjust_stock(
                &account,
                variant,
                &form.reason,
                quantity,
                &form.note,
                form.version,
            )
            .await?;
        Ok("Stock updated.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

#[derive(Deserialize)]
struct StaffForm {
    email: String,
    password: String,
    #[serde(default)]
    can_refund: Option<String>,
    #[serde(default)]
    can_privacy: Option<String>,
    #[serde(default)]
    can_support: Option<String>,
    #[serde(default)]
    can_analytics: Option<String>,
}

async fn create_staff(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<StaffForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        admin
            .create_staff(
                &account,
                &form.email,
                &form.password,
                crate::admin::service::StaffPermissions {
                    refund: form.can_refund.is_some(),
                    privacy: form.can_privacy.is_some(),
                    support: form.can_support.is_some(),
                    analytics: form.can_analytics.is_some(),
                },
            )
            .await?;
        Ok(format!("Account for {} created.", form.email.trim()))
    }
    .await;
    outcome(&headers, "/admin/staff", result)
}
