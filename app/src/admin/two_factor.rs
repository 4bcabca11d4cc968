//! Staff two-factor authentication: time-based one-time codes (TOTP, RFC 6238: six digits,
//! thirty-second steps, SHA-1, what every authenticator app reads from a QR code) and ten
//! one-time recovery codes. A password alone then starts a five-minute challenge; the code
//! finishes the sign-in. A code is accepted once (its time step is remembered), a recovery
//! code once (its hash is marked used). The owner may require a second factor of all staff.

use sqlx::{AnyConnection, Row};
use totp_rs::{Algorithm, Secret, TOTP};

use super::auth::{self, Account, SignInError};
use super::service::{audited_write, Admin, Audited};
use super::AdminError;
use crate::cookies::{new_token, token_hash};
use crate::db::{now_epoch, Db};
use crate::write_queue::JobFuture;

/// The browser's cookie while a sign-in waits for its code.
pub const CHALLENGE_COOKIE: &str = "kassa_2fa";
/// A password accepted waits this long for its code.
pub const CHALLENGE_SECS: i64 = 5 * 60;
/// Codes a challenge allows before the password is needed again.
pub const CHALLENGE_TRIES: i64 = 5;
/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;
const STEP_SECS: i64 = 30;

/// The authenticator of a base32 secret, named for the shop and the staff member.
fn authenticator(secret: &str, issuer: &str, email: &str) -> Result<TOTP, String> {
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .map_err(|e| format!("{e:?}"))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS as u64,
        bytes,
        Some(issuer.to_string()),
        email.to_string(),
    )
    .map_err(|e| e.to_string())
}

/// A new random secret (160 bits, base32).
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

/// The `otpauth://` address an authenticator app reads (from the QR code, or typed).
pub fn otpauth_url(secret: &str, issuer: &str, email: &str) -> Option<String> {
    authenticator(secret, issuer, email)
        .ok()
        .map(|t| t.get_url())
}

/// The address as a QR code, an SVG to put in the page.
pub fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// The code an authenticator app with `secret` shows at `at` (Unix seconds).
pub fn code_at(secret: &str, at: i64) -> Option<String> {
    Some(authenticator(secret, "", "x").ok()?.generate(at as u64))
}

/// The time step a six-digit `code` belongs to, if it is right for `secret` now (or one step
/// either side, for clocks that drift) and newer than `last_step` (a code works once).
pub fn accepted_step(secret: &str, code: &str, now: i64, last_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = authenticator(secret, "", "x").ok()?;
    let current = now.div_euclid(STEP_SECS);
    (current - 1..=current + 1)
        .filter(|step| *step > last_step)
        .find(|step| totp.generate((step * STEP_SECS) as u64) == code)
}

/// Ten recovery codes to show once: `xxxx-xxxx-xxxx`, lower-case letters and digits.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = new_token();
            format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..12])
        })
        .collect()
}

/// What is kept of recovery codes: their hashes.
fn hashed(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .map(|c| token_hash(&normalise_recovery(c)))
        .collect()
}

/// A recovery code as typed, tidied for its hash.
fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Whether two-factor is on for this account, and whether the shop requires it.
pub async fn status(db: &Db, account_id: i64) -> Result<(bool, bool), sqlx::Error> {
    let row = sqlx::query(
        "SELECT totp_secret IS NOT NULL AS enabled, \
         (SELECT require_staff_2fa FROM shop_settings WHERE id = 1) AS required \
         FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_one(db.pool())
    .await?;
    Ok((
        auth::flag(&row, "enabled")?,
        row.try_get::<i64, _>("required")? != 0,
    ))
}

/// Starts setting up: a new secret waits for its first code. Returns the secret.
pub async fn start_enrolment(db: &Db, account: &Account) -> Result<String, AdminError> {
    let secret = new_secret();
    let (id, pending) = (account.id, secret.clone());
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                sqlx::query("UPDATE accounts SET totp_pending = $1 WHERE id = $2")
                    .bind(pending)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await?;
    Ok(secret)
}

/// The secret waiting for its first code, if setting up has started.
pub async fn pending_secret(db: &Db, account_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT totp_pending FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(db.pool())
        .await
}

/// Finishes setting up with a code from the app: two-factor is on, and the recovery codes
/// (returned, to be shown once) replace any earlier ones.
pub async fn confirm_enrolment(
    admin: &Admin,
    account: &Account,
    code: &str,
) -> Result<Vec<String>, AdminError> {
    let secret = pending_secret(admin.db(), account.id)
        .await?
        .ok_or_else(|| {
            AdminError::Invalid("Start again: there is no authenticator being set up.".into())
        })?;
    let step = accepted_step(&secret, code, now_epoch(), 0).ok_or_else(|| {
        AdminError::Invalid(
            "That code does not match. Check that the app shows this account and that your device's clock is right."
                .into(),
        )
    })?;
    let codes = new_recovery_codes();
    let hashes = hashed(&codes);
    let id = account.id;
    audited_write(admin, account, "2fa.enabled", move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE accounts SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 WHERE id = $2",
            )
            .bind(step)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            replace_recovery_codes(conn, id, &hashes).await?;
            Ok::<_, AdminError>(of_account(id, ()))
        })
    })
    .await?;
    Ok(codes)
}

