//! The shopper's side over HTTP: `POST/GET /api/v1/orders/{number}/returns` with the order's
//! access token (or the customer's session), and the order page's return form (a plain form:
//! it works without JavaScript).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use super::store::{self, Filter};
use super::{
    check_request, ReturnLineIn, ReturnOptions, ReturnRequest, ReturnView, ReturnableLine,
};
use crate::accounts::service::Accounts;
use crate::checkout::address::{Address, FieldError};
use crate::checkout::api::TokenQuery;
use crate::checkout::service::Checkout;
use crate::db::now_epoch;
use crate::money::Money;
use crate::notifications;
use crate::orders::record::{self, OrderRecord};
use crate::orders::{order_id, order_number, OrderStatus};
use crate::support;
use crate::write_queue::JobFuture;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Checkout: axum::extract::FromRef<S>,
    Accounts: axum::extract::FromRef<S>,
{
    Router::new()
        .route(
            "/api/v1/orders/{number}/returns",
            post(request_api).get(list_api),
        )
        .route("/orders/{token}/returns", post(request_form))
}

/// Why a shopper's return request was refused.
#[derive(Debug)]
pub enum ReturnError {
    /// The body is not the JSON the route takes.
    BadRequest(String),
    Unauthorized,
    Invalid(Vec<FieldError>),
    NotFound,
    Conflict(String),
    Internal,
}

impl From<sqlx::Error> for ReturnError {
    fn from(error: sqlx::Error) -> ReturnError {
        tracing::error!(%error, "returns: database error");
        ReturnError::Internal
    }
}

