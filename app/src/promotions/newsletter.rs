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
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Footer => "footer",
            Source::Checkout => "checkout",
            Source::Api => "api",
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
    //! The records and the routes.

    use axum::extract::rejection::JsonRejection;
    use axum::extract::{Form, Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::post;
    use axum::{Json, Router};
    use serde::Deserialize;
    use sha2::{Digest, Sha256};
    use sqlx::AnyConnection;

    use super::{Source, CONFIRMATIONS_PER_DAY, WORDING};
    use crate::checkout::address::{validate_email, FieldError};
    use crate::checkout::service::{random_token, Checkout};
    use crate::db::now_epoch;
    use crate::notifications::{self, Email};
    use crate::write_queue::JobFuture;

    fn hash(token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
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

    pub fn routes<S>() -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Checkout: axum::extract::FromRef<S>,
    {
        Router::new()
            .route("/api/v1/newsletter", post(sign_up_api))
            .route("/newsletter", post(sign_up_form))
            .route("/newsletter/confirm", post(confirm_form))
            .route("/newsletter/unsubscribe", post(unsubscribe_form))
    }

    async fn sign_up(checkout: &Checkout, email: &str, source: Source) -> Result<(), Response> {
        let email = validate_email(email).map_err(|field| {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({"error": {"status": 422, "message": field.message, "fields": [field]}})),
            )
                .into_response()
        })?;
        let rules = checkout.rules().await.map_err(|_| internal())?;
        let (site, shop) = (checkout.site_url().to_string(), rules.shop_name.clone());
        checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(async move { ask(conn, &email, source, &site, &shop, now_epoch()).await })
            })
            .await
            .map_err(|_| internal())?;
        notifications::wake_sender();
        Ok(())
    }

    fn internal() -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({"error": {"status": 500, "message": "something went wrong on our side; please try again in a moment", "fields": []}})),
        )
            .into_response()
    }

    #[derive(Deserialize, utoipa::ToSchema)]
    pub struct SignUp {
        email: String,
    }

    /// Sign up for the newsletter: a confirmation email goes to the address (double opt-in).
    /// The same answer whether it was subscribed already or not.
    #[utoipa::path(post, path = "/api/v1/newsletter", tag = "newsletter",
        request_body = SignUp,
        responses((status = 202, description = "Asked: the address gets a link to confirm"), (status = 400, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
    pub async fn sign_up_api(
        State(checkout): State<Checkout>,
        body: Result<Json<SignUp>, JsonRejection>,
    ) -> Response {
        let Json(body) = match body {
            Ok(body) => body,
            Err(rejection) => {
                let status = rejection.status();
                let status = if status.is_client_error() {
                    status
                } else {
                    StatusCode::BAD_REQUEST
                };
                let field = FieldError::new("body", rejection.body_text());
                return (
                    status,
                    Json(serde_json::json!({"error": {"status": status.as_u16(), "message": rejection.body_text(), "fields": [field]}})),
                )
                    .into_response();
            }
        };
        match sign_up(&checkout, &body.email, Source::Api).await {
            Ok(()) => (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"message": "If the address can get our newsletter, a link to confirm is on its way."})),
            )
                .into_response(),
            Err(response) => response,
        }
    }

    #[derive(Deserialize)]
    struct EmailForm {
        #[serde(default)]
        email: String,
    }

    fn back(query: &str) -> Response {
        Redirect::to(&format!("/newsletter?{query}")).into_response()
    }

    fn said(text: &str) -> String {
        format!("error={}", crate::admin::respond::urlencode(text))
    }

    async fn sign_up_form(
        State(checkout): State<Checkout>,
        form: Result<Form<EmailForm>, axum::extract::rejection::FormRejection>,
    ) -> Response {
        let email = form.map(|Form(f)| f.email).unwrap_or_default();
        match sign_up(&checkout, &email, Source::Footer).await {
            Ok(()) => back("sent=1"),
            Err(response) if response.status() == StatusCode::UNPROCESSABLE_ENTITY => {
                back(&said("Enter an email address like name@example.com."))
            }
            Err(response) => response,
        }
    }

    #[derive(Deserialize, Default)]
    struct TokenQuery {
        #[serde(default)]
        token: String,
    }

    #[derive(Deserialize, Default)]
    struct TokenForm {
        #[serde(default)]
        token: String,
        /// RFC 8058: a mail client's one-click unsubscribe sends `List-Unsubscribe=One-Click`.
        #[serde(default, rename = "List-Unsubscribe")]
        one_click: String,
    }

    async fn confirm_form(
        State(checkout): State<Checkout>,
        form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
    ) -> Response {
        let token = form.map(|Form(f)| f.token).unwrap_or_default();
        let done = checkout
            .writes()
            .run(
                move |conn| -> JobFuture<'_, Result<Option<String>, sqlx::Error>> {
                    Box::pin(async move { confirm(conn, &token, now_epoch()).await })
                },
            )
            .await;
        match done {
            Ok(Some(_)) => back("confirmed=1"),
            Ok(None) => back(&said(
                "This link is not valid any more (a newer email has the current one). Sign up again below.",
            )),
            Err(_) => internal(),
        }
    }

    /// Unsubscribes by the token in the link (`?token=`, as `List-Unsubscribe` carries it) or
    /// in the page's form. A mail client's one-click POST gets a plain 200.
    async fn unsubscribe_form(
        State(checkout): State<Checkout>,
        Query(query): Query<TokenQuery>,
        headers: HeaderMap,
        form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
    ) -> Response {
        let form = form.map(|Form(f)| f).unwrap_or_default();
        let one_click = form.one_click == "One-Click";
        let token = if form.token.is_empty() {
            query.token
        } else {
            form.token
        };
        let done = checkout
            .writes()
            .run(
                move |conn| -> JobFuture<'_, Result<Option<String>, sqlx::Error>> {
                    Box::pin(async move { unsubscribe(conn, &token, now_epoch()).await })
                },
            )
            .await;
        let _ = headers;
        match (done, one_click) {
            (Ok(Some(_)), true) => (StatusCode::OK, "Unsubscribed.").into_response(),
            (Ok(None), true) => (StatusCode::NOT_FOUND, "Unknown link.").into_response(),
            (Ok(Some(_)), false) => back("unsubscribed=1"),
            (Ok(None), false) => back(&said("This link is not valid; nothing was changed.")),
            (Err(_), _) => internal(),
        }
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
