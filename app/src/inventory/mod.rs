//! Stock: every movement of a variant's `on_hand` and `reserved`, in one place.
//!
//! A movement is one guarded UPDATE of the variant plus its row in `stock_ledger`, written in the
//! caller's transaction, so the ledger always adds up to the stock. The rule kept here, once for
//! every caller: stock never goes negative, and what is on hand never drops below what is
//! reserved for orders. The UPDATE only matches a row that stays within the rule (the CHECK
//! constraints stand behind it), so a movement that would break it changes nothing and is
//! reported as [`StockError::Short`].

use sqlx::{AnyConnection, Row};

/// The most units a variant may hold, and the most a single movement may move: far above any
/// real shop, far below where `i64` arithmetic in SQL could overflow.
pub const MAX_UNITS: i64 = 1_000_000_000;

/// What happens to the stock, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// A pending payment holds units while the shopper pays.
    Reserve,
    /// A payment that succeeded at once takes units off the shelf.
    Sell,
    /// A reservation whose payment succeeded becomes a sale.
    Commit,
    /// A reservation whose payment failed, expired or was cancelled goes back.
    Release,
    /// A cancelled paid order's units go back on the shelf.
    Restock,
    /// Returned units received in a state to sell again: back on the shelf.
    ReturnRestock,
    /// Returned units received damaged: written in the ledger, not put back.
    ReturnDamaged,
    /// Staff change the count by hand: a signed quantity.
    Adjust(AdjustReason),
}

/// Why staff changed the count, as the ledger records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustReason {
    Received,
    Returned,
    Damaged,
    Lost,
    Counted,
    Correction,
}

impl AdjustReason {
    pub fn parse(text: &str) -> Option<AdjustReason> {
        Some(match text {
            "received" => AdjustReason::Received,
            "returned" => AdjustReason::Returned,
            "damaged" => AdjustReason::Damaged,
            "lost" => AdjustReason::Lost,
            "counted" => AdjustReason::Counted,
            "correction" => AdjustReason::Correction,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AdjustReason::Received => "received",
            AdjustReason::Returned => "returned",
            AdjustReason::Damaged => "damaged",
            AdjustReason::Lost => "lost",
            AdjustReason::Counted => "counted",
            AdjustReason::Correction => "correction",
        }
    }

    /// The signed change of `on_hand` for a quantity typed by staff: `received` and `returned`
    /// add, `damaged` and `lost` take away, `counted` sets the count, `correction` is signed.
    /// `None` when the quantity is out of bounds or the sign makes no sense for the reason.
    pub fn delta(self, quantity: i64, on_hand: i64) -> Option<i64> {
        if !(-MAX_UNITS..=MAX_UNITS).contains(&quantity) {
            return None;
        }
        match self {
            AdjustReason::Received | AdjustReason::Returned if quantity >= 0 => Some(quantity),
            AdjustReason::Damaged | AdjustReason::Lost if quantity >= 0 => Some(-quantity),
            AdjustReason::Counted if quantity >= 0 => quantity.checked_sub(on_hand),
            AdjustReason::Correction => Some(quantity),
            _ => None,
        }
    }
}

impl Movement {
    /// The ledger's name for the movement.
    pub fn reason(self) -> &'static str {
        match self {
            Movement::Reserve => "reserve",
            Movement::Sell => "sale",
            Movement::Commit => "commit",
            Movement::Release => "release",
            Movement::Restock => "cancel",
            Movement::ReturnRestock => "return",
            Movement::ReturnDamaged => "return damaged",
            Movement::Adjust(reason) => reason.as_str(),
        }
    }

    /// (on_hand, reserved) deltas for `quantity` units (signed for adjustments, else > 0).
    pub fn deltas(self, quantity: i64) -> (i64, i64) {
        match self {
            Movement::Reserve => (0, quantity),
            Movement::Sell => (-quantity, 0),
            Movement::Commit => (-quantity, -quantity),
            Movement::Release => (0, -quantity),
            Movement::Restock | Movement::ReturnRestock => (quantity, 0),
            Movement::ReturnDamaged => (0, 0),
            Movement::Adjust(_) => (quantity, 0),
        }
    }
}

