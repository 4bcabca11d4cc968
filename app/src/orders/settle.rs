//! Every change of an order's status, in one place: [`transition`] is the only statement that
//! writes `orders.status` after an order is placed, and it only makes the moves
//! [`OrderStatus::can_become`] allows, once (whoever comes second changes nothing).
//!
//! Around it: [`settle`] moves a pending order to paid (its reservation becomes a sale, the
//! charge is recorded, the confirmation email queued) or releases it (failed, expired,
//! cancelled: the reservation goes back); [`cancel_paid`] cancels a paid order nothing of which
//! has shipped, putting its stock back. All in the caller's transaction.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::record::line_title;
use super::OrderStatus;
use crate::db::{count, currency_of};
use crate::inventory::{self, Movement, StockError, StockMove};
use crate::money::Money;
use crate::notifications;
use crate::payments::ledger::{self, Charge};

/// How a pending order ends.
#[derive(Clone, Debug)]
pub enum Settlement {
    Paid { reference: String },
    Release { status: OrderStatus, reason: String },
}

/// A webhook delivery, recorded with the change it causes so a replay is a no-op.
#[derive(Clone, Debug)]
pub struct WebhookEvent {
    pub id: String,
    pub gateway: &'static str,
    pub kind: String,
}

/// Why an order could not move.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("an order cannot go from {0:?} to {1:?}")]
    NotAllowed(OrderStatus, OrderStatus),
    #[error("the order is no longer {0:?}")]
    Moved(OrderStatus),
    #[error("the order's stock does not add up: {0}")]
    Stock(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<StockError> for TransitionError {
    fn from(error: StockError) -> Self {
        match error {
            StockError::Database(error) => TransitionError::Database(error),
            other => TransitionError::Stock(other.to_string()),
        }
    }
}

/// What a transition tells its caller about the order it moved.
pub struct Moved {
    pub email: String,
    pub access_token: String,
    pub total: Money,
    /// What gift cards paid of the total.
    pub gift_card: Money,
    pub gateway: String,
    pub payment_ref: Option<String>,
}

/// Moves order `id` from `from` to `to`: the one UPDATE of an order's status. `None` if the
/// order was not `from` any more (or, with `unfulfilled_only`, something of it has shipped).
pub async fn transition(
    conn: &mut AnyConnection,
    id: i64,
    from: OrderStatus,
    to: OrderStatus,
    unfulfilled_only: bool,
    now: i64,
) -> Result<Option<Moved>, TransitionError> {
    if !from.can_become(to) {
        return Err(TransitionError::NotAllowed(from, to));
    }
    let fulfilment = if unfulfilled_only {
        " AND fulfilment = 'unfulfilled'"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "UPDATE orders SET status = $1, reserved_until = NULL, updated_at = $2, \
         paid_at = CASE WHEN $3 = 1 THEN $2 ELSE paid_at END \
         WHERE id = $4 AND status = $5{fulfilment} \
         RETURNING email, access_token, currency, total_amount, gift_card_amount, gateway, payment_ref"
    ))
    .bind(to.as_str())
    .bind(now)
    .bind(i64::from(to == OrderStatus::Paid))
    .bind(id)
    .bind(from.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(moved_from_row)
        .transpose()
        .map_err(Into::into)
}

fn moved_from_row(row: &AnyRow) -> Result<Moved, sqlx::Error> {
    let currency = currency_of(row, "currency")?;
    Ok(Moved {
        email: row.try_get("email")?,
        access_token: row.try_get("access_token")?,
        total: Money::new(row.try_get("total_amount")?, currency),
        gift_card: Money::new(row.try_get("gift_card_amount")?, currency),
        gateway: row.try_get("gateway")?,
        payment_ref: row.try_get("payment_ref")?,
    })
}

/// An order line's variant and the units it holds from stock (not backordered).
struct HeldLine {
    variant_id: Option<i64>,
    held: i64,
    title: String,
    quantity: u32,
    total: i64,
}

async fn held_lines(conn: &mut AnyConnection, order_id: i64) -> Result<Vec<HeldLine>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT variant_id, title, variant_title, quantity, backordered_quantity, total_amount \
         FROM order_lines WHERE order_id = $1 ORDER BY variant_id",
    )
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in &rows {
        let quantity: i64 = row.try_get("quantity")?;
        lines.push(HeldLine {
            variant_id: row.try_get("variant_id")?,
            held: quantity - row.try_get::<i64, _>("backordered_quantity")?,
            title: line_title(
                row.try_get("title")?,
                &row.try_get::<String, _>("variant_title")?,
            ),
            quantity: count(row, "quantity")?,
            total: row.try_get("total_amount")?,
        });
    }
    Ok(lines)
}

