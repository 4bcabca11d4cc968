//! Personal data, in one place: the [`registry`] of every column that holds it, and what the
//! law asks of a shop built from it: a person's data exported as one JSON document, erased on
//! request (orders stay for the books, with their totals, taxes and lines, but without whose
//! they were), and the data of unpaid orders forgotten after the shop's retention period.
//! Accounts (a shopper's own "download" and "delete") and the admin (staff acting on a
//! request by email) both call this.

pub mod registry;

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Column, Row};

use crate::checkout::address::Address;
use crate::db::{now_epoch, Db, Sql};
use crate::write_queue::JobFuture;
use registry::{Erase, Table, ERASED_EMAIL, ERASED_NAME, TABLES};

/// Whose data: an account (if there is one) and an email (lower case), which also finds guest
/// orders, codes and emails sent to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub customer_id: Option<i64>,
    pub email: String,
}

impl Subject {
    /// The subject for `email`: with the live account that has it, if any.
    pub async fn for_email(db: &Db, email: &str) -> Result<Subject, sqlx::Error> {
        let email = email.trim().to_lowercase();
        let customer_id =
            sqlx::query_scalar("SELECT id FROM customers WHERE email = $1 AND erased_at IS NULL")
                .bind(&email)
                .fetch_optional(db.pool())
                .await?;
        Ok(Subject { customer_id, email })
    }

    /// `whose` with its `:customer` and `:email` bound (an account that does not exist is id 0,
    /// which no row has).
    fn condition(&self, whose: &str, sql: &mut Sql) {
        let mut rest = whose;
        while let Some(at) = rest.find(':') {
            sql.push(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix("customer") {
                sql.bind(self.customer_id.unwrap_or(0));
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("email") {
                sql.bind(self.email.as_str());
                rest = tail;
            } else {
                sql.push(":");
                rest = after;
            }
        }
        sql.push(rest);
    }
}

/// Everything the shop holds about `subject`, table by table, with each order's lines,
/// payments and the order's own address as data rather than text.
pub async fn export(db: &Db, subject: &Subject) -> Result<Value, sqlx::Error> {
    let mut tables = Map::new();
    for table in TABLES {
        let Some(whose) = table.whose else { continue };
        let columns: Vec<&str> = table
            .personal
            .iter()
            .chain(table.shown)
            .copied()
            .chain((table.name == "orders").then_some("id"))
            .collect();
        if columns.is_empty() {
            // Bookkeeping only (a ceremony's state): nothing in it tells about the shopper.
            continue;
        }
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT {} FROM {} WHERE ",
            columns.join(", "),
            table.name
        ));
        subject.condition(whose, &mut sql);
        let rows = sql.query().fetch_all(db.pool()).await?;
        let mut items: Vec<Map<String, Value>> = rows.iter().map(row_object).collect();
        if table.name == "orders" {
            let ids: Vec<i64> = items
                .iter()
                .map(|item| item.get("id").and_then(Value::as_i64).unwrap_or(0))
                .collect();
            let mut lines = related(db, "order_lines", &ids).await?;
            let mut payments = related(db, "payments", &ids).await?;
            for item in &mut items {
                let id = item.remove("id").and_then(|v| v.as_i64()).unwrap_or(0);
                item.insert("number".into(), json!(crate::orders::order_number(id)));
                let of = |related: &mut HashMap<i64, Vec<Value>>| {
                    Value::Array(related.remove(&id).unwrap_or_default())
                };
                item.insert("lines".into(), of(&mut lines));
                item.insert("payments".into(), of(&mut payments));
            }
        }
        let items: Vec<Value> = items.into_iter().map(Value::Object).collect();
        tables.insert(table.name.to_string(), Value::Array(items));
    }
    Ok(json!({
        "email": subject.email,
        "exported_at": crate::time::rfc3339(now_epoch()),
        "data": tables,
    }))
}

/// The orders' lines or payments as they are in the books (their shown columns), by order:
/// one statement per few hundred orders, however many the shopper placed.
async fn related(
    db: &Db,
    table: &str,
    order_ids: &[i64],
) -> Result<HashMap<i64, Vec<Value>>, sqlx::Error> {
    let columns: Vec<&str> = registry::table(table)
        .map(|t| {
            t.internal
                .iter()
                .copied()
                .filter(|c| !c.ends_with("id"))
                .collect()
        })
        .unwrap_or_default();
    let mut by_order: HashMap<i64, Vec<Value>> = HashMap::new();
    for chunk in order_ids.chunks(500) {
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT order_id, {} FROM {table} WHERE order_id IN ",
            columns.join(", ")
        ))
        .bind_list(chunk.iter().copied())
        .push(" ORDER BY order_id, id");
        for row in sql.query().fetch_all(db.pool()).await? {
            let order_id: i64 = row.try_get("order_id")?;
            let mut object = row_object(&row);
            object.remove("order_id");
            by_order
                .entry(order_id)
                .or_default()
                .push(Value::Object(object));
        }
    }
    Ok(by_order)
}

/// A row as JSON: numbers as numbers, times (`…_at`, `at`) in RFC 3339, the order's address
/// as an object.
fn row_object(row: &AnyRow) -> Map<String, Value> {
    let mut object = Map::new();
    for (index, column) in row.columns().iter().enumerate() {
        let name = column.name();
        let value = if let Ok(number) = row.try_get::<Option<i64>, _>(index) {
            match number {
                Some(t) if name == "at" || name.ends_with("_at") => {
                    json!(crate::time::rfc3339(t))
                }
                other => json!(other),
            }
        } else if let Ok(text) = row.try_get::<Option<String>, _>(index) {
            match text {
                Some(text) if name == "address_json" => {
                    serde_json::from_str(&text).unwrap_or(json!(text))
                }
                other => json!(other),
            }
        } else {
            json!(row.try_get::<Option<f64>, _>(index).ok().flatten())
        };
        let name = name.strip_suffix("_json").unwrap_or(name);
        object.insert(name.to_string(), value);
    }
    object
}

