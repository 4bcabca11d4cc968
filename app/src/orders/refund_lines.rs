//! Refunds by line: what a line's units are worth as paid, and the record of units refunded,
//! so a line is never paid back for more units, or more money, than it was bought with.
//!
//! A line was paid its total less its share of the discounts, plus its tax when prices exclude
//! tax. Units are refunded in proportion, rounded down per refund, so that refunding every unit
//! (in one go or several) pays back exactly what the line was paid, never a cent more.

use sqlx::{AnyConnection, Row};

/// What the shopper paid for a line.
pub fn paid_for_line(total: i64, discount: i64, tax: i64, prices_include_tax: bool) -> i64 {
    let net = (total - discount).max(0);
    if prices_include_tax {
        net
    } else {
        net + tax
    }
}

/// What `units` more of a line's `quantity` units are worth, `before` of them refunded already:
/// the difference of two rounded-down shares, so the parts always add up to `paid`.
pub fn worth_of_units(paid: i64, quantity: u32, before: u32, units: u32) -> i64 {
    if quantity == 0 {
        return 0;
    }
    let after = (before + units).min(quantity);
    let share = |n: u32| (i128::from(paid) * i128::from(n) / i128::from(quantity)) as i64;
    share(after) - share(before.min(quantity))
}

/// Marks `units` of each line refunded and returns what they are worth; `None` (and nothing
/// marked, once the caller's transaction rolls back) if a line is not the order's or has
/// fewer units left to refund. The guard is in the UPDATE, so two refunds at once cannot
/// both take the last unit.
pub async fn take(
    conn: &mut AnyConnection,
    order_id: i64,
    lines: &[(i64, u32)],
) -> Result<Option<i64>, sqlx::Error> {
    let include: i64 = sqlx::query_scalar("SELECT prices_include_tax FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&mut *conn)
        .await?;
    let mut amount = 0i64;
    for (line_id, units) in lines {
        let row = sqlx::query(
            "UPDATE order_lines SET refunded_quantity = refunded_quantity + $1 \
             WHERE id = $2 AND order_id = $3 AND refunded_quantity + $1 <= quantity \
             RETURNING quantity, refunded_quantity, total_amount, discount_amount, tax_amount",
        )
        .bind(i64::from(*units))
        .bind(line_id)
        .bind(order_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let quantity = crate::db::count(&row, "quantity")?;
        let after: u32 = crate::db::count(&row, "refunded_quantity")?;
        let paid = paid_for_line(
            row.try_get("total_amount")?,
            row.try_get("discount_amount")?,
            row.try_get("tax_amount")?,
            include != 0,
        );
        amount += worth_of_units(paid, quantity, after - units, *units);
    }
    Ok(Some(amount))
}

/// Gives the units back (the gateway refused the refund).
pub async fn give_back(
    conn: &mut AnyConnection,
    order_id: i64,
    lines: &[(i64, u32)],
) -> Result<(), sqlx::Error> {
    for (line_id, units) in lines {
        sqlx::query(
            "UPDATE order_lines SET refunded_quantity = refunded_quantity - $1 \
             WHERE id = $2 AND order_id = $3 AND refunded_quantity >= $1",
        )
        .bind(i64::from(*units))
        .bind(line_id)
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_discounted_line_pays_back_its_net_share() {
        // 3 × 10.00 with 5.00 of the order's discount, tax included: 25.00 was paid.
        let paid = paid_for_line(3000, 500, 399, true);
        assert_eq!(paid, 2500);
        assert_eq!(worth_of_units(paid, 3, 0, 1), 833);
        assert_eq!(worth_of_units(paid, 3, 1, 1), 833);
        assert_eq!(
            worth_of_units(paid, 3, 2, 1),
            834,
            "the last unit takes the cent left"
        );
        // Tax on top when prices exclude it.
        assert_eq!(paid_for_line(3000, 500, 181, false), 2681);
        assert_eq!(worth_of_units(100, 2, 2, 1), 0, "nothing left to refund");
    }

    proptest! {
        #[test]
        fn refunds_in_any_steps_add_up_to_what_was_paid(
            paid in 0i64..10_000_000,
            quantity in 1u32..100,
            steps in proptest::collection::vec(1u32..10, 1..20),
        ) {
            let mut before = 0;
            let mut sum = 0;
            for units in steps {
                let units = units.min(quantity - before);
                if units == 0 { break; }
                sum += worth_of_units(paid, quantity, before, units);
                before += units;
                prop_assert!(sum <= paid);
            }
            sum += worth_of_units(paid, quantity, before, quantity - before);
            prop_assert_eq!(sum, paid);
        }
    }
}
