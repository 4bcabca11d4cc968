//! Gift cards in the database: the one place `gift_cards.balance` and `gift_card_ledger` are
//! written, each change in the caller's transaction and with its ledger row.
//!
//! A spend is a guarded `UPDATE … SET balance = balance - x WHERE balance >= x AND <usable>`:
//! however many checkouts race for one card, the database lets through only what it holds (on
//! Postgres the second waits for the first and re-reads the row; on SQLite the writer runs them
//! one after the other). A failed or expired payment gives the amount back ([`release`]); a
//! refund pays back onto the cards that paid ([`refund_to_cards`]).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use super::gift_cards::{self, GiftCardUse};
use crate::db::{currency_of, Sql};
use crate::money::{Currency, Money};

/// The key codes are hashed with: from `KASSA_SECRET_KEY`, or made once and kept in
/// `server_secrets` so every server of the shop shares it.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(***)")
    }
}

impl CodeKey {
    /// A key from a secret of any length (the operator's `KASSA_SECRET_KEY`).
    pub fn from_secret(secret: &str) -> CodeKey {
        let mut hasher = Sha256::new();
        hasher.update(b"kassa gift card codes\0");
        hasher.update(secret.as_bytes());
        CodeKey(hasher.finalize().into())
    }

    /// The lookup hash of a normalised code.
    pub fn hash(&self, code: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A signature of `value` for `purpose` (an unsubscribe link's address): the same key,
    /// another domain, so a signature is never a code's hash.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        self.hash(&format!("sign\0{purpose}\0{value}"))
    }

    /// Whether `signature` is [`CodeKey::sign`]'s for `value`, compared in constant time.
    pub fn verify(&self, purpose: &str, value: &str, signature: &str) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("sign\0{purpose}\0{value}").as_bytes());
        hex::decode(signature).is_ok_and(|bytes| mac.verify_slice(&bytes).is_ok())
    }
}

/// The shared key in `server_secrets`, if a server made it already.
pub async fn read_key(conn: &mut AnyConnection) -> Result<Option<CodeKey>, sqlx::Error> {
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'gift_card_codes'")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(value.map(|v| CodeKey::from_secret(&v)))
}

/// The shared key in `server_secrets`, made now if no server made it yet (a write: through
/// the writer).
pub async fn stored_key(conn: &mut AnyConnection, now: i64) -> Result<CodeKey, sqlx::Error> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).expect("the operating system's random source works");
    sqlx::query(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ('gift_card_codes', $1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(hex::encode(fresh))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let value: String =
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'gift_card_codes'")
            .fetch_one(&mut *conn)
            .await?;
    Ok(CodeKey::from_secret(&value))
}

/// A gift card as checkout reads it.
#[derive(Clone, Debug)]
pub struct Card {
    pub id: i64,
    pub code_hash: String,
    pub last4: String,
    pub balance: Money,
    pub expires_at: Option<i64>,
    pub disabled: bool,
}

/// Why a card cannot pay.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("We do not know this gift card code; check it and try again.")]
    Unknown,
    #[error("This gift card has been disabled; contact the shop.")]
    Disabled,
    #[error("This gift card has expired.")]
    Expired,
    #[error("This gift card is in {0}; this shop charges {1}.")]
    WrongCurrency(Currency, Currency),
    #[error("This gift card has no balance left.")]
    Empty,
    #[error("Too many gift card codes were tried; wait ten minutes and try again.")]
    TooManyTries,
    #[error("This gift card's balance changed to {0} meanwhile; review the total and place the order again.")]
    BalanceChanged(Money),
}

impl Card {
    /// Whether the card can pay an order in `currency` at `now`.
    pub fn usable(&self, currency: Currency, now: i64) -> Result<(), Unusable> {
        if self.disabled {
            return Err(Unusable::Disabled);
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(Unusable::Expired);
        }
        if self.balance.currency != currency {
            return Err(Unusable::WrongCurrency(self.balance.currency, currency));
        }
        if self.balance.amount <= 0 {
            return Err(Unusable::Empty);
        }
        Ok(())
    }
}

fn card_from_row(row: &AnyRow) -> Result<Card, sqlx::Error> {
    Ok(Card {
        id: row.try_get("id")?,
        code_hash: row.try_get("code_hash")?,
        last4: row.try_get("last4")?,
        balance: Money::new(row.try_get("balance")?, currency_of(row, "currency")?),
        expires_at: row.try_get("expires_at")?,
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
    })
}