/// New recovery codes (the old ones stop working), for an account with two-factor on.
pub async fn renew_recovery_codes(
    admin: &Admin,
    account: &Account,
) -> Result<Vec<String>, AdminError> {
    let codes = new_recovery_codes();
    let hashes = hashed(&codes);
    let id = account.id;
    audited_write(admin, account, "2fa.recovery_codes", move |conn| {
        Box::pin(async move {
            replace_recovery_codes(conn, id, &hashes).await?;
            Ok::<_, AdminError>(of_account(id, ()))
        })
    })
    .await?;
    Ok(codes)
}

/// Turns two-factor off with a current code, unless the shop requires it.
pub async fn disable(admin: &Admin, account: &Account, code: &str) -> Result<(), AdminError> {
    let db = admin.db();
    let (_, required) = status(db, account.id).await?;
    if required {
        return Err(AdminError::Invalid(
            "The owner requires two-factor authentication for all staff.".into(),
        ));
    }
    let row = sqlx::query("SELECT totp_secret, totp_last_step FROM accounts WHERE id = $1")
        .bind(account.id)
        .fetch_one(db.pool())
        .await?;
    let secret: Option<String> = row.try_get("totp_secret")?;
    let last: i64 = row.try_get("totp_last_step")?;
    secret
        .and_then(|s| accepted_step(&s, code, now_epoch(), last))
        .ok_or_else(|| AdminError::Invalid("That code does not match.".into()))?;
    let id = account.id;
    audited_write(admin, account, "2fa.disabled", move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE accounts SET totp_secret = NULL, totp_pending = NULL WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok::<_, AdminError>(of_account(id, ()))
        })
    })
    .await
}

/// A change to a staff member's own sign-in, for its audit entry.
fn of_account<T>(id: i64, value: T) -> Audited<T> {
    Audited {
        value,
        subject: format!("account:{id}"),
        detail: String::new(),
    }
}

