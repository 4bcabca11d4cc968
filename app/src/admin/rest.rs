//! The admin's JSON API, `/api/v1/admin/…`, for integrations: products, variants and stock,
//! collections, orders, shipments, cancellations and refunds. Callers send an API token
//! (`Authorization: Bearer kassa_at_…`, see `tokens.rs`) or a staff session; either way the
//! same `Account`, the same role checks and the same admin services as the pages, so the
//! rules and the audit log are the pages' too. Shapes are a contract within v1: errors are
//! `{"error": {"status", "message", "fields": [{"field", "message"}]}}` with fields named by
//! path (`variants[0].price.amount`), money is `{amount, currency}` in minor units, times are
//! RFC 3339 UTC, lists are `{items, next_cursor}`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use super::auth::{self, Account};
use super::catalog::{valid_slug, write_product, ProductForm};
use super::service::{audit_subject, parse_date, Admin};
use super::{tokens, Access, AdminError, OrderFilter};
use crate::checkout::address::FieldError;
use crate::db::now_epoch;
use crate::money::{Currency, Money};
use crate::orders::{order_id, order_number, OrderStatus};
use crate::write_queue::JobFuture;

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
    Router::new()
        .route(
            "/api/v1/admin/products",
            get(list_products).post(create_product),
        )
        .route(
            "/api/v1/admin/products/{product}",
            get(show_product).patch(update_product).post(update_product),
        )
        .route("/api/v1/admin/products/{product}/publish", post(publish))
        .route("/api/v1/admin/products/{product}/archive", post(archive))
        .route(
            "/api/v1/admin/variants/{variant}",
            patch(update_variant).post(update_variant),
        )
        .route("/api/v1/admin/variants/{variant}/stock", post(adjust_stock))
        .route(
            "/api/v1/admin/collections",
            get(list_collections).post(create_collection),
        )
        .route(
            "/api/v1/admin/collections/{collection}/products",
            put(set_collection_products).post(set_collection_products),
        )
        .route("/api/v1/admin/orders", get(list_orders))
        .route("/api/v1/admin/orders/{number}", get(show_order))
        .route(
            "/api/v1/admin/orders/{number}/shipments",
            post(create_shipment),
        )
        .route(
            "/api/v1/admin/shipments/{shipment}/delivered",
            post(delivered),
        )
        .route("/api/v1/admin/orders/{number}/cancel", post(cancel))
        .route("/api/v1/admin/orders/{number}/refunds", post(refund))
}

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
        let mut error = json!({ "status": self.status.as_u16(), "message": self.message });
        if !self.fields.is_empty() {
            error["fields"] = json!(self.fields);
        }
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

/// Unix seconds as RFC 3339 UTC (`2026-12-01T20:58:03Z`).
pub fn rfc3339(epoch: i64) -> String {
    let text = super::format_time(epoch); // "2026-12-01 20:58 UTC"
    format!(
        "{}T{}:{:02}Z",
        &text[..10],
        &text[11..16],
        epoch.rem_euclid(60)
    )
}

fn money(amount: i64, currency: Currency) -> Value {
    json!(Money::new(amount, currency))
}

/// `{amount, currency}` as sent: minor units, the shop's currency.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyIn {
    amount: i64,
    currency: String,
}

impl MoneyIn {
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
        Ok(Caller(account))
    }
}

/// Writes an audit entry for an action the services do not log themselves.
async fn audited(
    admin: &Admin,
    account: &Account,
    action: &'static str,
    subject: String,
    detail: String,
) -> Result<(), ApiError> {
    let actor = account.clone();
    admin
        .checkout()
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
            Box::pin(async move { audit_subject(conn, &actor, action, &subject, &detail).await })
        })
        .await?;
    Ok(())
}

async fn shop_currency(admin: &Admin) -> Result<Currency, ApiError> {
    Ok(admin.checkout().rules().await?.currency)
}

// ---------------------------------------------------------------------------------------------
// Products

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ProductStatus {
    Draft,
    Active,
    Archived,
}

impl ProductStatus {
    fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Active => "active",
            ProductStatus::Archived => "archived",
        }
    }
}

