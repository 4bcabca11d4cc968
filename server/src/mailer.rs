//! Sends the outbox: emails written by checkout (and later fulfilment) in the same transaction
//! as the change they announce, delivered here over SMTP by lettre, retried with back-off.
//! Several servers may run this at once: a row is claimed before it is sent.

use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::Row;

use app::db::{now_epoch, Db};

/// Give up on an address after this many failed attempts (about a day with the back-off).
const MAX_ATTEMPTS: i64 = 12;

pub fn spawn(db: Db, smtp_url: &str, from: &str) -> anyhow::Result<()> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
        .context("KASSA_SMTP_URL")?
        .build();
    let from: Mailbox = from.parse().context("KASSA_MAIL_FROM")?;
    tokio::spawn(async move {
        loop {
            match send_due(&db, &transport, &from).await {
                Ok(0) => {}
                Ok(sent) => tracing::info!(sent, "emails sent"),
                Err(error) => tracing::error!(%error, "sending the outbox failed"),
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    Ok(())
}

/// Claims up to 20 due emails and sends them. Returns how many went out.
pub async fn send_due(
    db: &Db,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
) -> Result<usize, sqlx::Error> {
    let now = now_epoch();
    let claimed = sqlx::query(
        "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND attempts < $2 \
                      AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY id LIMIT 20) \
         AND (claimed_until IS NULL OR claimed_until < $3) \
         RETURNING id, recipient, subject, body_text, attempts",
    )
    .bind(now + 120)
    .bind(MAX_ATTEMPTS)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut sent = 0;
    for row in claimed {
        let id: i64 = row.get("id");
        let attempts: i64 = row.get("attempts");
        let result = async {
            let to: Mailbox = row.get::<String, _>("recipient").parse()?;
            let message = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(row.get::<String, _>("subject"))
                .body(row.get::<String, _>("body_text"))?;
            transport.send(message).await?;
            anyhow::Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                sqlx::query("UPDATE outbox SET sent_at = $1, last_error = NULL WHERE id = $2")
                    .bind(now_epoch())
                    .bind(id)
                    .execute(db.pool())
                    .await?;
                sent += 1;
            }
            Err(error) => {
                // Exponential back-off: 1, 2, 4 … minutes, at most about three hours.
                let retry_at = now_epoch() + 60 * (1 << attempts.clamp(0, 8));
                tracing::warn!(%error, email = id, attempts, "could not send an email");
                sqlx::query("UPDATE outbox SET claimed_until = $1, last_error = $2 WHERE id = $3")
                    .bind(retry_at)
                    .bind(error.to_string())
                    .bind(id)
                    .execute(db.pool())
                    .await?;
            }
        }
    }
    Ok(sent)
}
