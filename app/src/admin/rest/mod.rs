//! The admin's JSON API, `/api/v1/admin/…`, for integrations: products, variants and stock,
//! collections, orders, shipments, cancellations, refunds and discounts. Callers send an API token
//! (`Authorization: Bearer kassa_at_…`, see `tokens.rs`) or a staff session; either way the
//! same `Account`, the same role checks and the same admin services as the pages, so the
//! rules and the audit log are the pages' too. Shapes are a contract within v1: errors are
//! `{"error": {"status", "message", "fields": [{"field", "message"}]}}` with fields named by
//! path (`variants[0].price.amount`), money is `{amount, currency}` in minor units, times are
//! RFC 3339 UTC, lists are `{items, next_cursor}`.

use crate::admin::listed::ListedRouter;
pub use crate::time::rfc3339;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::AnyConnection;
use utoipa::{OpenApi, ToSchema};

use super::auth::{self, Account};
use super::service::{audited_write, Admin, Audited};
use super::{tokens, Access, AdminError};
use crate::checkout::address::FieldError;
use crate::db::now_epoch;
use crate::error::ErrorBody;
use crate::money::Currency;
use crate::orders::order_id;
use crate::write_queue::JobFuture;

pub(crate) mod analytics;
pub(crate) mod campaigns;
mod collections;
pub(crate) mod discounts;
pub(crate) mod gift_cards;
mod orders;
mod products;
pub(crate) mod returns;
pub(crate) mod support;
mod variants;

use campaigns::{
    create_campaign, delete_campaign, list_campaigns, send_campaign, show_campaign, stop_campaign,
    test_campaign, update_campaign,
};
use collections::{create_collection, list_collections, set_collection_products};
use discounts::{
    create_discount, deactivate_discount, discount_orders, list_discounts, show_discount,
    update_discount,
};
use gift_cards::{create_gift_card, disable_gift_card, list_gift_cards, show_gift_card};
use orders::{cancel, create_shipment, delivered, list_orders, refund, show_order};
use products::{archive, create_product, list_products, publish, show_product, update_product};
use variants::{adjust_stock, update_variant};

/// Largest amount of money accepted, in minor units (ten billion in a two-digit currency).
const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// Largest stock count or change, and shipped quantity.
const MAX_QUANTITY: i64 = 1_000_000_000;
/// Rows per page of the product list, by default and at most.
const PRODUCTS_PER_PAGE: i64 = 50;
const MAX_PRODUCTS_PER_PAGE: i64 = 200;

/// Routes of the admin API. PATCH and PUT are also accepted as POST, for clients that can
/// send only GET and POST.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: FromRef<S>,
{
    listed_routes().into_router()
}