async fn list_products(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let (mut q, mut status, mut after, mut limit) =
        (String::new(), String::new(), 0i64, PRODUCTS_PER_PAGE);
    for (key, value) in query_pairs(raw.as_deref())? {
        match key.as_str() {
            "q" => q = value.trim().to_lowercase().replace(['\\', '%', '_'], ""),
            "status" if !value.is_empty() => {
                if !matches!(value.as_str(), "draft" | "active" | "archived") {
                    return Err(ApiError::bad_request(
                        "status",
                        "use draft, active or archived",
                    ));
                }
                status = value;
            }
            "cursor" if !value.is_empty() => {
                after = value
                    .parse::<i64>()
                    .ok()
                    .filter(|c| *c >= 0)
                    .ok_or_else(|| {
                        ApiError::bad_request("cursor", "use the next_cursor of a previous page")
                    })?;
            }
            "limit" => {
                limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|l| (1..=MAX_PRODUCTS_PER_PAGE).contains(l))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "limit",
                            format!("use a whole number from 1 to {MAX_PRODUCTS_PER_PAGE}"),
                        )
                    })?;
            }
            _ => {}
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT p.id, p.slug, p.title, p.status, p.created_at, p.updated_at, COUNT(v.id) AS variants, \
         CAST(COALESCE(SUM(v.on_hand), 0) AS BIGINT) AS on_hand \
         FROM products p LEFT JOIN variants v ON v.product_id = p.id \
         WHERE ($1 = '' OR LOWER(p.title) LIKE $2 OR p.slug LIKE $2) AND ($3 = '' OR p.status = $3) AND p.id > $4 \
         GROUP BY p.id, p.slug, p.title, p.status, p.created_at, p.updated_at ORDER BY p.id LIMIT {}",
        limit + 1
    ))
    .bind(&q)
    .bind(format!("%{q}%"))
    .bind(&status)
    .bind(after)
    .fetch_all(admin.checkout().db().pool())
    .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<Value> = rows
        .iter()
        .take(limit as usize)
        .map(|r| {
            json!({
                "id": r.get::<i64, _>("id"),
                "slug": r.get::<String, _>("slug"),
                "title": r.get::<String, _>("title"),
                "status": r.get::<String, _>("status"),
                "variants": r.get::<i64, _>("variants"),
                "on_hand": r.get::<i64, _>("on_hand"),
                "created_at": rfc3339(r.get("created_at")),
                "updated_at": rfc3339(r.get("updated_at")),
            })
        })
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|i| i["id"].to_string()))
        .flatten();
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })).into_response())
}

/// A product as the API shows it: every field staff edit, variants with stock.
async fn product_json(admin: &Admin, id: i64) -> Result<Value, ApiError> {
    let pool = admin.checkout().db().pool();
    let p = sqlx::query(
        "SELECT id, slug, title, description_md, vendor, product_type, status, seo_title, seo_description, \
         created_at, updated_at FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Product {id}")))?;
    let tags: Vec<String> =
        sqlx::query_scalar("SELECT tag FROM product_tags WHERE product_id = $1 ORDER BY tag")
            .bind(id)
            .fetch_all(pool)
            .await?;
    let options: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM product_options WHERE product_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let variants =
        sqlx::query("SELECT id FROM variants WHERE product_id = $1 ORDER BY position, id")
            .bind(id)
            .fetch_all(pool)
            .await?;
    let mut variant_values = Vec::with_capacity(variants.len());
    for v in &variants {
        variant_values.push(variant_json(admin, v.get("id")).await?);
    }
    let images: Vec<Value> = sqlx::query(
        "SELECT url, alt FROM product_images WHERE product_id = $1 ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|i| json!({ "url": i.get::<String, _>("url"), "alt": i.get::<String, _>("alt") }))
    .collect();
    Ok(json!({
        "id": id,
        "slug": p.get::<String, _>("slug"),
        "title": p.get::<String, _>("title"),
        "description": p.get::<String, _>("description_md"),
        "vendor": p.get::<String, _>("vendor"),
        "product_type": p.get::<String, _>("product_type"),
        "status": p.get::<String, _>("status"),
        "seo_title": p.get::<Option<String>, _>("seo_title"),
        "seo_description": p.get::<Option<String>, _>("seo_description"),
        "tags": tags,
        "options": options,
        "variants": variant_values,
        "images": images,
        "created_at": rfc3339(p.get("created_at")),
        "updated_at": rfc3339(p.get("updated_at")),
    }))
}

