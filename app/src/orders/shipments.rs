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

/// The most orders one pasted sheet ships.
pub const MAX_SHEET_LINES: usize = 500;

/// One line of a tracking sheet: which order leaves with which carrier and tracking number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetLine {
    /// The line of the pasted text, from 1, for messages.
    pub line: usize,
    pub order_id: i64,
    pub carrier: String,
    pub tracking_number: String,
}

/// Reads tracking numbers pasted from a spreadsheet or typed by hand: one order per line,
/// "order number, carrier, tracking number" separated by tabs (a spreadsheet's copy), commas or
/// semicolons. Blank lines and a heading row are skipped. Every problem is reported with its
/// line, so the sheet can be fixed in one go.
pub fn parse_tracking_sheet(text: &str) -> Result<Vec<SheetLine>, Vec<String>> {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let separator = ['\t', ';', ','].into_iter().find(|s| raw.contains(*s));
        let cells: Vec<&str> = match separator {
            Some(s) => raw.split(s).map(str::trim).collect(),
            None => vec![raw.trim()],
        };
        let Some(order_id) = super::order_id(cells[0]) else {
            let heading = lines.is_empty()
                && problems.is_empty()
                && cells[0].to_lowercase().contains("order");
            if !heading {
                problems.push(format!(
                    "line {line}: '{}' is not an order number",
                    cells[0].chars().take(30).collect::<String>()
                ));
            }
            continue;
        };
        let (carrier, tracking) = match cells[1..] {
            [carrier, tracking] => (carrier, tracking),
            _ => {
                problems.push(format!(
                    "line {line}: give the order number, the carrier and the tracking number"
                ));
                continue;
            }
        };
        if lines.iter().any(|l: &SheetLine| l.order_id == order_id) {
            problems.push(format!(
                "line {line}: order {} is on an earlier line too",
                order_number(order_id)
            ));
            continue;
        }
        // The carrier and tracking number are checked as for one shipment.
        let checked = NewShipment {
            lines: vec![(0, 1)],
            carrier: carrier.to_string(),
            tracking_number: tracking.to_string(),
        }
        .checked();
        match checked {
            Ok(shipment) => lines.push(SheetLine {
                line,
                order_id,
                carrier: shipment.carrier,
                tracking_number: shipment.tracking_number,
            }),
            Err(error) => problems.push(format!("line {line}: {error}")),
        }
    }
    if lines.is_empty() && problems.is_empty() {
        problems.push("Paste at least one line: order number, carrier, tracking number.".into());
    }
    if lines.len() > MAX_SHEET_LINES {
        problems.push(format!("Ship at most {MAX_SHEET_LINES} orders at once."));
    }
    if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::order_id;

    #[test]
    fn a_sheet_reads_tabs_commas_and_semicolons_and_skips_its_heading() {
        let sheet = "Order\tCarrier\tTracking\n#1042\tDHL\tJD0142\n\n1043, UPS , 1Z999\n1044;PostNL;3S12 34\n";
        let lines = parse_tracking_sheet(sheet).unwrap();
        let seen: Vec<_> = lines
            .iter()
            .map(|l| {
                (
                    l.line,
                    order_number(l.order_id),
                    l.carrier.as_str(),
                    l.tracking_number.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (2, "1042".to_string(), "DHL", "JD0142"),
                (4, "1043".to_string(), "UPS", "1Z999"),
                (5, "1044".to_string(), "PostNL", "3S12 34"),
            ]
        );
        assert_eq!(lines[0].order_id, order_id("1042").unwrap());
    }

    #[test]
    fn every_problem_of_a_sheet_is_named_with_its_line() {
        let sheet = "1042\tDHL\tJD1\nabc\tDHL\tJD2\n1043\tDHL\n1044\t\tJD4\n1042\tUPS\tJD5\n";
        let problems = parse_tracking_sheet(sheet).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("line 2: 'abc' is not an order number"));
        assert!(problems[1].starts_with("line 3: give the order number"));
        assert!(problems[2].starts_with("line 4: Enter the carrier"));
        assert!(problems[3].starts_with("line 5: order 1042 is on an earlier line"));
        assert!(parse_tracking_sheet(" \n\n").is_err());
        let too_many: String = (0..=MAX_SHEET_LINES)
            .map(|n| format!("{}\tDHL\tT{n}\n", 1001 + n))
            .collect();
        assert!(parse_tracking_sheet(&too_many).is_err());
    }
}
