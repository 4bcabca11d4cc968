//! The records of returns: `returns`, `return_lines`, and each order line's
//! `returned_quantity`. Every change is one guarded statement per row, in the caller's
//! transaction, so two requests (or two staff members) at once can never return a unit twice
//! or put it back on the shelf twice.

use sqlx::{AnyConnection, AnyPool, Row};

use super::{LineFacts, Policy, Reason, ReturnLineView, ReturnView, Status};
use crate::catalog::ssr::option_values;
use crate::checkout::line_title;
use crate::db::count;
use crate::inventory::{self, Movement, StockError, StockMove};
use crate::money::{Currency, Money};
use crate::orders::order_number;
use crate::orders::refund_lines::{paid_for_line, worth_of_units};
use crate::time::rfc3339;

/// The shop's return policy, from its settings.
pub async fn policy(conn: &mut AnyConnection) -> Result<Policy, sqlx::Error> {
    let row = sqlx::query(
        "SELECT return_window_days, return_shipping_fee, restocking_fee_percent \
         FROM shop_settings WHERE id = 1",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Policy {
        window_days: row.try_get("return_window_days")?,
        shipping_fee: row.try_get("return_shipping_fee")?,
        restocking_percent: row.try_get("restocking_fee_percent")?,
    })
}

/// Units of a line in deliveries marked delivered (Postgres sums BIGINT to NUMERIC).
const DELIVERED: &str = "CAST(COALESCE((SELECT SUM(sl.quantity) FROM shipment_lines sl \
     JOIN shipments s ON s.id = sl.shipment_id \
     WHERE sl.order_line_id = order_lines.id AND s.status = 'delivered'), 0) AS BIGINT)";

/// An order's lines as the return rules need them.
pub async fn line_facts(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Vec<LineFacts>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT order_lines.id, order_lines.title, order_lines.variant_title, \
                order_lines.quantity, order_lines.returned_quantity, \
                COALESCE((SELECT p.final_sale FROM variants v JOIN products p ON p.id = v.product_id \
                          WHERE v.id = order_lines.variant_id), 0) AS final_sale, \
                {DELIVERED} AS delivered, \
                (SELECT MAX(s.delivered_at) FROM shipment_lines sl \
                   JOIN shipments s ON s.id = sl.shipment_id \
                  WHERE sl.order_line_id = order_lines.id AND s.status = 'delivered') AS delivered_at \
         FROM order_lines WHERE order_lines.order_id = $1 ORDER BY order_lines.id"
    ))
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LineFacts {
                line_id: row.try_get("id")?,
                title: line_title(
                    &row.try_get::<String, _>("title")?,
                    &row.try_get::<String, _>("variant_title")?,
                ),
                ordered: count(row, "quantity")?,
                delivered: count(row, "delivered")?,
                returned: count(row, "returned_quantity")?,
                final_sale: row.try_get::<i64, _>("final_sale")? != 0,
                delivered_at: row.try_get("delivered_at")?,
            })
        })
        .collect()
}

/// A return's row.
#[derive(Clone, Debug)]
pub struct ReturnRecord {
    pub id: i64,
    pub rma: String,
    pub order_id: i64,
    pub status: Status,
    pub conversation_id: Option<i64>,
    pub shipping_fee: i64,
    pub restocking_percent: i64,
    pub exchange_variant_id: Option<i64>,
    pub replacement_order_id: Option<i64>,
}

const COLUMNS: &str = "id, rma, order_id, status, comment, staff_message, conversation_id, \
     shipping_fee_amount, restocking_percent, refund_amount, created_at, exchange_variant_id, \
     replacement_order_id";

fn record_of(row: &sqlx::any::AnyRow) -> Result<ReturnRecord, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(ReturnRecord {
        id: row.try_get("id")?,
        rma: row.try_get("rma")?,
        order_id: row.try_get("order_id")?,
        status: Status::parse(&status).ok_or_else(|| crate::db::decode_error("status", &status))?,
        conversation_id: row.try_get("conversation_id")?,
        shipping_fee: row.try_get("shipping_fee_amount")?,
        restocking_percent: row.try_get("restocking_percent")?,
        exchange_variant_id: row.try_get("exchange_variant_id")?,
        replacement_order_id: row.try_get("replacement_order_id")?,
    })
}