async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    account_id: i64,
    hashes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)")
            .bind(account_id)
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// After the password of an account with two-factor on: a challenge the browser keeps in
/// [`CHALLENGE_COOKIE`]. Returns its token.
pub async fn start_challenge(db: &Db, account_id: i64) -> Result<String, sqlx::Error> {
    let token = new_token();
    let (hash, now) = (token_hash(&token), now_epoch());
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
            Box::pin(async move {
                sqlx::query("DELETE FROM sign_in_challenges WHERE expires_at < $1")
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(
                    "INSERT INTO sign_in_challenges (token_hash, account_id, tries_left, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(hash)
                .bind(account_id)
                .bind(CHALLENGE_TRIES)
                .bind(now + CHALLENGE_SECS)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await?;
    Ok(token)
}

/// Finishes a sign-in with the code from the app or a recovery code: a new session (the one
/// the browser had ends). Each try spends one of the challenge's; a wrong one counts against
/// the account's and the address's limits like a wrong password.
pub async fn finish_sign_in(
    db: &Db,
    challenge: &str,
    code: &str,
    address: &str,
    previous_token: Option<&str>,
) -> Result<(Account, String), SignInError> {
    let now = now_epoch();
    let (challenge_hash, code, address) = (
        token_hash(challenge),
        code.trim().to_string(),
        address.to_string(),
    );
    let token = new_token();
    let (session_hash, previous) = (token_hash(&token), previous_token.map(token_hash));
    let outcome = db
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<Result<Account, SignInError>, sqlx::Error>> {
            Box::pin(async move {
                let spent = sqlx::query(
                    "UPDATE sign_in_challenges SET tries_left = tries_left - 1 \
                     WHERE token_hash = $1 AND tries_left > 0 AND expires_at > $2 RETURNING account_id",
                )
                .bind(&challenge_hash)
                .bind(now)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(spent) = spent else {
                    return Ok(Err(SignInError::ChallengeOver));
                };
                let account_id: i64 = spent.try_get("account_id")?;
                let row = sqlx::query(
                    "SELECT id, email, role, can_refund, can_privacy, can_support, can_analytics, totp_secret, totp_last_step \
                     FROM accounts WHERE id = $1 AND disabled = 0",
                )
                .bind(account_id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(row) = row else {
                    return Ok(Err(SignInError::ChallengeOver));
                };
                let secret: Option<String> = row.try_get("totp_secret")?;
                let last: i64 = row.try_get("totp_last_step")?;
                let by_app = secret.and_then(|s| accepted_step(&s, &code, now, last));
                let accepted = match by_app {
                    Some(step) => {
                        sqlx::query("UPDATE accounts SET totp_last_step = $1 WHERE id = $2")
                            .bind(step)
                            .bind(account_id)
                            .execute(&mut *conn)
                            .await?;
                        true
                    }
                    None => sqlx::query(
                        "UPDATE recovery_codes SET used_at = $1 WHERE id = \
                         (SELECT MIN(id) FROM recovery_codes WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL)",
                    )
                    .bind(now)
                    .bind(account_id)
                    .bind(token_hash(&normalise_recovery(&code)))
                    .execute(&mut *conn)
                    .await?
                    .rows_affected()
                        == 1,
                };
                let email: String = row.try_get("email")?;
                if !accepted {
                    sqlx::query("INSERT INTO sign_in_failures (email, address_hash, at) VALUES ($1, $2, $3)")
                        .bind(&email)
                        .bind(crate::db::address_key(&address))
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    return Ok(Err(SignInError::WrongCode));
                }
                sqlx::query("DELETE FROM sign_in_challenges WHERE token_hash = $1")
                    .bind(&challenge_hash)
                    .execute(&mut *conn)
                    .await?;
                auth::start_session(conn, account_id, &email, &session_hash, previous, now).await?;
                Ok(auth::account_from_row(&row)?.ok_or(SignInError::Internal))
            })
        })
        .await??;
    Ok((outcome, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_for_its_step_and_the_neighbours_once() {
        let secret = new_secret();
        let totp = authenticator(&secret, "Shop", "a@b.c").unwrap();
        let now = 1_800_000_015;
        let code = totp.generate(now as u64);
        let step = now / 30;
        assert_eq!(accepted_step(&secret, &code, now, 0), Some(step));
        assert_eq!(
            accepted_step(&secret, &format!("{} {}", &code[..3], &code[3..]), now, 0),
            Some(step)
        );
        // Thirty seconds later it still works (a slow typist, a clock a little off) …
        assert_eq!(accepted_step(&secret, &code, now + 30, 0), Some(step));
        // … but not twice, and not a minute and a half later.
        assert_eq!(accepted_step(&secret, &code, now, step), None);
        assert_eq!(accepted_step(&secret, &code, now + 90, 0), None);
        assert_eq!(accepted_step(&secret, "12345", now, 0), None);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_read_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        assert!(codes[0].len() == 14 && codes[0].matches('-').count() == 2);
        assert_eq!(normalise_recovery(" ABCD-ef01-2345 "), "abcdef012345");
    }

    #[test]
    fn the_authenticator_reads_an_otpauth_address() {
        let url = otpauth_url(&new_secret(), "Kassa shop", "owner@shop.test").unwrap();
        assert!(url.starts_with("otpauth://totp/"), "{url}");
        assert!(
            qr_svg(&url).unwrap().starts_with("<?xml") || qr_svg(&url).unwrap().contains("<svg")
        );
    }
}