/// The admin API's routes, listed (see [`ListedRouter`]). PATCH and PUT routes take POST too,
/// for clients that cannot send them.
pub fn listed_routes<S>() -> ListedRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: FromRef<S>,
{
    ListedRouter::default()
        .get("/api/v1/admin/products", list_products)
        .post("/api/v1/admin/products", create_product)
        .get("/api/v1/admin/products/{product}", show_product)
        .patch("/api/v1/admin/products/{product}", update_product)
        .post("/api/v1/admin/products/{product}", update_product)
        .post("/api/v1/admin/products/{product}/publish", publish)
        .post("/api/v1/admin/products/{product}/archive", archive)
        .patch("/api/v1/admin/variants/{variant}", update_variant)
        .post("/api/v1/admin/variants/{variant}", update_variant)
        .post("/api/v1/admin/variants/{variant}/stock", adjust_stock)
        .get("/api/v1/admin/collections", list_collections)
        .post("/api/v1/admin/collections", create_collection)
        .put(
            "/api/v1/admin/collections/{collection}/products",
            set_collection_products,
        )
        .post(
            "/api/v1/admin/collections/{collection}/products",
            set_collection_products,
        )
        .get("/api/v1/admin/orders", list_orders)
        .get("/api/v1/admin/orders/{number}", show_order)
        .post("/api/v1/admin/orders/{number}/shipments", create_shipment)
        .post("/api/v1/admin/shipments/{shipment}/delivered", delivered)
        .post("/api/v1/admin/orders/{number}/cancel", cancel)
        .post("/api/v1/admin/orders/{number}/refunds", refund)
        .get("/api/v1/admin/discounts", list_discounts)
        .post("/api/v1/admin/discounts", create_discount)
        .get("/api/v1/admin/discounts/{id}", show_discount)
        .patch("/api/v1/admin/discounts/{id}", update_discount)
        .post("/api/v1/admin/discounts/{id}", update_discount)
        .post(
            "/api/v1/admin/discounts/{id}/deactivate",
            deactivate_discount,
        )
        .get("/api/v1/admin/discounts/{id}/orders", discount_orders)
        .get("/api/v1/admin/gift-cards", list_gift_cards)
        .post("/api/v1/admin/gift-cards", create_gift_card)
        .get("/api/v1/admin/gift-cards/{id}", show_gift_card)
        .post("/api/v1/admin/gift-cards/{id}/disable", disable_gift_card)
        .get("/api/v1/admin/campaigns", list_campaigns)
        .post("/api/v1/admin/campaigns", create_campaign)
        .get("/api/v1/admin/campaigns/{id}", show_campaign)
        .patch("/api/v1/admin/campaigns/{id}", update_campaign)
        .post("/api/v1/admin/campaigns/{id}", update_campaign)
        .delete("/api/v1/admin/campaigns/{id}", delete_campaign)
        .post("/api/v1/admin/campaigns/{id}/test", test_campaign)
        .post("/api/v1/admin/campaigns/{id}/send", send_campaign)
        .post("/api/v1/admin/campaigns/{id}/stop", stop_campaign)
        .get(
            "/api/v1/admin/support/conversations",
            support::list_conversations,
        )
        .get(
            "/api/v1/admin/support/conversations/{id}",
            support::show_conversation,
        )
        .post(
            "/api/v1/admin/support/conversations/{id}/messages",
            support::add_message,
        )
        .post(
            "/api/v1/admin/support/conversations/{id}/close",
            support::close_conversation,
        )
        .post(
            "/api/v1/admin/support/conversations/{id}/reopen",
            support::reopen_conversation,
        )
        .post(
            "/api/v1/admin/support/conversations/{id}/assign",
            support::assign_conversation,
        )
        .get(
            "/api/v1/admin/support/saved-replies",
            support::list_saved_replies,
        )
        .post(
            "/api/v1/admin/support/saved-replies",
            support::create_saved_reply,
        )
        .delete(
            "/api/v1/admin/support/saved-replies/{id}",
            support::delete_saved_reply,
        )
        .get("/api/v1/admin/returns", returns::list_returns)
        .get("/api/v1/admin/returns/{rma}", returns::show_return)
        .post(
            "/api/v1/admin/returns/{rma}/approve",
            returns::approve_return,
        )
        .post(
            "/api/v1/admin/returns/{rma}/decline",
            returns::decline_return,
        )
        .post(
            "/api/v1/admin/returns/{rma}/receive",
            returns::receive_return,
        )
        .post("/api/v1/admin/returns/{rma}/refund", returns::refund_return)
        .get("/api/v1/admin/analytics/summary", analytics::summary)
        .get("/api/v1/admin/analytics/funnel", analytics::funnel)
        .get("/api/v1/admin/analytics/products", analytics::products)
        .get("/api/v1/admin/analytics/searches", analytics::searches)
        .get("/api/v1/admin/analytics/sources", analytics::sources)
        .get("/api/v1/admin/analytics/discounts", analytics::discounts)
        .get("/api/v1/admin/analytics/days", analytics::days)
        .map(|router| router.layer(axum::middleware::from_fn(no_store)))
}

