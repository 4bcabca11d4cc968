//! Every email the shop sends, in one place: the templates, queueing into the `outbox` table in
//! the same transaction as the change an email announces (so an order is never confirmed by an
//! email for a write that rolled back), and the outbox's bookkeeping for the sender.
//!
//! The sender itself (SMTP through lettre) lives in the server; several servers may send at
//! once, because a row is claimed before it is sent.

use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::money::Money;
use crate::write_queue::JobFuture;

/// An email ready to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
}

/// A line of an order as emails show it: (item, quantity, line total in minor units).
pub type EmailLine = (String, u32, i64);

/// "Thank you for your order": sent once, when the order is paid. `number` is the order's
/// number for people ("1042").
pub fn order_confirmation(
    number: &str,
    lines: &[EmailLine],
    discounts: &[crate::promotions::DiscountLine],
    gift_cards: &[crate::promotions::gift_cards::GiftCardUse],
    total: Money,
    order_url: &str,
) -> Email {
    let mut body = format!("Thank you for your order #{number}.\n\n");
    for (title, quantity, line_total) in lines {
        body.push_str(&format!(
            "{quantity} × {title}: {}\n",
            Money::new(*line_total, total.currency)
        ));
    }
    for discount in discounts {
        body.push_str(&format!("{}: −{}\n", discount.label(), discount.amount));
    }
    if gift_cards.is_empty() {
        body.push_str(&format!("\nTotal paid: {total}\n"));
    } else {
        body.push_str(&format!("\nTotal: {total}\n"));
        let mut by_card = total.amount;
        for card in gift_cards {
            body.push_str(&format!("{}: −{}\n", card.label(), card.amount));
            by_card -= card.amount.amount;
        }
        if by_card > 0 {
            body.push_str(&format!(
                "Paid by card: {}\n",
                Money::new(by_card, total.currency)
            ));
        }
    }
    body.push_str(&format!("\nFollow your order at {order_url}\n"));
    Email {
        kind: "order_confirmation",
        subject: format!("Your order #{number}"),
        body,
    }
}

/// The answer to a shopper who wrote to the shop: their message back, and the private link
/// where they read answers and reply.
pub fn support_received(shop: &str, message: &str, link: &str) -> Email {
    Email {
        kind: "support_received",
        subject: format!("We got your message · {shop}"),
        body: format!(
            "Thank you for writing to {shop}. We answer by email, usually within a working day.\n\n\
             You wrote:\n\n{}\n\nRead our answer and reply at {link}\n\
             (Anyone with this link can read the conversation: keep it to yourself.)\n",
            quoted(message)
        ),
    }
}

/// Staff's reply to a shopper's conversation, with the link to answer.
pub fn support_reply(shop: &str, reply: &str, link: &str) -> Email {
    Email {
        kind: "support_reply",
        subject: format!("An answer from {shop}"),
        body: format!("{reply}\n\n-- \nReply or read the whole conversation at {link}\n"),
    }
}

/// A return asked for: its RMA number, what it holds, and where to follow it.
pub fn return_requested(shop: &str, rma: &str, items: &str, link: &str) -> Email {
    Email {
        kind: "return_requested",
        subject: format!("Return {rma} received · {shop}"),
        body: format!(
            "We got your return request {rma}:\n\n{items}\n\nWe will tell you by email once we \
             have looked at it. Follow it, or write to us about it, at {link}\n"
        ),
    }
}

/// A return approved, with staff's instructions for sending the items back.
pub fn return_approved(shop: &str, rma: &str, instructions: &str, link: &str) -> Email {
    Email {
        kind: "return_approved",
        subject: format!("Return {rma} approved · {shop}"),
        body: format!(
            "Your return {rma} is approved. Please write {rma} on the parcel.\n\n{instructions}\n\n\
             Your refund follows once the items arrive. Questions: {link}\n"
        ),
    }
}

/// A return declined, with the reason.
pub fn return_declined(shop: &str, rma: &str, reason: &str, link: &str) -> Email {
    Email {
        kind: "return_declined",
        subject: format!("About your return {rma} · {shop}"),
        body: format!(
            "We cannot accept your return {rma}:\n\n{reason}\n\nReply at {link} if you have \
             questions.\n"
        ),
    }
}

/// A return refunded: how much, and where it goes.
pub fn return_refunded(shop: &str, rma: &str, amount: Money, link: &str) -> Email {
    Email {
        kind: "return_refunded",
        subject: format!("Refund for return {rma} · {shop}"),
        body: format!(
            "We received the items of return {rma} and refunded {amount} to the way you paid \
             (a bank may take a few days to show it).\n\nThe conversation: {link}\n"
        ),
    }
}

