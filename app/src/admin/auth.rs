//! Staff sign-in: argon2id password hashes, server-side sessions behind an HttpOnly cookie,
//! rotation at sign-in, idle expiry, and a rate limit per account and per address.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use sqlx::Row;

use super::{Access, Role};
use crate::db::{now_epoch, Db};
use crate::write_queue::JobFuture;

/// The session cookie's name.
pub const COOKIE: &str = "kassa_session";
/// A session unused this long ends (a staff member who walked away).
pub const IDLE_SECS: i64 = 30 * 60;
/// However active, a session ends after this long.
pub const MAX_AGE_SECS: i64 = 12 * 60 * 60;
/// Failed sign-ins allowed per account, and per address, within the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
/// Passwords shorter than this are refused when accounts are made.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Someone signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub can_refund: bool,
    /// May export and erase a person's data (owners always may).
    pub can_privacy: bool,
    /// May answer customers in the support inbox (owners always may).
    pub can_support: bool,
    /// May read the analytics reports (owners always may).
    pub can_analytics: bool,
    /// The owner requires a second factor and this account has none yet: it may only set
    /// one up (a session's account; API tokens are programs and unaffected).
    pub must_set_up_2fa: bool,
    /// The API token's name when a program acts for this account; `None` for a session.
    pub token: Option<String>,
}

impl Account {
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Staff)
    }

    /// Owners may always refund; staff when allowed.
    pub fn may_refund(&self) -> bool {
        self.role == Role::Owner || (self.role == Role::Staff && self.can_refund)
    }

    /// Owners may always handle requests about personal data; staff when allowed.
    pub fn may_handle_privacy(&self) -> bool {
        self.role == Role::Owner || (self.role == Role::Staff && self.can_privacy)
    }

    /// Owners may always answer customers; staff when allowed.
    pub fn may_support(&self) -> bool {
        self.role == Role::Owner || (self.role == Role::Staff && self.can_support)
    }

    /// Owners may always read the analytics; staff when allowed.
    pub fn may_read_analytics(&self) -> bool {
        self.role == Role::Owner || (self.role == Role::Staff && self.can_analytics)
    }

    /// Whether this account may call what needs `access`.
    pub fn has(&self, access: Access) -> bool {
        match access {
            Access::Staff => self.is_staff(),
            Access::Refunds => self.may_refund(),
            Access::Privacy => self.may_handle_privacy(),
            Access::Support => self.may_support(),
            Access::Analytics => self.may_read_analytics(),
            Access::Owner => self.role == Role::Owner,
        }
    }

    /// Who the audit log names: the email, or the token and whose it is.
    pub fn actor(&self) -> String {
        match &self.token {
            Some(name) => format!("token:{name} ({})", self.email),
            None => self.email.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignInError {
    #[error("That email and password do not match an account.")]
    WrongCredentials,
    #[error("Too many failed attempts; wait a few minutes and try again.")]
    RateLimited,
    #[error("That code is not right; try the newest code from your app, or a recovery code.")]
    WrongCode,
    #[error("The sign-in took too long or had too many wrong codes; enter your password again.")]
    ChallengeOver,
    #[error("something went wrong on our side; please try again in a moment")]
    Internal,
}

impl From<sqlx::Error> for SignInError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error during sign-in");
        SignInError::Internal
    }
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so a wrong email takes as long
/// as a wrong password (no telling which accounts exist by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("no such account, but as slow as a real one"))
}

pub(crate) use crate::cookies::token_hash;

/// Creates an account (the CLI's `create-admin`, the owner's staff page).
pub async fn create_account(
    db: &Db,
    email: &str,
    password: &str,
    role: Role,
    can_refund: bool,
) -> Result<i64, String> {
    create_account_with(db, email, password, role, can_refund, false).await
}

/// [`create_account`], also saying whether the account may handle requests about personal data.
pub async fn create_account_with(
    db: &Db,
    email: &str,
    password: &str,
    role: Role,
    can_refund: bool,
    can_privacy: bool,
) -> Result<i64, String> {
    let email = crate::checkout::address::validate_email(email)
        .map_err(|e| e.message)?
        .to_ascii_lowercase();
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!(
            "Choose a password of at least {MIN_PASSWORD_LEN} characters."
        ));
    }
    let hash = hash_password(password);
    let inserted = {
        let email = email.clone();
        db.writes()
            .run(move |conn| -> JobFuture<'_, Result<Option<i64>, sqlx::Error>> {
                Box::pin(async move {
                    sqlx::query_scalar(
                        "INSERT INTO accounts (email, password_hash, role, can_refund, can_privacy, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (email) DO NOTHING RETURNING id",
                    )
                    .bind(&email)
                    .bind(hash)
                    .bind(role.as_str())
                    .bind(can_refund as i64)
                    .bind(can_privacy as i64)
                    .bind(now_epoch())
                    .fetch_optional(&mut *conn)
                    .await
                })
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not create an account");
                "The account could not be created; please try again.".to_string()
            })?
    };
    inserted.ok_or_else(|| format!("An account for {email} already exists."))
}

/// What a right password leads to.
#[derive(Debug)]
pub enum SignedIn {
    /// A new session: the account and the session's token.
    Session(Account, String),
    /// Two-factor is on: this account must answer a challenge with a code
    /// (see [`super::two_factor`]) before it gets a session.
    NeedsCode(i64),
}