impl ReturnError {
    fn status(&self) -> StatusCode {
        match self {
            ReturnError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ReturnError::Unauthorized => StatusCode::UNAUTHORIZED,
            ReturnError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ReturnError::NotFound => StatusCode::NOT_FOUND,
            ReturnError::Conflict(_) => StatusCode::CONFLICT,
            ReturnError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// In one sentence, for a page.
    pub fn said(&self) -> String {
        match self {
            ReturnError::BadRequest(message) => message.clone(),
            ReturnError::Unauthorized => "Send the order's access token as 'Authorization: \
                 Bearer <token>' (it is in the order link), or sign in."
                .into(),
            ReturnError::Invalid(fields) => fields
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
            ReturnError::NotFound => "This order was not found.".into(),
            ReturnError::Conflict(message) => message.clone(),
            ReturnError::Internal => {
                "Something went wrong on our side; please try again in a moment.".into()
            }
        }
    }
}

impl IntoResponse for ReturnError {
    fn into_response(self) -> Response {
        let status = self.status();
        let fields = match &self {
            ReturnError::Invalid(fields) => fields.clone(),
            _ => Vec::new(),
        };
        let message = match &self {
            ReturnError::Invalid(fields) if fields.len() == 1 => {
                format!("{}: {}", fields[0].field, fields[0].message)
            }
            ReturnError::Invalid(_) => "Please correct the fields named.".to_string(),
            other => other.said(),
        };
        (
            status,
            Json(
                json!({"error": {"status": status.as_u16(), "message": message, "fields": fields}}),
            ),
        )
            .into_response()
    }
}

/// The order behind `number` for whoever shows it is theirs: its access token, or the session
/// of the customer who placed it. Anyone else learns nothing (404 whether or not it exists).
async fn order_of(
    checkout: &Checkout,
    accounts: &Accounts,
    number: &str,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<OrderRecord, ReturnError> {
    let id = order_id(number).ok_or(ReturnError::NotFound)?;
    let pool = checkout.db().pool();
    if let Some(token) = crate::cookies::bearer(headers).or(query_token) {
        return match record::by_token(pool, token.trim()).await? {
            Some(order) if order.id == id => Ok(order),
            _ => Err(ReturnError::NotFound),
        };
    }
    let Some(customer) = accounts.customer_of(headers).await? else {
        return Err(ReturnError::Unauthorized);
    };
    let owner: Option<Option<i64>> =
        sqlx::query_scalar("SELECT customer_id FROM orders WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    if owner.flatten() != Some(customer.id) {
        return Err(ReturnError::NotFound);
    }
    record::by_id(pool, id).await?.ok_or(ReturnError::NotFound)
}

/// Records a return request with its RMA number and a support conversation about it, and
/// emails the shopper. Every rule is checked again inside the write, against the order as it
/// is then.
pub async fn request(
    checkout: &Checkout,
    order: &OrderRecord,
    input: ReturnRequest,
) -> Result<ReturnView, ReturnError> {
    if order.status != OrderStatus::Paid {
        return Err(ReturnError::Invalid(vec![FieldError::new(
            "lines",
            "Only paid orders can be returned.",
        )]));
    }
    let key = checkout.gift_card_key().await?.clone();
    let site = checkout.site_url().to_string();
    let shop = checkout.rules().await?.shop_name.clone();
    let address: Address = serde_json::from_str(&order.address_json).unwrap_or_default();
    let (order_id, email) = (order.id, order.email.clone());
    let name = if address.name.trim().is_empty() {
        email.clone()
    } else {
        address.name.clone()
    };
    let now = now_epoch();
    let rma = checkout
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<String, ReturnError>> {
            Box::pin(async move {
                let policy = store::policy(conn).await?;
                let facts = store::line_facts(conn, order_id).await?;
                let checked =
                    check_request(&input, &facts, &policy, now).map_err(ReturnError::Invalid)?;
                if let Some(variant) = checked.exchange_variant_id {
                    if let Err(why) = store::check_exchange(conn, variant, &checked.lines).await? {
                        return Err(ReturnError::Invalid(vec![FieldError::new(
                            "exchange_variant_id",
                            why,
                        )]));
                    }
                }
                let items = checked
                    .lines
                    .iter()
                    .map(|(line, units, reason)| {
                        let title = facts
                            .iter()
                            .find(|f| f.line_id == *line)
                            .map(|f| f.title.as_str())
                            .unwrap_or("");
                        format!("- {units} × {title}: {}", reason.label())
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let mut comment = if checked.comment.is_empty() {
                    String::new()
                } else {
                    format!("\n\n{}", checked.comment)
                };
                if let Some(variant) = checked.exchange_variant_id {
                    let wanted = store::exchanges_for(conn, &[checked.lines[0].0])
                        .await?
                        .into_iter()
                        .find(|(id, _)| *id == variant)
                        .map(|(_, title)| title)
                        .unwrap_or_else(|| format!("item {variant}"));
                    comment.push_str(&format!("\n\nIn exchange for: {wanted}"));
                }
                let customer: Option<i64> =
                    sqlx::query_scalar("SELECT customer_id FROM orders WHERE id = $1")
                        .bind(order_id)
                        .fetch_one(&mut *conn)
                        .await?;
                let number = order_number(order_id);
                let (conversation, token) = support::store::start(
                    conn,
                    &key,
                    &support::Checked {
                        email: email.clone(),
                        name,
                        order_number: Some(number.clone()),
                        message: format!("I would like to return:\n{items}{comment}"),
                    },
                    Some(order_id),
                    customer,
                    now,
                )
                .await?;
                let record =
                    store::create(conn, order_id, &checked, &policy, Some(conversation), now)
                        .await?
                        .ok_or_else(|| {
                            ReturnError::Conflict(
                                "Some of these items were returned meanwhile; reload the order."
                                    .into(),
                            )
                        })?;
                let link = format!("{site}/support/{token}");
                let mail = notifications::return_requested(&shop, &record.rma, &items, &link);
                notifications::queue(conn, &email, mail, now).await?;
                Ok(record.rma)
            })
        })
        .await?;
    notifications::wake_sender();
    one(checkout, &rma).await
}

/// One return as people see it.
pub async fn one(checkout: &Checkout, rma: &str) -> Result<ReturnView, ReturnError> {
    let mut conn = checkout.db().pool().acquire().await?;
    let record = store::by_rma(&mut conn, rma)
        .await?
        .ok_or(ReturnError::NotFound)?;
    let filter = Filter {
        order_id: Some(record.order_id),
        before: Some(record.id + 1),
        ..Filter::default()
    };
    drop(conn);
    store::views(checkout.db().pool(), &filter, 1)
        .await?
        .into_iter()
        .next()
        .map(|(_, view)| view)
        .ok_or(ReturnError::NotFound)
}

/// What the order page's returns section shows: each line with what can be returned (or why
/// not), the policy, and the order's returns so far.
pub async fn options(
    checkout: &Checkout,
    order: &OrderRecord,
) -> Result<ReturnOptions, ReturnError> {
    let mut conn = checkout.db().pool().acquire().await?;
    let policy = store::policy(&mut conn).await?;
    let facts = store::line_facts(&mut conn, order.id).await?;
    drop(conn);
    let now = now_epoch();
    let paid = order.status == OrderStatus::Paid;
    let lines: Vec<ReturnableLine> = facts
        .iter()
        .map(|line| {
            let (units, why_not) = match super::returnable(line, &policy, now) {
                Ok(units) if paid => (units, None),
                Ok(_) => (0, Some("Only paid orders can be returned.".to_string())),
                Err(why) => (0, Some(why.message())),
            };
            ReturnableLine {
                line_id: line.line_id,
                title: line.title.clone(),
                units,
                why_not,
            }
        })
        .collect();
    let filter = Filter {
        order_id: Some(order.id),
        ..Filter::default()
    };
    let returns = store::views(checkout.db().pool(), &filter, 100)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let returnable: Vec<i64> = lines
        .iter()
        .filter(|l| l.units > 0)
        .map(|l| l.line_id)
        .collect();
    let exchanges = if returnable.is_empty() {
        Vec::new()
    } else {
        let mut conn = checkout.db().pool().acquire().await?;
        store::exchanges_for(&mut conn, &returnable).await?
    };
    let currency = order.total.currency;
    Ok(ReturnOptions {
        delivered: facts.iter().any(|f| f.delivered > 0),
        lines,
        window_days: policy.window_days,
        shipping_fee: (policy.shipping_fee > 0).then(|| Money::new(policy.shipping_fee, currency)),
        restocking_percent: policy.restocking_percent,
        returns,
        exchanges,
    })
}

/// An order's returns.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReturnList {
    items: Vec<ReturnView>,
    next_cursor: Option<String>,
}

fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<T, ReturnError> {
    let Json(value) = body.map_err(|rejection| ReturnError::BadRequest(rejection.body_text()))?;
    serde_json::from_value(value).map_err(|error| ReturnError::BadRequest(error.to_string()))
}

/// Ask to return delivered items. Each line names the order line's `id`, how many units
/// (never more than were delivered and are not in a return already) and a reason. Outside
/// the shop's return window, or for an item sold as final sale, the line is refused with
/// the reason. The shopper gets an email with the RMA number, and a support conversation
/// about the return is opened.
#[utoipa::path(post, path = "/api/v1/orders/{number}/returns", tag = "returns",
    params(
        ("number" = String, Path),
        ("token" = Option<String>, Query, description = "The order's access token (or send Authorization: Bearer <token>, or a customer session)."),
    ),
    request_body = ReturnRequest,
    responses((status = 201, body = ReturnView), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(crate) async fn request_api(
    State(checkout): State<Checkout>,
    State(accounts): State<Accounts>,
    Path(number): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let result = async {
        let input: ReturnRequest = json_body(body)?;
        let order = order_of(
            &checkout,
            &accounts,
            &number,
            &headers,
            query.token.as_deref(),
        )
        .await?;
        request(&checkout, &order, input).await
    }
    .await;
    match result {
        Ok(view) => (StatusCode::CREATED, Json(view)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// An order's returns, newest first, with their status, lines and refund.
#[utoipa::path(get, path = "/api/v1/orders/{number}/returns", tag = "returns",
    params(
        ("number" = String, Path),
        ("token" = Option<String>, Query, description = "The order's access token (or send Authorization: Bearer <token>, or a customer session)."),
    ),
    responses((status = 200, body = ReturnList), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn list_api(
    State(checkout): State<Checkout>,
    State(accounts): State<Accounts>,
    Path(number): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response, ReturnError> {
    let order = order_of(
        &checkout,
        &accounts,
        &number,
        &headers,
        query.token.as_deref(),
    )
    .await?;
    let filter = Filter {
        order_id: Some(order.id),
        ..Filter::default()
    };
    let items = store::views(checkout.db().pool(), &filter, 100)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    Ok(Json(ReturnList {
        items,
        next_cursor: None,
    })
    .into_response())
}

/// The order page's form: `qty_{line}` and `reason_{line}` for each line, and a comment.
async fn request_form(
    State(checkout): State<Checkout>,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let back = format!("/orders/{token}");
    let Ok(Some(order)) = record::by_token(checkout.db().pool(), &token).await else {
        return (StatusCode::NOT_FOUND, "This order was not found.").into_response();
    };
    let value = |name: String| {
        form.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut lines = Vec::new();
    for (name, quantity) in &form {
        let Some(line_id) = name
            .strip_prefix("qty_")
            .and_then(|l| l.parse::<i64>().ok())
        else {
            continue;
        };
        let quantity = quantity.trim();
        if quantity.is_empty() || quantity == "0" {
            continue;
        }
        lines.push(ReturnLineIn {
            line_id,
            // Not a number: -1, which the rules refuse with the line's own message.
            quantity: quantity.parse().unwrap_or(-1),
            reason: value(format!("reason_{line_id}")),
        });
    }
    let exchange = value("exchange".into());
    let input = ReturnRequest {
        lines,
        comment: Some(value("comment".into())),
        // Not a number: an id no variant has, which the rules refuse by name.
        exchange_variant_id: (!exchange.is_empty()).then(|| exchange.parse().unwrap_or(0)),
    };
    match request(&checkout, &order, input).await {
        Ok(view) => Redirect::to(&format!("{back}?return={}#returns", view.rma)).into_response(),
        Err(error) => {
            let message = crate::admin::respond::urlencode(&error.said());
            Redirect::to(&format!("{back}?return_error={message}#returns")).into_response()
        }
    }
}
