//! Orders, shipments, cancellations and refunds.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::{
    body, check_text, path_id, path_order, query_pairs, rfc3339, ApiError, Caller, ErrorBody,
    MoneyIn, Problems,
};
use crate::admin::auth::Account;
use crate::admin::orders::RefundOf;
use crate::admin::service::{parse_date, Admin};
use crate::admin::{Access, AdminError, OrderFilter};
use crate::checkout::address::Address;
use crate::db::{currency_of, decode_error};
use crate::money::{Currency, Money};
use crate::orders::{order_number, OrderStatus};
use crate::promotions::DiscountLine;

// ---------------------------------------------------------------------------------------------
// Orders, shipments, cancellations, refunds

/// `?q=&status=&from=&to=&cursor=`: the admin order list's filters.
#[utoipa::path(get, path = "/api/v1/admin/orders", tag = "admin", security(("bearer" = [])),
    params(
        ("q" = Option<String>, Query, description = "An order number, or part of an email or name."),
        ("status" = Option<OrderStatus>, Query),
        ("from" = Option<String>, Query, description = "Placed on or after this day (`2026-11-25`)."),
        ("to" = Option<String>, Query, description = "Placed on or before this day."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."),
    ),
    responses((status = 200, body = OrderList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_orders(
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
    let items = list
        .rows
        .into_iter()
        .map(|row| OrderRow {
            number: row.number,
            created_at: rfc3339(row.created_at),
            email: row.email,
            name: row.name,
            status: row.status,
            fulfilment: row.fulfilment,
            total: row.total,
        })
        .collect();
    Ok(Json(OrderList {
        items,
        next_cursor: list.next_cursor,
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct OrderRow {
    number: String,
    created_at: String,
    email: String,
    name: String,
    status: OrderStatus,
    /// `unfulfilled`, `partial` or `fulfilled`.
    fulfilment: String,
    total: Money,
}

#[derive(Serialize, ToSchema)]
pub struct OrderList {
    items: Vec<OrderRow>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

/// An order as staff see it: totals, what was paid and refunded, lines, payments, refunds,
/// shipments.
#[derive(Serialize, ToSchema)]
pub struct AdminOrder {
    number: String,
    status: OrderStatus,
    /// `unfulfilled`, `partial` or `fulfilled`.
    fulfilment: String,
    email: String,
    created_at: String,
    subtotal: Money,
    shipping: Money,
    /// Each discount the order took.
    discounts: Vec<DiscountLine>,
    /// All of them: the lines' shares and any shipping discount.
    discount_total: Money,
    tax: Money,
    total: Money,
    prices_include_tax: bool,
    paid: Money,
    refunded: Money,
    /// What may still be refunded.
    refundable: Money,
    shipping_method: String,
    shipping_address: Address,
    lines: Vec<AdminOrderLine>,
    payments: Vec<Payment>,
    refunds: Vec<Refund>,
    shipments: Vec<AdminShipment>,
}

#[derive(Serialize, ToSchema)]
pub struct AdminOrderLine {
    /// The `line_id` to ship.
    id: i64,
    variant_id: Option<i64>,
    sku: String,
    title: String,
    variant_title: String,
    quantity: i64,
    shipped: i64,
    /// Units sold beyond stock.
    backordered: i64,
    unit_price: Money,
    tax: Money,
    /// Before discounts.
    total: Money,
    /// The line's share of the order's discounts.
    discount: Money,
    /// Units refunded by line so far.
    refunded: i64,
}

/// A charge of the order.
#[derive(Serialize, ToSchema)]
pub struct Payment {
    id: i64,
    /// `succeeded`, `failed`, `requires_action` or `canceled`.
    status: String,
    amount: Money,
    gateway: String,
    reference: Option<String>,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Refund {
    id: i64,
    /// The order's number.
    order: String,
    /// `succeeded`, `failed` or `requires_action` (asked of the gateway).
    status: String,
    amount: Money,
    /// Of `amount`, what went back onto the gift cards that paid the order (the rest went
    /// to the card).
    to_gift_cards: Money,
    reason: String,
    reference: Option<String>,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct AdminShipment {
    id: i64,
    /// The order's number.
    order: String,
    carrier: String,
    tracking_number: String,
    /// `shipped` or `delivered`.
    status: String,
    created_at: String,
    delivered_at: Option<String>,
    lines: Vec<ShipmentLine>,
}

#[derive(Serialize, ToSchema)]
pub struct ShipmentLine {
    line_id: i64,
    quantity: i64,
}

async fn order_out(admin: &Admin, account: &Account, number: &str) -> Result<AdminOrder, ApiError> {
    let (number, id) = path_order(number)?;
    let order = admin.order(&number, account).await?;
    let currency = order.order.total.currency;
    let money = |amount: i64| Money::new(amount, currency);
    let pool = admin.checkout().db().pool();
    let lines = sqlx::query(
        "SELECT id, variant_id, sku, title, variant_title, quantity, shipped_quantity, backordered_quantity, \
         unit_price_amount, tax_amount, total_amount, discount_amount, refunded_quantity \
         FROM order_lines WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|l| {
        Ok(AdminOrderLine {
            id: l.try_get("id")?,
            variant_id: l.try_get("variant_id")?,
            sku: l.try_get("sku")?,
            title: l.try_get("title")?,
            variant_title: l.try_get("variant_title")?,
            quantity: l.try_get("quantity")?,
            shipped: l.try_get("shipped_quantity")?,
            backordered: l.try_get("backordered_quantity")?,
            unit_price: money(l.try_get("unit_price_amount")?),
            tax: money(l.try_get("tax_amount")?),
            total: money(l.try_get("total_amount")?),
            discount: money(l.try_get("discount_amount")?),
            refunded: l.try_get("refunded_quantity")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut payments = Vec::new();
    let mut refunds = Vec::new();
    for p in sqlx::query(
        "SELECT id, kind, status, amount, gift_card_amount, gateway, reference, message, created_at FROM payments \
         WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    {
        if p.try_get::<String, _>("kind")? == "refund" {
            refunds.push(Refund {
                id: p.try_get("id")?,
                order: number.clone(),
                status: p.try_get("status")?,
                amount: money(p.try_get("amount")?),
                to_gift_cards: money(p.try_get("gift_card_amount")?),
                reason: p
                    .try_get::<Option<String>, _>("message")?
                    .unwrap_or_default(),
                reference: p.try_get("reference")?,
                created_at: rfc3339(p.try_get("created_at")?),
            });
        } else {
            payments.push(Payment {
                id: p.try_get("id")?,
                status: p.try_get("status")?,
                amount: money(p.try_get("amount")?),
                gateway: p.try_get("gateway")?,
                reference: p.try_get("reference")?,
                created_at: rfc3339(p.try_get("created_at")?),
            });
        }
    }
    let mut shipments = Vec::new();
    for s in &order.order.shipments {
        shipments.push(shipment_out(admin, s.id).await?);
    }
    let details = order.order;
    Ok(AdminOrder {
        number: details.number,
        status: details.status,
        fulfilment: order.fulfilment,
        email: details.email,
        created_at: rfc3339(details.created_at),
        subtotal: details.subtotal,
        shipping: details.shipping,
        discounts: details.discounts,
        discount_total: details.discount_total,
        tax: details.tax,
        total: details.total,
        prices_include_tax: details.prices_include_tax,
        paid: order.paid,
        refunded: order.refunded,
        refundable: money((order.paid.amount - order.refunded.amount).max(0)),
        shipping_method: details.shipping_method,
        shipping_address: details.shipping_address,
        lines,
        payments,
        refunds,
        shipments,
    })
}

async fn shipment_out(admin: &Admin, id: i64) -> Result<AdminShipment, ApiError> {
    let pool = admin.checkout().db().pool();
    let s = sqlx::query(
        "SELECT id, order_id, carrier, tracking_number, status, created_at, delivered_at FROM shipments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Shipment {id}")))?;
    let lines = sqlx::query(
        "SELECT order_line_id, quantity FROM shipment_lines WHERE shipment_id = $1 ORDER BY order_line_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|l| {
        Ok(ShipmentLine {
            line_id: l.try_get("order_line_id")?,
            quantity: l.try_get("quantity")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(AdminShipment {
        id,
        order: order_number(s.try_get("order_id")?),
        carrier: s.try_get("carrier")?,
        tracking_number: s.try_get("tracking_number")?,
        status: s.try_get("status")?,
        created_at: rfc3339(s.try_get("created_at")?),
        delivered_at: s.try_get::<Option<i64>, _>("delivered_at")?.map(rfc3339),
        lines,
    })
}

#[utoipa::path(get, path = "/api/v1/admin/orders/{number}", tag = "admin", security(("bearer" = [])),
    params(("number" = String, Path, description = "The order number (1042).")),
    responses((status = 200, body = AdminOrder), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_order(
    State(admin): State<Admin>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    Ok(Json(order_out(&admin, &account, &number).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentIn {
    lines: Vec<ShipmentLineIn>,
    carrier: String,
    tracking_number: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLineIn {
    line_id: i64,
    quantity: i64,
}

#[utoipa::path(post, path = "/api/v1/admin/orders/{number}/shipments", tag = "admin", security(("bearer" = [])),
    params(("number" = String, Path, description = "The order number.")),
    request_body = ShipmentIn,
    responses((status = 201, body = AdminShipment), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_shipment(
    State(admin): State<Admin>,
    caller: Caller,
    Path(number): Path<String>,
    request: Result<Json<serde_json::Value>, JsonRejection>,
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
    .map(|r| Ok((r.try_get("id")?, r.try_get("left_to_ship")?)))
    .collect::<Result<_, sqlx::Error>>()?;
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
        Json(shipment_out(&admin, shipment).await?),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/shipments/{shipment}/delivered", tag = "admin", security(("bearer" = [])),
    params(("shipment" = i64, Path, description = "The shipment's id.")),
    responses((status = 200, body = AdminShipment), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn delivered(
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
    Ok(Json(shipment_out(&admin, id).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/orders/{number}/cancel", tag = "admin", security(("bearer" = [])),
    params(("number" = String, Path, description = "The order number.")),
    responses((status = 200, description = "Cancelled: stock returned, payment refunded", body = AdminOrder), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn cancel(
    State(admin): State<Admin>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let (number, _) = path_order(&number)?;
    admin.cancel(&account, &number).await?;
    Ok(Json(order_out(&admin, &account, &number).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    /// An amount to refund; or send `lines` instead.
    #[serde(default)]
    amount: Option<MoneyIn>,
    /// Units of lines to refund at what they were paid (after their share of the discounts,
    /// with their tax), never more units than are left to refund.
    #[serde(default)]
    lines: Option<Vec<RefundLineIn>>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineIn {
    /// The order line's `id`.
    line_id: i64,
    quantity: i64,
}

/// Keys of refunds asked for through the API, apart from the refund form's own keys.
fn refund_key(key: &str) -> String {
    format!("api:{key}")
}

/// A refund's `Idempotency-Key` header, as the refunds ledger keys it.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
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
    Ok(refund_key(key))
}

async fn refund_out(admin: &Admin, key: &str) -> Result<Option<(i64, Refund)>, ApiError> {
    let row = sqlx::query(
        "SELECT p.id, p.order_id, p.status, p.amount, p.gift_card_amount, p.currency, p.message, p.reference, p.created_at \
         FROM payments p WHERE p.idempotency_key = $1 AND p.kind = 'refund'",
    )
    .bind(key)
    .fetch_optional(admin.checkout().db().pool())
    .await?;
    let Some(p) = row else {
        return Ok(None);
    };
    let currency = currency_of(&p, "currency")?;
    let order_id: i64 = p.try_get("order_id")?;
    Ok(Some((
        order_id,
        Refund {
            id: p.try_get("id")?,
            order: order_number(order_id),
            status: p.try_get("status")?,
            amount: Money::new(p.try_get("amount")?, currency),
            to_gift_cards: Money::new(p.try_get("gift_card_amount")?, currency),
            reason: p
                .try_get::<Option<String>, _>("message")?
                .unwrap_or_default(),
            reference: p.try_get("reference")?,
            created_at: rfc3339(p.try_get("created_at")?),
        },
    )))
}

/// Checks the lines of a refund against the order: each line the order's, listed once, with
/// units left to refund. (The writer checks again: this is for clear answers.)
async fn refund_lines_in(
    admin: &Admin,
    order_id: i64,
    lines: &[RefundLineIn],
    problems: &mut Problems,
) -> Result<Vec<(i64, u32)>, ApiError> {
    if lines.is_empty() || lines.len() > 500 {
        problems.add("lines", "name 1 to 500 lines");
        return Ok(Vec::new());
    }
    let rows =
        sqlx::query("SELECT id, quantity, refunded_quantity FROM order_lines WHERE order_id = $1")
            .bind(order_id)
            .fetch_all(admin.checkout().db().pool())
            .await?;
    let mut taken = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let row = rows
            .iter()
            .find(|r| r.try_get::<i64, _>("id").ok() == Some(line.line_id));
        let Some(row) = row else {
            problems.add(format!("lines[{i}].line_id"), "this order has no such line");
            continue;
        };
        if lines[..i].iter().any(|l| l.line_id == line.line_id) {
            problems.add(format!("lines[{i}].line_id"), "this line is listed twice");
            continue;
        }
        let left =
            row.try_get::<i64, _>("quantity")? - row.try_get::<i64, _>("refunded_quantity")?;
        if line.quantity < 1 || line.quantity > left {
            problems.add(
                format!("lines[{i}].quantity"),
                format!("enter 1 to {left}: the units of this line left to refund"),
            );
            continue;
        }
        taken.push((line.line_id, line.quantity as u32));
    }
    Ok(taken)
}

/// Refunds once per `Idempotency-Key`: the same key again answers with the same refund.
#[utoipa::path(post, path = "/api/v1/admin/orders/{number}/refunds", tag = "admin", security(("bearer" = [])),
    params(
        ("number" = String, Path, description = "The order number."),
        ("Idempotency-Key" = String, Header, description = "Required; the same key again answers with the same refund."),
    ),
    request_body = RefundIn,
    responses((status = 201, body = Refund), (status = 200, description = "This key's refund, made before", body = Refund), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, description = "Unusable input, or more than is left to refund", body = ErrorBody), (status = 502, body = ErrorBody)))]
pub(super) async fn refund(
    State(admin): State<Admin>,
    caller: Caller,
    Path(number): Path<String>,
    headers: HeaderMap,
    request: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Refunds)?;
    let key = idempotency_key(&headers)?;
    let input: RefundIn = body(request)?;
    let (number, id) = path_order(&number)?;
    if let Some((order, refund)) = refund_out(&admin, &key).await? {
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
    let currency = Currency::parse(&currency).map_err(|_| decode_error("currency", &currency))?;
    let mut problems = Problems::default();
    let of = match (&input.amount, &input.lines) {
        (Some(amount), None) => {
            RefundOf::Amount(amount.check("amount", currency, 1, &mut problems))
        }
        (None, Some(lines)) => {
            RefundOf::Lines(refund_lines_in(&admin, id, lines, &mut problems).await?)
        }
        _ => {
            problems.add("amount", "send either an amount or lines to refund");
            RefundOf::Amount(0)
        }
    };
    let reason = input.reason.unwrap_or_default();
    check_text(&mut problems, "reason", &reason, 0, 500);
    problems.finish()?;
    admin
        .refund_of(&account, &number, of, &key, &reason)
        .await
        .map_err(|e| ApiError::from(e).on("amount"))?;
    let (_, refund) = refund_out(&admin, &key)
        .await?
        .ok_or(ApiError::from(AdminError::Internal))?;
    Ok((StatusCode::CREATED, Json(refund)).into_response())
}
