//! Returns for integrations and the admin's pages: list, approve (with instructions), decline
//! (with a reason), receive line by line (restocked or damaged), and refund the computed
//! amount (or less, with a reason) once per `Idempotency-Key`. Each step is in the audit log,
//! written in the return's support conversation and emailed to the shopper.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use utoipa::ToSchema;

use super::{
    audited, body, id_page, query_pairs, ApiError, Audited, Caller, ErrorBody, MoneyIn, Problems,
};
use crate::admin::auth::Account;
use crate::admin::orders::{RefundOf, ReturnRefund};
use crate::admin::service::Admin;
use crate::admin::{Access, AdminError};
use crate::db::now_epoch;
use crate::money::Money;
use crate::notifications::{self, Email};
use crate::returns::store::{self, Filter, ReceiveError, ReturnRecord};
use crate::returns::{check_staff_text, ReturnView, Status};
use crate::support::{self, Author};

#[derive(Serialize, ToSchema)]
pub struct ReturnListOut {
    items: Vec<ReturnView>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveIn {
    /// Instructions for sending the items back (emailed to the shopper).
    pub message: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineIn {
    /// Why (emailed to the shopper).
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveIn {
    pub lines: Vec<ReceiveLineIn>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveLineIn {
    pub line_id: i64,
    pub quantity: i64,
    /// true: back on the shelf (stock rises); false: damaged (recorded, not put back).
    pub restock: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRefundIn {
    /// Less than the computed refund (never more); `null` or absent: the computed amount.
    #[serde(default)]
    pub amount: Option<MoneyIn>,
    /// Required when the amount is lowered.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReturnRefundOut {
    rma: String,
    status: Status,
    refund: Money,
}

/// The return behind an RMA number, or 404.
async fn record(admin: &Admin, rma: &str) -> Result<ReturnRecord, ApiError> {
    let mut conn = admin.checkout().db().pool().acquire().await?;
    store::by_rma(&mut conn, rma)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Return {}", rma.trim())))
}

/// One return as staff see it.
pub(crate) async fn one(admin: &Admin, rma: &str) -> Result<ReturnView, ApiError> {
    crate::returns::http::one(admin.checkout(), rma)
        .await
        .map_err(|e| match e {
            crate::returns::http::ReturnError::NotFound => {
                ApiError::not_found(&format!("Return {}", rma.trim()))
            }
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.said()),
        })
}

/// What the shopper is told: a message in the return's conversation, and an email.
struct Telling {
    link: String,
    shop: String,
    site: String,
}

async fn telling(admin: &Admin, record: &ReturnRecord) -> Result<Telling, ApiError> {
    let key = admin.checkout().gift_card_key().await?;
    let site = admin.checkout().site_url();
    let link = match record.conversation_id {
        Some(id) => format!("{site}/support/{}", support::store::token_for(key, id)),
        None => format!("{site}/contact"),
    };
    Ok(Telling {
        site: site.to_string(),
        link,
        shop: admin.checkout().rules().await?.shop_name.clone(),
    })
}

async fn tell_shopper(
    conn: &mut AnyConnection,
    record: &ReturnRecord,
    staff_id: i64,
    thread: &str,
    email: Email,
    now: i64,
) -> Result<(), sqlx::Error> {
    if let Some(conversation) = record.conversation_id {
        support::store::add(
            conn,
            conversation,
            Author::Staff,
            Some(staff_id),
            thread,
            None,
            now,
        )
        .await?;
    }
    let to: String = sqlx::query_scalar("SELECT email FROM orders WHERE id = $1")
        .bind(record.order_id)
        .fetch_one(&mut *conn)
        .await?;
    notifications::queue(conn, &to, email, now).await
}

fn not_in(status: Status, action: &str) -> ApiError {
    AdminError::Conflict(format!(
        "This return is {}: it cannot be {action} now. Reload it.",
        status.as_str()
    ))
    .into()
}

/// Approves a requested return with instructions for the shopper.
pub(crate) async fn approve(
    admin: &Admin,
    account: &Account,
    rma: &str,
    message: &str,
) -> Result<(), ApiError> {
    let message = check_staff_text(
        "message",
        message,
        "the instructions for sending the items back",
    )
    .map_err(|e| ApiError::field(e.field, e.message))?;
    let record = record(admin, rma).await?;
    let told = telling(admin, &record).await?;
    let staff_id = account.id;
    audited(admin, account, "Return approved", move |conn| {
        Box::pin(async move {
            let now = now_epoch();
            if !store::move_status(
                conn,
                record.id,
                Status::Requested,
                Status::Approved,
                Some(&message),
                now,
            )
            .await?
            {
                return Err(not_in(record.status, "approved"));
            }
            let mut message = message;
            if record.exchange_variant_id.is_some() {
                let Some((replacement, token)) =
                    store::place_replacement(conn, &record, now).await?
                else {
                    return Err(AdminError::Conflict(
                        "The item asked for in exchange is out of stock: restock it first, or \
                         decline the exchange and offer a refund."
                            .into(),
                    )
                    .into());
                };
                message.push_str(&format!(
                    "\n\nYour replacement is order #{}, sent at no charge: {}/orders/{token}",
                    crate::orders::order_number(replacement),
                    told.site
                ));
            }
            let email =
                notifications::return_approved(&told.shop, &record.rma, &message, &told.link);
            let thread = format!("Return {} approved.\n\n{message}", record.rma);
            tell_shopper(conn, &record, staff_id, &thread, email, now).await?;
            Ok(Audited {
                value: (),
                subject: format!("order:{}", record.order_id),
                detail: record.rma.clone(),
            })
        })
    })
    .await?;
    notifications::wake_sender();
    Ok(())
}

/// Declines a requested return with a reason; its units count as not returned again.
pub(crate) async fn decline(
    admin: &Admin,
    account: &Account,
    rma: &str,
    reason: &str,
) -> Result<(), ApiError> {
    let reason = check_staff_text("reason", reason, "why the return is declined")
        .map_err(|e| ApiError::field(e.field, e.message))?;
    let record = record(admin, rma).await?;
    let told = telling(admin, &record).await?;
    let staff_id = account.id;
    audited(admin, account, "Return declined", move |conn| {
        Box::pin(async move {
            let now = now_epoch();
            if !store::move_status(
                conn,
                record.id,
                Status::Requested,
                Status::Declined,
                Some(&reason),
                now,
            )
            .await?
            {
                return Err(not_in(record.status, "declined"));
            }
            store::release_lines(conn, record.id).await?;
            let email =
                notifications::return_declined(&told.shop, &record.rma, &reason, &told.link);
            let thread = format!("Return {} declined.\n\n{reason}", record.rma);
            tell_shopper(conn, &record, staff_id, &thread, email, now).await?;
            Ok(Audited {
                value: (),
                subject: format!("order:{}", record.order_id),
                detail: format!("{}: {reason}", record.rma),
            })
        })
    })
    .await?;
    notifications::wake_sender();
    Ok(())
}

/// Marks units of an approved return received: `(order line id, units, restock)`.
pub(crate) async fn receive(
    admin: &Admin,
    account: &Account,
    rma: &str,
    lines: Vec<(i64, u32, bool)>,
) -> Result<(), ApiError> {
    if lines.is_empty() {
        return Err(ApiError::field(
            "lines",
            "name at least one line and how many arrived",
        ));
    }
    let record = record(admin, rma).await?;
    let detail = lines
        .iter()
        .map(|(line, units, restock)| {
            format!(
                "{units} of line {line} {}",
                if *restock { "restocked" } else { "damaged" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    audited(admin, account, "Return received", move |conn| {
        Box::pin(async move {
            let now = now_epoch();
            let status: String = sqlx::query_scalar("SELECT status FROM returns WHERE id = $1")
                .bind(record.id)
                .fetch_one(&mut *conn)
                .await?;
            if status != Status::Approved.as_str() {
                return Err(not_in(
                    Status::parse(&status).unwrap_or(record.status),
                    "received (approve it first)",
                ));
            }
            let complete =
                store::receive(conn, &record, &lines, now)
                    .await
                    .map_err(|e| match e {
                        ReceiveError::TooMany { index, left } => ApiError::field(
                            format!("lines[{index}].quantity"),
                            format!(
                                "at most {left} of this line are still to arrive in this return"
                            ),
                        ),
                        ReceiveError::Stock(error) => {
                            tracing::error!(%error, "returns: restock failed");
                            AdminError::Internal.into()
                        }
                    })?;
            if complete {
                store::move_status(
                    conn,
                    record.id,
                    Status::Approved,
                    Status::Received,
                    None,
                    now,
                )
                .await?;
            }
            Ok(Audited {
                value: (),
                subject: format!("order:{}", record.order_id),
                detail: format!("{}: {detail}", record.rma),
            })
        })
    })
    .await
}

/// Refunds a received return: the computed amount, or less with a reason. Returns what was
/// paid back.
pub(crate) async fn refund(
    admin: &Admin,
    account: &Account,
    rma: &str,
    amount: Option<i64>,
    reason: &str,
    key: &str,
) -> Result<i64, ApiError> {
    let record = record(admin, rma).await?;
    if record.exchange_variant_id.is_some() {
        return Err(AdminError::Conflict(
            "This return is an exchange: its replacement order settles it, with no refund.".into(),
        )
        .into());
    }
    let reason = reason.trim().to_string();
    if amount.is_some() && reason.is_empty() {
        return Err(ApiError::field(
            "reason",
            "say why the refund is lower than computed (the shopper is told)",
        ));
    }
    if reason.chars().count() > 500 || reason.contains('\0') {
        return Err(ApiError::field("reason", "keep it under 500 characters"));
    }
    if record.status == Status::Refunded {
        // The same request again (a double submit): answer with what was paid back.
        let paid: Option<i64> =
            sqlx::query_scalar("SELECT refund_amount FROM returns WHERE id = $1")
                .bind(record.id)
                .fetch_one(admin.checkout().db().pool())
                .await?;
        let seen: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM payments WHERE order_id = $1 AND idempotency_key = $2",
        )
        .bind(record.order_id)
        .bind(key)
        .fetch_optional(admin.checkout().db().pool())
        .await?;
        return match (seen, paid) {
            (Some(_), Some(paid)) => Ok(paid),
            _ => Err(not_in(record.status, "refunded")),
        };
    }
    let mut conn = admin.checkout().db().pool().acquire().await?;
    let lines = store::refund_lines(&mut conn, record.id).await?;
    drop(conn);
    let of = RefundOf::Return(ReturnRefund {
        return_id: record.id,
        lines,
        restocking_percent: record.restocking_percent,
        shipping_fee: record.shipping_fee,
        at_most: amount,
    });
    let text = if reason.is_empty() {
        format!("Return {}", record.rma)
    } else {
        format!("Return {}: {reason}", record.rma)
    };
    admin
        .refund_of(
            account,
            &crate::orders::order_number(record.order_id),
            of,
            key,
            &text,
        )
        .await
        .map_err(|e| ApiError::from(e).on("amount"))?;
    let paid: Option<i64> = sqlx::query_scalar("SELECT refund_amount FROM returns WHERE id = $1")
        .bind(record.id)
        .fetch_one(admin.checkout().db().pool())
        .await?;
    let paid = paid.unwrap_or(0);
    let told = telling(admin, &record).await?;
    let currency = admin.checkout().rules().await?.currency;
    let staff_id = account.id;
    let mut thread = format!(
        "Return {} refunded: {}.",
        record.rma,
        Money::new(paid, currency)
    );
    if !reason.is_empty() {
        thread.push_str(&format!("\n\n{reason}"));
    }
    admin
        .checkout()
        .writes()
        .run(
            move |conn| -> crate::write_queue::JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(async move {
                    let email = notifications::return_refunded(
                        &told.shop,
                        &record.rma,
                        Money::new(paid, currency),
                        &told.link,
                    );
                    tell_shopper(conn, &record, staff_id, &thread, email, now_epoch()).await
                })
            },
        )
        .await?;
    notifications::wake_sender();
    Ok(paid)
}

/// The list's filter from a query: `status`, `order`, and the id paging every list by id has.
fn filter_of(raw: Option<&str>) -> Result<(Filter, i64), ApiError> {
    let (before, limit) = id_page(raw)?;
    let mut filter = Filter {
        before,
        ..Filter::default()
    };
    for (name, value) in query_pairs(raw)? {
        match name.as_str() {
            "status" if value.is_empty() || value == "all" => {}
            "status" => {
                filter.status = Some(Status::parse(&value).ok_or_else(|| {
                    ApiError::bad_request(
                        "status",
                        "use requested, approved, declined, received, refunded or all",
                    )
                })?)
            }
            "order" => {
                filter.order_id = Some(crate::orders::order_id(&value).ok_or_else(|| {
                    ApiError::bad_request("order", "use an order number, like 1001")
                })?)
            }
            _ => {}
        }
    }
    Ok((filter, limit))
}

/// Returns, newest first, as a list page: `limit` of them after `cursor`.
pub(crate) async fn page(
    admin: &Admin,
    filter: &Filter,
    limit: i64,
) -> Result<(Vec<ReturnView>, Option<String>), ApiError> {
    let mut rows = store::views(admin.checkout().db().pool(), filter, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|(id, _)| id.to_string()))
        .flatten();
    Ok((rows.into_iter().map(|(_, v)| v).collect(), next))
}

#[utoipa::path(get, path = "/api/v1/admin/returns", tag = "admin", security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "requested, approved, declined, received, refunded or all (default)."),
        ("order" = Option<String>, Query, description = "Only this order's returns (its number)."),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor."),
        ("limit" = Option<i64>, Query, description = "1 to 200; 50 by default."),
    ),
    responses((status = 200, body = ReturnListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_returns(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Support)?;
    let (filter, limit) = filter_of(raw.as_deref())?;
    let (items, next_cursor) = page(&admin, &filter, limit).await?;
    Ok(Json(ReturnListOut { items, next_cursor }).into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/returns/{rma}", tag = "admin", security(("bearer" = [])),
    params(("rma" = String, Path, description = "The RMA number.")),
    responses((status = 200, body = ReturnView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_return(
    State(admin): State<Admin>,
    caller: Caller,
    Path(rma): Path<String>,
) -> Result<Response, ApiError> {
    caller.may(Access::Support)?;
    Ok(Json(one(&admin, &rma).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/returns/{rma}/approve", tag = "admin", security(("bearer" = [])),
    params(("rma" = String, Path, description = "The RMA number.")),
    request_body = ApproveIn,
    responses((status = 200, body = ReturnView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn approve_return(
    State(admin): State<Admin>,
    caller: Caller,
    Path(rma): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Support)?;
    let input: ApproveIn = body(request)?;
    approve(&admin, &account, &rma, &input.message).await?;
    Ok(Json(one(&admin, &rma).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/returns/{rma}/decline", tag = "admin", security(("bearer" = [])),
    params(("rma" = String, Path, description = "The RMA number.")),
    request_body = DeclineIn,
    responses((status = 200, body = ReturnView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn decline_return(
    State(admin): State<Admin>,
    caller: Caller,
    Path(rma): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Support)?;
    let input: DeclineIn = body(request)?;
    decline(&admin, &account, &rma, &input.reason).await?;
    Ok(Json(one(&admin, &rma).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/returns/{rma}/receive", tag = "admin", security(("bearer" = [])),
    params(("rma" = String, Path, description = "The RMA number.")),
    request_body = ReceiveIn,
    responses((status = 200, body = ReturnView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn receive_return(
    State(admin): State<Admin>,
    caller: Caller,
    Path(rma): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: ReceiveIn = body(request)?;
    let mut problems = Problems::default();
    let mut lines = Vec::new();
    for (i, line) in input.lines.iter().enumerate() {
        if !(1..=i64::from(u32::MAX)).contains(&line.quantity) {
            problems.add(format!("lines[{i}].quantity"), "enter 1 or more units");
            continue;
        }
        lines.push((line.line_id, line.quantity as u32, line.restock));
    }
    problems.finish()?;
    receive(&admin, &account, &rma, lines).await?;
    Ok(Json(one(&admin, &rma).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/returns/{rma}/refund", tag = "admin", security(("bearer" = [])),
    params(
        ("rma" = String, Path, description = "The RMA number."),
        ("Idempotency-Key" = String, Header, description = "Required; the same key again answers with the same refund."),
    ),
    request_body = ReturnRefundIn,
    responses((status = 201, body = ReturnRefundOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub(super) async fn refund_return(
    State(admin): State<Admin>,
    caller: Caller,
    Path(rma): Path<String>,
    headers: HeaderMap,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Refunds)?;
    let key = super::orders::idempotency_key(&headers)?;
    let input: ReturnRefundIn = body(request)?;
    let currency = admin.checkout().rules().await?.currency;
    let mut problems = Problems::default();
    let amount = input
        .amount
        .as_ref()
        .map(|a| a.check("amount", currency, 0, &mut problems));
    problems.finish()?;
    let reason = input.reason.unwrap_or_default();
    let paid = refund(&admin, &account, &rma, amount, &reason, &key).await?;
    let view = one(&admin, &rma).await?;
    Ok((
        StatusCode::CREATED,
        Json(ReturnRefundOut {
            rma: view.rma,
            status: view.status,
            refund: Money::new(paid, currency),
        }),
    )
        .into_response())
}