/// Answers hold customer data and staff-only figures: never cache them anywhere.
async fn no_store(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// The admin API's part of the OpenAPI document (`crate::openapi` joins it to the rest).
#[derive(OpenApi)]
#[openapi(
    paths(
        products::list_products, products::create_product, products::show_product,
        products::update_product, products::publish, products::archive, variants::update_variant,
        variants::adjust_stock, collections::list_collections, collections::create_collection,
        collections::set_collection_products, orders::list_orders, orders::show_order,
        orders::create_shipment, orders::delivered, orders::cancel, orders::refund,
        discounts::list_discounts, discounts::create_discount, discounts::show_discount,
        discounts::update_discount, discounts::deactivate_discount, discounts::discount_orders,
        gift_cards::list_gift_cards, gift_cards::create_gift_card, gift_cards::show_gift_card,
        gift_cards::disable_gift_card, campaigns::list_campaigns, campaigns::create_campaign,
        campaigns::show_campaign, campaigns::update_campaign, campaigns::delete_campaign,
        campaigns::test_campaign, campaigns::send_campaign, campaigns::stop_campaign,
        support::list_conversations, support::show_conversation, support::add_message,
        support::close_conversation, support::reopen_conversation, support::assign_conversation,
        support::list_saved_replies, support::create_saved_reply, support::delete_saved_reply,
        returns::list_returns, returns::show_return, returns::approve_return,
        returns::decline_return, returns::receive_return, returns::refund_return,
        analytics::summary, analytics::funnel, analytics::products, analytics::searches,
        analytics::sources, analytics::discounts, analytics::days,
    ),
    components(schemas(ErrorBody)),
    tags((name = "admin", description = "The back office for integrations: send `Authorization: Bearer kassa_at_…` (an API token the owner makes on the staff page or with `kassa create-api-token`). A token acts with its staff member's role.")),
)]
pub struct AdminApiDoc;

// ---------------------------------------------------------------------------------------------
// Errors

/// An error as the admin API reports it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    fields: Vec<FieldError>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// 422: one field's value cannot be used.
    fn field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            fields: vec![FieldError::new(field, message.clone())],
            message,
        }
    }

    /// 400: a query parameter or header cannot be used.
    fn bad_request(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            ..ApiError::field(field, message)
        }
    }

    fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} was not found"))
    }

    /// The error in one sentence for a page: each field with its problem.
    pub(crate) fn said(&self) -> String {
        if self.fields.is_empty() {
            return self.message.clone();
        }
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        format!("Please correct: {}.", parts.join("; "))
    }

    /// A 422 from a service that does not say which field: blame `field`.
    fn on(mut self, field: &str) -> ApiError {
        if self.status == StatusCode::UNPROCESSABLE_ENTITY && self.fields.is_empty() {
            self.fields
                .push(FieldError::new(field, self.message.clone()));
        }
        self
    }
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> ApiError {
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = error.to_string();
        // The catalog's checks say "Please correct: slug: …; title: …": keep the names.
        let fields = message
            .strip_prefix("Please correct: ")
            .map(|rest| {
                rest.trim_end_matches('.')
                    .split("; ")
                    .filter_map(|problem| problem.split_once(": "))
                    .filter(|(field, _)| field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                    .map(|(field, text)| {
                        let field = if field == "description_md" {
                            "description"
                        } else {
                            field
                        };
                        FieldError::new(field, text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        ApiError {
            status,
            message,
            fields,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        AdminError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // `fields` always, empty when no one field is at fault: the API's one error shape.
        let error = json!({ "status": self.status.as_u16(), "message": self.message, "fields": self.fields });
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// Problems found while checking a request, all reported at once.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn finish(self) -> Result<(), ApiError> {
        match self.0.first() {
            None => Ok(()),
            Some(first) => Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: if self.0.len() == 1 {
                    format!("{}: {}", first.field, first.message)
                } else {
                    format!("{} fields need correcting", self.0.len())
                },
                fields: self.0,
            }),
        }
    }
}

/// Reads a JSON body into `T`: malformed JSON is a 400; a missing, mistyped, unknown or
/// out-of-range field a 422 naming the field by its path.
fn body<T: DeserializeOwned>(body: Result<Json<Value>, JsonRejection>) -> Result<T, ApiError> {
    let Json(value) = body.map_err(|rejection| match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with 'Content-Type: application/json'",
        ),
        other => ApiError::new(StatusCode::BAD_REQUEST, other.body_text()),
    })?;
    // serde would read a struct from an array too (by position): only objects are asked for.
    if !value.is_object() {
        return Err(ApiError::field("body", "send a JSON object"));
    }
    // Postgres refuses text with NUL in it; no field has a use for one.
    if let Some(path) = nul_in(&value, String::new()) {
        return Err(ApiError::field(path, "text may not contain NUL characters"));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|p| message.strip_prefix(p))
            .and_then(|rest| rest.split('`').next());
        // An unknown field is in the path already; a missing one is not.
        let field = match (path.as_str(), named) {
            (".", Some(name)) => name.to_string(),
            (_, Some(name)) if !path.ends_with(&format!(".{name}")) && path != name => {
                format!("{path}.{name}")
            }
            (".", None) => "body".to_string(),
            _ => path,
        };
        ApiError::field(field, message)
    })
}

