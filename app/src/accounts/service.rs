//! Accounts on the server: codes, sessions, the address book and the order history. Every
//! write goes through the database's write queue, one transaction each.

use std::sync::Arc;

use axum::http::HeaderMap;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::codes::{self, Guess, StoredCode};
use super::{
    AccountError, AccountOrder, AccountOverview, AddressInput, Customer, EmailPreferences,
    SavedAddress, SavedPasskey, COOKIE, IDLE_SECS, MAX_ADDRESSES, MAX_AGE_SECS, SIGNED_IN_HINT,
};
use crate::checkout::address::{validate_address, Address};
use crate::cookies::{self, token_hash};
use crate::db::{now_epoch, Db};
use crate::orders::{order_number, record};
use crate::promotions::newsletter::ssr as newsletter;
use crate::promotions::newsletter::Source;
use crate::write_queue::JobFuture;

/// A right code's customer and how many guest orders joined them.
type Proven = (Customer, u64);

/// Orders the account page shows at first; the API pages through the rest.
pub const ORDERS_PER_PAGE: i64 = 20;

#[derive(Clone)]
pub struct Accounts(Arc<Inner>);

struct Inner {
    db: Db,
    site_url: String,
    secure_cookies: bool,
    webauthn: Option<webauthn_rs::Webauthn>,
}

/// A sign-in that worked: who, and the new session's token (for the cookie, or for an API
/// client's `Authorization: Bearer`).
#[derive(Debug)]
pub struct SignedIn {
    pub customer: Customer,
    pub token: String,
    /// Guest orders with the proven email that joined the account now.
    pub claimed_orders: u64,
}