/// The cards behind `hashes` (unknown ones are missing).
pub async fn by_hashes(
    conn: &mut AnyConnection,
    hashes: &[String],
) -> Result<Vec<Card>, sqlx::Error> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    sql.push(
        "SELECT id, code_hash, last4, balance, currency, expires_at, disabled_at FROM gift_cards \
         WHERE code_hash IN ",
    )
    .bind_list(hashes.iter().cloned());
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(card_from_row).collect()
}

/// A card to issue.
#[derive(Clone, Debug)]
pub struct NewCard {
    pub amount: Money,
    pub expires_at: Option<i64>,
    pub recipient_email: Option<String>,
    pub note: String,
    /// The order that bought it, if a shopper did.
    pub order_id: Option<i64>,
}

/// Issues a card with a fresh code; returns its id and the code (the only time it is known).
pub async fn issue(
    conn: &mut AnyConnection,
    key: &CodeKey,
    card: &NewCard,
    now: i64,
) -> Result<(i64, String), sqlx::Error> {
    let code = gift_cards::new_code();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO gift_cards (code_hash, last4, currency, initial_amount, balance, expires_at, \
         recipient_email, note, order_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(key.hash(&code))
    .bind(&code[code.len() - 4..])
    .bind(card.amount.currency.code())
    .bind(card.amount.amount)
    .bind(card.expires_at)
    .bind(card.recipient_email.clone())
    .bind(&card.note)
    .bind(card.order_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    entry(
        conn,
        id,
        "issue",
        card.amount.amount,
        card.amount.amount,
        card.order_id,
        "",
        now,
    )
    .await?;
    Ok((id, code))
}

#[allow(clippy::too_many_arguments)]
async fn entry(
    conn: &mut AnyConnection,
    card_id: i64,
    kind: &str,
    amount: i64,
    balance_after: i64,
    order_id: Option<i64>,
    note: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO gift_card_ledger (gift_card_id, kind, amount, balance_after, order_id, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(card_id)
    .bind(kind)
    .bind(amount)
    .bind(balance_after)
    .bind(order_id)
    .bind(note)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Issues the gift cards order `order_id` bought (its lines of products whose type is
/// [`gift_cards::PRODUCT_TYPE`]): one card per unit, worth the unit's price, the codes emailed to
/// the buyer. Called once, when the order is paid; returns how many cards were issued. `key`
/// is the server's when it has it, else the shared one is read here.
pub async fn issue_bought(
    conn: &mut AnyConnection,
    key: Option<&CodeKey>,
    order_id: i64,
    shop: &str,
    site_url: &str,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT ol.quantity, ol.unit_price_amount, o.currency, o.email FROM order_lines ol \
         JOIN orders o ON o.id = ol.order_id JOIN variants v ON v.id = ol.variant_id \
         JOIN products p ON p.id = v.product_id \
         WHERE ol.order_id = $1 AND lower(p.product_type) = $2 ORDER BY ol.id",
    )
    .bind(order_id)
    .bind(gift_cards::PRODUCT_TYPE.to_lowercase())
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(0);
    };
    let buyer: String = first.try_get("email")?;
    let key = match key {
        Some(key) => key.clone(),
        None => stored_key(conn, now).await?,
    };
    let mut issued = Vec::new();
    for row in &rows {
        let value = Money::new(
            row.try_get("unit_price_amount")?,
            currency_of(row, "currency")?,
        );
        for _ in 0..row.try_get::<i64, _>("quantity")? {
            let card = NewCard {
                amount: value,
                expires_at: None,
                recipient_email: None,
                note: "Bought in the shop".into(),
                order_id: Some(order_id),
            };
            let (_, code) = issue(conn, &key, &card, now).await?;
            issued.push((gift_cards::grouped(&code), value));
        }
    }
    let email = crate::notifications::gift_cards_bought(shop, &issued, site_url);
    crate::notifications::queue(conn, &buyer, email, now).await?;
    Ok(issued.len())
}

/// Spends `amount` of card `card_id` on order `order_id`, if the card still has it and is still
/// usable; `Err` with the card's balance now when it does not (another order was first).
pub async fn redeem(
    conn: &mut AnyConnection,
    card_id: i64,
    amount: i64,
    order_id: i64,
    now: i64,
) -> Result<Result<(), i64>, sqlx::Error> {
    if amount <= 0 {
        return Ok(Ok(()));
    }
    let left: Option<i64> = sqlx::query_scalar(
        "UPDATE gift_cards SET balance = balance - $1, updated_at = $2 \
         WHERE id = $3 AND balance >= $1 AND disabled_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2) RETURNING balance",
    )
    .bind(amount)
    .bind(now)
    .bind(card_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(left) = left else {
        let balance: Option<i64> =
            sqlx::query_scalar("SELECT balance FROM gift_cards WHERE id = $1")
                .bind(card_id)
                .fetch_optional(&mut *conn)
                .await?;
        return Ok(Err(balance.unwrap_or(0)));
    };
    entry(
        conn,
        card_id,
        "redeem",
        -amount,
        left,
        Some(order_id),
        "",
        now,
    )
    .await?;
    Ok(Ok(()))
}

/// Gives back what order `order_id` took from gift cards (its payment failed or expired).
/// Runs once per order: the caller's status transition guards it.
pub async fn release(conn: &mut AnyConnection, order_id: i64, now: i64) -> Result<(), sqlx::Error> {
    for (card_id, spent) in spent_by_card(conn, order_id).await? {
        credit(conn, card_id, spent, "release", order_id, now).await?;
    }
    Ok(())
}

/// Each card's net spend on an order (spent, less released and refunded), in the order used.
async fn spent_by_card(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT gift_card_id, CAST(-SUM(amount) AS BIGINT) AS spent, MIN(id) AS first FROM gift_card_ledger \
         WHERE order_id = $1 AND kind IN ('redeem', 'release', 'refund') \
         GROUP BY gift_card_id ORDER BY first",
    )
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut spent = Vec::with_capacity(rows.len());
    for row in &rows {
        let amount: i64 = row.try_get("spent")?;
        if amount > 0 {
            spent.push((row.try_get("gift_card_id")?, amount));
        }
    }
    Ok(spent)
}

async fn credit(
    conn: &mut AnyConnection,
    card_id: i64,
    amount: i64,
    kind: &str,
    order_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let balance: i64 = sqlx::query_scalar(
        "UPDATE gift_cards SET balance = balance + $1, updated_at = $2 WHERE id = $3 RETURNING balance",
    )
    .bind(amount)
    .bind(now)
    .bind(card_id)
    .fetch_one(&mut *conn)
    .await?;
    entry(
        conn,
        card_id,
        kind,
        amount,
        balance,
        Some(order_id),
        "",
        now,
    )
    .await
}

/// What gift cards paid of order `order_id` and have not had back yet.
pub async fn held_by_order(conn: &mut AnyConnection, order_id: i64) -> Result<i64, sqlx::Error> {
    Ok(spent_by_card(conn, order_id)
        .await?
        .iter()
        .map(|(_, spent)| spent)
        .sum())
}

/// Pays `amount` of a refund back onto the cards that paid order `order_id`, the last used
/// first, each at most what it paid; returns what was paid back.
pub async fn refund_to_cards(
    conn: &mut AnyConnection,
    order_id: i64,
    amount: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let mut left = amount;
    for (card_id, spent) in spent_by_card(conn, order_id).await?.into_iter().rev() {
        let back = spent.min(left);
        if back > 0 {
            credit(conn, card_id, back, "refund", order_id, now).await?;
            left -= back;
        }
    }
    Ok(amount - left)
}

/// The gift cards that paid an order, as its page and emails show them.
pub async fn of_order(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    order_id: i64,
    currency: Currency,
) -> Result<Vec<GiftCardUse>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.last4, CAST(-SUM(l.amount) AS BIGINT) AS paid FROM gift_card_ledger l \
         JOIN gift_cards c ON c.id = l.gift_card_id \
         WHERE l.order_id = $1 AND l.kind = 'redeem' GROUP BY c.id, c.last4 ORDER BY MIN(l.id)",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(GiftCardUse {
                last4: row.try_get("last4")?,
                amount: Money::new(row.try_get("paid")?, currency),
            })
        })
        .collect()
}