/// One movement of one variant's stock.
#[derive(Clone, Debug)]
pub struct StockMove {
    pub variant_id: i64,
    pub order_id: Option<i64>,
    pub movement: Movement,
    /// Units moved: above zero, except for adjustments, which are signed.
    pub quantity: i64,
    pub note: String,
    /// Staff edits name the version they saw; a stale one changes nothing.
    pub expected_version: Option<i64>,
}

impl StockMove {
    pub fn for_order(variant_id: i64, order_id: i64, movement: Movement, quantity: i64) -> Self {
        StockMove {
            variant_id,
            order_id: Some(order_id),
            movement,
            quantity,
            note: String::new(),
            expected_version: None,
        }
    }
}

/// A variant's stock after a movement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stock {
    pub on_hand: i64,
    pub reserved: i64,
    pub version: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// The movement would break the rule (or the variant is gone, or its version moved on).
    #[error("variant {variant_id} does not have the stock for this change")]
    Short { variant_id: i64 },
    #[error("a stock movement of {0} units is out of bounds")]
    OutOfBounds(i64),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Applies the movements in order, in the caller's transaction: each variant's guarded UPDATE,
/// then one ledger insert for them all. On `Err` the caller rolls back (nothing is half-moved
/// once its transaction ends). Returns each variant's stock after its movement.
pub async fn apply(
    conn: &mut AnyConnection,
    moves: &[StockMove],
    now: i64,
) -> Result<Vec<Stock>, StockError> {
    let mut after = Vec::with_capacity(moves.len());
    let mut flipped = Vec::new();
    // Whether a product page would show any of these variants differently now: sold out, back,
    // or a different "only N left".
    let mut shown_changed = false;
    for movement in moves {
        let signed = matches!(movement.movement, Movement::Adjust(_));
        let in_bounds = if signed {
            (-MAX_UNITS..=MAX_UNITS).contains(&movement.quantity)
        } else {
            (1..=MAX_UNITS).contains(&movement.quantity)
        };
        if !in_bounds {
            return Err(StockError::OutOfBounds(movement.quantity));
        }
        let (on_hand_delta, reserved_delta) = movement.movement.deltas(movement.quantity);
        // Stock never goes negative and never below what is reserved: the UPDATE matches only
        // a row that stays within that (and within MAX_UNITS).
        let mut sql =
            String::from("UPDATE variants SET on_hand = on_hand + $1, reserved = reserved + $2");
        if signed {
            sql.push_str(", version = version + 1");
        }
        sql.push_str(
            " WHERE id = $3 AND reserved + $2 >= 0 AND on_hand + $1 >= reserved + $2 \
             AND on_hand + $1 <= $4",
        );
        if movement.expected_version.is_some() {
            sql.push_str(" AND version = $5");
        }
        sql.push_str(" RETURNING product_id, on_hand, reserved, backorder, version");
        let mut query = sqlx::query(&sql)
            .bind(on_hand_delta)
            .bind(reserved_delta)
            .bind(movement.variant_id)
            .bind(MAX_UNITS);
        if let Some(version) = movement.expected_version {
            query = query.bind(version);
        }
        let row = query
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StockError::Short {
                variant_id: movement.variant_id,
            })?;
        let stock = Stock {
            on_hand: row.try_get("on_hand")?,
            reserved: row.try_get("reserved")?,
            version: row.try_get("version")?,
        };
        let backorder = row.try_get::<String, _>("backorder")? == "allow";
        let before = Stock {
            on_hand: stock.on_hand - on_hand_delta,
            reserved: stock.reserved - reserved_delta,
            ..stock
        };
        if before.can_sell(backorder) != stock.can_sell(backorder) {
            flipped.push(row.try_get::<i64, _>("product_id")?);
        }
        shown_changed |= before.shown() != stock.shown();
        after.push(stock);
    }
    record(conn, moves, now).await?;
    follow_in_listings(conn, flipped).await?;
    // A flip (sold out, or back) is always a change of what is shown: 0 against 1 or more.
    if shown_changed {
        // Every server's memory of the storefront's pages is out of date once this commits.
        // Last, so the one row every such change updates is locked after the variants' and
        // listings' rows, never before; and only then: a sale of one of many units in stock
        // changes nothing a page shows, and checkouts do not queue for that row.
        crate::catalog_changes::note_catalog_changed(conn).await?;
    }
    Ok(after)
}