impl Accounts {
    pub fn new(db: Db, site_url: &str) -> Accounts {
        Accounts(Arc::new(Inner {
            db,
            site_url: site_url.trim_end_matches('/').to_string(),
            secure_cookies: site_url.starts_with("https://"),
            webauthn: relying_party(site_url),
        }))
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn offers_passkeys(&self) -> bool {
        self.0.webauthn.is_some()
    }

    /// The relying party passkeys are made for: this shop's public address. `None` when the
    /// address cannot be one (then passkeys are not offered).
    pub(super) fn webauthn(&self) -> Option<&webauthn_rs::Webauthn> {
        self.0.webauthn.as_ref()
    }

    /// The `Set-Cookie` values of a new session: the session, and the hint that tells the
    /// browser's scripts someone is signed in (so the cart knows to sync; it proves nothing).
    pub fn session_cookies(&self, token: &str) -> [String; 2] {
        let secure = self.0.secure_cookies;
        [
            cookies::set(COOKIE, token, MAX_AGE_SECS, secure),
            self.hint_cookie(),
        ]
    }

    /// The `Set-Cookie` value of the signed-in hint alone.
    pub fn hint_cookie(&self) -> String {
        cookies::set_visible(SIGNED_IN_HINT, "1", MAX_AGE_SECS, self.0.secure_cookies)
    }

    /// The `Set-Cookie` values that end the session in the browser.
    pub fn clear_cookies(&self) -> [String; 2] {
        let secure = self.0.secure_cookies;
        [
            cookies::clear(COOKIE, secure),
            cookies::set_visible(SIGNED_IN_HINT, "", 0, secure),
        ]
    }

    /// Sends a code to `email`. The answer is the same whether an account exists or not (none
    /// is looked up): the account is made when a code is first used.
    pub async fn send_code(&self, email: &str, address: &str) -> Result<(), AccountError> {
        let email = codes::parse_email(email)?;
        let now = now_epoch();
        let (by_email, by_address) = self
            .recent_attempts("code_sent", &email, address, now)
            .await?;
        if by_email >= codes::CODES_PER_EMAIL || by_address >= codes::CODES_PER_ADDRESS {
            return Err(AccountError::RateLimited);
        }
        let code = codes::new_code();
        let hash = codes::code_hash(&email, &code);
        let address = address.to_string();
        self.db()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(async move {
                    record_attempt(conn, "code_sent", &email, &address, now).await?;
                    // One live code per email: a new one replaces the old with fresh tries.
                    sqlx::query(
                        "INSERT INTO sign_in_codes (email, code_hash, tries_left, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO UPDATE SET \
                         code_hash = excluded.code_hash, tries_left = excluded.tries_left, \
                         created_at = excluded.created_at, expires_at = excluded.expires_at",
                    )
                    .bind(&email)
                    .bind(hash)
                    .bind(codes::TRIES)
                    .bind(now)
                    .bind(now + codes::CODE_TTL_SECS)
                    .execute(&mut *conn)
                    .await?;
                    let shop: String =
                        sqlx::query_scalar("SELECT shop_name FROM shop_settings WHERE id = 1")
                            .fetch_one(&mut *conn)
                            .await?;
                    let email_text = crate::notifications::sign_in_code(
                        &code,
                        &shop,
                        codes::CODE_TTL_SECS / 60,
                    );
                    crate::notifications::queue(conn, &email, email_text, now).await
                })
            })
            .await?;
        // The shopper is waiting for this one.
        crate::notifications::wake_sender();
        Ok(())
    }

    /// Signs in with a code sent to `email`: the first verified code makes the account, every
    /// one claims the guest orders placed with the email, and the session rotates (the one the
    /// browser had, if any, ends).
    pub async fn sign_in_with_code(
        &self,
        email: &str,
        code: &str,
        address: &str,
        previous_token: Option<&str>,
    ) -> Result<SignedIn, AccountError> {
        let (email, code) = match (codes::parse_email(email), codes::parse_code(code)) {
            (Ok(email), Ok(code)) => (email, code),
            (email, code) => {
                return Err(AccountError::Invalid(
                    [email.err(), code.err()].into_iter().flatten().collect(),
                ))
            }
        };
        let now = now_epoch();
        let (_, wrong_here) = self
            .recent_attempts("wrong_code", &email, address, now)
            .await?;
        if wrong_here >= codes::WRONG_CODES_PER_ADDRESS {
            return Err(AccountError::RateLimited);
        }
        let guess_hash = codes::code_hash(&email, &code);
        let token = cookies::new_token();
        let (address, previous) = (address.to_string(), previous_token.map(token_hash));
        let session_hash = token_hash(&token);
        let outcome = self
            .db()
            .writes()
            .run(
                move |conn| -> JobFuture<'_, Result<(Guess, Option<Proven>), sqlx::Error>> {
                    Box::pin(async move {
                        let guess = spend_a_try(conn, &email, &guess_hash, now).await?;
                        if guess != Guess::Right {
                            record_attempt(conn, "wrong_code", &email, &address, now).await?;
                            return Ok((guess, None));
                        }
                        let customer = verified_customer(conn, &email, now).await?;
                        let claimed = record::claim_guest_orders(conn, customer.id, &email).await?;
                        start_session(conn, customer.id, &session_hash, previous, now).await?;
                        Ok((guess, Some((customer, claimed))))
                    })
                },
            )
            .await?;
        match outcome {
            (Guess::Right, Some((customer, claimed_orders))) => Ok(SignedIn {
                customer,
                token,
                claimed_orders,
            }),
            (Guess::Wrong { tries_left }, _) => Err(AccountError::WrongCode { tries_left }),
            (Guess::NoTriesLeft, _) => Err(AccountError::CodeSpent),
            _ => Err(AccountError::CodeExpired),
        }
    }

    /// (by this email, from this address) attempts of `kind` within the limits' window.
    pub(super) async fn recent_attempts(
        &self,
        kind: &str,
        email: &str,
        address: &str,
        now: i64,
    ) -> Result<(i64, i64), sqlx::Error> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM sign_in_attempts WHERE email = $1 AND kind = $3 AND at > $4) AS by_email, \
                    (SELECT COUNT(*) FROM sign_in_attempts WHERE address_hash = $2 AND kind = $3 AND at > $4) AS by_address",
        )
        .bind(email)
        .bind(crate::db::address_key(address))
        .bind(kind)
        .bind(now - codes::LIMIT_WINDOW_SECS)
        .fetch_one(self.db().pool())
        .await?;
        Ok((row.try_get("by_email")?, row.try_get("by_address")?))
    }

    /// The session token a request carries: the shopper's cookie, or `Authorization: Bearer`
    /// from an API client.
    pub fn token_of(headers: &HeaderMap) -> Option<String> {
        cookies::token(headers, COOKIE).or_else(|| {
            cookies::bearer(headers)
                .filter(|token| cookies::is_token(token))
                .map(str::to_string)
        })
    }

    /// The shopper a request's session belongs to, if it is alive; keeps it alive (at most one
    /// write an hour). An idle or too old session is ended.
    pub async fn customer_of(&self, headers: &HeaderMap) -> Result<Option<Customer>, sqlx::Error> {
        let Some(token) = Self::token_of(headers) else {
            return Ok(None);
        };
        let now = now_epoch();
        let hash = token_hash(&token);
        let row = sqlx::query(
            "SELECT c.id, c.email, c.name, s.created_at, s.last_seen_at FROM customer_sessions s \
             JOIN customers c ON c.id = s.customer_id WHERE s.token_hash = $1 AND c.erased_at IS NULL",
        )
        .bind(&hash)
        .fetch_optional(self.db().pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let created: i64 = row.try_get("created_at")?;
        let seen: i64 = row.try_get("last_seen_at")?;
        if now - seen > IDLE_SECS || now - created > MAX_AGE_SECS {
            self.sign_out(&token).await?;
            return Ok(None);
        }
        if now - seen >= 3600 {
            self.db()
                .writes()
                .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                    Box::pin(async move {
                        sqlx::query(
                            "UPDATE customer_sessions SET last_seen_at = $1 WHERE token_hash = $2",
                        )
                        .bind(now)
                        .bind(&hash)
                        .execute(&mut *conn)
                        .await?;
                        Ok(())
                    })
                })
                .await?;
        }
        Ok(Some(customer_from_row(&row)?))
    }

    /// The signed-in shopper, or [`AccountError::SignedOut`].
    pub async fn require(&self, headers: &HeaderMap) -> Result<Customer, AccountError> {
        self.customer_of(headers)
            .await?
            .ok_or(AccountError::SignedOut)
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), sqlx::Error> {
        let hash = token_hash(token);
        self.db()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(async move {
                    sqlx::query("DELETE FROM customer_sessions WHERE token_hash = $1")
                        .bind(hash)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    /// Everything the shop holds about the customer ("download my data").
    pub async fn export(&self, customer: &Customer) -> Result<serde_json::Value, AccountError> {
        Ok(crate::privacy::export(self.db(), &subject_of(customer)).await?)
    }

    /// "Delete my account": the customer's personal data erased (their orders stay for the
    /// books without it), their sessions ended. The same email may sign up again, as a new,
    /// empty account.
    pub async fn delete_account(&self, customer: &Customer) -> Result<(), AccountError> {
        crate::privacy::erase(self.db(), &subject_of(customer)).await?;
        Ok(())
    }

    /// The account page: the shopper, their newest orders and their addresses.
    pub async fn overview(&self, customer: Customer) -> Result<AccountOverview, AccountError> {
        let (orders, _) = self.orders(customer.id, None).await?;
        let addresses = self.addresses(customer.id).await?;
        let passkeys = self.passkeys(customer.id).await?;
        let preferences = self.preferences(customer.id).await?;
        Ok(AccountOverview {
            customer,
            orders,
            addresses,
            passkeys,
            passkeys_offered: self.offers_passkeys(),
            preferences,
        })
    }

    /// The customer's passkeys, oldest first.
    pub async fn passkeys(&self, customer_id: i64) -> Result<Vec<SavedPasskey>, AccountError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at FROM customer_passkeys \
             WHERE customer_id = $1 ORDER BY id",
        )
        .bind(customer_id)
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows
            .iter()
            .map(saved_passkey_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Whether the customer gets news: their address's newsletter consent, the one record of
    /// it however it was given (footer, checkout or here).
    pub async fn preferences(&self, customer_id: i64) -> Result<EmailPreferences, AccountError> {
        let mut conn = self.db().pool().acquire().await?;
        let email: String = sqlx::query_scalar("SELECT email FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_one(&mut *conn)
            .await?;
        Ok(EmailPreferences {
            news: newsletter::is_subscribed(&mut conn, &email).await?,
        })
    }

    /// Subscribes the customer's address to the newsletter (at once: signing in proved it) or
    /// unsubscribes it. The consent record keeps when, where and the wording, as for any
    /// sign-up.
    pub async fn set_preferences(
        &self,
        customer_id: i64,
        preferences: EmailPreferences,
    ) -> Result<EmailPreferences, AccountError> {
        let now = now_epoch();
        self.db()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(async move {
                    let email: String =
                        sqlx::query_scalar("SELECT email FROM customers WHERE id = $1")
                            .bind(customer_id)
                            .fetch_one(&mut *conn)
                            .await?;
                    if preferences.news {
                        newsletter::subscribe_proven(conn, &email, Source::Account, now).await
                    } else {
                        newsletter::unsubscribe_address(conn, &email, now)
                            .await
                            .map(|_| ())
                    }
                })
            })
            .await?;
        Ok(preferences)
    }

    /// A page of the customer's orders, newest first, and the cursor of the next page.
    pub async fn orders(
        &self,
        customer_id: i64,
        before: Option<i64>,
    ) -> Result<(Vec<AccountOrder>, Option<String>), AccountError> {
        let pool = self.db().pool();
        let mut records =
            record::of_customer(pool, customer_id, before, ORDERS_PER_PAGE + 1).await?;
        let more = records.len() as i64 > ORDERS_PER_PAGE;
        records.truncate(ORDERS_PER_PAGE as usize);
        let ids: Vec<i64> = records.iter().map(|o| o.id).collect();
        let mut shipments = record::shipments_of(pool, &ids).await?;
        let next = more
            .then(|| records.last().map(|o| o.id.to_string()))
            .flatten();
        let orders = records
            .into_iter()
            .map(|order| AccountOrder {
                number: order_number(order.id),
                status: order.status,
                fulfilment: order.fulfilment,
                total: order.total,
                placed_at: crate::time::rfc3339(order.created_at),
                shipments: shipments.remove(&order.id).unwrap_or_default(),
                order_url: format!("{}/orders/{}", self.0.site_url, order.access_token),
            })
            .collect();
        Ok((orders, next))
    }

    /// The address book, the default first.
    pub async fn addresses(&self, customer_id: i64) -> Result<Vec<SavedAddress>, AccountError> {
        let rows = sqlx::query(
            "SELECT id, name, line1, line2, city, postal_code, region, country, is_default \
             FROM customer_addresses WHERE customer_id = $1 ORDER BY is_default DESC, id",
        )
        .bind(customer_id)
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows
            .iter()
            .map(saved_address_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Adds an address; the first one, or one marked so, becomes the default.
    pub async fn add_address(
        &self,
        customer_id: i64,
        input: AddressInput,
    ) -> Result<SavedAddress, AccountError> {
        let address = validate_address(&input.address, "address").map_err(AccountError::Invalid)?;
        let make_default = input.is_default;
        let stored = address.clone();
        let id = self
            .db()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(i64, bool), AccountError>> {
                Box::pin(async move {
                    let held: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM customer_addresses WHERE customer_id = $1",
                    )
                    .bind(customer_id)
                    .fetch_one(&mut *conn)
                    .await?;
                    if held as usize >= MAX_ADDRESSES {
                        return Err(AccountError::field(
                            "address",
                            &format!("An address book holds at most {MAX_ADDRESSES} addresses; delete one first."),
                        ));
                    }
                    let is_default = make_default || held == 0;
                    if is_default {
                        clear_default(conn, customer_id).await?;
                    }
                    let row = with_address(
                        sqlx::query(
                            "INSERT INTO customer_addresses (name, line1, line2, city, postal_code, region, \
                             country, is_default, customer_id, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                        ),
                        &stored,
                    )
                    .bind(is_default as i64)
                    .bind(customer_id)
                    .bind(now_epoch())
                    .fetch_one(&mut *conn)
                    .await?;
                    Ok((row.try_get("id")?, is_default))
                })
            })
            .await?;
        Ok(SavedAddress {
            id: id.0,
            address,
            is_default: id.1,
        })
    }

    /// Changes one of the customer's addresses; another customer's is not found.
    pub async fn update_address(
        &self,
        customer_id: i64,
        id: i64,
        input: AddressInput,
    ) -> Result<SavedAddress, AccountError> {
        let address = validate_address(&input.address, "address").map_err(AccountError::Invalid)?;
        let make_default = input.is_default;
        let stored = address.clone();
        let is_default = self
            .db()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<Option<bool>, sqlx::Error>> {
                Box::pin(async move {
                    let was_default: Option<i64> = sqlx::query_scalar(
                        "SELECT is_default FROM customer_addresses WHERE id = $1 AND customer_id = $2",
                    )
                    .bind(id)
                    .bind(customer_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some(was_default) = was_default else {
                        return Ok(None);
                    };
                    // Unticking the default leaves the book without one until another is chosen.
                    if make_default && was_default == 0 {
                        clear_default(conn, customer_id).await?;
                    }
                    with_address(
                        sqlx::query(
                            "UPDATE customer_addresses SET name = $1, line1 = $2, line2 = $3, city = $4, \
                             postal_code = $5, region = $6, country = $7, is_default = $8 \
                             WHERE id = $9 AND customer_id = $10",
                        ),
                        &stored,
                    )
                    .bind(make_default as i64)
                    .bind(id)
                    .bind(customer_id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(Some(make_default))
                })
            })
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("Address {id}")))?;
        Ok(SavedAddress {
            id,
            address,
            is_default,
        })
    }

    /// Deletes one of the customer's addresses. When it was the default, the oldest left
    /// becomes the default.
    pub async fn delete_address(&self, customer_id: i64, id: i64) -> Result<(), AccountError> {
        let deleted = self
            .db()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<bool, sqlx::Error>> {
                Box::pin(async move {
                    let was_default: Option<i64> = sqlx::query_scalar(
                        "DELETE FROM customer_addresses WHERE id = $1 AND customer_id = $2 RETURNING is_default",
                    )
                    .bind(id)
                    .bind(customer_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some(was_default) = was_default else {
                        return Ok(false);
                    };
                    if was_default != 0 {
                        sqlx::query(
                            "UPDATE customer_addresses SET is_default = 1 WHERE id = \
                             (SELECT MIN(id) FROM customer_addresses WHERE customer_id = $1)",
                        )
                        .bind(customer_id)
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(true)
                })
            })
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(AccountError::NotFound(format!("Address {id}")))
        }
    }
}

/// Forgets what sign-in no longer needs: expired codes, ended sessions, and attempts older
/// than the limits look back (addresses and emails are personal data, kept only while a limit
/// needs them). Staff sign-in failures too.
pub async fn forget_stale(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<u64, sqlx::Error>> {
            Box::pin(async move {
                let mut forgotten = 0;
                for (sql, cutoff) in [
                    ("DELETE FROM sign_in_codes WHERE expires_at < $1", now),
                    (
                        "DELETE FROM sign_in_attempts WHERE at < $1",
                        now - codes::LIMIT_WINDOW_SECS,
                    ),
                    (
                        "DELETE FROM customer_sessions WHERE last_seen_at < $1",
                        now - IDLE_SECS,
                    ),
                    (
                        "DELETE FROM customer_sessions WHERE created_at < $1",
                        now - MAX_AGE_SECS,
                    ),
                    ("DELETE FROM passkey_ceremonies WHERE expires_at < $1", now),
                ] {
                    forgotten += sqlx::query(sql)
                        .bind(cutoff)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                }
                Ok(forgotten)
            })
        })
        .await
}