/// A gift card as staff see it.
#[derive(Clone, Debug)]
pub struct Managed {
    pub id: i64,
    pub last4: String,
    pub initial: Money,
    pub balance: Money,
    pub expires_at: Option<i64>,
    pub recipient_email: Option<String>,
    pub note: String,
    pub order_id: Option<i64>,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

const MANAGED_COLUMNS: &str = "SELECT id, last4, currency, initial_amount, balance, expires_at, \
     recipient_email, note, order_id, disabled_at, created_at FROM gift_cards";

fn managed_from_row(row: &AnyRow) -> Result<Managed, sqlx::Error> {
    let currency = currency_of(row, "currency")?;
    Ok(Managed {
        id: row.try_get("id")?,
        last4: row.try_get("last4")?,
        initial: Money::new(row.try_get("initial_amount")?, currency),
        balance: Money::new(row.try_get("balance")?, currency),
        expires_at: row.try_get("expires_at")?,
        recipient_email: row.try_get("recipient_email")?,
        note: row.try_get("note")?,
        order_id: row.try_get("order_id")?,
        disabled_at: row.try_get("disabled_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Cards, newest first, before id `before`.
pub async fn list(
    pool: &AnyPool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Managed>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{MANAGED_COLUMNS} WHERE id < $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(managed_from_row).collect()
}

pub async fn by_id(pool: &AnyPool, id: i64) -> Result<Option<Managed>, sqlx::Error> {
    let row = sqlx::query(&format!("{MANAGED_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(managed_from_row).transpose()
}

/// One change of a card's balance.
#[derive(Clone, Debug)]
pub struct LedgerEntry {
    pub kind: String,
    pub amount: Money,
    pub balance_after: Money,
    pub order_id: Option<i64>,
    pub note: String,
    pub created_at: i64,
}

/// A card's ledger, oldest first.
pub async fn ledger(
    pool: &AnyPool,
    card_id: i64,
    currency: Currency,
) -> Result<Vec<LedgerEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kind, amount, balance_after, order_id, note, created_at FROM gift_card_ledger \
         WHERE gift_card_id = $1 ORDER BY id",
    )
    .bind(card_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LedgerEntry {
                kind: row.try_get("kind")?,
                amount: Money::new(row.try_get("amount")?, currency),
                balance_after: Money::new(row.try_get("balance_after")?, currency),
                order_id: row.try_get("order_id")?,
                note: row.try_get("note")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Disables card `id` (it can no longer pay; its balance is kept). `false` if there is none.
pub async fn disable(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let row: Option<i64> = sqlx::query_scalar(
        "UPDATE gift_cards SET disabled_at = COALESCE(disabled_at, $1), updated_at = $1 \
         WHERE id = $2 RETURNING id",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// Disables the gift cards an order bought, as its gift card lines are refunded (`lines`:
/// line id and units) or the whole order is cancelled (`None`): a card paid back must not pay
/// again. Only a card never spent can go back, so this answers `false` (and the caller
/// refuses, rolling back) when too few of the order's cards of that value are untouched.
pub async fn void_bought(
    conn: &mut AnyConnection,
    order_id: i64,
    lines: Option<&[(i64, u32)]>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT ol.id, ol.quantity, ol.unit_price_amount FROM order_lines ol \
         JOIN variants v ON v.id = ol.variant_id JOIN products p ON p.id = v.product_id \
         WHERE ol.order_id = $1 AND lower(p.product_type) = $2 ORDER BY ol.id",
    )
    .bind(order_id)
    .bind(gift_cards::PRODUCT_TYPE.to_lowercase())
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let line_id: i64 = row.try_get("id")?;
        let units = match lines {
            None => row.try_get::<i64, _>("quantity")?,
            Some(lines) => lines
                .iter()
                .filter(|(id, _)| *id == line_id)
                .map(|(_, units)| i64::from(*units))
                .sum(),
        };
        if units == 0 {
            continue;
        }
        let unspent: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM gift_cards WHERE order_id = $1 AND initial_amount = $2 \
             AND disabled_at IS NULL AND balance = initial_amount ORDER BY id LIMIT $3",
        )
        .bind(order_id)
        .bind(row.try_get::<i64, _>("unit_price_amount")?)
        .bind(units)
        .fetch_all(&mut *conn)
        .await?;
        if (unspent.len() as i64) < units {
            return Ok(false);
        }
        for id in unspent {
            disable(conn, id, now).await?;
        }
    }
    Ok(true)
}
