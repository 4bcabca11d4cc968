//! The `payments` table: every charge attempt and every refund, written here and nowhere else,
//! each in the caller's transaction.
//!
//! A refund is made in three steps so that a slow or failing gateway never holds the write lock
//! and never refunds twice: [`reserve_refund`] adds the amount to the order's refunded total
//! (never beyond what was paid) and records the refund as started, under a key unique per
//! order; the caller asks the gateway that took the payment, with that key; [`record_refund`]
//! records the answer and, on failure, gives the amount back to what can be refunded.
//!
//! When gift cards paid part of the order, a refund pays the card back first and puts the rest
//! back onto the gift cards at once, in the reservation's transaction (no gateway involved).

use sqlx::{AnyConnection, Row};

use crate::db::currency_of;
use crate::money::{Currency, Money};
use crate::promotions::{gift_card_store, gift_cards};

/// A charge attempt as the `payments` table records it.
pub struct Charge<'a> {
    pub order_id: i64,
    pub gateway: &'a str,
    /// `succeeded`, `failed`, `requires_action` or `canceled`.
    pub status: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub reference: &'a str,
    pub message: &'a str,
}

pub async fn record_charge(
    conn: &mut AnyConnection,
    charge: Charge<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payments (order_id, gateway, kind, status, amount, currency, reference, message, created_at) \
         VALUES ($1, $2, 'charge', $3, $4, $5, $6, $7, $8)",
    )
    .bind(charge.order_id)
    .bind(charge.gateway)
    .bind(charge.status)
    .bind(charge.amount)
    .bind(charge.currency)
    .bind(charge.reference)
    .bind(charge.message)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What the gateway needs to make a reserved refund.
#[derive(Clone, Debug)]
pub struct RefundTarget {
    /// The gateway that took the payment.
    pub gateway: String,
    pub currency: Currency,
    pub payment_ref: String,
    /// What goes back to the card through the gateway (0: nothing to ask it).
    pub to_card: i64,
    /// What went back onto gift cards, already in the reservation's transaction.
    pub to_gift_cards: i64,
}

/// Why a refund cannot be reserved.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("You can refund at most {0} on this order.")]
    AtMost(Money),
    #[error("Only paid orders can be refunded.")]
    NotPaid,
    #[error("This refund failed earlier ({0}); start a new one.")]
    FailedBefore(String),
    #[error("This refund is still being processed; reload the page in a moment.")]
    InProgress,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Reserves `amount` of a paid (or cancelled) order for a refund under `key`. `Ok(None)`: this
/// key already made its refund on this order (a double submit), nothing to do.
/// Whether a refund with `key` was asked for on this order before.
pub async fn refund_seen(
    conn: &mut AnyConnection,
    order_id: i64,
    key: &str,
) -> Result<bool, sqlx::Error> {
    let seen: Option<i64> =
        sqlx::query_scalar("SELECT id FROM payments WHERE order_id = $1 AND idempotency_key = $2")
            .bind(order_id)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(seen.is_some())
}

pub async fn reserve_refund(
    conn: &mut AnyConnection,
    order_id: i64,
    amount: i64,
    key: &str,
    reason: &str,
    now: i64,
) -> Result<Option<RefundTarget>, RefundError> {
    // Keys belong to their order: the same key on another order is another refund.
    let seen = sqlx::query(
        "SELECT status, message FROM payments WHERE order_id = $1 AND idempotency_key = $2",
    )
    .bind(order_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(seen) = seen {
        let status: String = seen.try_get("status")?;
        return match status.as_str() {
            "succeeded" => Ok(None),
            "failed" => Err(RefundError::FailedBefore(seen.try_get("message")?)),
            _ => Err(RefundError::InProgress),
        };
    }
    // Never beyond what was paid: the condition is in the UPDATE itself.
    let order = sqlx::query(
        "UPDATE orders SET refunded_amount = refunded_amount + $1, updated_at = $2 \
         WHERE id = $3 AND status IN ('paid', 'cancelled') AND refunded_amount + $1 <= total_amount \
         RETURNING gateway, currency, payment_ref, total_amount, gift_card_amount, refunded_amount",
    )
    .bind(amount)
    .bind(now)
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(order) = order else {
        let left = sqlx::query(
            "SELECT total_amount - refunded_amount AS refundable, currency FROM orders \
             WHERE id = $1 AND status IN ('paid', 'cancelled')",
        )
        .bind(order_id)
        .fetch_optional(&mut *conn)
        .await?;
        return Err(match left {
            Some(left) => RefundError::AtMost(Money::new(
                left.try_get("refundable")?,
                currency_of(&left, "currency")?,
            )),
            None => RefundError::NotPaid,
        });
    };
    // The card first, up to what it was charged and has not had back; the rest onto the cards.
    let total: i64 = order.try_get("total_amount")?;
    let by_gift_cards: i64 = order.try_get("gift_card_amount")?;
    let refunded_before = order.try_get::<i64, _>("refunded_amount")? - amount;
    let (to_card, to_gift_cards) = if by_gift_cards > 0 {
        let still_on_cards = gift_card_store::held_by_order(conn, order_id).await?;
        let back_on_cards = by_gift_cards - still_on_cards;
        let card_refundable = (total - by_gift_cards) - (refunded_before - back_on_cards);
        let (_, rest) = gift_cards::refund_split(amount, card_refundable);
        let back = gift_card_store::refund_to_cards(conn, order_id, rest, now).await?;
        (amount - back, back)
    } else {
        (amount, 0)
    };
    let target = RefundTarget {
        gateway: order.try_get("gateway")?,
        currency: currency_of(&order, "currency")?,
        payment_ref: order
            .try_get::<Option<String>, _>("payment_ref")?
            .unwrap_or_default(),
        to_card,
        to_gift_cards,
    };
    // The refund's record: its card part waits for the gateway; nothing to wait for otherwise.
    let status = if to_card > 0 {
        "requires_action"
    } else {
        "succeeded"
    };
    sqlx::query(
        "INSERT INTO payments (order_id, gateway, kind, status, amount, currency, reference, message, created_at, idempotency_key, gift_card_amount) \
         VALUES ($1, $2, 'refund', $8, $3, $4, '', $5, $6, $7, $9)",
    )
    .bind(order_id)
    .bind(&target.gateway)
    .bind(amount)
    .bind(target.currency.code())
    .bind(reason)
    .bind(now)
    .bind(key)
    .bind(status)
    .bind(to_gift_cards)
    .execute(&mut *conn)
    .await?;
    Ok(Some(target))
}

/// Records the gateway's answer to a reserved refund: its reference, or the failure, which
/// gives `amount` (the card's part) back to what can still be refunded.
pub async fn record_refund(
    conn: &mut AnyConnection,
    order_id: i64,
    key: &str,
    amount: i64,
    outcome: &Result<String, String>,
) -> Result<(), sqlx::Error> {
    match outcome {
        Ok(reference) => {
            sqlx::query(
                "UPDATE payments SET status = 'succeeded', reference = $1 \
                 WHERE order_id = $2 AND idempotency_key = $3",
            )
            .bind(reference)
            .bind(order_id)
            .bind(key)
            .execute(&mut *conn)
            .await?;
        }
        Err(message) => {
            sqlx::query(
                "UPDATE payments SET status = 'failed', message = $1 \
                 WHERE order_id = $2 AND idempotency_key = $3",
            )
            .bind(message)
            .bind(order_id)
            .bind(key)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE orders SET refunded_amount = refunded_amount - $1 WHERE id = $2")
                .bind(amount)
                .bind(order_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}
