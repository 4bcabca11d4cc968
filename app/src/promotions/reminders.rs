//! Abandoned-checkout reminders. When a shopper's checkout has a valid email, the checkout
//! page keeps that email with the cart ([`remember_checkout`]). If no order comes from the
//! address within the shop's `reminder_hours` (4 by default; 0 turns reminders off), one
//! email goes out with a link that puts the cart back ([`restore_checkout`]) — only to an
//! address that confirmed the newsletter (its consent to marketing), never after it ordered or
//! unsubscribed, and with a one-click unsubscribe (RFC 8058). The job claims each row with a
//! guarded update, so several servers send it once.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cart::CartItem;
use crate::checkout::{CheckoutError, LineRequest};

/// A checkout kept for its reminder: the lines and the entered discount codes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptCart {
    pub lines: Vec<(i64, u32)>,
    #[serde(default)]
    pub codes: Vec<String>,
}

/// The cart a reminder's link restores: its items as they sell now, and the codes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RestoredCart {
    pub items: Vec<(CartItem, u32)>,
    pub codes: Vec<String>,
}

/// Keeps the checkout's email and cart for its reminder (the checkout page calls it once the
/// email is valid, and again when the cart changes).
#[server(endpoint = "checkout/remember", input = server_fn::codec::Json)]
pub async fn remember_checkout(
    email: String,
    lines: Vec<LineRequest>,
    codes: Vec<String>,
) -> Result<(), CheckoutError> {
    let checkout =
        use_context::<crate::checkout::service::Checkout>().ok_or(CheckoutError::Internal)?;
    let email = crate::checkout::address::validate_email(&email)
        .map_err(|e| CheckoutError::Invalid(vec![e]))?;
    let lines = crate::checkout::normalise_lines(&lines)?;
    let codes = crate::promotions::normalise_codes(&codes).map_err(CheckoutError::Invalid)?;
    let kept = KeptCart { lines, codes };
    checkout
        .writes()
        .run(
            move |conn| -> crate::write_queue::JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(
                    async move { ssr::remember(conn, &email, &kept, crate::db::now_epoch()).await },
                )
            },
        )
        .await?;
    Ok(())
}