/// Moves a pending order forward exactly once: paid (the reservation becomes a sale, the
/// confirmation email is queued) or released (the reservation goes back). `event`, a webhook
/// delivery, is recorded in the same transaction so a replay changes nothing. Returns whether
/// anything changed.
pub async fn settle(
    conn: &mut AnyConnection,
    order_id: i64,
    settlement: Settlement,
    event: Option<WebhookEvent>,
    site_url: &str,
    now: i64,
) -> Result<bool, TransitionError> {
    if let Some(event) = &event {
        let fresh = sqlx::query(
            "INSERT INTO webhook_events (id, gateway, event_type, received_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .bind(&event.id)
        .bind(event.gateway)
        .bind(&event.kind)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if fresh.is_none() {
            return Ok(false);
        }
    }
    let (status, paid) = match &settlement {
        Settlement::Paid { .. } => (OrderStatus::Paid, true),
        Settlement::Release { status, .. } => (*status, false),
    };
    let Some(order) = transition(
        conn,
        order_id,
        OrderStatus::PendingPayment,
        status,
        false,
        now,
    )
    .await?
    else {
        return Ok(false);
    };
    let lines = held_lines(conn, order_id).await?;
    let movement = if paid {
        Movement::Commit
    } else {
        Movement::Release
    };
    let moves: Vec<StockMove> = lines
        .iter()
        .filter(|line| line.held > 0)
        .filter_map(|line| {
            let variant = line.variant_id?;
            Some(StockMove::for_order(variant, order_id, movement, line.held))
        })
        .collect();
    inventory::apply(conn, &moves, now).await?;
    if !paid {
        // The discounts' uses go back: a failed or expired payment used nothing up.
        crate::promotions::store::release(conn, order_id, now).await?;
        // And so do the gift cards' amounts.
        crate::promotions::gift_card_store::release(conn, order_id, now).await?;
    }

    let reference = match &settlement {
        Settlement::Paid { reference } if !reference.is_empty() => reference.clone(),
        _ => order.payment_ref.clone().unwrap_or_default(),
    };
    let (payment_status, message) = match &settlement {
        Settlement::Paid { .. } => ("succeeded", String::new()),
        Settlement::Release {
            status: OrderStatus::PaymentFailed,
            reason,
        } => ("failed", reason.clone()),
        Settlement::Release { reason, .. } => ("canceled", reason.clone()),
    };
    let charge = Charge {
        order_id,
        gateway: &order.gateway,
        status: payment_status,
        amount: order.total.amount - order.gift_card.amount,
        currency: order.total.currency.code(),
        reference: &reference,
        message: &message,
    };
    ledger::record_charge(conn, charge, now).await?;
    if paid {
        let email_lines: Vec<notifications::EmailLine> = lines
            .into_iter()
            .map(|line| (line.title, line.quantity, line.total))
            .collect();
        let order_url = format!("{site_url}/orders/{}", order.access_token);
        let discounts =
            crate::promotions::store::of_order(&mut *conn, order_id, order.total.currency).await?;
        let gift_cards = crate::promotions::gift_card_store::of_order(
            &mut *conn,
            order_id,
            order.total.currency,
        )
        .await?;
        let email = notifications::order_confirmation(
            &super::order_number(order_id),
            &email_lines,
            &discounts,
            &gift_cards,
            order.total,
            &order_url,
        );
        notifications::queue(conn, &order.email, email, now).await?;
    }
    Ok(true)
}

/// Cancels a paid order nothing of which has shipped and puts its units back on the shelf
/// (`note` goes into the stock ledger). The refund is the caller's: it goes through the
/// gateway, outside any transaction.
pub async fn cancel_paid(
    conn: &mut AnyConnection,
    order_id: i64,
    note: &str,
    now: i64,
) -> Result<Moved, TransitionError> {
    let moved = transition(
        conn,
        order_id,
        OrderStatus::Paid,
        OrderStatus::Cancelled,
        true,
        now,
    )
    .await?
    .ok_or(TransitionError::Moved(OrderStatus::Paid))?;
    let moves: Vec<StockMove> = held_lines(conn, order_id)
        .await?
        .into_iter()
        .filter(|line| line.held > 0)
        .filter_map(|line| {
            let mut movement =
                StockMove::for_order(line.variant_id?, order_id, Movement::Restock, line.held);
            movement.note = note.to_string();
            Some(movement)
        })
        .collect();
    inventory::apply(conn, &moves, now).await?;
    Ok(moved)
}