/// Records a checked request: raises each line's `returned_quantity` (only while it stays
/// within what was delivered: the guard is in the UPDATE), then the return and its lines.
/// `None` when a line's units were returned meanwhile; the caller rolls back.
pub async fn create(
    conn: &mut AnyConnection,
    order_id: i64,
    checked: &super::Checked,
    policy: &Policy,
    conversation_id: Option<i64>,
    now: i64,
) -> Result<Option<ReturnRecord>, sqlx::Error> {
    // Takes the order's row lock (a no-op UPDATE works on both databases): two requests for
    // one order at once on Postgres would otherwise both count the same returns and pick the
    // same RMA number.
    sqlx::query("UPDATE orders SET updated_at = updated_at WHERE id = $1")
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    for (line_id, units, _) in &checked.lines {
        let raised = sqlx::query(&format!(
            "UPDATE order_lines SET returned_quantity = returned_quantity + $1 \
             WHERE id = $2 AND order_id = $3 AND returned_quantity + $1 <= {DELIVERED}"
        ))
        .bind(i64::from(*units))
        .bind(line_id)
        .bind(order_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if raised != 1 {
            return Ok(None);
        }
    }
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM returns WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(&mut *conn)
        .await?;
    let rma = super::rma_number(&order_number(order_id), before + 1);
    let row = sqlx::query(&format!(
        "INSERT INTO returns (rma, order_id, status, comment, conversation_id, shipping_fee_amount, \
         restocking_percent, created_at, updated_at, exchange_variant_id) \
         VALUES ($1, $2, 'requested', $3, $4, $5, $6, $7, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(&rma)
    .bind(order_id)
    .bind(&checked.comment)
    .bind(conversation_id)
    .bind(policy.shipping_fee)
    .bind(policy.restocking_percent)
    .bind(now)
    .bind(checked.exchange_variant_id)
    .fetch_one(&mut *conn)
    .await?;
    let record = record_of(&row)?;
    for (line_id, units, reason) in &checked.lines {
        sqlx::query(
            "INSERT INTO return_lines (return_id, order_line_id, quantity, reason) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(record.id)
        .bind(line_id)
        .bind(i64::from(*units))
        .bind(reason.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(Some(record))
}

pub async fn by_rma(
    conn: &mut AnyConnection,
    rma: &str,
) -> Result<Option<ReturnRecord>, sqlx::Error> {
    // RMA numbers are short and plain; anything else names no return (and Postgres cannot
    // even compare text holding NUL).
    let rma = rma.trim();
    if rma.is_empty()
        || rma.len() > 40
        || !rma.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM returns WHERE rma = $1"))
        .bind(rma.trim())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(record_of).transpose()
}

/// Moves a return from `from` to `to` with staff's message; false when it was not in `from`
/// (another staff member moved it meanwhile).
pub async fn move_status(
    conn: &mut AnyConnection,
    id: i64,
    from: Status,
    to: Status,
    message: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE returns SET status = $1, staff_message = COALESCE($2, staff_message), updated_at = $3 \
         WHERE id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(message)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

/// A declined return's units count as not returned again.
pub async fn release_lines(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    let lines =
        sqlx::query("SELECT order_line_id, quantity FROM return_lines WHERE return_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    for line in &lines {
        sqlx::query(
            "UPDATE order_lines SET returned_quantity = returned_quantity - $1 \
             WHERE id = $2 AND returned_quantity >= $1",
        )
        .bind(line.try_get::<i64, _>("quantity")?)
        .bind(line.try_get::<i64, _>("order_line_id")?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Why units could not be marked received.
#[derive(Debug)]
pub enum ReceiveError {
    /// The line is not in the return, or more units than are left to receive.
    TooMany {
        index: usize,
        left: u32,
    },
    Stock(StockError),
}

impl From<sqlx::Error> for ReceiveError {
    fn from(error: sqlx::Error) -> Self {
        ReceiveError::Stock(StockError::Database(error))
    }
}

/// Marks units received, each exactly once: restocked ones go back on the shelf through the
/// inventory ledger, damaged ones are written in the ledger without changing the stock.
/// Returns whether every unit of the return has now arrived.
pub async fn receive(
    conn: &mut AnyConnection,
    record: &ReturnRecord,
    lines: &[(i64, u32, bool)],
    now: i64,
) -> Result<bool, ReceiveError> {
    let mut moves = Vec::new();
    for (index, (line_id, units, restock)) in lines.iter().enumerate() {
        let column = if *restock {
            "restocked_quantity"
        } else {
            "damaged_quantity"
        };
        let updated = sqlx::query(&format!(
            "UPDATE return_lines SET {column} = {column} + $1 \
             WHERE return_id = $2 AND order_line_id = $3 \
               AND restocked_quantity + damaged_quantity + $1 <= quantity"
        ))
        .bind(i64::from(*units))
        .bind(record.id)
        .bind(line_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if updated != 1 {
            let left: Option<i64> = sqlx::query_scalar(
                "SELECT quantity - restocked_quantity - damaged_quantity FROM return_lines \
                 WHERE return_id = $1 AND order_line_id = $2",
            )
            .bind(record.id)
            .bind(line_id)
            .fetch_optional(&mut *conn)
            .await?;
            return Err(ReceiveError::TooMany {
                index,
                left: left.unwrap_or(0).max(0) as u32,
            });
        }
        let variant: Option<i64> =
            sqlx::query_scalar("SELECT variant_id FROM order_lines WHERE id = $1")
                .bind(line_id)
                .fetch_one(&mut *conn)
                .await?;
        // A variant deleted since has no shelf: its units are recorded on the return only.
        if let Some(variant_id) = variant {
            let mut movement = StockMove::for_order(
                variant_id,
                record.order_id,
                if *restock {
                    Movement::ReturnRestock
                } else {
                    Movement::ReturnDamaged
                },
                i64::from(*units),
            );
            movement.note = record.rma.clone();
            moves.push(movement);
        }
    }
    inventory::apply(conn, &moves, now)
        .await
        .map_err(ReceiveError::Stock)?;
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM return_lines \
         WHERE return_id = $1 AND restocked_quantity + damaged_quantity < quantity",
    )
    .bind(record.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(left == 0)
}

/// The return's lines as `(order line id, units)`, what a refund of it pays back.
pub async fn refund_lines(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Vec<(i64, u32)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT order_line_id, quantity FROM return_lines WHERE return_id = $1 ORDER BY order_line_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("order_line_id")?, count(r, "quantity")?)))
        .collect()
}

/// What the return's units are worth as paid, given what was refunded of their lines before.
pub async fn worth(conn: &mut AnyConnection, id: i64) -> Result<i64, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT rl.quantity AS units, ol.quantity, ol.refunded_quantity, ol.total_amount, \
                ol.discount_amount, ol.tax_amount, o.prices_include_tax \
         FROM return_lines rl JOIN order_lines ol ON ol.id = rl.order_line_id \
         JOIN orders o ON o.id = ol.order_id WHERE rl.return_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut total = 0;
    for row in &rows {
        let paid = paid_for_line(
            row.try_get("total_amount")?,
            row.try_get("discount_amount")?,
            row.try_get("tax_amount")?,
            row.try_get::<i64, _>("prices_include_tax")? != 0,
        );
        total += worth_of_units(
            paid,
            count(row, "quantity")?,
            count(row, "refunded_quantity")?,
            count(row, "units")?,
        );
    }
    Ok(total)
}

/// Marks a received return refunded with what was paid back; false if it was not `received`.
pub async fn mark_refunded(
    conn: &mut AnyConnection,
    id: i64,
    amount: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE returns SET status = 'refunded', refund_amount = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'received'",
    )
    .bind(amount)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

/// The refund failed at the gateway: the return waits for it again.
pub async fn unmark_refunded(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE returns SET status = 'received', refund_amount = NULL \
         WHERE id = $1 AND status = 'refunded'",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Which returns a list shows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<Status>,
    pub order_id: Option<i64>,
    /// Returns with a smaller id than this (the next page).
    pub before: Option<i64>,
}

/// Returns, newest first, as people see them; `limit` of them.
pub async fn views(
    pool: &AnyPool,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<(i64, ReturnView)>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let conn = &mut *conn;
    let rows = sqlx::query(
        "SELECT r.id, r.rma, r.order_id, r.status, r.comment, r.staff_message, r.conversation_id, \
                r.shipping_fee_amount, r.restocking_percent, r.refund_amount, r.created_at, \
                r.exchange_variant_id, r.replacement_order_id, o.currency \
         FROM returns r JOIN orders o ON o.id = r.order_id \
         WHERE ($1 = '' OR r.status = $1) AND ($2 = 0 OR r.order_id = $2) AND ($3 = 0 OR r.id < $3) \
         ORDER BY r.id DESC LIMIT $4",
    )
    .bind(filter.status.map(Status::as_str).unwrap_or(""))
    .bind(filter.order_id.unwrap_or(0))
    .bind(filter.before.unwrap_or(0))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in &rows {
        let record = record_of(row)?;
        let currency = crate::db::currency_of(row, "currency")?;
        views.push((record.id, view_of(conn, row, &record, currency).await?));
    }
    Ok(views)
}

async fn view_of(
    conn: &mut AnyConnection,
    row: &sqlx::any::AnyRow,
    record: &ReturnRecord,
    currency: Currency,
) -> Result<ReturnView, sqlx::Error> {
    let lines = sqlx::query(
        "SELECT rl.order_line_id, rl.quantity, rl.reason, rl.restocked_quantity, rl.damaged_quantity, \
                ol.title, ol.variant_title \
         FROM return_lines rl JOIN order_lines ol ON ol.id = rl.order_line_id \
         WHERE rl.return_id = $1 ORDER BY rl.order_line_id",
    )
    .bind(record.id)
    .fetch_all(&mut *conn)
    .await?;
    let lines = lines
        .iter()
        .map(|l| {
            let reason: String = l.try_get("reason")?;
            Ok(ReturnLineView {
                line_id: l.try_get("order_line_id")?,
                title: line_title(
                    &l.try_get::<String, _>("title")?,
                    &l.try_get::<String, _>("variant_title")?,
                ),
                quantity: count(l, "quantity")?,
                reason: Reason::parse(&reason).unwrap_or(Reason::Other),
                restocked: count(l, "restocked_quantity")?,
                damaged: count(l, "damaged_quantity")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let refund: Option<i64> = row.try_get("refund_amount")?;
    let refund_due = match record.status {
        Status::Declined | Status::Refunded => None,
        // An exchange is settled by its replacement, not money.
        _ if record.exchange_variant_id.is_some() => None,
        _ => Some(super::refund_due(
            worth(conn, record.id).await?,
            record.restocking_percent,
            record.shipping_fee,
        )),
    };
    Ok(ReturnView {
        rma: record.rma.clone(),
        status: record.status,
        order_number: order_number(record.order_id),
        lines,
        comment: row.try_get("comment")?,
        staff_message: row.try_get("staff_message")?,
        refund: refund.map(|a| Money::new(a, currency)),
        refund_due: refund_due.map(|a| Money::new(a, currency)),
        exchange_variant_id: record.exchange_variant_id,
        replacement_order: record.replacement_order_id.map(order_number),
        shipping_fee: Money::new(record.shipping_fee, currency),
        restocking_percent: record.restocking_percent,
        created_at: rfc3339(row.try_get("created_at")?),
    })
}

/// Whether `variant` can be asked for in exchange of the return's lines: a variant on sale of
/// the product every line belongs to. The reason when not.
pub async fn check_exchange(
    conn: &mut AnyConnection,
    variant: i64,
    lines: &[(i64, u32, Reason)],
) -> Result<Result<(), String>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT v.product_id, v.archived_at, p.status FROM variants v \
         JOIN products p ON p.id = v.product_id WHERE v.id = $1",
    )
    .bind(variant)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Err("There is no such item to exchange for.".into()));
    };
    if row.try_get::<Option<i64>, _>("archived_at")?.is_some()
        || row.try_get::<String, _>("status")? != "active"
    {
        return Ok(Err("That item is no longer sold.".into()));
    }
    let product: i64 = row.try_get("product_id")?;
    for (line, _, _) in lines {
        if product_of_line(conn, *line).await? != Some(product) {
            return Ok(Err(
                "An exchange is for another size or colour of the same product: return other \
                 products separately, for a refund."
                    .into(),
            ));
        }
    }
    Ok(Ok(()))
}

/// The variants an exchange of these lines may ask for: `(id, title)` of the one product they
/// all belong to, on sale and in stock; empty when they are of several products.
pub async fn exchanges_for(
    conn: &mut AnyConnection,
    line_ids: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let mut product = None;
    for line in line_ids {
        match (product, product_of_line(conn, *line).await?) {
            (_, None) => return Ok(Vec::new()),
            (None, Some(of)) => product = Some(of),
            (Some(p), Some(of)) if p != of => return Ok(Vec::new()),
            _ => {}
        }
    }
    let Some(product) = product else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT v.id, v.option1, v.option2, v.option3, p.title FROM variants v \
         JOIN products p ON p.id = v.product_id \
         WHERE v.product_id = $1 AND v.archived_at IS NULL AND p.status = 'active' \
           AND v.on_hand > v.reserved \
         ORDER BY v.position, v.id",
    )
    .bind(product)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let title: String = row.try_get("title")?;
            Ok((row.try_get("id")?, line_title(&title, &variant_title(row))))
        })
        .collect()
}

/// The product an order line's variant belongs to (`None` once the variant is deleted).
async fn product_of_line(conn: &mut AnyConnection, line: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT v.product_id FROM order_lines ol JOIN variants v ON v.id = ol.variant_id \
         WHERE ol.id = $1",
    )
    .bind(line)
    .fetch_optional(&mut *conn)
    .await
}

/// A variant's options as an order line names them ("M / Blue"), from a row with
/// `option1`..`option3`; empty options are left out, as checkout leaves them out.
fn variant_title(row: &sqlx::any::AnyRow) -> String {
    option_values(row)
        .into_iter()
        .filter(|o| !o.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Places an exchange's replacement order: the asked-for variant, as many units as the return
/// holds, at no charge, paid, to the original order's address; the units leave the shelf
/// (`None` when they are not there). Records it on the return.
pub async fn place_replacement(
    conn: &mut AnyConnection,
    record: &ReturnRecord,
    now: i64,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let Some(variant) = record.exchange_variant_id else {
        return Ok(None);
    };
    let units: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM return_lines WHERE return_id = $1",
    )
    .bind(record.id)
    .fetch_one(&mut *conn)
    .await?;
    let token = crate::checkout::service::random_token();
    let order_id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (access_token, idempotency_key, request_hash, email, status, currency, \
         subtotal_amount, shipping_amount, tax_amount, total_amount, prices_include_tax, \
         shipping_code, shipping_name, address_json, gateway, payment_ref, reserved_until, \
         created_at, updated_at, paid_at, search_text, customer_id, discount_amount, gift_card_amount) \
         SELECT $1, $2, '', email, 'paid', currency, 0, 0, 0, 0, prices_include_tax, \
                'exchange', 'Exchange', address_json, 'exchange', NULL, NULL, $3, $3, $3, \
                search_text, customer_id, 0, 0 \
         FROM orders WHERE id = $4 RETURNING id",
    )
    .bind(&token)
    .bind(format!("exchange:{}", record.rma))
    .bind(now)
    .bind(record.order_id)
    .fetch_one(&mut *conn)
    .await?;
    let moves = [StockMove::for_order(
        variant,
        order_id,
        Movement::Sell,
        units,
    )];
    match inventory::apply(conn, &moves, now).await {
        Ok(_) => {}
        Err(StockError::Short { .. }) => return Ok(None),
        Err(StockError::OutOfBounds(_)) => return Ok(None),
        Err(StockError::Database(error)) => return Err(error),
    }
    let row = sqlx::query(
        "SELECT v.sku, v.option1, v.option2, v.option3, p.title FROM variants v \
         JOIN products p ON p.id = v.product_id WHERE v.id = $1",
    )
    .bind(variant)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO order_lines (order_id, variant_id, sku, title, variant_title, quantity, \
         backordered_quantity, unit_price_amount, tax_amount, total_amount, discount_amount) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0, 0)",
    )
    .bind(order_id)
    .bind(variant)
    .bind(row.try_get::<String, _>("sku")?)
    .bind(row.try_get::<String, _>("title")?)
    .bind(variant_title(&row))
    .bind(units)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE returns SET replacement_order_id = $1 WHERE id = $2")
        .bind(order_id)
        .bind(record.id)
        .execute(&mut *conn)
        .await?;
    Ok(Some((order_id, token)))
}