/// The cart behind a reminder's link; an unknown token is a 404.
#[server(endpoint = "checkout/restore", input = server_fn::codec::Json)]
pub async fn restore_checkout(token: String) -> Result<RestoredCart, CheckoutError> {
    let checkout =
        use_context::<crate::checkout::service::Checkout>().ok_or(CheckoutError::Internal)?;
    let kept = ssr::kept(checkout.db().pool(), &token)
        .await?
        .ok_or_else(|| CheckoutError::NotFound("This reminder's cart".into()))?;
    let mut conn = checkout.db().pool().acquire().await?;
    let variants: Vec<i64> = kept.lines.iter().map(|(id, _)| *id).collect();
    let buyable = crate::checkout::service::buyable_variants(&mut conn, &variants).await?;
    drop(conn);
    let items = kept
        .lines
        .iter()
        .filter_map(|(variant_id, quantity)| {
            let b = buyable.iter().find(|b| b.variant_id == *variant_id)?;
            (b.available > 0).then(|| {
                (
                    CartItem {
                        variant_id: b.variant_id,
                        product_slug: b.product_slug.clone(),
                        title: b.title.clone(),
                        variant_title: b.variant_title.clone(),
                        unit_price: b.unit_price,
                        image_url: b.image_url.clone(),
                    },
                    (*quantity).min(b.available),
                )
            })
        })
        .collect();
    Ok(RestoredCart {
        items,
        codes: kept.codes,
    })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use sha2::{Digest, Sha256};
    use sqlx::{AnyConnection, AnyPool, Row};

    use super::KeptCart;
    use crate::checkout::service::{random_token, Checkout};
    use crate::promotions::gift_card_store::CodeKey;
    use crate::write_queue::JobFuture;

    /// A reminder is sent at most this often to one address.
    pub const AT_MOST_EVERY_SECS: i64 = 7 * 24 * 3600;
    /// A checkout older than this is not reminded of any more (the server was down, or
    /// reminders were off).
    pub const TOO_OLD_SECS: i64 = 3 * 24 * 3600;

    fn hash(token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
    }

    /// Keeps (or replaces) the address's checkout. A reminder sent in the last week is not
    /// sent again for a newer checkout.
    pub async fn remember(
        conn: &mut AnyConnection,
        email: &str,
        kept: &KeptCart,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let cart = serde_json::to_string(kept).unwrap_or_default();
        sqlx::query(
            "INSERT INTO checkout_reminders (email, cart_json, token_hash, started_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO UPDATE SET cart_json = $2, started_at = $4, \
             sent_at = CASE WHEN checkout_reminders.sent_at < $5 THEN NULL ELSE checkout_reminders.sent_at END, \
             outcome = CASE WHEN checkout_reminders.sent_at < $5 THEN NULL ELSE checkout_reminders.outcome END",
        )
        .bind(email.trim().to_lowercase())
        .bind(cart)
        .bind(hash(&random_token()))
        .bind(now)
        .bind(now - AT_MOST_EVERY_SECS)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// The cart behind a link's token.
    pub async fn kept(pool: &AnyPool, token: &str) -> Result<Option<KeptCart>, sqlx::Error> {
        let token = token.trim();
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let cart: Option<String> =
            sqlx::query_scalar("SELECT cart_json FROM checkout_reminders WHERE token_hash = $1")
                .bind(hash(token))
                .fetch_optional(pool)
                .await?;
        Ok(cart.and_then(|c| serde_json::from_str(&c).ok()))
    }

    /// The one-click unsubscribe address for `email`: signed with the server's key, so it
    /// needs no stored token and works from every marketing email.
    pub fn unsubscribe_url(site_url: &str, key: &CodeKey, email: &str) -> String {
        format!(
            "{site_url}/newsletter/unsubscribe?token={}",
            unsubscribe_token(key, email)
        )
    }

    /// `e.<email in hex>.<signature>`.
    pub fn unsubscribe_token(key: &CodeKey, email: &str) -> String {
        let email = email.trim().to_lowercase();
        format!(
            "e.{}.{}",
            hex::encode(&email),
            key.sign("unsubscribe", &email)
        )
    }

    /// The address a signed unsubscribe token names, if its signature is good.
    pub fn signed_email(key: &CodeKey, token: &str) -> Option<String> {
        let mut parts = token.trim().splitn(3, '.');
        let (Some("e"), Some(email), Some(signature)) = (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let email = String::from_utf8(hex::decode(email).ok()?).ok()?;
        key.verify("unsubscribe", &email, signature)
            .then_some(email)
    }

    /// What the job did with one due checkout.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Outcome {
        Sent,
        Ordered,
        NotSubscribed,
    }

    impl Outcome {
        fn as_str(self) -> &'static str {
            match self {
                Outcome::Sent => "sent",
                Outcome::Ordered => "ordered",
                Outcome::NotSubscribed => "not_subscribed",
            }
        }
    }

    /// Sends the reminders due at `now`; returns how many went out. Each row is claimed by a
    /// guarded update in its own transaction: a second server (or run) finds it taken.
    pub async fn send_due(checkout: &Checkout, now: i64) -> Result<usize, sqlx::Error> {
        let pool = checkout.db().pool();
        let hours: i64 =
            sqlx::query_scalar("SELECT reminder_hours FROM shop_settings WHERE id = 1")
                .fetch_one(pool)
                .await?;
        if hours == 0 {
            return Ok(0);
        }
        let due: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM checkout_reminders WHERE sent_at IS NULL \
             AND started_at <= $1 AND started_at > $2 ORDER BY started_at LIMIT 100",
        )
        .bind(now - hours * 3600)
        .bind(now - TOO_OLD_SECS)
        .fetch_all(pool)
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let key = checkout.gift_card_key().await?.clone();
        let site = checkout.site_url().to_string();
        let shop = checkout.rules().await?.shop_name.clone();
        let mut sent = 0;
        for id in due {
            let (key, site, shop) = (key.clone(), site.clone(), shop.clone());
            let outcome = checkout
                .writes()
                .run(
                    move |conn| -> JobFuture<'_, Result<Option<Outcome>, sqlx::Error>> {
                        Box::pin(async move { send_one(conn, id, &key, &site, &shop, now).await })
                    },
                )
                .await?;
            if outcome == Some(Outcome::Sent) {
                sent += 1;
            }
        }
        if sent > 0 {
            crate::notifications::wake_sender();
        }
        Ok(sent)
    }

    async fn send_one(
        conn: &mut AnyConnection,
        id: i64,
        key: &CodeKey,
        site: &str,
        shop: &str,
        now: i64,
    ) -> Result<Option<Outcome>, sqlx::Error> {
        let Some(row) = sqlx::query(
            "UPDATE checkout_reminders SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL \
             RETURNING email, cart_json, started_at",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None); // Another server took it.
        };
        let email: String = row.try_get("email")?;
        let started_at: i64 = row.try_get("started_at")?;
        let ordered: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE lower(email) = $1 AND created_at >= $2 \
             AND status IN ('paid', 'pending_payment') LIMIT 1",
        )
        .bind(&email)
        .bind(started_at)
        .fetch_optional(&mut *conn)
        .await?;
        let subscribed: Option<String> =
            sqlx::query_scalar("SELECT status FROM newsletter_subscribers WHERE email = $1")
                .bind(&email)
                .fetch_optional(&mut *conn)
                .await?;
        let outcome = if ordered.is_some() {
            Outcome::Ordered
        } else if subscribed.as_deref() != Some("subscribed") {
            Outcome::NotSubscribed
        } else {
            Outcome::Sent
        };
        if outcome == Outcome::Sent {
            let kept: KeptCart =
                serde_json::from_str(&row.try_get::<String, _>("cart_json")?).unwrap_or_default();
            let titles = titles(conn, &kept.lines).await?;
            // A fresh token for the link: only this email's link restores the cart.
            let token = random_token();
            sqlx::query("UPDATE checkout_reminders SET token_hash = $1 WHERE id = $2")
                .bind(hash(&token))
                .bind(id)
                .execute(&mut *conn)
                .await?;
            let unsubscribe = unsubscribe_url(site, key, &email);
            let reminder = crate::notifications::checkout_reminder(
                shop,
                &titles,
                &format!("{site}/cart?restore={token}"),
                &unsubscribe,
            );
            crate::notifications::queue_marketing(
                conn,
                crate::notifications::MarketingEmail {
                    kind: reminder.kind,
                    recipient: &email,
                    subject: &reminder.subject,
                    text: &reminder.body,
                    html: None,
                    unsubscribe_url: &unsubscribe,
                },
                now,
            )
            .await?;
        }
        sqlx::query("UPDATE checkout_reminders SET outcome = $1 WHERE id = $2")
            .bind(outcome.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await?;
        Ok(Some(outcome))
    }

    /// "2 × Linen shirt (M)" for each kept line that still exists.
    async fn titles(
        conn: &mut AnyConnection,
        lines: &[(i64, u32)],
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut titles = Vec::with_capacity(lines.len());
        for (variant_id, quantity) in lines.iter().take(20) {
            let row = sqlx::query(
                "SELECT p.title, v.option1, v.option2, v.option3 FROM variants v \
                 JOIN products p ON p.id = v.product_id WHERE v.id = $1",
            )
            .bind(variant_id)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                let options = crate::catalog::ssr::option_values(&row);
                let title = crate::checkout::line_title(
                    &row.try_get::<String, _>("title")?,
                    &options.join(" / "),
                );
                titles.push(format!("{quantity} × {title}"));
            }
        }
        Ok(titles)
    }

    /// Forgets checkouts older than a month (reminded or not).
    pub async fn forget_old(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM checkout_reminders WHERE started_at < $1")
                .bind(now - 30 * 24 * 3600)
                .execute(&mut *conn)
                .await?
                .rows_affected(),
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn an_unsubscribe_token_names_its_address_and_cannot_be_forged() {
            let key = CodeKey::from_secret("a key of at least thirty-two characters!");
            let token = unsubscribe_token(&key, " Erika@Example.com ");
            assert_eq!(
                signed_email(&key, &token).as_deref(),
                Some("erika@example.com")
            );
            let other = format!(
                "e.{}.{}",
                hex::encode("mallory@example.com"),
                token.rsplit('.').next().unwrap()
            );
            assert_eq!(
                signed_email(&key, &other),
                None,
                "a signature is for its address only"
            );
            let elsewhere = CodeKey::from_secret("another key of thirty-two characters!!");
            assert_eq!(signed_email(&elsewhere, &token), None);
            assert_eq!(signed_email(&key, "e.zz.00"), None);
            assert_eq!(signed_email(&key, "not a token"), None);
        }
    }
}
