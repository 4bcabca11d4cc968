//! Accounts over HTTP: the JSON API for headless shops (`/api/v1/customer/…`, a session token
//! as `Authorization: Bearer` or the cookie), the forms of the account pages (which work
//! without JavaScript and come back with a notice), and [`recognise`], which tells pages who
//! is signed in.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::http::{
    account_answer, back_to, body_error, form_fields, said, set_cookies, signed_in_answer,
    SignInResponse,
};
use super::service::{address_from_form, Accounts};
use super::{
    safe_next, AccountError, AccountOrder, AddressInput, Customer, EmailPreferences, SavedAddress,
};
use crate::error::ErrorBody;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Accounts: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/customer/sign-in/code", post(send_code))
        .route("/api/v1/customer/sign-in", post(sign_in))
        .route("/api/v1/customer/sign-out", post(sign_out))
        .route("/api/v1/customer", get(customer).delete(delete_account))
        .route("/api/v1/customer/export", get(export))
        .route("/api/v1/customer/orders", get(orders))
        .route(
            "/api/v1/customer/addresses",
            get(addresses).post(add_address),
        )
        .route(
            "/api/v1/customer/addresses/{id}",
            put(update_address).delete(delete_address),
        )
        .route("/account/sign-in/code", post(send_code_form))
        .route("/account/sign-in", post(sign_in_form))
        .route("/account/sign-out", post(sign_out_form))
        .route("/account/export", get(export))
        .route("/account/delete", post(delete_account_form))
        .route("/account/addresses", post(add_address_form))
        .route("/account/addresses/{id}", post(change_address_form))
        .route("/account/preferences", post(preferences_form))
        .route(
            "/api/v1/customer/preferences",
            get(preferences).put(set_preferences),
        )
}

/// Pages for a signed-in shopper are theirs alone: the shopper goes into the request (pages
/// read it with [`super::signed_in`]) and the answer is never stored by a shared cache. A
/// stale or unknown session cookie is removed.
pub async fn recognise(
    State(accounts): State<Accounts>,
    mut request: Request,
    next: Next,
) -> Response {
    let page = request.method() == Method::GET
        && !["/api/", "/pkg/", "/media/", "/admin"]
            .iter()
            .any(|prefix| request.uri().path().starts_with(prefix));
    if !page || crate::cookies::token(request.headers(), super::COOKIE).is_none() {
        return next.run(request).await;
    }
    let customer = match accounts.customer_of(request.headers()).await {
        Ok(customer) => customer,
        Err(error) => {
            tracing::error!(%error, "could not read a shopper's session");
            None
        }
    };
    let signed_in = customer.is_some();
    let hinted =
        crate::cookies::value(request.headers(), super::SIGNED_IN_HINT).as_deref() == Some("1");
    if let Some(customer) = customer {
        request.extensions_mut().insert(customer);
    }
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if !signed_in {
        set_cookies(&mut response, accounts.clear_cookies());
    } else if !hinted {
        // A session from before the hint existed: the cart learns it can sync.
        set_cookies(&mut response, [accounts.hint_cookie()]);
    }
    response
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    pub email: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignInRequest {
    pub email: String,
    /// The six digits from the email.
    pub code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CustomerOrderList {
    pub items: Vec<AccountOrder>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AddressList {
    pub items: Vec<SavedAddress>,
    pub next_cursor: Option<String>,
}

/// Send a sign-in code to an email.
#[utoipa::path(post, path = "/api/v1/customer/sign-in/code", tag = "customer", operation_id = "sendSignInCode",
    request_body = CodeRequest,
    responses(
        (status = 202, description = "A code is on its way if the address can receive email; the answer is the same whether or not it has an account."),
        (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "Too many codes asked for this email or from this address", body = ErrorBody),
    ))]
pub(crate) async fn send_code(
    State(accounts): State<Accounts>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<CodeRequest>, JsonRejection>,
) -> Result<Response, AccountError> {
    let Json(request) = body.map_err(body_error)?;
    accounts
        .send_code(&request.email, &peer.ip().to_string())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message": "If the address can receive email, a code is on its way. It works for 10 minutes." })),
    )
        .into_response())
}

