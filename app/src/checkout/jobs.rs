//! Background work for checkout: releasing reservations whose payment never completed, and
//! reconciling with Stripe (payments that succeeded without the webhook reaching us).

use std::time::Duration;

use sqlx::Row;

use super::service::Checkout;
use crate::db::now_epoch;
use crate::orders::settle::{Settlement, TransitionError, WebhookEvent};
use crate::orders::OrderStatus;
use crate::payments::gateway::Gateway;
use crate::payments::webhook::Event;
use crate::payments::IntentStatus;
use crate::write_queue::JobFuture;

/// Releases the stock of pending orders whose reservation ran out. A Stripe payment is
/// cancelled first, so it cannot succeed after its stock went back; if it already succeeded,
/// the order is paid instead. Returns how many orders expired.
pub async fn expire_reservations(checkout: &Checkout, now: i64) -> Result<u32, TransitionError> {
    let due = sqlx::query(
        "SELECT id, gateway, payment_ref FROM orders \
         WHERE status = 'pending_payment' AND reserved_until < $1 ORDER BY reserved_until LIMIT 500",
    )
    .bind(now)
    .fetch_all(checkout.db().pool())
    .await?;
    let mut expired = 0;
    for row in due {
        let id: i64 = row.try_get("id")?;
        let reference: Option<String> = row.try_get("payment_ref")?;
        let gateway: String = row.try_get("gateway")?;
        if let (Some(reference), "stripe") = (&reference, gateway.as_str()) {
            // Through the gateway that took the payment, whatever the shop uses today.
            let cancelled = match checkout.gateway().for_order(&gateway) {
                Ok(gateway) => gateway.cancel(reference).await,
                Err(error) => Err(error),
            };
            match cancelled {
                Ok(IntentStatus::Succeeded) => {
                    checkout
                        .settle(
                            id,
                            Settlement::Paid {
                                reference: reference.clone(),
                            },
                            None,
                        )
                        .await?;
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    // Try again on the next round rather than release stock that may be paid for.
                    tracing::warn!(%error, order = id, "could not cancel an expired Stripe payment");
                    continue;
                }
            }
        }
        let released = checkout
            .settle(
                id,
                Settlement::Release {
                    status: OrderStatus::Expired,
                    reason: "The reservation expired before the payment completed.".into(),
                },
                None,
            )
            .await?;
        expired += released as u32;
    }
    Ok(expired)
}

/// Asks Stripe about pending payments older than a minute; marks paid those that succeeded.
pub async fn reconcile_payments(checkout: &Checkout, now: i64) -> Result<u32, TransitionError> {
    if !matches!(checkout.gateway(), Gateway::Stripe(_)) {
        return Ok(0);
    }
    let pending = sqlx::query(
        "SELECT id, payment_ref FROM orders WHERE status = 'pending_payment' AND gateway = 'stripe' \
         AND payment_ref IS NOT NULL AND created_at < $1 ORDER BY id LIMIT 500",
    )
    .bind(now - 60)
    .fetch_all(checkout.db().pool())
    .await?;
    let mut paid = 0;
    for row in pending {
        let id: i64 = row.try_get("id")?;
        let reference: String = row.try_get("payment_ref")?;
        match checkout.gateway().status(&reference).await {
            Ok(IntentStatus::Succeeded) => {
                paid += checkout
                    .settle(id, Settlement::Paid { reference }, None)
                    .await? as u32;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, order = id, "could not reconcile a Stripe payment")
            }
        }
    }
    Ok(paid)
}

/// Runs the jobs (expiry, Stripe reconciliation, checkout reminders, newsletter batches) every `every` until the
/// process ends.
pub fn spawn(checkout: Checkout, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = now_epoch();
            match expire_reservations(&checkout, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(orders = n, "released expired reservations"),
                Err(error) => tracing::error!(%error, "expiring reservations failed"),
            }
            match reconcile_payments(&checkout, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(orders = n, "reconciled payments with Stripe"),
                Err(error) => tracing::error!(%error, "reconciling payments failed"),
            }
            match crate::promotions::reminders::ssr::send_due(&checkout, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reminders = n, "sent abandoned-checkout reminders"),
                Err(error) => tracing::error!(%error, "sending checkout reminders failed"),
            }
            let per_minute = checkout.newsletter_per_minute();
            match crate::promotions::campaigns::ssr::send_due(&checkout, now, per_minute).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(copies = n, "queued newsletter copies"),
                Err(error) => tracing::error!(%error, "sending newsletter campaigns failed"),
            }
            let forgotten = checkout
                .writes()
                .run(move |conn| -> JobFuture<'_, Result<u64, sqlx::Error>> {
                    Box::pin(crate::promotions::reminders::ssr::forget_old(conn, now))
                })
                .await;
            if let Err(error) = forgotten {
                tracing::error!(%error, "forgetting old checkouts failed");
            }
        }
    })
}

/// Applies a verified Stripe event. Unknown events and events for unknown intents are
/// acknowledged and ignored (Stripe would retry them for days otherwise).
pub async fn handle_stripe_event(
    checkout: &Checkout,
    event: Event,
) -> Result<bool, TransitionError> {
    let settlement = match event.kind.as_str() {
        "payment_intent.succeeded" => Settlement::Paid {
            reference: event.data.object.id.clone(),
        },
        "payment_intent.canceled" => Settlement::Release {
            status: OrderStatus::Cancelled,
            reason: "The payment was cancelled.".into(),
        },
        // A failed attempt leaves the intent open for another card; expiry ends it if not.
        _ => return Ok(false),
    };
    let order = sqlx::query("SELECT id FROM orders WHERE payment_ref = $1 AND gateway = 'stripe'")
        .bind(&event.data.object.id)
        .fetch_optional(checkout.db().pool())
        .await?;
    let Some(order) = order else {
        tracing::warn!(intent = %event.data.object.id, "a Stripe event for an unknown payment");
        return Ok(false);
    };
    let record = WebhookEvent {
        id: event.id,
        gateway: "stripe",
        kind: event.kind,
    };
    checkout
        .settle(order.try_get("id")?, settlement, Some(record))
        .await
}
