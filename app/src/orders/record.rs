//! Reading orders back: the order row, its lines and its shipments, decoded into types (a row
//! that does not decode is an error for the caller, never a panic); and whose they are: a
//! customer's order history, and guest orders claimed by a proven email.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::{order_number, OrderDetails, OrderLine, OrderStatus, Shipment};
use crate::checkout::address::Address;
use crate::db::{count, currency_of, decode_error, Sql};
use crate::money::Money;
use crate::payments::NextAction;

/// The columns every order read needs.
const ORDER_COLUMNS: &str = "SELECT id, access_token, email, status, currency, subtotal_amount, \
     shipping_amount, discount_amount, tax_amount, total_amount, gift_card_amount, refunded_amount, prices_include_tax, shipping_name, \
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
    /// Goods and shipping discounts together.
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
    /// What gift cards paid; the card is charged the rest.
    pub gift_card: Money,
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
            discount: money("discount_amount")?,
            tax: money("tax_amount")?,
            total: money("total_amount")?,
            gift_card: money("gift_card_amount")?,
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
        "SELECT id, variant_id, sku, title, variant_title, quantity, backordered_quantity, \
         unit_price_amount, total_amount, discount_amount FROM order_lines WHERE order_id = $1 ORDER BY id",
    )
    .bind(order.id)
    .fetch_all(pool)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        lines.push(OrderLine {
            id: row.try_get("id")?,
            variant_id: row.try_get("variant_id")?,
            sku: row.try_get("sku")?,
            title: row.try_get("title")?,
            variant_title: row.try_get("variant_title")?,
            quantity: count(row, "quantity")?,
            backordered: count(row, "backordered_quantity")?,
            unit_price: Money::new(row.try_get("unit_price_amount")?, currency),
            total: Money::new(row.try_get("total_amount")?, currency),
            discount: Money::new(row.try_get("discount_amount")?, currency),
        });
    }
    let discounts = crate::promotions::store::of_order(pool, order.id, currency).await?;
    let gift_cards = if order.gift_card.amount > 0 {
        crate::promotions::gift_card_store::of_order(pool, order.id, currency).await?
    } else {
        Vec::new()
    };
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
        discounts,
        discount_total: order.discount,
        tax: order.tax,
        total: order.total,
        gift_cards,
        amount_due: Money::new(order.total.amount - order.gift_card.amount, currency),
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
    Ok(shipments_of(pool, &[order_id])
        .await?
        .remove(&order_id)
        .unwrap_or_default())
}

/// The shipments of several orders, by order, each oldest first (two statements however many
/// orders).
pub async fn shipments_of(
    pool: &AnyPool,
    order_ids: &[i64],
) -> Result<HashMap<i64, Vec<Shipment>>, sqlx::Error> {
    let mut by_order: HashMap<i64, Vec<Shipment>> = HashMap::new();
    if order_ids.is_empty() {
        return Ok(by_order);
    }
    let mut shipments = Sql::default();
    shipments
        .push(
            "SELECT id, order_id, carrier, tracking_number, status, created_at, delivered_at \
             FROM shipments WHERE order_id IN ",
        )
        .bind_list(order_ids.iter().copied())
        .push(" ORDER BY id");
    let rows = shipments.query().fetch_all(pool).await?;
    let mut lines = Sql::default();
    lines
        .push(
            "SELECT sl.shipment_id, ol.title, ol.variant_title, sl.quantity FROM shipment_lines sl \
             JOIN order_lines ol ON ol.id = sl.order_line_id JOIN shipments s ON s.id = sl.shipment_id \
             WHERE s.order_id IN ",
        )
        .bind_list(order_ids.iter().copied())
        .push(" ORDER BY ol.id");
    let lines = lines.query().fetch_all(pool).await?;
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
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        by_order
            .entry(row.try_get("order_id")?)
            .or_default()
            .push(Shipment {
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
    Ok(by_order)
}

/// A customer's orders, newest first: `limit` of them with ids below `before` (a keyset page).
pub async fn of_customer(
    pool: &AnyPool,
    customer_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<OrderRecord>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{ORDER_COLUMNS} WHERE customer_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(customer_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(OrderRecord::from_row).collect()
}

/// Gives a customer the guest orders placed with `email`. Only a sign-in that proved the
/// email (a code sent to it) may call this: an email typed somewhere proves nothing, and
/// matching on it alone would show one person's orders to another.
pub async fn claim_guest_orders(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
    email: &str,
) -> Result<u64, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE orders SET customer_id = $1 WHERE customer_id IS NULL AND lower(email) = $2",
    )
    .bind(customer_id)
    .bind(email.to_lowercase())
    .execute(&mut *conn)
    .await?;
    Ok(claimed.rows_affected())
}
