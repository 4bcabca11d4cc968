//! Sends the outbox (see `app::notifications`, which writes it and keeps its bookkeeping):
//! delivered here over SMTP by lettre, retried with back-off. Several servers may run this at
//! once: a row is claimed before it is sent.

use std::time::Duration;

use anyhow::Context;
use app::db::{now_epoch, Db};
use app::notifications::{self, MAX_ATTEMPTS};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = notifications::woken() => {}
            }
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
    let claimed = notifications::claim_due(db, now_epoch(), 20, MAX_ATTEMPTS).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let from = shop_sender(db, from).await;
    let from = &from;
    let mut sent = 0;
    for email in claimed {
        let result = async {
            let mut message = Message::builder()
                .from(from.clone())
                .to(email.recipient.parse::<Mailbox>()?)
                .subject(email.subject.clone());
            if let Some(url) = &email.unsubscribe_url {
                // RFC 8058: the mail client's unsubscribe button POSTs to the link itself.
                message = message
                    .header(ListUnsubscribe(url.clone()))
                    .header(ListUnsubscribePost);
            }
            let message = match &email.html {
                Some(html) => message.multipart(MultiPart::alternative_plain_html(
                    email.body.clone(),
                    html.clone(),
                ))?,
                None => message.body(email.body.clone())?,
            };
            transport.send(message).await?;
            anyhow::Ok(())
        }
        .await;
        let outcome = match result {
            Ok(()) => {
                sent += 1;
                Ok(now_epoch())
            }
            Err(error) => {
                // Exponential back-off: 1, 2, 4 … minutes, at most about three hours.
                let retry_at = now_epoch() + 60 * (1 << email.attempts.clamp(0, 8));
                tracing::warn!(%error, email = email.id, attempts = email.attempts, "could not send an email");
                Err((retry_at, error.to_string()))
            }
        };
        notifications::record_attempt(db, email.id, outcome).await?;
    }
    Ok(sent)
}

/// `List-Unsubscribe: <url>` on a marketing email.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.trim_matches(['<', '>']).to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

/// The sender the owner set on the settings page ("Shop <shop@example.com>"; a bare address
/// gets the shop's name), else the server's `KASSA_MAIL_FROM`.
async fn shop_sender(db: &Db, default: &Mailbox) -> Mailbox {
    let row = sqlx::query_as::<_, (String, String)>(
        "SELECT shop_name, email_from FROM shop_settings WHERE id = 1",
    )
    .fetch_one(db.pool())
    .await;
    match row {
        Ok((_, sender)) if sender.trim().is_empty() => default.clone(),
        Ok((name, sender)) => match sender.parse::<Mailbox>() {
            Ok(mailbox) if mailbox.name.is_none() => Mailbox::new(Some(name), mailbox.email),
            Ok(mailbox) => mailbox,
            Err(error) => {
                tracing::warn!(%error, "the shop's email sender is not an address; using KASSA_MAIL_FROM");
                default.clone()
            }
        },
        Err(error) => {
            tracing::warn!(%error, "could not read the shop's email sender");
            default.clone()
        }
    }
}