/// Sign in with the code: makes the account on its first code.
#[utoipa::path(post, path = "/api/v1/customer/sign-in", tag = "customer", operation_id = "signIn",
    request_body = SignInRequest,
    responses(
        (status = 200, body = SignInResponse),
        (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, description = "A wrong code (`error.tries_left` says how many tries remain), or an expired or used one", body = ErrorBody),
        (status = 429, description = "The code's tries are spent, or too many wrong codes from this address", body = ErrorBody),
    ))]
pub(crate) async fn sign_in(
    State(accounts): State<Accounts>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignInRequest>, JsonRejection>,
) -> Result<Response, AccountError> {
    let Json(request) = body.map_err(body_error)?;
    let previous = Accounts::token_of(&headers);
    let signed_in = accounts
        .sign_in_with_code(
            &request.email,
            &request.code,
            &peer.ip().to_string(),
            previous.as_deref(),
        )
        .await?;
    Ok(signed_in_answer(&accounts, signed_in))
}

/// End the session (the token stops working).
#[utoipa::path(post, path = "/api/v1/customer/sign-out", tag = "customer", operation_id = "signOut", security(("customer" = [])),
    responses((status = 204, description = "Signed out (also when the session had already ended)")))]
pub(crate) async fn sign_out(State(accounts): State<Accounts>, headers: HeaderMap) -> Response {
    end_session(&accounts, &headers).await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookies(&mut response, accounts.clear_cookies());
    response
}

/// The signed-in customer.
#[utoipa::path(get, path = "/api/v1/customer", tag = "customer", operation_id = "getCustomer", security(("customer" = [])),
    responses((status = 200, body = Customer), (status = 401, body = ErrorBody)))]
pub(crate) async fn customer(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Json<Customer>, AccountError> {
    Ok(Json(accounts.require(&headers).await?))
}

/// Everything the shop holds about the customer, as a JSON file.
#[utoipa::path(get, path = "/api/v1/customer/export", tag = "customer", operation_id = "exportCustomerData", security(("customer" = [])),
    responses((status = 200, description = "Every table's rows about the customer: profile, addresses, orders with lines and payments, sign-in codes and emails sent", content_type = "application/json"), (status = 401, body = ErrorBody)))]
pub(crate) async fn export(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Response, AccountError> {
    let customer = accounts.require(&headers).await?;
    let mut response = Json(accounts.export(&customer).await?).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"my-data.json\""),
    );
    Ok(response)
}

/// Delete the account: personal data erased, orders kept for the books without it.
#[utoipa::path(delete, path = "/api/v1/customer", tag = "customer", operation_id = "deleteCustomer", security(("customer" = [])),
    responses((status = 204, description = "Erased; the token no longer works"), (status = 401, body = ErrorBody)))]
pub(crate) async fn delete_account(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Response, AccountError> {
    let customer = accounts.require(&headers).await?;
    accounts.delete_account(&customer).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookies(&mut response, accounts.clear_cookies());
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct Cursor {
    #[serde(default)]
    cursor: Option<String>,
}

/// The customer's orders, newest first, twenty to a page.
#[utoipa::path(get, path = "/api/v1/customer/orders", tag = "customer", operation_id = "listCustomerOrders", security(("customer" = [])),
    params(("cursor" = Option<String>, Query, description = "`next_cursor` of the page before")),
    responses((status = 200, body = CustomerOrderList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn orders(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    query: Result<Query<Cursor>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CustomerOrderList>, AccountError> {
    let customer = accounts.require(&headers).await?;
    let Query(Cursor { cursor }) =
        query.map_err(|rejection| AccountError::BadRequest(rejection.body_text()))?;
    let before = match cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| {
                    AccountError::field("cursor", "This is not a cursor from the order list.")
                })?,
        ),
    };
    let (items, next_cursor) = accounts.orders(customer.id, before).await?;
    Ok(Json(CustomerOrderList { items, next_cursor }))
}

/// The address book, the default first.
#[utoipa::path(get, path = "/api/v1/customer/addresses", tag = "customer", operation_id = "listAddresses", security(("customer" = [])),
    responses((status = 200, body = AddressList), (status = 401, body = ErrorBody)))]
