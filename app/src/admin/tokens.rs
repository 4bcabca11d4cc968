//! API tokens: a program (an ERP, a fulfilment service) acts for one staff member, with that
//! member's role, through `Authorization: Bearer kassa_at_…` on `/api/v1/admin/…`. The owner
//! makes and revokes them on the staff page (or `kassa create-api-token`); a token is shown
//! once and stored only as its SHA-256, like a session; every use is in the audit log.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::AdminError;

/// One token as the staff page lists it; never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenRow {
    pub id: i64,
    pub name: String,
    /// The staff member whose role the token acts with.
    pub staff_email: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What the staff page needs to manage tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokens {
    pub tokens: Vec<ApiTokenRow>,
    /// Emails of the staff accounts a new token may act for.
    pub staff: Vec<String>,
}

/// The tokens for the owner; `None` for other staff (the staff page they may see renders this
/// too, and must not answer 403 for it).
#[server(endpoint = "admin/api-tokens", input = server_fn::codec::Json)]
pub async fn admin_api_tokens() -> Result<Option<ApiTokens>, AdminError> {
    super::with_status(
        async {
            let (admin, account) = super::require(super::Access::Staff).await?;
            if !account.has(super::Access::Owner) {
                return Ok(None);
            }
            Ok(Some(ssr::overview(admin.checkout().db()).await?))
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub use ssr::{
    create, listed_routes, record_use, resolve, revoke, routes, NewToken, TokenError, PREFIX,
};

#[cfg(feature = "ssr")]
mod ssr {
    use axum::extract::rejection::FormRejection;
    use axum::extract::{Form, Path, State};
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::{Json, Router};
    use serde::Deserialize;
    use sqlx::{AnyConnection, Row};

    use super::{ApiTokenRow, ApiTokens};
    use crate::admin::auth::{account_from_row, token_hash, Account};
    use crate::admin::respond::{form_error, outcome, shown_once};
    use crate::admin::service::{audit_subject, Admin};
    use crate::admin::{Access, AdminError};
    use crate::checkout::service::random_token;
    use crate::db::{now_epoch, Db};
    use crate::write_queue::JobFuture;

    /// Every token starts with this, so a leaked one is easy to recognise (secret scanners).
    pub const PREFIX: &str = "kassa_at_";
    /// Longest accepted name, and expiry.
    const MAX_NAME_CHARS: usize = 100;
    const MAX_EXPIRY_DAYS: i64 = 3650;
    /// `last_used_at` is written at most this often per token.
    const LAST_USED_EVERY_SECS: i64 = 60;

    #[derive(Debug, thiserror::Error, PartialEq, Eq)]
    pub enum TokenError {
        #[error("no account has the email {0}")]
        UnknownAccount(String),
        #[error("{0} is not a staff account; API tokens act for owners and staff only")]
        NotStaff(String),
        #[error("give the token a name of 1 to {MAX_NAME_CHARS} characters")]
        BadName,
        #[error("the expiry must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}")]
        BadExpiry,
        #[error("something went wrong on our side; please try again in a moment")]
        Internal,
    }

    impl From<sqlx::Error> for TokenError {
        fn from(error: sqlx::Error) -> Self {
            tracing::error!(%error, "database error with API tokens");
            TokenError::Internal
        }
    }

    impl From<TokenError> for AdminError {
        fn from(error: TokenError) -> Self {
            match error {
                TokenError::Internal => AdminError::Internal,
                other => AdminError::Invalid(other.to_string()),
            }
        }
    }

    /// A token just made: the only time its text exists outside the caller's hands.
    #[derive(Debug)]
    pub struct NewToken {
        pub id: i64,
        pub name: String,
        pub token: String,
        pub staff_email: String,
        pub expires_at: Option<i64>,
    }

    /// Makes a token acting for the staff account with `staff_email`. `created_by` is the
    /// owner on the staff page, `None` on the command line.
    pub async fn create(
        db: &Db,
        staff_email: &str,
        name: &str,
        expires_days: Option<i64>,
        created_by: Option<&Account>,
    ) -> Result<NewToken, TokenError> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(TokenError::BadName);
        }
        if expires_days.is_some_and(|d| !(1..=MAX_EXPIRY_DAYS).contains(&d)) {
            return Err(TokenError::BadExpiry);
        }
        let email = staff_email.trim().to_ascii_lowercase();
        let row = sqlx::query(
            "SELECT id, email, role, can_refund, can_privacy, can_support, can_analytics, disabled FROM accounts WHERE email = $1",
        )
        .bind(&email)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| TokenError::UnknownAccount(email.clone()))?;
        let staff = account_from_row(&row)?.ok_or(TokenError::Internal)?;
        if !staff.is_staff() || row.try_get::<i64, _>("disabled")? != 0 {
            return Err(TokenError::NotStaff(email));
        }
        let now = now_epoch();
        let expires_at = expires_days.map(|d| now + d * 86_400);
        let token = format!("{PREFIX}{}{}", random_token(), random_token());
        let hash = token_hash(&token);
        let (staff_id, created_by_id) = (staff.id, created_by.map(|a| a.id));
        let owned = name.to_string();
        // The command line has no signed-in account: the log names it, for the staff member.
        let actor = created_by.cloned().unwrap_or_else(|| Account {
            email: "command line (kassa create-api-token)".into(),
            ..staff.clone()
        });
        let detail = format!("{name} for {email}");
        let id = db
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<i64, TokenError>> {
                Box::pin(async move {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO api_tokens (account_id, name, token_hash, created_by, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(staff_id)
                    .bind(&owned)
                    .bind(hash)
                    .bind(created_by_id)
                    .bind(now)
                    .bind(expires_at)
                    .fetch_one(&mut *conn)
                    .await?;
                    audit_subject(conn, &actor, "API token created", &subject(id), &detail)
                        .await
                        .map_err(|_| TokenError::Internal)?;
                    Ok(id)
                })
            })
            .await?;
        Ok(NewToken {
            id,
            name: name.to_string(),
            token,
            staff_email: email,
            expires_at,
        })
    }

    fn subject(id: i64) -> String {
        format!("api_token:{id}")
    }

    /// The account a token acts for, if the token is known, not revoked, not expired, and its
    /// account not disabled (the role is checked by the caller, as for sessions). With the
    /// token's id, for [`record_use`].
    pub async fn resolve(
        db: &Db,
        token: &str,
        now: i64,
    ) -> Result<Option<(i64, Account)>, sqlx::Error> {
        if !token.starts_with(PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT t.id AS token_id, t.name, t.expires_at, t.revoked_at, a.id, a.email, a.role, a.can_refund, a.can_privacy, a.can_support, a.can_analytics \
             FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
             WHERE t.token_hash = $1 AND a.disabled = 0",
        )
        .bind(token_hash(token))
        .fetch_optional(db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let revoked = row.try_get::<Option<i64>, _>("revoked_at")?.is_some();
        let expired = row
            .try_get::<Option<i64>, _>("expires_at")?
            .is_some_and(|at| at <= now);
        if revoked || expired {
            return Ok(None);
        }
        let Some(account) = account_from_row(&row)? else {
            return Ok(None);
        };
        Ok(Some((
            row.try_get("token_id")?,
            Account {
                token: Some(row.try_get("name")?),
                ..account
            },
        )))
    }

    /// Notes a use of the token: its last-used time, and a line in the audit log naming the
    /// request (what it changed is logged by the action itself, naming the token too).
    pub async fn record_use(
        conn: &mut AnyConnection,
        token_id: i64,
        account: &Account,
        request: &str,
    ) -> Result<(), AdminError> {
        let now = now_epoch();
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at <= $3)",
        )
        .bind(now)
        .bind(token_id)
        .bind(now - LAST_USED_EVERY_SECS)
        .execute(&mut *conn)
        .await?;
        audit_subject(conn, account, "API request", &subject(token_id), request).await
    }

    /// Revokes a token at once; later requests with it get 401.
    pub async fn revoke(db: &Db, id: i64, by: &Account) -> Result<(), AdminError> {
        let by = by.clone();
        db.writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                    )
                    .bind(now_epoch())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(AdminError::NotFound(format!("An unrevoked API token {id}")));
                    }
                    audit_subject(conn, &by, "API token revoked", &subject(id), "").await
                })
            })
            .await
    }

    pub(super) async fn overview(db: &Db) -> Result<ApiTokens, sqlx::Error> {
        let tokens = sqlx::query(
            "SELECT t.id, t.name, a.email, t.created_at, t.expires_at, t.last_used_at, t.revoked_at \
             FROM api_tokens t JOIN accounts a ON a.id = t.account_id ORDER BY t.id DESC",
        )
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(ApiTokenRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                staff_email: r.try_get("email")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let staff = sqlx::query_scalar(
            "SELECT email FROM accounts WHERE role IN ('owner', 'staff') AND disabled = 0 ORDER BY email",
        )
        .fetch_all(db.pool())
        .await?;
        Ok(ApiTokens { tokens, staff })
    }

    /// The owner's forms on the staff page.
    pub fn routes<S>() -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        listed_routes().into_router()
    }

    /// The token forms' routes, listed (see [`crate::admin::listed::ListedRouter`]).
    pub fn listed_routes<S>() -> crate::admin::listed::ListedRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        crate::admin::listed::ListedRouter::default()
            .post("/admin/staff/tokens", create_form)
            .post("/admin/staff/tokens/{token}/revoke", revoke_form)
    }

    #[derive(Deserialize)]
    struct TokenForm {
        name: String,
        email: String,
        /// Days until it expires; empty for never.
        #[serde(default)]
        expires_days: String,
    }

    /// Makes a token and shows it once: in a page for people (not in a redirect's address,
    /// which browsers keep in their history), as JSON for programs.
    async fn create_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        form: Result<Form<TokenForm>, FormRejection>,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Owner).await?;
            let Form(form) = form.map_err(form_error)?;
            let days = form.expires_days.trim();
            let days = if days.is_empty() {
                None
            } else {
                Some(days.parse::<i64>().map_err(|_| TokenError::BadExpiry)?)
            };
            Ok::<_, AdminError>(
                create(
                    admin.checkout().db(),
                    &form.email,
                    &form.name,
                    days,
                    Some(&account),
                )
                .await?,
            )
        }
        .await;
        let created = match result {
            Ok(created) => created,
            Err(error) => return outcome(&headers, "/admin/staff", Err(error)),
        };
        let no_store = [(header::CACHE_CONTROL, "no-store")];
        let wants_html = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        if !wants_html {
            let body = serde_json::json!({
                "id": created.id,
                "name": created.name,
                "token": created.token,
                "staff_email": created.staff_email,
                "expires_at": created.expires_at.map(crate::time::rfc3339),
            });
            return (StatusCode::CREATED, no_store, Json(body)).into_response();
        }
        let body = format!(
            "<p>Copy it now: it is shown only this once. Send it as <code>Authorization: Bearer …</code>.</p>\
             <p><code data-testid=\"api-token\">{}</code></p>",
            created.token
        );
        shown_once(
            StatusCode::CREATED,
            (
                "New API token",
                &format!("API token “{}” for {}", created.name, created.staff_email),
            ),
            &body,
            ("/admin/staff", "Back to staff"),
        )
    }

    async fn revoke_form(
        State(admin): State<Admin>,
        Path(token): Path<String>,
        headers: HeaderMap,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Owner).await?;
            let id = token
                .parse::<i64>()
                .map_err(|_| AdminError::NotFound(format!("API token {token}")))?;
            revoke(admin.checkout().db(), id, &account).await?;
            Ok("API token revoked.".to_string())
        }
        .await;
        outcome(&headers, "/admin/staff", result)
    }
}