/// `text` with each line marked as quoted ("> ").
fn quoted(text: &str) -> String {
    text.lines()
        .map(|line| format!("> {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A gift card for its recipient: the whole code, which the shop keeps no copy of.
pub fn gift_card(
    shop: &str,
    code: &str,
    amount: Money,
    expires_at: Option<i64>,
    site_url: &str,
) -> Email {
    let expiry = expires_at
        .map(|at| format!("It can be used until {}.\n", crate::time::rfc3339(at)))
        .unwrap_or_default();
    Email {
        kind: "gift_card",
        subject: format!("Your {amount} gift card for {shop}"),
        body: format!(
            "You have a {amount} gift card for {shop}.\n\nCode: {code}\n\n{expiry}\
             Enter the code at checkout ({site_url}/checkout); what it does not pay today stays on \
             the card. Keep this email: the shop cannot show the code again.\n"
        ),
    }
}

/// The gift cards a shopper bought, with their codes (one email per order).
pub fn gift_cards_bought(shop: &str, cards: &[(String, Money)], site_url: &str) -> Email {
    let mut body = format!(
        "Thank you for buying {} from {shop}. Here {}:\n\n",
        if cards.len() == 1 {
            "a gift card"
        } else {
            "gift cards"
        },
        if cards.len() == 1 {
            "is its code"
        } else {
            "are their codes"
        },
    );
    for (code, amount) in cards {
        body.push_str(&format!("{amount}: {code}\n"));
    }
    body.push_str(&format!(
        "\nA code is entered at checkout ({site_url}/checkout); what it does not pay stays on the \
         card. Keep this email: the shop cannot show the codes again.\n"
    ));
    Email {
        kind: "gift_card",
        subject: format!("Your gift card codes for {shop}"),
        body,
    }
}

/// The one reminder of an abandoned checkout: what was in the cart and the link that puts it
/// back. A marketing email: it goes only to subscribers, with a way out.
pub fn checkout_reminder(
    shop: &str,
    lines: &[String],
    restore_url: &str,
    unsubscribe_url: &str,
) -> Email {
    let mut body = format!("You left these in your cart at {shop}:\n\n");
    for line in lines {
        body.push_str(&format!("{line}\n"));
    }
    body.push_str(&format!(
        "\nPick up where you left off (the link puts them back in your cart): {restore_url}\n\n\
         Prices and stock are checked again at checkout.\n\n\
         You get this because you subscribed to our newsletter. Unsubscribe: {unsubscribe_url}\n"
    ));
    Email {
        kind: "checkout_reminder",
        subject: format!("Your cart at {shop} is waiting"),
        body,
    }
}

/// A shipment left the warehouse.
pub fn order_shipped(number: &str, carrier: &str, tracking: &str, order_url: &str) -> Email {
    Email {
        kind: "order_shipped",
        subject: format!("Your order #{number} has shipped"),
        body: format!(
            "Good news: part or all of your order #{number} is on its way with {carrier}.\n\
             Tracking number: {tracking}\n\nFollow your order at {order_url}\n"
        ),
    }
}

/// A one-time code to sign in with. The code leads the subject, so a phone's notification
/// shows it without opening the email.
pub fn sign_in_code(code: &str, shop: &str, minutes: i64) -> Email {
    Email {
        kind: "sign_in_code",
        subject: format!("{code} is your {shop} sign-in code"),
        body: format!(
            "Your code to sign in to {shop}: {code}\n\n\
             It works for {minutes} minutes, once. If you did not ask for it, ignore this email: \
             without the code nobody can sign in with your address.\n"
        ),
    }
}

/// Queues `email` in the caller's transaction: it is sent only if that transaction commits.
pub async fn queue(
    conn: &mut AnyConnection,
    recipient: &str,
    email: Email,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (kind, recipient, subject, body_text, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(email.kind)
    .bind(recipient)
    .bind(email.subject)
    .bind(email.body)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A marketing email for one address: text (and HTML for campaigns), with its one-click
/// unsubscribe link.
pub struct MarketingEmail<'a> {
    /// `checkout_reminder`, `campaign`, or `campaign_test` for staff's own test copy.
    pub kind: &'static str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    pub unsubscribe_url: &'a str,
}

/// Queues a marketing email: sent with `List-Unsubscribe: <unsubscribe_url>` and
/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), so a mail client's
/// unsubscribe button works without opening it. Returns its outbox id (a campaign keeps it to
/// count what was sent).
pub async fn queue_marketing(
    conn: &mut AnyConnection,
    email: MarketingEmail<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO outbox (kind, recipient, subject, body_text, body_html, created_at, unsubscribe_url) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(email.kind)
    .bind(email.recipient)
    .bind(email.subject)
    .bind(email.text)
    .bind(email.html)
    .bind(now)
    .bind(email.unsubscribe_url)
    .fetch_one(&mut *conn)
    .await
}

/// Wakes this server's sender for an email someone is waiting for (a sign-in code), instead
/// of its next round a few seconds later. Call it once the email's transaction committed.
pub fn wake_sender() {
    QUEUED.notify_one();
}

/// Returns when [`wake_sender`] was called (at once if it was called since the last time).
pub async fn woken() {
    QUEUED.notified().await
}

static QUEUED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The sender gives up on an email after this many failed attempts (about a day with its
/// back-off); the email then counts as failed.
pub const MAX_ATTEMPTS: i64 = 12;

/// An email the sender has claimed.
#[derive(Clone, Debug)]
pub struct OutboxEmail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    /// A marketing email's one-click unsubscribe address (RFC 8058).
    pub unsubscribe_url: Option<String>,
    /// The HTML part, beside the text (campaigns).
    pub html: Option<String>,
}

/// Claims up to `limit` due emails for two minutes (another server skips them meanwhile).
pub async fn claim_due(
    db: &Db,
    now: i64,
    limit: i64,
    max_attempts: i64,
) -> Result<Vec<OutboxEmail>, sqlx::Error> {
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<Vec<OutboxEmail>, sqlx::Error>> {
            Box::pin(async move {
                let rows = sqlx::query(
                    "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND attempts < $2 \
                                  AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY id LIMIT $4) \
                     AND (claimed_until IS NULL OR claimed_until < $3) \
                     RETURNING id, recipient, subject, body_text, attempts, unsubscribe_url, body_html",
                )
                .bind(now + 120)
                .bind(max_attempts)
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(OutboxEmail {
                            id: row.try_get("id")?,
                            recipient: row.try_get("recipient")?,
                            subject: row.try_get("subject")?,
                            body: row.try_get("body_text")?,
                            attempts: row.try_get("attempts")?,
                            unsubscribe_url: row.try_get("unsubscribe_url")?,
                            html: row.try_get("body_html")?,
                        })
                    })
                    .collect()
            })
        })
        .await
}