pub(crate) async fn addresses(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Json<AddressList>, AccountError> {
    let customer = accounts.require(&headers).await?;
    Ok(Json(AddressList {
        items: accounts.addresses(customer.id).await?,
        next_cursor: None,
    }))
}

/// Add an address; the first becomes the default.
#[utoipa::path(post, path = "/api/v1/customer/addresses", tag = "customer", operation_id = "addAddress", security(("customer" = [])),
    request_body = AddressInput,
    responses((status = 201, body = SavedAddress), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_address(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    body: Result<Json<AddressInput>, JsonRejection>,
) -> Result<Response, AccountError> {
    let customer = accounts.require(&headers).await?;
    let Json(input) = body.map_err(body_error)?;
    let saved = accounts.add_address(customer.id, input).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// Change an address (another customer's is not found).
#[utoipa::path(put, path = "/api/v1/customer/addresses/{id}", tag = "customer", operation_id = "updateAddress", security(("customer" = [])),
    params(("id" = i64, Path)), request_body = AddressInput,
    responses((status = 200, body = SavedAddress), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_address(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<AddressInput>, JsonRejection>,
) -> Result<Json<SavedAddress>, AccountError> {
    let customer = accounts.require(&headers).await?;
    let id = address_id(&id)?;
    let Json(input) = body.map_err(body_error)?;
    Ok(Json(accounts.update_address(customer.id, id, input).await?))
}

/// Delete an address; if it was the default, the oldest left becomes the default.
#[utoipa::path(delete, path = "/api/v1/customer/addresses/{id}", tag = "customer", operation_id = "deleteAddress", security(("customer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_address(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, AccountError> {
    let customer = accounts.require(&headers).await?;
    accounts
        .delete_address(customer.id, address_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An address id from the path: anything but a positive number names no address.
fn address_id(text: &str) -> Result<i64, AccountError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AccountError::NotFound(format!("Address {text}")))
}

async fn end_session(accounts: &Accounts, headers: &HeaderMap) {
    if let Some(token) = Accounts::token_of(headers) {
        if let Err(error) = accounts.sign_out(&token).await {
            tracing::error!(%error, "could not end a shopper's session");
        }
    }
}

async fn send_code_form(
    State(accounts): State<Accounts>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let fields = match form_fields(form) {
        Ok(fields) => fields,
        Err(error) => return back_to("/account/sign-in", &[("error", &said(&error))]),
    };
    let email = fields.get("email").map(String::as_str).unwrap_or_default();
    let next = safe_next(fields.get("next").map(String::as_str).unwrap_or_default());
    match accounts.send_code(email, &peer.ip().to_string()).await {
        Ok(()) => back_to(
            "/account/sign-in",
            &[("email", email.trim()), ("sent", "1"), ("next", &next)],
        ),
        Err(error) => back_to(
            "/account/sign-in",
            &[
                ("email", email.trim()),
                ("error", &said(&error)),
                ("next", &next),
            ],
        ),
    }
}

async fn sign_in_form(
    State(accounts): State<Accounts>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let fields = match form_fields(form) {
        Ok(fields) => fields,
        Err(error) => return back_to("/account/sign-in", &[("error", &said(&error))]),
    };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let next = safe_next(field("next"));
    let previous = Accounts::token_of(&headers);
    match accounts
        .sign_in_with_code(
            field("email"),
            field("code"),
            &peer.ip().to_string(),
            previous.as_deref(),
        )
        .await
    {
        Ok(signed_in) => {
            let mut response = Redirect::to(&next).into_response();
            set_cookies(&mut response, accounts.session_cookies(&signed_in.token));
            response
        }
        Err(error) => {
            // A spent or expired code needs a new one: back to the email step.
            let sent = if matches!(error, AccountError::WrongCode { .. }) {
                "1"
            } else {
                ""
            };
            back_to(
                "/account/sign-in",
                &[
                    ("email", field("email").trim()),
                    ("sent", sent),
                    ("error", &said(&error)),
                    ("next", &next),
                ],
            )
        }
    }
}

/// Signing out in a browser also empties its cart and everything else the shop kept in it
/// (a shared computer keeps nothing of the shopper): `Clear-Site-Data: "storage"`.
async fn sign_out_form(State(accounts): State<Accounts>, headers: HeaderMap) -> Response {
    end_session(&accounts, &headers).await;
    let mut response = Redirect::to("/").into_response();
    set_cookies(&mut response, accounts.clear_cookies());
    response.headers_mut().insert(
        HeaderName::from_static("clear-site-data"),
        HeaderValue::from_static("\"storage\""),
    );
    response
}

async fn delete_account_form(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let outcome = async {
        let customer = accounts.require(&headers).await?;
        let fields = form_fields(form)?;
        if fields.get("confirm").map(String::as_str) != Some("yes") {
            return Err(AccountError::field(
                "confirm",
                "Tick the box to confirm: deleting your account cannot be undone.",
            ));
        }
        accounts.delete_account(&customer).await
    }
    .await;
    match outcome {
        Ok(()) => {
            let mut response = back_to(
                "/account/sign-in",
                &[(
                    "notice",
                    "Your account was deleted, with the personal data we held.",
                )],
            );
            set_cookies(&mut response, accounts.clear_cookies());
            response
        }
        Err(error) => account_answer(Err(error)),
    }
}

async fn add_address_form(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let outcome = async {
        let customer = accounts.require(&headers).await?;
        let fields = form_fields(form)?;
        accounts
            .add_address(customer.id, address_from_form(&fields))
            .await
    }
    .await;
    account_answer(outcome.map(|_| "Address saved."))
}

async fn change_address_form(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let outcome = async {
        let customer = accounts.require(&headers).await?;
        let id = address_id(&id)?;
        let fields = form_fields(form)?;
        if fields.get("intent").map(String::as_str) == Some("delete") {
            accounts.delete_address(customer.id, id).await?;
            Ok("Address deleted.")
        } else {
            accounts
                .update_address(customer.id, id, address_from_form(&fields))
                .await?;
            Ok("Address saved.")
        }
    }
    .await;
    account_answer(outcome)
}

/// The shopper's email preferences.
#[utoipa::path(get, path = "/api/v1/customer/preferences", tag = "customer", operation_id = "getEmailPreferences",
    security(("customer" = [])),
    responses((status = 200, body = EmailPreferences), (status = 401, body = ErrorBody)))]
pub(crate) async fn preferences(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Json<EmailPreferences>, AccountError> {
    let customer = accounts.require(&headers).await?;
    Ok(Json(accounts.preferences(customer.id).await?))
}

/// Set the shopper's email preferences (consent to news is recorded with its date).
#[utoipa::path(put, path = "/api/v1/customer/preferences", tag = "customer", operation_id = "setEmailPreferences",
    security(("customer" = [])), request_body = EmailPreferences,
    responses((status = 200, body = EmailPreferences), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn set_preferences(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    body: Result<Json<EmailPreferences>, JsonRejection>,
) -> Result<Json<EmailPreferences>, AccountError> {
    let customer = accounts.require(&headers).await?;
    let Json(wanted) = body.map_err(body_error)?;
    Ok(Json(accounts.set_preferences(customer.id, wanted).await?))
}

/// The account page's preferences form: an unticked box is not sent, so absent means no.
async fn preferences_form(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let outcome = async {
        let customer = accounts.require(&headers).await?;
        let fields = form_fields(form)?;
        let news = fields.contains_key("news");
        accounts
            .set_preferences(customer.id, EmailPreferences { news })
            .await
    }
    .await;
    account_answer(outcome.map(|_| "Email preferences saved."))
}