fn nul_in(value: &Value, path: String) -> Option<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(text) if text.contains('\0') => {
            Some(if path.is_empty() { "body".into() } else { path })
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(join("?"))
            } else {
                nul_in(item, join(key))
            }
        }),
        _ => None,
    }
}

/// Items per page of a list by id (discounts, gift cards), by default and at most.
const PER_PAGE: i64 = 50;
const MAX_PER_PAGE: i64 = 200;

/// `?cursor=&limit=` of a list paged by id, newest first: the id to start below (the previous
/// page's `next_cursor`) and how many to show.
fn id_page(raw: Option<&str>) -> Result<(Option<i64>, i64), ApiError> {
    let mut before = None;
    let mut limit = PER_PAGE;
    for (key, value) in query_pairs(raw)? {
        match key.as_str() {
            "cursor" => {
                before = Some(
                    value
                        .parse::<i64>()
                        .ok()
                        .filter(|v| *v > 0)
                        .ok_or_else(|| {
                            ApiError::bad_request(
                                "cursor",
                                "use the next_cursor of the previous page",
                            )
                        })?,
                )
            }
            "limit" => {
                limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|v| (1..=MAX_PER_PAGE).contains(v))
                    .ok_or_else(|| {
                        ApiError::bad_request("limit", format!("use 1 to {MAX_PER_PAGE}"))
                    })?
            }
            _ => {}
        }
    }
    Ok((before, limit))
}

/// Query parameters as pairs; 400 if the string is not URL encoding or has NUL in it.
fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| {
            ApiError::bad_request("query", "the query string is not valid URL encoding")
        })?;
    if let Some((key, _)) = pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(ApiError::bad_request(
            key.clone(),
            "may not contain NUL characters",
        ));
    }
    Ok(pairs)
}

/// `{amount, currency}` as sent: minor units, the shop's currency.
#[derive(Clone, Debug, Deserialize, serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyIn {
    amount: i64,
    currency: String,
}

impl MoneyIn {
    fn of(money: crate::money::Money) -> MoneyIn {
        MoneyIn {
            amount: money.amount,
            currency: money.currency.code().to_string(),
        }
    }