/// Records that an email went out, or when to try it again and why it failed.
pub async fn record_attempt(
    db: &Db,
    id: i64,
    outcome: Result<i64, (i64, String)>,
) -> Result<(), sqlx::Error> {
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                match outcome {
                    Ok(sent_at) => {
                        sqlx::query(
                            "UPDATE outbox SET sent_at = $1, last_error = NULL WHERE id = $2",
                        )
                        .bind(sent_at)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    }
                    Err((retry_at, error)) => {
                        sqlx::query(
                            "UPDATE outbox SET claimed_until = $1, last_error = $2 WHERE id = $3",
                        )
                        .bind(retry_at)
                        .bind(error)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                Ok(())
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn the_confirmation_lists_lines_and_the_total_in_the_shops_currency() {
        let email = order_confirmation(
            "1042",
            &[("Linen shirt (M)".into(), 2, 9800)],
            &[crate::promotions::DiscountLine {
                code: Some("WELCOME10".into()),
                title: "Welcome".into(),
                amount: Money::new(980, Currency::EUR),
            }],
            &[crate::promotions::gift_cards::GiftCardUse {
                last4: "WXYZ".into(),
                amount: Money::new(2000, Currency::EUR),
            }],
            Money::new(9310, Currency::EUR),
            "https://shop.example/orders/abc",
        );
        assert_eq!(email.subject, "Your order #1042");
        assert!(email.body.contains("2 × Linen shirt (M)"), "{}", email.body);
        assert!(email.body.contains("https://shop.example/orders/abc"));
        assert!(
            email.body.contains("Welcome (WELCOME10): −€9.80"),
            "{}",
            email.body
        );
        assert!(
            email.body.contains("Gift card ••••WXYZ: −€20.00"),
            "{}",
            email.body
        );
        assert!(
            email.body.contains("Paid by card: €73.10"),
            "{}",
            email.body
        );
        let yen = order_confirmation(
            "1001",
            &[("Tea".into(), 1, 500)],
            &[],
            &[],
            Money::new(500, Currency::parse("JPY").unwrap()),
            "u",
        );
        assert!(
            !yen.body.contains("5.00"),
            "yen have no minor digits: {}",
            yen.body
        );
    }

    #[test]
    fn the_sign_in_code_is_in_the_subject_and_the_body() {
        let email = sign_in_code("042917", "Linen & Co", 10);
        assert_eq!(email.kind, "sign_in_code");
        assert!(email.subject.starts_with("042917 "));
        assert!(email.body.contains("042917") && email.body.contains("10 minutes"));
    }

    #[test]
    fn the_shipping_email_names_carrier_and_tracking() {
        let email = order_shipped("1007", "DHL", "JJD0001", "https://shop.example/orders/t");
        assert_eq!(email.kind, "order_shipped");
        assert!(email.body.contains("DHL") && email.body.contains("JJD0001"));
    }
}