/// Signs in: checks the rate limit and the password, then starts a new session (a session the
/// browser already had is ended: the token rotates), or, with two-factor on, a challenge for
/// the code.
pub async fn sign_in(
    db: &Db,
    email: &str,
    password: &str,
    address: &str,
    previous_token: Option<&str>,
) -> Result<SignedIn, SignInError> {
    let email = email.trim().to_ascii_lowercase();
    let now = now_epoch();
    let since = now - FAILURE_WINDOW_SECS;
    let failures = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM sign_in_failures WHERE email = $1 AND at > $3) AS by_account, \
                (SELECT COUNT(*) FROM sign_in_failures WHERE address_hash = $2 AND at > $3) AS by_address",
    )
    .bind(&email)
    .bind(crate::db::address_key(address))
    .bind(since)
    .fetch_one(db.pool())
    .await?;
    if failures.try_get::<i64, _>("by_account")? >= MAX_FAILURES_PER_ACCOUNT
        || failures.try_get::<i64, _>("by_address")? >= MAX_FAILURES_PER_ADDRESS
    {
        return Err(SignInError::RateLimited);
    }
    let row = sqlx::query(
        "SELECT id, email, password_hash, role, can_refund, can_privacy, can_support, can_analytics, totp_secret IS NOT NULL AS second_factor \
         FROM accounts WHERE email = $1 AND disabled = 0",
    )
    .bind(&email)
    .fetch_optional(db.pool())
    .await?;
    let hash = match &row {
        Some(r) => r.try_get::<String, _>("password_hash")?,
        None => decoy_hash().to_string(),
    };
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(row) = row.filter(|_| matches) else {
        let address = crate::db::address_key(address);
        db.writes()
            .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO sign_in_failures (email, address_hash, at) VALUES ($1, $2, $3)",
                    )
                    .bind(&email)
                    .bind(&address)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            })
            .await?;
        return Err(SignInError::WrongCredentials);
    };
    let account = account_from_row(&row)?.ok_or(SignInError::Internal)?;
    if flag(&row, "second_factor")? {
        return Ok(SignedIn::NeedsCode(account.id));
    }
    let token = crate::cookies::new_token();
    let (previous, new_hash, account_id) = (
        previous_token.map(token_hash),
        token_hash(&token),
        account.id,
    );
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                start_session(conn, account_id, &email, &new_hash, previous, now).await
            })
        })
        .await?;
    Ok(SignedIn::Session(account, token))
}

/// A new session for a signed-in account, in the caller's transaction: the browser's previous
/// session ends and the account's failed attempts are forgotten.
pub(crate) async fn start_session(
    conn: &mut sqlx::AnyConnection,
    account_id: i64,
    email: &str,
    session_hash: &str,
    previous: Option<String>,
    now: i64,
) -> Result<(), sqlx::Error> {
    if let Some(previous) = previous {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(previous)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM sign_in_failures WHERE email = $1")
        .bind(email)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(session_hash)
    .bind(account_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A true/false column: a boolean on Postgres, an integer on SQLite.
pub(crate) fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

/// The account a row holds; `None` for a role that may not sign in.
pub(crate) fn account_from_row(row: &sqlx::any::AnyRow) -> Result<Option<Account>, sqlx::Error> {
    let role: String = row.try_get("role")?;
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    Ok(Some(Account {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role,
        can_refund: row.try_get::<i64, _>("can_refund")? != 0,
        can_privacy: row.try_get::<i64, _>("can_privacy")? != 0,
        can_support: row.try_get::<i64, _>("can_support")? != 0,
        can_analytics: row.try_get::<i64, _>("can_analytics")? != 0,
        // Only the session's query asks; elsewhere the column is absent.
        must_set_up_2fa: flag(row, "must_set_up_2fa").unwrap_or(false),
        token: None,
    }))
}

/// The account behind a session token, if the session is alive; keeps it alive (at most one
/// write a minute). An idle or too old session is deleted.
pub async fn session_account(
    db: &Db,
    token: &str,
    now: i64,
) -> Result<Option<Account>, sqlx::Error> {
    let hash = token_hash(token);
    let row = sqlx::query(
        "SELECT a.id, a.email, a.role, a.can_refund, a.can_privacy, a.can_support, a.can_analytics, \
         (a.totp_secret IS NULL AND (SELECT require_staff_2fa FROM shop_settings WHERE id = 1) = 1) AS must_set_up_2fa, \
         s.created_at, s.last_seen_at \
         FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1 AND a.disabled = 0",
    )
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let created: i64 = row.try_get("created_at")?;
    let seen: i64 = row.try_get("last_seen_at")?;
    if now - seen > IDLE_SECS || now - created > MAX_AGE_SECS {
        sign_out(db, token).await?;
        return Ok(None);
    }
    if now - seen >= 60 {
        db.writes()
            .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(async move {
                    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                        .bind(now)
                        .bind(&hash)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .await?;
    }
    account_from_row(&row)
}

pub async fn sign_out(db: &Db, token: &str) -> Result<(), sqlx::Error> {
    let hash = token_hash(token);
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(hash)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
}

/// The session token in a request's cookies.
pub fn token_from_cookies(headers: &axum::http::HeaderMap) -> Option<String> {
    crate::cookies::token(headers, COOKIE)
}

/// Forgets failed staff sign-ins older than the window they count in (the server's
/// housekeeping calls this).
pub async fn forget_old_failures(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<u64, sqlx::Error>> {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
                    .bind(now - FAILURE_WINDOW_SECS)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected())
            })
        })
        .await
}

/// The `Set-Cookie` value for a new session (Secure when the shop is served over HTTPS).
pub fn session_cookie(token: &str, secure: bool) -> String {
    crate::cookies::set(COOKIE, token, MAX_AGE_SECS, secure)
}

pub fn clear_cookie(secure: bool) -> String {
    crate::cookies::clear(COOKIE, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterx", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }
}