impl Stock {
    /// What a product page shows of this stock.
    fn shown(&self) -> i64 {
        crate::catalog_changes::shown_stock(self.on_hand - self.reserved)
    }

    /// Whether a unit of the variant can be sold now.
    fn can_sell(&self, backorder: bool) -> bool {
        self.on_hand > self.reserved || backorder
    }
}

/// Tells the shop's listings (`catalog_listing`) whether the products whose variants sold out or
/// came back can be bought, and their cards (`product_cards`) which variant they offer and
/// whether it can be bought: the only stock changes either shows, so a sale of one unit of many
/// writes neither. One product at a time in id order: on Postgres every transaction takes these
/// row locks in the same order, after its variants', so none waits in a circle.
async fn follow_in_listings(
    conn: &mut AnyConnection,
    mut products: Vec<i64>,
) -> Result<(), sqlx::Error> {
    products.sort_unstable();
    products.dedup();
    for product_id in products {
        sqlx::query(
            "UPDATE catalog_listing SET buyable = COALESCE(
                    (SELECT buyable FROM product_figures WHERE product_id = $1), 0)
              WHERE product_id = $1 AND buyable <> COALESCE(
                    (SELECT buyable FROM product_figures WHERE product_id = $1), 0)",
        )
        .bind(product_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO product_cards (product_id, card)
             SELECT product_id, card FROM product_card_source WHERE product_id = $1
             ON CONFLICT (product_id) DO UPDATE SET card = excluded.card
              WHERE product_cards.card <> excluded.card",
        )
        .bind(product_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The ledger rows for `moves`, in one statement.
async fn record(
    conn: &mut AnyConnection,
    moves: &[StockMove],
    now: i64,
) -> Result<(), sqlx::Error> {
    if moves.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO stock_ledger (variant_id, order_id, reason, on_hand_delta, reserved_delta, note, created_at) VALUES ",
    );
    for i in 0..moves.len() {
        let b = i * 6;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, $1)",
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7
        ));
    }
    let mut query = sqlx::query(&sql).bind(now);
    for movement in moves {
        let (on_hand_delta, reserved_delta) = movement.movement.deltas(movement.quantity);
        query = query
            .bind(movement.variant_id)
            .bind(movement.order_id)
            .bind(movement.movement.reason())
            .bind(on_hand_delta)
            .bind(reserved_delta)
            .bind(movement.note.clone());
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_movement_moves_the_right_columns() {
        assert_eq!(Movement::Reserve.deltas(3), (0, 3));
        assert_eq!(Movement::Sell.deltas(3), (-3, 0));
        assert_eq!(Movement::Commit.deltas(3), (-3, -3));
        assert_eq!(Movement::Release.deltas(3), (0, -3));
        assert_eq!(Movement::Restock.deltas(3), (3, 0));
        assert_eq!(Movement::ReturnRestock.deltas(3), (3, 0));
        assert_eq!(Movement::ReturnDamaged.deltas(3), (0, 0));
        assert_eq!(
            Movement::Adjust(AdjustReason::Correction).deltas(-3),
            (-3, 0)
        );
    }

    #[test]
    fn staff_quantities_become_bounded_signed_changes() {
        assert_eq!(AdjustReason::Received.delta(5, 10), Some(5));
        assert_eq!(AdjustReason::Lost.delta(5, 10), Some(-5));
        assert_eq!(AdjustReason::Counted.delta(4, 10), Some(-6));
        assert_eq!(AdjustReason::Correction.delta(-2, 10), Some(-2));
        assert_eq!(AdjustReason::Received.delta(-5, 10), None);
        assert_eq!(AdjustReason::Received.delta(i64::MAX, 10), None);
        assert_eq!(AdjustReason::Correction.delta(i64::MIN, 10), None);
        assert_eq!(AdjustReason::Counted.delta(MAX_UNITS, i64::MIN), None);
    }

    #[test]
    fn reasons_read_back_as_written() {
        for reason in [
            AdjustReason::Received,
            AdjustReason::Returned,
            AdjustReason::Damaged,
            AdjustReason::Lost,
            AdjustReason::Counted,
            AdjustReason::Correction,
        ] {
            assert_eq!(AdjustReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(AdjustReason::parse("stolen"), None);
    }
}