async fn variant_json(admin: &Admin, id: i64) -> Result<Value, ApiError> {
    let v = sqlx::query(
        "SELECT id, product_id, sku, option1, option2, option3, price_amount, compare_at_amount, currency, \
         weight_grams, backorder, low_stock_threshold, on_hand, reserved, version FROM variants WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(admin.checkout().db().pool())
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Variant {id}")))?;
    let currency = Currency::parse(&v.get::<String, _>("currency")).unwrap_or(Currency::EUR);
    let options: Vec<String> = ["option1", "option2", "option3"]
        .iter()
        .filter_map(|c| v.get::<Option<String>, _>(*c))
        .collect();
    Ok(json!({
        "id": id,
        "product_id": v.get::<i64, _>("product_id"),
        "sku": v.get::<String, _>("sku"),
        "options": options,
        "price": money(v.get("price_amount"), currency),
        "compare_at": v.get::<Option<i64>, _>("compare_at_amount").map(|a| money(a, currency)),
        "weight_grams": v.get::<i64, _>("weight_grams"),
        "allow_backorder": v.get::<String, _>("backorder") == "allow",
        "low_stock_threshold": v.get::<i64, _>("low_stock_threshold"),
        "stock": stock_json(v.get("on_hand"), v.get("reserved"), v.get("version")),
    }))
}

fn stock_json(on_hand: i64, reserved: i64, version: i64) -> Value {
    json!({
        "on_hand": on_hand,
        "reserved": reserved,
        "available": (on_hand - reserved).max(0),
        "version": version,
    })
}

async fn show_product(
    State(admin): State<Admin>,
    caller: Caller,
    Path(product): Path<String>,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let id = path_id(&product, "Product")?;
    Ok(Json(product_json(&admin, id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProductIn {
    slug: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    status: Option<ProductStatus>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    seo_title: Option<String>,
    #[serde(default)]
    seo_description: Option<String>,
    #[serde(default)]
    options: Option<Vec<String>>,
    #[serde(default)]
    variants: Option<Vec<NewVariantIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewVariantIn {
    sku: String,
    #[serde(default)]
    options: Option<Vec<String>>,
    price: MoneyIn,
    #[serde(default)]
    compare_at: Option<MoneyIn>,
    /// On hand to start with.
    #[serde(default)]
    stock: Option<i64>,
    #[serde(default)]
    weight_grams: Option<i64>,
    #[serde(default)]
    allow_backorder: Option<bool>,
    #[serde(default)]
    low_stock_threshold: Option<i64>,
}

/// The catalog page's rules for a product's own fields (`catalog::check_product`).
fn check_product_fields(
    problems: &mut Problems,
    title: &str,
    slug: &str,
    description: &str,
    seo_description: &str,
) {
    check_text(problems, "title", title, 1, 200);
    if !valid_slug(slug.trim()) {
        problems.add(
            "slug",
            "use lower-case letters, digits and hyphens (for example linen-shirt)",
        );
    }
    if description.len() > 50_000 {
        problems.add(
            "description",
            "keep the description under 50,000 characters",
        );
    }
    if seo_description.chars().count() > 320 {
        problems.add("seo_description", "keep it under 320 characters");
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

fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = tags
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

async fn create_product(
    State(admin): State<Admin>,
    caller: Caller,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: NewProductIn = body(request)?;
    let currency = shop_currency(&admin).await?;
    let mut problems = Problems::default();
    let description = input.description.clone().unwrap_or_default();
    check_product_fields(
        &mut problems,
        &input.title,
        &input.slug,
        &description,
        input.seo_description.as_deref().unwrap_or_default(),
    );
    let tags = input.tags.as_deref().map(clean_tags).unwrap_or_default();
    if tags.len() > 50 || tags.iter().any(|t| t.chars().count() > 100) {
        problems.add("tags", "up to 50 tags of up to 100 characters each");
    }
    let options: Vec<String> = input
        .options
        .unwrap_or_default()
        .iter()
        .map(|o| o.trim().to_string())
        .collect();
    if options.len() > 3 {
        problems.add("options", "a product has at most three options");
    }
    for (i, option) in options.iter().enumerate() {
        check_text(&mut problems, &format!("options[{i}]"), option, 1, 100);
        if options[..i].contains(option) {
            problems.add(format!("options[{i}]"), "each option name once");
        }
    }
    let variants_in = input.variants.unwrap_or_default();
    if variants_in.len() > 100 {
        problems.add("variants", "a product has at most 100 variants");
    }
    let mut variants = Vec::with_capacity(variants_in.len());
    let mut thresholds = Vec::with_capacity(variants_in.len());
    for (i, v) in variants_in.iter().enumerate() {
        let at = |f: &str| format!("variants[{i}].{f}");
        let sku = v.sku.trim().to_string();
        check_text(&mut problems, &at("sku"), &sku, 1, 64);
        if variants_in[..i].iter().any(|o| o.sku.trim() == sku) {
            problems.add(
                at("sku"),
                format!("'{sku}' is used by another variant in this request"),
            );
        }
        let values: Vec<String> = v
            .options
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|o| o.trim().to_string())
            .collect();
        if values.len() != options.len() {
            problems.add(
                at("options"),
                format!(
                    "give one value for each of the product's {} option(s)",
                    options.len()
                ),
            );
        }
        for (j, value) in values.iter().enumerate() {
            check_text(
                &mut problems,
                &format!("variants[{i}].options[{j}]"),
                value,
                1,
                100,
            );
        }
        let price = v.price.check(&at("price"), currency, 0, &mut problems);
        let compare_at = v
            .compare_at
            .as_ref()
            .map(|c| c.check(&at("compare_at"), currency, 0, &mut problems));
        let stock = check_count(&mut problems, &at("stock"), v.stock).unwrap_or(0);
        let weight = check_count(&mut problems, &at("weight_grams"), v.weight_grams).unwrap_or(0);
        thresholds.push(check_count(
            &mut problems,
            &at("low_stock_threshold"),
            v.low_stock_threshold,
        ));
        variants.push(crate::catalog::ssr::NewVariant {
            sku,
            options: values,
            price: Money::new(price, currency),
            compare_at: compare_at.map(|a| Money::new(a, currency)),
            weight_grams: weight,
            on_hand: stock,
            allow_backorder: v.allow_backorder.unwrap_or(false),
        });
    }
    problems.finish()?;

    let slug = input.slug.trim().to_string();
    let status = input.status.unwrap_or(ProductStatus::Draft);
    let mut tx = admin.checkout().db().pool().begin().await?;
    let mut taken = Problems::default();
    let slug_taken: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
        .bind(&slug)
        .fetch_optional(&mut *tx)
        .await?;
    if slug_taken.is_some() {
        taken.add(
            "slug",
            format!("'{slug}' is already used by another product"),
        );
    }
    for (i, v) in variants.iter().enumerate() {
        let sku_taken: Option<i64> = sqlx::query_scalar("SELECT id FROM variants WHERE sku = $1")
            .bind(&v.sku)
            .fetch_optional(&mut *tx)
            .await?;
        if sku_taken.is_some() {
            taken.add(
                format!("variants[{i}].sku"),
                format!("'{}' is already used", v.sku),
            );
        }
    }
    taken.finish()?;
    let now = now_epoch();
    let new = crate::catalog::ssr::NewProduct {
        slug,
        title: input.title.trim().to_string(),
        description_md: description,
        vendor: input.vendor.unwrap_or_default().trim().to_string(),
        product_type: input.product_type.unwrap_or_default().trim().to_string(),
        status: status.as_str(),
        tags,
        option_names: options,
        variants,
        images: Vec::new(),
    };
    let id = crate::catalog::ssr::insert_product(&mut tx, &new, now)
        .await
        .map_err(|e| match e {
            // Someone took the slug or a SKU since the check above.
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ApiError::field("slug", "the slug or a SKU was taken meanwhile; try again")
            }
            other => other.into(),
        })?;
    let opt = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    sqlx::query("UPDATE products SET seo_title = $1, seo_description = $2 WHERE id = $3")
        .bind(opt(input.seo_title))
        .bind(opt(input.seo_description))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM variants WHERE product_id = $1 ORDER BY position, id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    for ((variant, threshold), v) in ids.iter().zip(&thresholds).zip(&new.variants) {
        if let Some(threshold) = threshold {
            sqlx::query("UPDATE variants SET low_stock_threshold = $1 WHERE id = $2")
                .bind(threshold)
                .bind(variant)
                .execute(&mut *tx)
                .await?;
        }
        // Stock never appears without its ledger line.
        if v.on_hand > 0 {
            sqlx::query(
                "INSERT INTO stock_ledger (variant_id, order_id, reason, on_hand_delta, reserved_delta, note, created_at) \
                 VALUES ($1, NULL, 'received', $2, 0, $3, $4)",
            )
            .bind(variant)
            .bind(v.on_hand)
            .bind(format!("initial stock ({})", account.actor()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    crate::catalog::ssr::refresh_search_document(&mut tx, id).await?;
    tx.commit().await?;
    audited(
        &admin,
        &account,
        "Product created",
        format!("product:{id}"),
        new.title.clone(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(product_json(&admin, id).await?)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProductChanges {
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    status: Option<ProductStatus>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    seo_title: Option<String>,
    #[serde(default)]
    seo_description: Option<String>,
}

/// Applies changes through the catalog page's own save (`write_product`): same rules, same
/// search document, same audit entry.
async fn change_product(
    admin: &Admin,
    account: &Account,
    id: i64,
    changes: ProductChanges,
) -> Result<Value, ApiError> {
    let current = super::catalog::product(admin, id).await?;
    let tags = match &changes.tags {
        Some(tags) => clean_tags(tags).join(", "),
        None => current.tags,
    };
    let status = changes
        .status
        .map(|s| s.as_str().to_string())
        .unwrap_or(current.status);
    let form = json!({
        "title": changes.title.unwrap_or(current.title),
        "slug": changes.slug.map(|s| s.trim().to_string()).unwrap_or(current.slug),
        "description_md": changes.description.unwrap_or(current.description_md),
        "vendor": changes.vendor.unwrap_or(current.vendor),
        "product_type": changes.product_type.unwrap_or(current.product_type),
        "status": status,
        "seo_title": changes.seo_title.unwrap_or(current.seo_title),
        "seo_description": changes.seo_description.unwrap_or(current.seo_description),
        "tags": tags,
    });
    let form: ProductForm = serde_json::from_value(form).map_err(|_| AdminError::Internal)?;
    write_product(admin, Some(id), &form).await?;
    audited(
        admin,
        account,
        "Product edited",
        format!("product:{id}"),
        format!("status {status}"),
    )
    .await?;
    product_json(admin, id).await
}

async fn update_product(
    State(admin): State<Admin>,
    caller: Caller,
    Path(product): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let changes: ProductChanges = body(request)?;
    let id = path_id(&product, "Product")?;
    Ok(Json(change_product(&admin, &account, id, changes).await?).into_response())
}

async fn publish(
    State(admin): State<Admin>,
    caller: Caller,
    Path(product): Path<String>,
) -> Result<Response, ApiError> {
    set_status(admin, caller, product, ProductStatus::Active).await
}

async fn archive(
    State(admin): State<Admin>,
    caller: Caller,
    Path(product): Path<String>,
) -> Result<Response, ApiError> {
    set_status(admin, caller, product, ProductStatus::Archived).await
}

async fn set_status(
    admin: Admin,
    caller: Caller,
    product: String,
    status: ProductStatus,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&product, "Product")?;
    let changes = ProductChanges {
        status: Some(status),
        ..ProductChanges::default()
    };
    Ok(Json(change_product(&admin, &account, id, changes).await?).into_response())
}

// ---------------------------------------------------------------------------------------------
// Variants and stock

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantChanges {
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    options: Option<Vec<String>>,
    #[serde(default)]
    price: Option<MoneyIn>,
    /// `{"amount": 0, …}` removes the compare-at price.
    #[serde(default)]
    compare_at: Option<MoneyIn>,
    #[serde(default)]
    weight_grams: Option<i64>,
    #[serde(default)]
    allow_backorder: Option<bool>,
    #[serde(default)]
    low_stock_threshold: Option<i64>,
    /// The `stock.version` last read: the change is refused (409) if someone changed the
    /// variant since. Without it, the change applies to whatever is current.
    #[serde(default)]
    version: Option<i64>,
}

async fn update_variant(
    State(admin): State<Admin>,
    caller: Caller,
    Path(variant): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let changes: VariantChanges = body(request)?;
    let id = path_id(&variant, "Variant")?;
    let currency = shop_currency(&admin).await?;
    let pool = admin.checkout().db().pool();
    let row = sqlx::query(
        "SELECT product_id, sku, option1, option2, option3, price_amount, compare_at_amount, weight_grams, \
         backorder, low_stock_threshold, version FROM variants WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Variant {id}")))?;
    let product: i64 = row.get("product_id");
    let option_count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM product_options WHERE product_id = $1")
            .bind(product)
            .fetch_one(pool)
            .await?;
    let mut problems = Problems::default();
    let sku = changes
        .sku
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| row.get("sku"));
    check_text(&mut problems, "sku", &sku, 1, 64);
    let options: Vec<Option<String>> = match &changes.options {
        Some(values) => {
            if values.len() as i64 != option_count {
                problems.add(
                    "options",
                    format!("give one value for each of the product's {option_count} option(s)"),
                );
            }
            for (j, value) in values.iter().enumerate() {
                check_text(&mut problems, &format!("options[{j}]"), value, 1, 100);
            }
            (0..3)
                .map(|i| values.get(i).map(|v| v.trim().to_string()))
                .collect()
        }
        None => ["option1", "option2", "option3"]
            .iter()
            .map(|c| row.get::<Option<String>, _>(*c))
            .collect(),
    };
    let price = match &changes.price {
        Some(p) => p.check("price", currency, 0, &mut problems),
        None => row.get("price_amount"),
    };
    let compare_at = match &changes.compare_at {
        Some(c) => Some(c.check("compare_at", currency, 0, &mut problems)).filter(|a| *a > 0),
        None => row.get::<Option<i64>, _>("compare_at_amount"),
    };
    let weight = check_count(&mut problems, "weight_grams", changes.weight_grams)
        .unwrap_or_else(|| row.get("weight_grams"));
    let threshold = check_count(
        &mut problems,
        "low_stock_threshold",
        changes.low_stock_threshold,
    )
    .unwrap_or_else(|| row.get("low_stock_threshold"));
    let backorder = match changes.allow_backorder {
        Some(true) => "allow".to_string(),
        Some(false) => "deny".to_string(),
        None => row.get("backorder"),
    };
    problems.finish()?;
    let version = changes.version.unwrap_or_else(|| row.get("version"));
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE variants SET sku = $1, option1 = $2, option2 = $3, option3 = $4, price_amount = $5, compare_at_amount = $6, \
         weight_grams = $7, backorder = $8, low_stock_threshold = $9, version = version + 1 WHERE id = $10 AND version = $11",
    )
    .bind(&sku)
    .bind(options[0].clone())
    .bind(options[1].clone())
    .bind(options[2].clone())
    .bind(price)
    .bind(compare_at)
    .bind(weight)
    .bind(&backorder)
    .bind(threshold)
    .bind(id)
    .bind(version)
    .execute(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            ApiError::field("sku", format!("'{sku}' is already used"))
        }
        other => other.into(),
    })?;
    if done.rows_affected() != 1 {
        return Err(AdminError::Conflict(
            "Someone changed this variant meanwhile; read it again, then send your change.".into(),
        )
        .into());
    }
    crate::catalog::ssr::refresh_search_document(&mut tx, product).await?;
    tx.commit().await?;
    audited(
        &admin,
        &account,
        "Variant edited",
        format!("variant:{id}"),
        format!("{sku} price {price}"),
    )
    .await?;
    Ok(Json(variant_json(&admin, id).await?).into_response())
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StockReason {
    Received,
    Returned,
    Damaged,
    Lost,
    Correction,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockChange {
    /// Units to add (positive) or take away (negative).
    delta: i64,
    /// `received`/`returned` add, `damaged`/`lost` take away, `correction` (the default) either.
    #[serde(default)]
    reason: Option<StockReason>,
    #[serde(default)]
    note: Option<String>,
    /// As for variants: refused (409) if the stock changed since; current if absent.
    #[serde(default)]
    version: Option<i64>,
}

async fn adjust_stock(
    State(admin): State<Admin>,
    caller: Caller,
    Path(variant): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let change: StockChange = body(request)?;
    let id = path_id(&variant, "Variant")?;
    let mut problems = Problems::default();
    if !(-MAX_QUANTITY..=MAX_QUANTITY).contains(&change.delta) || change.delta == 0 {
        problems.add(
            "delta",
            format!("enter a whole number from -{MAX_QUANTITY} to {MAX_QUANTITY}, not zero"),
        );
    }
    let reason = change.reason.unwrap_or(StockReason::Correction);
    // The admin's stock form takes a reason and a quantity of zero or more.
    let (reason, quantity) = match reason {
        StockReason::Received | StockReason::Returned if change.delta < 0 => {
            problems.add(
                "delta",
                "received and returned stock is added: use a positive delta",
            );
            ("", 0)
        }
        StockReason::Damaged | StockReason::Lost if change.delta > 0 => {
            problems.add(
                "delta",
                "damaged and lost stock is taken away: use a negative delta",
            );
            ("", 0)
        }
        StockReason::Received => ("received", change.delta),
        StockReason::Returned => ("returned", change.delta),
        StockReason::Damaged => ("damaged", -change.delta),
        StockReason::Lost => ("lost", -change.delta),
        StockReason::Correction => ("correction", change.delta),
    };
    let note = change.note.unwrap_or_default();
    check_text(&mut problems, "note", &note, 0, 500);
    problems.finish()?;
    let version = match change.version {
        Some(version) => version,
        None => admin.variant_stock(id).await?.version,
    };
    admin
        .adjust_stock(&account, id, reason, quantity, &note, version)
        .await
        .map_err(|e| ApiError::from(e).on("delta"))?;
    let stock = admin.variant_stock(id).await?;
    Ok(Json(stock_json(stock.on_hand, stock.reserved, stock.version)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Collections

async fn collection_json(admin: &Admin, id: i64) -> Result<Value, ApiError> {
    let pool = admin.checkout().db().pool();
    let c = sqlx::query(
        "SELECT id, slug, title, description_md, created_at, updated_at FROM collections WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Collection {id}")))?;
    let products: Vec<i64> = sqlx::query_scalar(
        "SELECT product_id FROM collection_products WHERE collection_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(json!({
        "id": id,
        "slug": c.get::<String, _>("slug"),
        "title": c.get::<String, _>("title"),
        "description": c.get::<String, _>("description_md"),
        "product_ids": products,
        "created_at": rfc3339(c.get("created_at")),
        "updated_at": rfc3339(c.get("updated_at")),
    }))
}

async fn list_collections(
    State(admin): State<Admin>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM collections ORDER BY title, id")
        .fetch_all(admin.checkout().db().pool())
        .await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        items.push(collection_json(&admin, id).await?);
    }
    Ok(Json(json!({ "items": items, "next_cursor": null })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCollectionIn {
    slug: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    product_ids: Option<Vec<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectionProducts {
    product_ids: Vec<i64>,
}

/// Checks that every product exists, once each.
async fn check_members(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ids: &[i64],
    problems: &mut Problems,
) -> Result<(), ApiError> {
    if ids.len() > 10_000 {
        problems.add("product_ids", "at most 10,000 products");
        return Ok(());
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            problems.add(
                format!("product_ids[{i}]"),
                format!("product {id} is listed twice"),
            );
            continue;
        }
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_none() {
            problems.add(
                format!("product_ids[{i}]"),
                format!("no product has the id {id}"),
            );
        }
    }
    Ok(())
}

async fn create_collection(
    State(admin): State<Admin>,
    caller: Caller,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: NewCollectionIn = body(request)?;
    let mut problems = Problems::default();
    let slug = input.slug.trim().to_string();
    check_text(&mut problems, "title", &input.title, 1, 200);
    if !valid_slug(&slug) {
        problems.add("slug", "use lower-case letters, digits and hyphens");
    }
    let description = input.description.unwrap_or_default();
    if description.len() > 50_000 {
        problems.add(
            "description",
            "keep the description under 50,000 characters",
        );
    }
    let ids = input.product_ids.unwrap_or_default();
    let mut tx = admin.checkout().db().pool().begin().await?;
    check_members(&mut tx, &ids, &mut problems).await?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1")
        .bind(&slug)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        problems.add(
            "slug",
            format!("'{slug}' is already used by another collection"),
        );
    }
    problems.finish()?;
    let id = crate::catalog::ssr::insert_collection(
        &mut tx,
        &slug,
        input.title.trim(),
        &description,
        false,
        &ids,
    )
    .await?;
    tx.commit().await?;
    audited(
        &admin,
        &account,
        "Collection saved",
        format!("collection:{id}"),
        format!("{} products", ids.len()),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(collection_json(&admin, id).await?),
    )
        .into_response())
}

async fn set_collection_products(
    State(admin): State<Admin>,
    caller: Caller,
    Path(collection): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: CollectionProducts = body(request)?;
    let id = path_id(&collection, "Collection")?;
    let mut tx = admin.checkout().db().pool().begin().await?;
    let done = sqlx::query("UPDATE collections SET updated_at = $1 WHERE id = $2")
        .bind(now_epoch())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(ApiError::not_found(&format!("Collection {id}")));
    }
    let mut problems = Problems::default();
    check_members(&mut tx, &input.product_ids, &mut problems).await?;
    problems.finish()?;
    sqlx::query("DELETE FROM collection_products WHERE collection_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for (position, product) in input.product_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO collection_products (collection_id, product_id, position) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(product)
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    audited(
        &admin,
        &account,
        "Collection saved",
        format!("collection:{id}"),
        format!("{} products", input.product_ids.len()),
    )
    .await?;
    Ok(Json(collection_json(&admin, id).await?).into_response())
}

// ---------------------------------------------------------------------------------------------
// Orders, shipments, cancellations, refunds

/// `?q=&status=&from=&to=&cursor=`: the admin order list's filters.
async fn list_orders(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let mut filter = OrderFilter::default();
    for (key, value) in query_pairs(raw.as_deref())? {
        match key.as_str() {
            "q" => filter.q = value,
            "status" => filter.status = value,
            "from" => filter.from = value,
            "to" => filter.to = value,
            "cursor" => filter.cursor = value,
            _ => {}
        }
    }
    if !filter.status.is_empty() && OrderStatus::parse(&filter.status).is_none() {
        return Err(ApiError::bad_request(
            "status",
            format!("'{}' is not an order status", filter.status),
        ));
    }
    for (field, date) in [("from", &filter.from), ("to", &filter.to)] {
        if !date.is_empty() {
            parse_date(date).map_err(|e| ApiError::bad_request(field, e.to_string()))?;
        }
    }
    let list = admin.list_orders(&filter).await.map_err(|e| match e {
        AdminError::Invalid(message) => ApiError::bad_request("cursor", message),
        other => other.into(),
    })?;
    let items: Vec<Value> = list
        .rows
        .iter()
        .map(|row| {
            json!({
                "number": row.number,
                "created_at": rfc3339(row.created_at),
                "email": row.email,
                "name": row.name,
                "status": row.status,
                "fulfilment": row.fulfilment,
                "total": row.total,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": list.next_cursor })).into_response())
}

/// An order as the API shows it: the admin's view plus lines, payments, refunds, shipments.
async fn order_json(admin: &Admin, account: &Account, number: &str) -> Result<Value, ApiError> {
    let (number, id) = path_order(number)?;
    let order = admin.order(&number, account).await?;
    let currency = order.order.total.currency;
    let pool = admin.checkout().db().pool();
    let lines: Vec<Value> = sqlx::query(
        "SELECT id, variant_id, sku, title, variant_title, quantity, shipped_quantity, backordered_quantity, \
         unit_price_amount, tax_amount, total_amount FROM order_lines WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|l| {
        json!({
            "id": l.get::<i64, _>("id"),
            "variant_id": l.get::<Option<i64>, _>("variant_id"),
            "sku": l.get::<String, _>("sku"),
            "title": l.get::<String, _>("title"),
            "variant_title": l.get::<String, _>("variant_title"),
            "quantity": l.get::<i64, _>("quantity"),
            "shipped": l.get::<i64, _>("shipped_quantity"),
            "backordered": l.get::<i64, _>("backordered_quantity"),
            "unit_price": money(l.get("unit_price_amount"), currency),
            "tax": money(l.get("tax_amount"), currency),
            "total": money(l.get("total_amount"), currency),
        })
    })
    .collect();
    let mut payments = Vec::new();
    let mut refunds = Vec::new();
    for p in sqlx::query(
        "SELECT id, kind, status, amount, gateway, reference, message, created_at FROM payments \
         WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    {
        let kind: String = p.get("kind");
        let mut value = json!({
            "id": p.get::<i64, _>("id"),
            "status": p.get::<String, _>("status"),
            "amount": money(p.get("amount"), currency),
            "gateway": p.get::<String, _>("gateway"),
            "reference": p.get::<Option<String>, _>("reference"),
            "created_at": rfc3339(p.get("created_at")),
        });
        if kind == "refund" {
            value["reason"] = json!(p.get::<Option<String>, _>("message"));
            refunds.push(value);
        } else {
            payments.push(value);
        }
    }
    let mut shipments = Vec::new();
    for s in &order.order.shipments {
        shipments.push(shipment_json(admin, s.id).await?);
    }
    let details = &order.order;
    Ok(json!({
        "number": details.number,
        "status": details.status,
        "fulfilment": order.fulfilment,
        "email": details.email,
        "created_at": rfc3339(details.created_at),
        "subtotal": details.subtotal,
        "shipping": details.shipping,
        "tax": details.tax,
        "total": details.total,
        "prices_include_tax": details.prices_include_tax,
        "paid": order.paid,
        "refunded": order.refunded,
        "refundable": money((order.paid.amount - order.refunded.amount).max(0), currency),
        "shipping_method": details.shipping_method,
        "shipping_address": details.shipping_address,
        "lines": lines,
        "payments": payments,
        "refunds": refunds,
        "shipments": shipments,
    }))
}

async fn shipment_json(admin: &Admin, id: i64) -> Result<Value, ApiError> {
    let pool = admin.checkout().db().pool();
    let s = sqlx::query(
        "SELECT id, order_id, carrier, tracking_number, status, created_at, delivered_at FROM shipments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Shipment {id}")))?;
    let lines: Vec<Value> = sqlx::query(
        "SELECT order_line_id, quantity FROM shipment_lines WHERE shipment_id = $1 ORDER BY order_line_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|l| json!({ "line_id": l.get::<i64, _>("order_line_id"), "quantity": l.get::<i64, _>("quantity") }))
    .collect();
    Ok(json!({
        "id": id,
        "order": order_number(s.get("order_id")),
        "carrier": s.get::<String, _>("carrier"),
        "tracking_number": s.get::<String, _>("tracking_number"),
        "status": s.get::<String, _>("status"),
        "created_at": rfc3339(s.get("created_at")),
        "delivered_at": s.get::<Option<i64>, _>("delivered_at").map(rfc3339),
        "lines": lines,
    }))
}

async fn show_order(
    State(admin): State<Admin>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    Ok(Json(order_json(&admin, &account, &number).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShipmentIn {
    lines: Vec<ShipmentLineIn>,
    carrier: String,
    tracking_number: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShipmentLineIn {
    line_id: i64,
    quantity: i64,
}

async fn create_shipment(
    State(admin): State<Admin>,
    caller: Caller,
    Path(number): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: ShipmentIn = body(request)?;
    let (number, id) = path_order(&number)?;
    let left: Vec<(i64, i64)> = sqlx::query(
        "SELECT id, quantity - shipped_quantity AS left_to_ship FROM order_lines WHERE order_id = $1",
    )
    .bind(id)
    .fetch_all(admin.checkout().db().pool())
    .await?
    .iter()
    .map(|r| (r.get("id"), r.get("left_to_ship")))
    .collect();
    if left.is_empty() {
        return Err(ApiError::not_found(&format!("Order {number}")));
    }
    let mut problems = Problems::default();
    check_text(&mut problems, "carrier", &input.carrier, 1, 100);
    check_text(
        &mut problems,
        "tracking_number",
        &input.tracking_number,
        1,
        100,
    );
    if input.lines.is_empty() {
        problems.add("lines", "choose at least one line to ship");
    }
    let mut lines = Vec::with_capacity(input.lines.len());
    for (i, line) in input.lines.iter().enumerate() {
        match left.iter().find(|(l, _)| *l == line.line_id) {
            None => problems.add(
                format!("lines[{i}].line_id"),
                format!("order {number} has no line {}", line.line_id),
            ),
            Some(_) if input.lines[..i].iter().any(|o| o.line_id == line.line_id) => {
                problems.add(format!("lines[{i}].line_id"), "each line once per shipment")
            }
            Some((_, left)) if line.quantity < 1 || line.quantity > *left => problems.add(
                format!("lines[{i}].quantity"),
                format!("enter 1 to {left} (what is left to ship of this line)"),
            ),
            Some(_) => lines.push((line.line_id, line.quantity as u32)),
        }
    }
    problems.finish()?;
    let shipment = admin
        .create_shipment(
            &account,
            &number,
            lines,
            &input.carrier,
            &input.tracking_number,
        )
        .await
        .map_err(|e| ApiError::from(e).on("lines"))?;
    Ok((
        StatusCode::CREATED,
        Json(shipment_json(&admin, shipment).await?),
    )
        .into_response())
}

async fn delivered(
    State(admin): State<Admin>,
    caller: Caller,
    Path(shipment): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&shipment, "Shipment")?;
    let order: i64 = sqlx::query_scalar("SELECT order_id FROM shipments WHERE id = $1")
        .bind(id)
        .fetch_optional(admin.checkout().db().pool())
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Shipment {id}")))?;
    admin
        .mark_delivered(&account, &order_number(order), id)
        .await?;
    Ok(Json(shipment_json(&admin, id).await?).into_response())
}

async fn cancel(
    State(admin): State<Admin>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let (number, _) = path_order(&number)?;
    admin.cancel(&account, &number).await?;
    Ok(Json(order_json(&admin, &account, &number).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundIn {
    amount: MoneyIn,
    #[serde(default)]
    reason: Option<String>,
}

/// Keys of refunds asked for through the API, apart from the refund form's own keys.
fn refund_key(key: &str) -> String {
    format!("api:{key}")
}

async fn refund_json(admin: &Admin, key: &str) -> Result<Option<(i64, Value)>, ApiError> {
    let row = sqlx::query(
        "SELECT p.id, p.order_id, p.status, p.amount, p.currency, p.message, p.reference, p.created_at \
         FROM payments p WHERE p.idempotency_key = $1 AND p.kind = 'refund'",
    )
    .bind(key)
    .fetch_optional(admin.checkout().db().pool())
    .await?;
    Ok(row.map(|p| {
        let currency = Currency::parse(&p.get::<String, _>("currency")).unwrap_or(Currency::EUR);
        (
            p.get("order_id"),
            json!({
                "id": p.get::<i64, _>("id"),
                "order": order_number(p.get("order_id")),
                "status": p.get::<String, _>("status"),
                "amount": money(p.get("amount"), currency),
                "reason": p.get::<Option<String>, _>("message").unwrap_or_default(),
                "reference": p.get::<Option<String>, _>("reference"),
                "created_at": rfc3339(p.get("created_at")),
            }),
        )
    }))
}

/// Refunds once per `Idempotency-Key`: the same key again answers with the same refund.
async fn refund(
    State(admin): State<Admin>,
    caller: Caller,
    Path(number): Path<String>,
    headers: HeaderMap,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Refunds)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "Idempotency-Key",
                "send an Idempotency-Key header (a fresh random string per refund)",
            )
        })?;
    if key.len() > 60 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "Idempotency-Key",
            "use up to 60 visible ASCII characters",
        ));
    }
    let key = refund_key(key);
    let input: RefundIn = body(request)?;
    let (number, id) = path_order(&number)?;
    if let Some((order, refund)) = refund_json(&admin, &key).await? {
        if order != id {
            return Err(AdminError::Conflict(
                "This Idempotency-Key was used for a refund of another order.".into(),
            )
            .into());
        }
        return Ok((
            StatusCode::OK,
            [("idempotent-replayed", "true")],
            Json(refund),
        )
            .into_response());
    }
    let currency = sqlx::query_scalar::<_, String>("SELECT currency FROM orders WHERE id = $1")
        .bind(id)
        .fetch_optional(admin.checkout().db().pool())
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Order {number}")))?;
    let currency = Currency::parse(&currency).unwrap_or(Currency::EUR);
    let mut problems = Problems::default();
    let amount = input.amount.check("amount", currency, 1, &mut problems);
    let reason = input.reason.unwrap_or_default();
    check_text(&mut problems, "reason", &reason, 0, 500);
    problems.finish()?;
    admin
        .refund(&account, &number, amount, &key, &reason)
        .await
        .map_err(|e| ApiError::from(e).on("amount"))?;
    let (_, refund) = refund_json(&admin, &key)
        .await?
        .ok_or(ApiError::from(AdminError::Internal))?;
    Ok((StatusCode::CREATED, Json(refund)).into_response())
}
