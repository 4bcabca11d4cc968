//! Reading orders back: the order row, its lines and its shipments, decoded into types. A row
//! that does not decode is an error for the caller, never a panic.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::{order_number, OrderDetails, OrderLine, OrderStatus, Shipment};
use crate::checkout::address::Address;
use crate::db::{count, currency_of, decode_error};
use crate::money::Money;
use crate::payments::NextAction;

/// The columns every order read needs.
const ORDER_COLUMNS: &str = "SELECT id, access_token, email, status, currency, subtotal_amount, \
     shipping_amount, tax_amount, total_amount, refunded_amount, prices_include_tax, shipping_name, \
     address_json, gateway, payment_ref, fulfilment, reserved_until, created_at FROM orders";

/// An order as the `orders` table holds it.
#[derive(Clone, Debug)]
pub struct OrderRecord {
    pub id: i64,
    pub access_token: String,
    pub email: String,
    pub status: OrderStatus,
    pub subtotal: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub refunded: Money,
    pub prices_include_tax: bool,
    pub shipping_name: String,
    pub address_json: String,
    /// The gateway that took (or is taking) the payment: refunds go through it.
    pub gateway: String,
    pub payment_ref: Option<String>,
    /// `unfulfilled`, `partial` or `fulfilled`.
    pub fulfilment: String,
    pub reserved_until: Option<i64>,
    pub created_at: i64,
}

impl OrderRecord {
    fn from_row(row: &AnyRow) -> Result<OrderRecord, sqlx::Error> {
        let currency = currency_of(row, "currency")?;
        let money = |column: &str| -> Result<Money, sqlx::Error> {
            Ok(Money::new(row.try_get(column)?, currency))
        };
        let status: String = row.try_get("status")?;
        Ok(OrderRecord {
            id: row.try_get("id")?,
            access_token: row.try_get("access_token")?,
            email: row.try_get("email")?,
            status: OrderStatus::parse(&status).ok_or_else(|| decode_error("status", &status))?,
            subtotal: money("subtotal_amount")?,
            shipping: money("shipping_amount")?,
            tax: money("tax_amount")?,
            total: money("total_amount")?,
            refunded: money("refunded_amount")?,
            prices_include_tax: row.try_get::<i64, _>("prices_include_tax")? != 0,
            shipping_name: row.try_get("shipping_name")?,
            address_json: row.try_get("address_json")?,
            gateway: row.try_get("gateway")?,
            payment_ref: row.try_get("payment_ref")?,
            fulfilment: row.try_get("fulfilment")?,
            reserved_until: row.try_get("reserved_until")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// The order behind an access token (the 32 hex digits at the end of its link).
pub async fn by_token(
    pool: &AnyPool,
    access_token: &str,
) -> Result<Option<OrderRecord>, sqlx::Error> {
    if access_token.len() != 32 || !access_token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row = sqlx::query(&format!("{ORDER_COLUMNS} WHERE access_token = $1"))
        .bind(access_token)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(OrderRecord::from_row).transpose()
}

pub async fn by_id(pool: &AnyPool, id: i64) -> Result<Option<OrderRecord>, sqlx::Error> {
    let row = sqlx::query(&format!("{ORDER_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(OrderRecord::from_row).transpose()
}

/// What the shopper's order page shows, with `next_action` as the payment's gateway says.
pub async fn details(
    pool: &AnyPool,
    order: OrderRecord,
    next_action: Option<NextAction>,
) -> Result<OrderDetails, sqlx::Error> {
    let currency = order.total.currency;
    let rows = sqlx::query(
        "SELECT sku, title, variant_title, quantity, backordered_quantity, unit_price_amount, \
         total_amount FROM order_lines WHERE order_id = $1 ORDER BY id",
    )
    .bind(order.id)
    .fetch_all(pool)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        lines.push(OrderLine {
            sku: row.try_get("sku")?,
            title: row.try_get("title")?,
            variant_title: row.try_get("variant_title")?,
            quantity: count(row, "quantity")?,
            backordered: count(row, "backordered_quantity")?,
            unit_price: Money::new(row.try_get("unit_price_amount")?, currency),
            total: Money::new(row.try_get("total_amount")?, currency),
        });
    }
    // Written by checkout from a validated address; an unreadable one shows as empty rather
    // than hiding the order from its shopper.
    let address: Address = serde_json::from_str(&order.address_json).unwrap_or_default();
    let shipments = load_shipments(pool, order.id).await?;
    Ok(OrderDetails {
        number: order_number(order.id),
        status: order.status,
        email: order.email,
        created_at: order.created_at,
        lines,
        subtotal: order.subtotal,
        shipping: order.shipping,
        tax: order.tax,
        total: order.total,
        prices_include_tax: order.prices_include_tax,
        shipping_method: order.shipping_name,
        shipping_address: address,
        reserved_until: order.reserved_until,
        next_action,
        shipments,
    })
}

/// "Title (Variant)" as emails and pages name a line.
pub(crate) fn line_title(title: String, variant: &str) -> String {
    if variant.is_empty() {
        title
    } else {
        format!("{title} ({variant})")
    }
}

/// An order's shipments with their lines, oldest first (two statements).
pub async fn load_shipments(pool: &AnyPool, order_id: i64) -> Result<Vec<Shipment>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, carrier, tracking_number, status, created_at, delivered_at FROM shipments \
         WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    let lines = sqlx::query(
        "SELECT sl.shipment_id, ol.title, ol.variant_title, sl.quantity FROM shipment_lines sl \
         JOIN order_lines ol ON ol.id = sl.order_line_id JOIN shipments s ON s.id = sl.shipment_id \
         WHERE s.order_id = $1 ORDER BY ol.id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    let mut shipped: Vec<(i64, String, u32)> = Vec::with_capacity(lines.len());
    for line in &lines {
        shipped.push((
            line.try_get("shipment_id")?,
            line_title(
                line.try_get("title")?,
                &line.try_get::<String, _>("variant_title")?,
            ),
            count(line, "quantity")?,
        ));
    }
    let mut shipments = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        shipments.push(Shipment {
            id,
            carrier: row.try_get("carrier")?,
            tracking_number: row.try_get("tracking_number")?,
            status: row.try_get("status")?,
            created_at: row.try_get("created_at")?,
            delivered_at: row.try_get("delivered_at")?,
            lines: shipped
                .iter()
                .filter(|(shipment, _, _)| *shipment == id)
                .map(|(_, title, quantity)| (title.clone(), *quantity))
                .collect(),
        });
    }
    Ok(shipments)
}
