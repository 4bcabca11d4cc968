//! Discounts in the database: reading the offers a cart may use, and recording their use in the
//! order's transaction. The one place `discounts.times_used` and `order_discounts` are written.
//!
//! A use is taken by a guarded `UPDATE … WHERE times_used < usage_limit`: however many checkouts
//! race for the last use, the database lets exactly one through (on Postgres the second waits
//! for the first and re-reads the row; on SQLite the writer runs them one after the other). A
//! once-per-customer use also takes a unique `(discount_id, once_key)` row, so the same shopper
//! racing themselves gets one. A payment that fails or expires gives the use back ([`release`]).

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use super::discounts::{Combines, Discount, History, Kind, Offer, Outcome, Refusal, Usage};
use super::{code_key, DiscountLine};
use crate::db::{decode_error, Sql};
use crate::money::{Currency, Money};

/// The columns an offer is read from.
const OFFER_COLUMNS: &str = "SELECT id, title, code, rule_json, created_at, updated_at, minimum_subtotal, minimum_quantity, \
     starts_at, ends_at, usage_limit, times_used, once_per_customer, first_order_only, \
     combines_product, combines_order, combines_shipping, deactivated_at FROM discounts";

fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn small(row: &AnyRow, column: &str) -> Result<Option<u32>, sqlx::Error> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|v| u32::try_from(v).map_err(|_| decode_error(column, &v.to_string())))
        .transpose()
}

/// An offer from its row; a rule that does not decode is an error, never a silent discount.
pub fn offer_from_row(row: &AnyRow) -> Result<Offer, sqlx::Error> {
    let rule: String = row.try_get("rule_json")?;
    let kind: Kind = serde_json::from_str(&rule).map_err(|_| decode_error("rule_json", &rule))?;
    Ok(Offer {
        discount: Discount {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            code: row.try_get("code")?,
            kind,
            combines: Combines {
                product: flag(row, "combines_product")?,
                order: flag(row, "combines_order")?,
                shipping: flag(row, "combines_shipping")?,
            },
            minimum_subtotal: row.try_get("minimum_subtotal")?,
            minimum_quantity: small(row, "minimum_quantity")?,
        },
        usage: Usage {
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            active: row.try_get::<Option<i64>, _>("deactivated_at")?.is_none(),
            usage_limit: small(row, "usage_limit")?,
            times_used: small(row, "times_used")?.unwrap_or(0),
            once_per_customer: flag(row, "once_per_customer")?,
            used_by_customer: false,
            first_order_only: flag(row, "first_order_only")?,
            has_ordered: false,
        },
    })
}

/// The automatic discounts that are on and have not ended (starting later is `check`'s).
pub async fn automatic(pool: &AnyPool, now: i64) -> Result<Vec<Offer>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{OFFER_COLUMNS} WHERE code_key IS NULL AND deactivated_at IS NULL \
         AND (ends_at IS NULL OR ends_at > $1) ORDER BY id"
    ))
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter().map(offer_from_row).collect()
}

/// The discounts behind the entered codes (case does not matter); unknown ones are missing.
pub async fn by_codes(
    conn: &mut AnyConnection,
    codes: &[String],
) -> Result<Vec<Offer>, sqlx::Error> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    sql.push(OFFER_COLUMNS)
        .push(" WHERE code_key IN ")
        .bind_list(codes.iter().map(|c| code_key(c)));
    let rows = sql.query().fetch_all(&mut *conn).await?;
    rows.iter().map(offer_from_row).collect()
}

/// The collections each of `products` is in.
pub async fn collections_of(
    conn: &mut AnyConnection,
    products: &[i64],
) -> Result<HashMap<i64, Vec<i64>>, sqlx::Error> {
    let mut by_product: HashMap<i64, Vec<i64>> = HashMap::new();
    if products.is_empty() {
        return Ok(by_product);
    }
    let mut sql = Sql::default();
    sql.push("SELECT product_id, collection_id FROM collection_products WHERE product_id IN ")
        .bind_list(products.iter().copied());
    for row in sql.query().fetch_all(&mut *conn).await? {
        by_product
            .entry(row.try_get("product_id")?)
            .or_default()
            .push(row.try_get("collection_id")?);
    }
    Ok(by_product)
}

/// Who is buying, as the usage rules know them: the signed-in customer, else the email.
#[derive(Clone, Debug, Default)]
pub struct Buyer {
    pub customer_id: Option<i64>,
    /// Lower-case; empty while a quote does not know it yet.
    pub email: String,
}

