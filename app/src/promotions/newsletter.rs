//! The newsletter: sign-up (the shop's footer, an unticked box at checkout, the API) with double
//! opt-in, and unsubscribing in one step (RFC 8058's one-click POST too). A sign-up is only a
//! wish until the link emailed to the address is used, so nobody can subscribe someone else;
//! the answer to a sign-up is the same whether the address was subscribed already or not.
//! The consent record keeps when, where and the wording shown; unsubscribing keeps it, with the
//! time it was withdrawn.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// What the shopper agrees to, shown beside every sign-up and kept with the consent.
pub const WORDING: &str =
    "Send me news and offers from the shop. I can unsubscribe at any time with one click.";

/// Confirmation emails to one address per day, at most: a form cannot be used to flood a
/// stranger's inbox.
pub const CONFIRMATIONS_PER_DAY: i64 = 3;

/// Where a sign-up came from, as the consent record names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Footer,
    Checkout,
    Api,
    /// A signed-in shopper's email preferences: their address is proven by the sign-in code.
    Account,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Footer => "footer",
            Source::Checkout => "checkout",
            Source::Api => "api",
            Source::Account => "account",
        }
    }
}

/// The sign-up form in the shop's footer (a plain form: it works without JavaScript).
#[component]
pub fn NewsletterSignUp() -> impl IntoView {
    view! {
        <form method="post" action="/newsletter" class="newsletter-sign-up" data-testid="newsletter-sign-up">
            <label for="newsletter-email">"Newsletter"</label>
            <div class="inline-form">
                <input id="newsletter-email" name="email" type="email" autocomplete="email" required
                    aria-describedby="newsletter-wording"/>
                <button type="submit">"Subscribe"</button>
            </div>
            <p class="hint" id="newsletter-wording">{WORDING}</p>
        </form>
    }
}