/// A customer as privacy knows them: their account and their (proven) email.
fn subject_of(customer: &Customer) -> crate::privacy::Subject {
    crate::privacy::Subject {
        customer_id: Some(customer.id),
        email: customer.email.to_lowercase(),
    }
}

/// Spends one try of `email`'s code on a guess and judges it. The try is taken by one guarded
/// UPDATE, so parallel guesses each spend their own; a right guess uses the code up.
async fn spend_a_try(
    conn: &mut AnyConnection,
    email: &str,
    guess_hash: &str,
    now: i64,
) -> Result<Guess, sqlx::Error> {
    let spent = sqlx::query(
        "UPDATE sign_in_codes SET tries_left = tries_left - 1 \
         WHERE email = $1 AND tries_left > 0 AND expires_at > $2 \
         RETURNING code_hash, tries_left + 1 AS tries_before, expires_at",
    )
    .bind(email)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let stored = match &spent {
        Some(row) => Some(StoredCode {
            hash: row.try_get("code_hash")?,
            tries_left: row.try_get("tries_before")?,
            expires_at: row.try_get("expires_at")?,
        }),
        // No try could be spent: tell a spent code from a missing or expired one.
        None => sqlx::query(
            "SELECT code_hash, tries_left, expires_at FROM sign_in_codes WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| -> Result<StoredCode, sqlx::Error> {
            Ok(StoredCode {
                hash: row.try_get("code_hash")?,
                tries_left: row.try_get("tries_left")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()?,
    };
    let guess = codes::judge(stored.as_ref(), guess_hash, now);
    if guess == Guess::Right {
        sqlx::query("DELETE FROM sign_in_codes WHERE email = $1")
            .bind(email)
            .execute(&mut *conn)
            .await?;
    }
    Ok(guess)
}

/// The account of a just-proven email: made on its first code, and marked verified now.
async fn verified_customer(
    conn: &mut AnyConnection,
    email: &str,
    now: i64,
) -> Result<Customer, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO customers (email, created_at, verified_at) VALUES ($1, $2, $2) \
         ON CONFLICT (email) DO UPDATE SET verified_at = excluded.verified_at \
         RETURNING id, email, name",
    )
    .bind(email)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    customer_from_row(&row)
}

/// Starts a session (its token's hash) for the customer; the browser's previous one, if any,
/// ends: the session rotates at every sign-in.
pub(super) async fn start_session(
    conn: &mut AnyConnection,
    customer_id: i64,
    session_hash: &str,
    previous: Option<String>,
    now: i64,
) -> Result<(), sqlx::Error> {
    if let Some(previous) = previous {
        sqlx::query("DELETE FROM customer_sessions WHERE token_hash = $1")
            .bind(previous)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "INSERT INTO customer_sessions (token_hash, customer_id, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $3)",
    )
    .bind(session_hash)
    .bind(customer_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn record_attempt(
    conn: &mut AnyConnection,
    kind: &str,
    email: &str,
    address: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sign_in_attempts (kind, email, address_hash, at) VALUES ($1, $2, $3, $4)",
    )
    .bind(kind)
    .bind(email)
    .bind(crate::db::address_key(address))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds an address's fields, in the order of the columns name, line1, line2, city,
/// postal_code, region, country.
fn with_address<'q>(query: AnyQuery<'q>, address: &'q Address) -> AnyQuery<'q> {
    query
        .bind(&address.name)
        .bind(&address.line1)
        .bind(&address.line2)
        .bind(&address.city)
        .bind(&address.postal_code)
        .bind(&address.region)
        .bind(&address.country)
}

async fn clear_default(conn: &mut AnyConnection, customer_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE customer_addresses SET is_default = 0 WHERE customer_id = $1 AND is_default = 1",
    )
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn customer_from_row(row: &AnyRow) -> Result<Customer, sqlx::Error> {
    Ok(Customer {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
    })
}

fn saved_address_from_row(row: &AnyRow) -> Result<SavedAddress, sqlx::Error> {
    Ok(SavedAddress {
        id: row.try_get("id")?,
        address: Address {
            name: row.try_get("name")?,
            line1: row.try_get("line1")?,
            line2: row.try_get("line2")?,
            city: row.try_get("city")?,
            postal_code: row.try_get("postal_code")?,
            region: row.try_get("region")?,
            country: row.try_get("country")?,
        },
        is_default: row.try_get::<i64, _>("is_default")? != 0,
    })
}

/// A form's address fields (`name`, `line1`, … `country`, `is_default`) as an [`AddressInput`].
pub fn address_from_form(form: &std::collections::HashMap<String, String>) -> AddressInput {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    AddressInput {
        address: Address {
            name: field("name"),
            line1: field("line1"),
            line2: field("line2"),
            city: field("city"),
            postal_code: field("postal_code"),
            region: field("region"),
            country: field("country"),
        },
        is_default: form.contains_key("is_default"),
    }
}

/// The relying party for the shop at `site_url`: passkeys are bound to its host name. `None`
/// for an address that cannot be one (an IP address: browsers refuse those).
pub fn relying_party(site_url: &str) -> Option<webauthn_rs::Webauthn> {
    let url = webauthn_rs::prelude::Url::parse(site_url).ok()?;
    let host = url.domain()?.to_string();
    match webauthn_rs::WebauthnBuilder::new(&host, &url)
        .and_then(|builder| builder.rp_name(&host).build())
    {
        Ok(webauthn) => Some(webauthn),
        Err(error) => {
            tracing::warn!(%error, site_url, "passkeys are off: the shop's address cannot be a relying party");
            None
        }
    }
}

pub(super) fn saved_passkey_from_row(row: &sqlx::any::AnyRow) -> Result<SavedPasskey, sqlx::Error> {
    Ok(SavedPasskey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: crate::time::rfc3339(row.try_get("created_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(crate::time::rfc3339),
    })
}