/// What an erasure did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Rows deleted or scrubbed.
    pub rows: u64,
    /// Orders kept for the books without their shopper's data.
    pub orders: u64,
}

/// Erases `subject`'s personal data in one transaction: rows that only served them go,
/// orders and the account row stay without it. Their sessions end with their rows.
pub async fn erase(db: &Db, subject: &Subject) -> Result<Erased, sqlx::Error> {
    let subject = subject.clone();
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<Erased, sqlx::Error>> {
            Box::pin(async move { erase_in(conn, &subject).await })
        })
        .await
}

/// [`erase`] inside the caller's transaction (the admin writes its audit entry in the same).
pub async fn erase_in(conn: &mut AnyConnection, subject: &Subject) -> Result<Erased, sqlx::Error> {
    let now = now_epoch();
    let mut erased = Erased::default();
    for table in TABLES {
        let Some(whose) = table.whose else { continue };
        erased.rows += erase_table(conn, table, whose, subject, now, &mut erased).await?;
    }
    Ok(erased)
}

async fn erase_table(
    conn: &mut AnyConnection,
    table: &Table,
    whose: &str,
    subject: &Subject,
    now: i64,
    erased: &mut Erased,
) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::default();
    match table.erase {
        Erase::Nothing => return Ok(0),
        Erase::Delete => {
            sql.push(&format!("DELETE FROM {} WHERE ", table.name));
        }
        Erase::Set(set) => {
            let set = set.replace(":now", &now.to_string());
            sql.push(&format!("UPDATE {} SET {set} WHERE ", table.name));
        }
        Erase::Orders => {
            let mut find = Sql::default();
            find.push("SELECT id, address_json FROM orders WHERE (");
            subject.condition(whose, &mut find);
            find.push(")");
            let rows = find.query().fetch_all(&mut *conn).await?;
            let scrubbed = scrub_orders(conn, &rows).await?;
            erased.orders += scrubbed;
            return Ok(scrubbed);
        }
    }
    subject.condition(whose, &mut sql);
    Ok(sql.query().execute(&mut *conn).await?.rows_affected())
}

/// What an order keeps of its address once its shopper is erased: where it was taxed.
pub fn erased_address(address: &Address) -> Address {
    Address {
        name: ERASED_NAME.into(),
        country: address.country.clone(),
        region: address.region.clone(),
        ..Address::default()
    }
}

/// Erases the shopper's data of unpaid orders (expired or declined) older than the shop's
/// retention period, up to 500 a round. Returns how many orders were erased.
pub async fn forget_unpaid_orders(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<u64, sqlx::Error>> {
            Box::pin(async move {
                let days: i64 =
                    sqlx::query_scalar("SELECT retention_days FROM shop_settings WHERE id = 1")
                        .fetch_one(&mut *conn)
                        .await?;
                let rows = sqlx::query(
                    "SELECT id, address_json FROM orders WHERE status IN ('expired', 'payment_failed') \
                     AND paid_at IS NULL AND created_at < $1 AND email <> $2 ORDER BY id LIMIT 500",
                )
                .bind(now - days * 24 * 60 * 60)
                .bind(ERASED_EMAIL)
                .fetch_all(&mut *conn)
                .await?;
                scrub_orders(conn, &rows).await
            })
        })
        .await
}

/// Replaces the email, search text and address (but its country and region) of these orders
/// (`id`, `address_json`).
async fn scrub_orders(conn: &mut AnyConnection, rows: &[AnyRow]) -> Result<u64, sqlx::Error> {
    for row in rows {
        let address: Address =
            serde_json::from_str(&row.try_get::<String, _>("address_json")?).unwrap_or_default();
        let kept = serde_json::to_string(&erased_address(&address))
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "UPDATE orders SET email = $1, address_json = $2, search_text = '' WHERE id = $3",
        )
        .bind(ERASED_EMAIL)
        .bind(kept)
        .bind(row.try_get::<i64, _>("id")?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_bind_the_account_and_the_email_in_order() {
        let subject = Subject {
            customer_id: Some(7),
            email: "ada@example.com".into(),
        };
        let mut sql = Sql::default();
        subject.condition("customer_id = :customer OR lower(email) = :email", &mut sql);
        assert_eq!(sql.text, "customer_id = $1 OR lower(email) = $2");
        assert_eq!(sql.args.len(), 2);
        let mut sql = Sql::default();
        subject.condition("email = :email", &mut sql);
        assert_eq!(sql.text, "email = $1", "only what is named is bound");
    }

    #[test]
    fn an_erased_order_keeps_where_it_was_taxed() {
        let address = Address {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            line2: "Flat 3".into(),
            city: "London".into(),
            postal_code: "SW1Y 4JH".into(),
            region: "".into(),
            country: "GB".into(),
        };
        let kept = erased_address(&address);
        assert_eq!(kept.country, "GB");
        assert_eq!(kept.name, ERASED_NAME);
        assert!(kept.line1.is_empty() && kept.city.is_empty() && kept.postal_code.is_empty());
    }
}