    /// The amount, if it is in `currency` and from `min` to [`MAX_AMOUNT`].
    fn check(&self, field: &str, currency: Currency, min: i64, problems: &mut Problems) -> i64 {
        match Currency::parse(&self.currency) {
            Ok(c) if c == currency => {}
            _ => problems.add(
                format!("{field}.currency"),
                format!("the shop sells in {currency}, not '{}'", self.currency),
            ),
        }
        if !(min..=MAX_AMOUNT).contains(&self.amount) {
            problems.add(
                format!("{field}.amount"),
                format!("enter an amount in minor units from {min} to {MAX_AMOUNT}"),
            );
        }
        self.amount
    }
}

fn check_count(problems: &mut Problems, field: &str, value: Option<i64>) -> Option<i64> {
    if value.is_some_and(|v| !(0..=MAX_QUANTITY).contains(&v)) {
        problems.add(
            field,
            format!("enter a whole number from 0 to {MAX_QUANTITY}"),
        );
    }
    value
}

fn check_text(problems: &mut Problems, field: &str, text: &str, min: usize, max: usize) {
    let length = text.trim().chars().count();
    if length < min || length > max {
        problems.add(
            field,
            if min > 0 {
                format!("enter {min} to {max} characters")
            } else {
                format!("keep it to {max} characters")
            },
        );
    }
}

/// An id in a path; anything else is a 404 (there is nothing by that name).
fn path_id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(&format!("{what} {text}")))
}

/// An order number in a path (`1042`); anything else is a 404.
fn path_order(number: &str) -> Result<(String, i64), ApiError> {
    let not_found = || ApiError::not_found(&format!("Order {number}"));
    if number.is_empty() || number.len() > 18 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_found());
    }
    order_id(number)
        .map(|id| (number.to_string(), id))
        .ok_or_else(not_found)
}

// ---------------------------------------------------------------------------------------------
// Who is calling

/// The account behind the request: an API token's staff member, or a signed-in session.
/// 401 without either; the role is checked by [`Caller::may`] in each handler, so a stranger
/// learns nothing about the body they sent.
pub struct Caller(pub Account);

impl Caller {
    fn may(self, access: Access) -> Result<Account, ApiError> {
        if self.0.has(access) {
            Ok(self.0)
        } else {
            Err(AdminError::Forbidden.into())
        }
    }
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Admin: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Caller, ApiError> {
        let admin = Admin::from_ref(state);
        let db = admin.checkout().db();
        let now = now_epoch();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "Send the API token as 'Authorization: Bearer kassa_at_…'.",
                    )
                })?;
            let (token_id, account) = tokens::resolve(db, token, now).await?.ok_or_else(|| {
                ApiError::unauthorized("This API token is unknown, revoked or expired.")
            })?;
            let request = format!("{} {}", parts.method, parts.uri.path());
            let actor = account.clone();
            admin
                .checkout()
                .writes()
                .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                    Box::pin(
                        async move { tokens::record_use(conn, token_id, &actor, &request).await },
                    )
                })
                .await?;
            return Ok(Caller(account));
        }
        // The admin's own pages may call the API with their session (cross-site requests
        // with a cookie are refused before they get here).
        let token = auth::token_from_cookies(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("Send an API token as 'Authorization: Bearer …'.")
        })?;
        let account = auth::session_account(db, &token, now)
            .await?
            .ok_or_else(|| ApiError::unauthorized("Please sign in."))?;
        if account.must_set_up_2fa {
            return Err(AdminError::SetUpTwoFactor.into());
        }
        Ok(Caller(account))
    }
}

/// A change the services do not make themselves, and its audit entry: one job of the shop's
/// writer (see [`audited_write`]); an `Err` from `job` undoes both.
async fn audited<T, F>(
    admin: &Admin,
    account: &Account,
    action: &'static str,
    job: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> JobFuture<'c, Result<Audited<T>, ApiError>>
        + Send
        + 'static,
{
    audited_write(admin, account, action, job).await
}

async fn shop_currency(admin: &Admin) -> Result<Currency, ApiError> {
    Ok(admin.checkout().rules().await?.currency)
}