impl Buyer {
    /// What a once-per-customer use is held by.
    fn once_key(&self) -> Option<String> {
        match (self.customer_id, self.email.is_empty()) {
            (Some(id), _) => Some(format!("customer:{id}")),
            (None, false) => Some(format!("email:{}", self.email)),
            (None, true) => None,
        }
    }
}

/// Which of `offers` the buyer holds a use of, and whether they ordered before. Two
/// statements, only when one of the offers asks.
pub async fn history(
    conn: &mut AnyConnection,
    buyer: &Buyer,
    offers: &[&Offer],
) -> Result<History, sqlx::Error> {
    let asking: Vec<i64> = offers
        .iter()
        .filter(|o| o.asks_about_customer())
        .map(|o| o.discount.id)
        .collect();
    if asking.is_empty() || (buyer.customer_id.is_none() && buyer.email.is_empty()) {
        return Ok(History::default());
    }
    let customer = buyer.customer_id.unwrap_or(0);
    let mut used = Sql::default();
    used.push("SELECT DISTINCT discount_id FROM order_discounts WHERE released_at IS NULL AND (customer_id = ")
        .bind(customer)
        .push(" OR email = ")
        .bind(buyer.email.clone())
        .push(") AND discount_id IN ")
        .bind_list(asking.iter().copied());
    let used: Vec<i64> = used
        .query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let ordered: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE (customer_id = $1 OR lower(email) = $2) \
         AND status IN ('paid', 'cancelled') LIMIT 1",
    )
    .bind(customer)
    .bind(&buyer.email)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(History {
        used,
        has_ordered: ordered.is_some(),
    })
}

/// A use that could not be taken: the entered code's place (`None` for an automatic discount)
/// and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotTaken {
    pub code: Option<String>,
    pub refusal: Refusal,
}

/// Records the discounts `outcome` applied to a new order. When `counted` (the order holds its
/// stock and waits for or has its payment), each takes a use by the guarded update; a declined
/// order keeps the record for its page but takes nothing.
pub async fn record(
    conn: &mut AnyConnection,
    order_id: i64,
    outcome: &Outcome,
    offers: &[Offer],
    buyer: &Buyer,
    counted: bool,
    now: i64,
) -> Result<Result<(), NotTaken>, sqlx::Error> {
    for applied in &outcome.applied {
        let not_taken = |refusal| NotTaken {
            code: applied.code.clone(),
            refusal,
        };
        if counted {
            let taken = sqlx::query(
                "UPDATE discounts SET times_used = times_used + 1 WHERE id = $1 \
                 AND deactivated_at IS NULL AND (usage_limit IS NULL OR times_used < usage_limit) \
                 AND (starts_at IS NULL OR starts_at <= $2) AND (ends_at IS NULL OR ends_at > $2) \
                 RETURNING id",
            )
            .bind(applied.discount_id)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            if taken.is_none() {
                return Ok(Err(not_taken(Refusal::UsedUp)));
            }
        }
        let once = offers
            .iter()
            .find(|o| o.discount.id == applied.discount_id)
            .is_some_and(|o| o.usage.once_per_customer);
        let once_key = if counted && once {
            buyer.once_key()
        } else {
            None
        };
        let inserted = sqlx::query(
            "INSERT INTO order_discounts (order_id, discount_id, code, title, amount, shipping_amount, \
             customer_id, email, once_key, counted, released_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(order_id)
        .bind(applied.discount_id)
        .bind(applied.code.clone())
        .bind(&applied.title)
        .bind(applied.amount())
        .bind(applied.shipping)
        .bind(buyer.customer_id)
        .bind(&buyer.email)
        .bind(once_key)
        .bind(counted as i64)
        .bind((!counted).then_some(now))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if inserted.is_none() {
            return Ok(Err(not_taken(Refusal::AlreadyUsed)));
        }
    }
    Ok(Ok(()))
}

/// Gives back the uses an order holds (its payment failed or expired): once, however often
/// it is called.
pub async fn release(conn: &mut AnyConnection, order_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE discounts SET times_used = times_used - 1 WHERE times_used > 0 AND id IN \
         (SELECT discount_id FROM order_discounts WHERE order_id = $1 AND counted = 1 AND released_at IS NULL)",
    )
    .bind(order_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE order_discounts SET released_at = $2, once_key = NULL \
         WHERE order_id = $1 AND released_at IS NULL",
    )
    .bind(order_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The discounts an order took, as its page and emails show them.
pub async fn of_order(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    order_id: i64,
    currency: Currency,
) -> Result<Vec<DiscountLine>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT code, title, amount FROM order_discounts WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DiscountLine {
                code: row.try_get("code")?,
                title: row.try_get("title")?,
                amount: Money::new(row.try_get("amount")?, currency),
            })
        })
        .collect()
}