/// `/newsletter`: what happened (asked, confirmed, unsubscribed), the buttons an emailed link
/// leads to (a link alone changes nothing: mail scanners follow links), and the sign-up form.
#[component]
pub fn NewsletterPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.read_untracked().get(key).filter(|v| !v.is_empty());
    let said = if get("sent").is_some() {
        Some("Almost done: we sent you an email. Use the link in it to confirm your subscription.")
    } else if get("confirmed").is_some() {
        Some("Thank you: you are subscribed. Every email has a link to unsubscribe.")
    } else if get("unsubscribed").is_some() {
        Some("You are unsubscribed and will get no more newsletters.")
    } else {
        None
    };
    let error = get("error");
    let confirm = get("confirm");
    let unsubscribe = get("unsubscribe");
    view! {
        <Title text="Newsletter"/>
        <section class="newsletter-page">
            <h1>"Newsletter"</h1>
            {said.map(|s| view! { <p class="notice" role="status" data-testid="newsletter-notice">{s}</p> })}
            {error.map(|e| view! { <p class="notice error" role="alert" data-testid="newsletter-error">{e}</p> })}
            {confirm.map(|token| view! {
                <form method="post" action="/newsletter/confirm" class="stacked">
                    <input type="hidden" name="token" value=token/>
                    <p>{WORDING}</p>
                    <button type="submit" class="primary">"Confirm my subscription"</button>
                </form>
            })}
            {unsubscribe.map(|token| view! {
                <form method="post" action="/newsletter/unsubscribe" class="stacked">
                    <input type="hidden" name="token" value=token/>
                    <button type="submit" class="primary">"Unsubscribe"</button>
                </form>
            })}
            <NewsletterSignUp/>
        </section>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The records: the one place `newsletter_subscribers` is written. The routes are
    //! `newsletter_http`'s.

    use sha2::{Digest, Sha256};
    use sqlx::AnyConnection;

    use super::{Source, CONFIRMATIONS_PER_DAY, WORDING};
    use crate::notifications::{self, Email};

    fn hash(token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
    }

    /// 128 random bits as hex, for the links.
    fn random_token() -> String {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        hex::encode(bytes)
    }

    /// Asks `email` (checked, any case) to confirm a subscription, unless it is subscribed
    /// already or was asked too often today. In the caller's transaction.
    pub async fn ask(
        conn: &mut AnyConnection,
        email: &str,
        source: Source,
        site_url: &str,
        shop_name: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let email = email.trim().to_lowercase();
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM newsletter_subscribers WHERE email = $1")
                .bind(&email)
                .fetch_optional(&mut *conn)
                .await?;
        if status.as_deref() == Some("subscribed") {
            return Ok(());
        }
        let sent_today: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'newsletter_confirmation' \
             AND recipient = $1 AND created_at > $2",
        )
        .bind(&email)
        .bind(now - 24 * 3600)
        .fetch_one(&mut *conn)
        .await?;
        if sent_today >= CONFIRMATIONS_PER_DAY {
            return Ok(());
        }
        // A new token each time: an older link stops working.
        let token = random_token();
        sqlx::query(
            "INSERT INTO newsletter_subscribers (email, status, token_hash, source, wording, asked_at) \
             VALUES ($1, 'pending', $2, $3, $4, $5) \
             ON CONFLICT (email) DO UPDATE SET status = 'pending', token_hash = $2, source = $3, \
             wording = $4, asked_at = $5, confirmed_at = NULL",
        )
        .bind(&email)
        .bind(hash(&token))
        .bind(source.as_str())
        .bind(WORDING)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let email_text = Email {
            kind: "newsletter_confirmation",
            subject: format!("Confirm your subscription to {shop_name}"),
            body: format!(
                "Someone, hopefully you, asked to get {shop_name}'s newsletter at this address.\n\n\
                 To confirm, open {site_url}/newsletter?confirm={token}\n\n\
                 If it was not you, ignore this email: nothing is sent until you confirm.\n"
            ),
        };
        notifications::queue(conn, &email, email_text, now).await
    }

    /// Subscribes `email` at once, without a confirmation email: only for an address its
    /// owner proved (a signed-in shopper). Keeps the first confirmation's date.
    pub async fn subscribe_proven(
        conn: &mut AnyConnection,
        email: &str,
        source: Source,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO newsletter_subscribers \
             (email, status, token_hash, source, wording, asked_at, confirmed_at) \
             VALUES ($1, 'subscribed', $2, $3, $4, $5, $5) \
             ON CONFLICT (email) DO UPDATE SET status = 'subscribed', source = $3, wording = $4, \
             confirmed_at = CASE WHEN newsletter_subscribers.status = 'subscribed' \
                 THEN newsletter_subscribers.confirmed_at ELSE $5 END, unsubscribed_at = NULL",
        )
        .bind(email.trim().to_lowercase())
        .bind(hash(&random_token()))
        .bind(source.as_str())
        .bind(WORDING)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Whether `email` is subscribed (confirmed, not withdrawn).
    pub async fn is_subscribed(conn: &mut AnyConnection, email: &str) -> Result<bool, sqlx::Error> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM newsletter_subscribers WHERE email = $1")
                .bind(email.trim().to_lowercase())
                .fetch_optional(&mut *conn)
                .await?;
        Ok(status.as_deref() == Some("subscribed"))
    }

    /// Confirms the subscription behind `token`; the address, or `None` for an unknown token.
    pub async fn confirm(
        conn: &mut AnyConnection,
        token: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE newsletter_subscribers SET status = 'subscribed', \
             confirmed_at = COALESCE(confirmed_at, $2), unsubscribed_at = NULL \
             WHERE token_hash = $1 AND status <> 'unsubscribed' RETURNING email",
        )
        .bind(hash(token.trim()))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
    }

    /// Unsubscribes the address behind `token` (again is fine); `None` for an unknown token.
    pub async fn unsubscribe(
        conn: &mut AnyConnection,
        token: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE newsletter_subscribers SET status = 'unsubscribed', \
             unsubscribed_at = COALESCE(unsubscribed_at, $2) WHERE token_hash = $1 RETURNING email",
        )
        .bind(hash(token.trim()))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
    }

    /// Unsubscribes `email` (from a signed link); `None` if it never signed up. Again is fine.
    pub async fn unsubscribe_address(
        conn: &mut AnyConnection,
        email: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE newsletter_subscribers SET status = 'unsubscribed', \
             unsubscribed_at = COALESCE(unsubscribed_at, $2) WHERE email = $1 RETURNING email",
        )
        .bind(email.trim().to_lowercase())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn only_the_tokens_hash_is_kept() {
            let token = random_token();
            assert_eq!(hash(&token).len(), 64);
            assert_ne!(hash(&token), token);
            assert_eq!(hash(&token), hash(&token));
        }
    }
}
