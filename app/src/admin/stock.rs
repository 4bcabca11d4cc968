//! Stock as staff see and change it: a variant's count with its ledger, and adjustments with
//! a reason against the version the page showed. The movement itself is `crate::inventory`'s.

use sqlx::Row;

use super::auth::Account;
use super::service::{audit_subject, variant_title, Admin};
use super::{
    AdminError, InventoryFilter, InventoryList, InventoryRow, LedgerEntry, VariantStock,
    INVENTORY_PAGE,
};
use crate::db::now_epoch;
use crate::inventory::{self, AdjustReason, Movement, Stock, StockError, StockMove, MAX_UNITS};
use crate::orders::order_number;
use crate::write_queue::JobFuture;

impl Admin {
    /// Every variant a page at a time (by id, a keyset cursor), narrowed by SKU or product
    /// title and to those at or under their low-stock alert.
    pub async fn inventory(&self, filter: &InventoryFilter) -> Result<InventoryList, AdminError> {
        let after: i64 = if filter.cursor.is_empty() {
            0
        } else {
            filter.cursor.parse().map_err(|_| {
                AdminError::Invalid("That page of the inventory does not exist.".into())
            })?
        };
        let pattern = format!(
            "%{}%",
            filter.q.trim().to_lowercase().replace(['\\', '%', '_'], "")
        );
        let rows = sqlx::query(
            "SELECT v.id, v.sku, p.title, v.option1, v.option2, v.option3, v.on_hand, v.reserved, \
             v.low_stock_threshold, v.version FROM variants v JOIN products p ON p.id = v.product_id \
             WHERE v.id > $1 AND (LOWER(v.sku) LIKE $2 OR LOWER(p.title) LIKE $2) \
               AND ($3 = 0 OR v.on_hand - v.reserved <= v.low_stock_threshold) \
             ORDER BY v.id LIMIT $4",
        )
        .bind(after)
        .bind(pattern)
        .bind(i64::from(filter.low))
        .bind(INVENTORY_PAGE + 1)
        .fetch_all(self.db().pool())
        .await?;
        let mut list = rows
            .iter()
            .map(|row| {
                Ok(InventoryRow {
                    id: row.try_get("id")?,
                    sku: row.try_get("sku")?,
                    title: variant_title(row)?,
                    on_hand: row.try_get("on_hand")?,
                    reserved: row.try_get("reserved")?,
                    threshold: row.try_get("low_stock_threshold")?,
                    version: row.try_get("version")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let next_cursor = (list.len() as i64 > INVENTORY_PAGE).then(|| {
            list.truncate(INVENTORY_PAGE as usize);
            list.last().map(|r| r.id.to_string()).unwrap_or_default()
        });
        Ok(InventoryList {
            rows: list,
            next_cursor,
        })
    }

    pub async fn variant_stock(&self, id: i64) -> Result<VariantStock, AdminError> {
        let pool = self.db().pool();
        let row = sqlx::query(
            "SELECT v.id, v.sku, p.title, v.option1, v.option2, v.option3, v.on_hand, v.reserved, \
             v.low_stock_threshold, v.version FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("Variant {id}")))?;
        let history = sqlx::query(
            "SELECT reason, on_hand_delta, reserved_delta, order_id, note, created_at FROM stock_ledger \
             WHERE variant_id = $1 ORDER BY id DESC LIMIT 100",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|l| {
            Ok(LedgerEntry {
                at: l.try_get("created_at")?,
                reason: l.try_get("reason")?,
                on_hand_delta: l.try_get("on_hand_delta")?,
                reserved_delta: l.try_get("reserved_delta")?,
                order_number: l.try_get::<Option<i64>, _>("order_id")?.map(order_number),
                note: l.try_get("note")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(VariantStock {
            id,
            sku: row.try_get("sku")?,
            title: variant_title(&row)?,
            on_hand: row.try_get("on_hand")?,
            reserved: row.try_get("reserved")?,
            threshold: row.try_get("low_stock_threshold")?,
            version: row.try_get("version")?,
            history,
        })
    }

    /// Changes stock by hand, with a reason, if nobody changed it since `expected_version`.
    /// `received` and `returned` add, `damaged` and `lost` take away, `counted` sets the
    /// count, `correction` adds a signed amount (see [`AdjustReason::delta`]).
    pub async fn adjust_stock(
        &self,
        account: &Account,
        variant: i64,
        reason: &str,
        quantity: i64,
        note: &str,
        expected_version: i64,
    ) -> Result<Stock, AdminError> {
        let reason = AdjustReason::parse(reason)
            .ok_or_else(|| AdminError::Invalid("Choose a reason for the change.".into()))?;
        if reason != AdjustReason::Correction && quantity < 0 {
            return Err(AdminError::Invalid(
                "Enter a quantity of zero or more.".into(),
            ));
        }
        if quantity.unsigned_abs() > MAX_UNITS.unsigned_abs() {
            return Err(AdminError::Invalid(format!(
                "Enter a quantity of at most {MAX_UNITS}."
            )));
        }
        let note = note.trim().chars().take(500).collect::<String>();
        let actor = account.clone();
        let backend = self.db().backend();
        self.checkout()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<Stock, AdminError>> {
                Box::pin(async move {
                    let lock = if backend == crate::db::Backend::Postgres { " FOR UPDATE" } else { "" };
                    let row = sqlx::query(&format!("SELECT on_hand, reserved, version FROM variants WHERE id = $1{lock}"))
                        .bind(variant)
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or_else(|| AdminError::NotFound(format!("Variant {variant}")))?;
                    let (on_hand, reserved, version): (i64, i64, i64) =
                        (row.try_get("on_hand")?, row.try_get("reserved")?, row.try_get("version")?);
                    if version != expected_version {
                        return Err(AdminError::Conflict(format!(
                            "Someone changed this stock meanwhile (now {on_hand} on hand); review it and try again."
                        )));
                    }
                    let delta = reason
                        .delta(quantity, on_hand)
                        .ok_or_else(|| AdminError::Invalid("Enter a smaller quantity.".into()))?;
                    let after = on_hand.checked_add(delta).filter(|n| *n <= MAX_UNITS).ok_or_else(|| {
                        AdminError::Invalid(format!("Stock can be at most {MAX_UNITS}."))
                    })?;
                    if after < reserved {
                        return Err(AdminError::Invalid(format!(
                            "That would leave {after} on hand, but {reserved} are reserved for orders."
                        )));
                    }
                    let movement = StockMove {
                        variant_id: variant,
                        order_id: None,
                        movement: Movement::Adjust(reason),
                        quantity: delta,
                        note: format!("{note} ({})", actor.email).trim().to_string(),
                        expected_version: Some(expected_version),
                    };
                    let stock = inventory::apply(conn, &[movement], now_epoch())
                        .await
                        .map_err(stock_error)?;
                    audit_subject(conn, &actor, "Stock adjusted", &format!("variant:{variant}"), &format!("{} {delta:+}", reason.as_str())).await?;
                    stock.into_iter().next().ok_or(AdminError::Internal)
                })
            })
            .await
    }
}

/// A stock movement that did not fit: someone changed the stock meanwhile.
fn stock_error(error: StockError) -> AdminError {
    match error {
        StockError::Short { .. } => {
            AdminError::Conflict("The stock changed meanwhile; review it and try again.".into())
        }
        StockError::OutOfBounds(_) => AdminError::Invalid("Enter a smaller quantity.".into()),
        StockError::Database(error) => error.into(),
    }
}