/// A discount as staff manage it: the offer and when it was made and last changed.
#[derive(Clone, Debug)]
pub struct Managed {
    pub offer: Offer,
    pub created_at: i64,
    pub updated_at: i64,
}

fn managed_from_row(row: &AnyRow) -> Result<Managed, sqlx::Error> {
    Ok(Managed {
        offer: offer_from_row(row)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn by_id(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    id: i64,
) -> Result<Option<Managed>, sqlx::Error> {
    let row = sqlx::query(&format!("{OFFER_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(managed_from_row).transpose()
}

/// Discounts newest first, `limit` of them with ids below `before` (a keyset page).
pub async fn list(
    pool: &AnyPool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Managed>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{OFFER_COLUMNS} WHERE id < $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(managed_from_row).collect()
}

/// The discount (if any) that already has `code`, in any case.
pub async fn holder_of_code(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM discounts WHERE code_key = $1")
        .bind(code_key(code))
        .fetch_optional(&mut *conn)
        .await
}

/// Saves `offer` as a new discount (`id` None) or over discount `id`; `times_used` and the
/// active flag are not touched by an edit. Returns the id, or `None` if `id` does not exist.
pub async fn save(
    conn: &mut AnyConnection,
    id: Option<i64>,
    offer: &Offer,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let d = &offer.discount;
    let u = &offer.usage;
    let rule = serde_json::to_string(&d.kind).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let sql = match id {
        None => {
            "INSERT INTO discounts (title, code, code_key, kind, rule_json, minimum_subtotal, \
             minimum_quantity, starts_at, ends_at, usage_limit, once_per_customer, first_order_only, \
             combines_product, combines_order, combines_shipping, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id"
        }
        Some(_) => {
            "UPDATE discounts SET title = $1, code = $2, code_key = $3, kind = $4, rule_json = $5, \
             minimum_subtotal = $6, minimum_quantity = $7, starts_at = $8, ends_at = $9, usage_limit = $10, \
             once_per_customer = $11, first_order_only = $12, combines_product = $13, \
             combines_order = $14, combines_shipping = $15, updated_at = $16 WHERE id = $17 RETURNING id"
        }
    };
    let mut query = sqlx::query(sql)
        .bind(&d.title)
        .bind(d.code.clone())
        .bind(d.code.as_deref().map(code_key))
        .bind(d.kind.name())
        .bind(rule)
        .bind(d.minimum_subtotal)
        .bind(d.minimum_quantity.map(i64::from))
        .bind(u.starts_at)
        .bind(u.ends_at)
        .bind(u.usage_limit.map(i64::from))
        .bind(u.once_per_customer as i64)
        .bind(u.first_order_only as i64)
        .bind(d.combines.product as i64)
        .bind(d.combines.order as i64)
        .bind(d.combines.shipping as i64)
        .bind(now);
    if let Some(id) = id {
        query = query.bind(id);
    }
    let row = query.fetch_optional(&mut *conn).await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// Turns a discount off for good: no new order takes it (orders that hold a use keep it).
/// Returns whether it exists.
pub async fn deactivate(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE discounts SET deactivated_at = COALESCE(deactivated_at, $1), updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An order that used a discount, for the discount's page.
#[derive(Clone, Debug)]
pub struct Use {
    pub order_id: i64,
    pub email: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    /// The payment failed or expired: the use was given back.
    pub released: bool,
    pub created_at: i64,
}

/// The orders that used discount `id`, newest first, a keyset page.
pub async fn uses(
    pool: &AnyPool,
    id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Use>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.order_id, d.email, d.amount, o.currency, o.status, d.released_at, d.created_at \
         FROM order_discounts d JOIN orders o ON o.id = d.order_id \
         WHERE d.discount_id = $1 AND d.order_id < $2 ORDER BY d.order_id DESC LIMIT $3",
    )
    .bind(id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Use {
                order_id: r.try_get("order_id")?,
                email: r.try_get("email")?,
                amount: r.try_get("amount")?,
                currency: r.try_get("currency")?,
                status: r.try_get("status")?,
                released: r.try_get::<Option<i64>, _>("released_at")?.is_some(),
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
