//! Shipments: what left the warehouse for an order, with carrier and tracking, and when it was
//! delivered. Written here only, in the caller's transaction, with the shipped email queued in
//! the same transaction.

use sqlx::{AnyConnection, Row};

use super::{order_number, OrderStatus};
use crate::notifications;

/// Carrier and tracking number are at most this long.
pub const MAX_TRACKING_LEN: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ShipmentError {
    #[error("Order {0} was not found")]
    NoOrder(String),
    #[error("Only paid orders can be shipped.")]
    NotPaid,
    #[error("Choose at least one item to ship.")]
    NothingToShip,
    #[error("Enter the {0} (up to {MAX_TRACKING_LEN} characters).")]
    BadField(&'static str),
    #[error("Line {line} does not have {quantity} item(s) left to ship.")]
    TooMany { line: i64, quantity: u32 },
    #[error("That shipment is not out for delivery.")]
    NotOutForDelivery,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A shipment to make: (order line id, quantity) pairs, carrier and tracking number.
#[derive(Clone, Debug)]
pub struct NewShipment {
    pub lines: Vec<(i64, u32)>,
    pub carrier: String,
    pub tracking_number: String,
}

impl NewShipment {
    /// Trims and checks the fields; lines with no quantity are dropped.
    pub fn checked(self) -> Result<NewShipment, ShipmentError> {
        let carrier = self.carrier.trim().to_string();
        let tracking_number = self.tracking_number.trim().to_string();
        if carrier.is_empty() || carrier.chars().count() > MAX_TRACKING_LEN {
            return Err(ShipmentError::BadField("carrier"));
        }
        if tracking_number.is_empty() || tracking_number.chars().count() > MAX_TRACKING_LEN {
            return Err(ShipmentError::BadField("tracking number"));
        }
        let lines: Vec<(i64, u32)> = self.lines.into_iter().filter(|(_, q)| *q > 0).collect();
        if lines.is_empty() {
            return Err(ShipmentError::NothingToShip);
        }
        Ok(NewShipment {
            lines,
            carrier,
            tracking_number,
        })
    }
}

/// Ships part or all of what is left of a paid order's lines; the order's fulfilment follows
/// (partial, fulfilled) and the shopper is emailed. Returns the shipment's id.
pub async fn create(
    conn: &mut AnyConnection,
    order_id: i64,
    shipment: &NewShipment,
    order_url_base: &str,
    now: i64,
) -> Result<i64, ShipmentError> {
    let order = sqlx::query("SELECT status, email, access_token FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ShipmentError::NoOrder(order_number(order_id)))?;
    if order.try_get::<String, _>("status")? != OrderStatus::Paid.as_str() {
        return Err(ShipmentError::NotPaid);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO shipments (order_id, carrier, tracking_number, status, created_at) \
         VALUES ($1, $2, $3, 'shipped', $4) RETURNING id",
    )
    .bind(order_id)
    .bind(&shipment.carrier)
    .bind(&shipment.tracking_number)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for (line, quantity) in &shipment.lines {
        // Never more than was ordered: the condition is in the UPDATE.
        let done = sqlx::query(
            "UPDATE order_lines SET shipped_quantity = shipped_quantity + $1 \
             WHERE id = $2 AND order_id = $3 AND shipped_quantity + $1 <= quantity",
        )
        .bind(i64::from(*quantity))
        .bind(*line)
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(ShipmentError::TooMany {
                line: *line,
                quantity: *quantity,
            });
        }
        sqlx::query(
            "INSERT INTO shipment_lines (shipment_id, order_line_id, quantity) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(*line)
        .bind(i64::from(*quantity))
        .execute(&mut *conn)
        .await?;
    }
    let left: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(quantity - shipped_quantity), 0) AS BIGINT) FROM order_lines WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_one(&mut *conn)
    .await?;
    let fulfilment = if left == 0 { "fulfilled" } else { "partial" };
    sqlx::query("UPDATE orders SET fulfilment = $1, updated_at = $2 WHERE id = $3")
        .bind(fulfilment)
        .bind(now)
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    let token: String = order.try_get("access_token")?;
    let email = notifications::order_shipped(
        &order_number(order_id),
        &shipment.carrier,
        &shipment.tracking_number,
        &format!("{order_url_base}{token}"),
    );
    notifications::queue(conn, &order.try_get::<String, _>("email")?, email, now).await?;
    Ok(id)
}

/// Marks a shipment of the order delivered, once.
pub async fn mark_delivered(
    conn: &mut AnyConnection,
    order_id: i64,
    shipment: i64,
    now: i64,
) -> Result<(), ShipmentError> {
    let done = sqlx::query(
        "UPDATE shipments SET status = 'delivered', delivered_at = $1 \
         WHERE id = $2 AND order_id = $3 AND status = 'shipped'",
    )
    .bind(now)
    .bind(shipment)
    .bind(order_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(ShipmentError::NotOutForDelivery);
    }
    Ok(())
}
