//! Orders as staff work with them: the list, one order with its timeline, shipments,
//! cancelling and refunds. The records themselves are written by the layers below
//! (`crate::orders`, `crate::payments`, `crate::inventory`); this file is the staff's workflow
//! around them, with the audit entries.

use sqlx::Row;

use super::auth::Account;
use super::service::{audit, parse_date, Admin};
use super::{AdminError, AdminLine, AdminOrder, OrderFilter, OrderList, OrderRow, TimelineEvent};
use crate::checkout::address::Address;
use crate::checkout::service::random_token;
use crate::db::{count, currency_of, decode_error, now_epoch, Sql};
use crate::money::{Currency, Money};
use crate::orders::record::{self, line_title, OrderRecord};
use crate::orders::refund_lines;
use crate::orders::settle::{self, Settlement, TransitionError};
use crate::orders::shipments::{self, NewShipment};
use crate::orders::{order_id, order_number, OrderStatus};
use crate::payments::ledger::{self, RefundTarget};
use crate::payments::IntentStatus;
use crate::promotions::gift_card_store;
use crate::write_queue::JobFuture;

/// What a refund pays back: an amount, or units of lines (`(line id, units)`) at what they
/// were paid.
#[derive(Clone, Debug)]
pub enum RefundOf {
    Amount(i64),
    Lines(Vec<(i64, u32)>),
    /// A received return's units, less its fees (see [`crate::returns::refund_due`]).
    Return(ReturnRefund),
}

/// A return's refund: its units, the fees fixed when it was asked for, and what staff chose
/// to pay at most (`None`: the computed amount; never more).
#[derive(Clone, Debug)]
pub struct ReturnRefund {
    pub return_id: i64,
    pub lines: Vec<(i64, u32)>,
    pub restocking_percent: i64,
    pub shipping_fee: i64,
    pub at_most: Option<i64>,
}

/// A refund reserved in the database: where it goes and how much, or `None` when its key
/// was used before.
type ReservedRefund = Result<Option<(RefundTarget, i64)>, AdminError>;

/// Rows per page of the order list.
pub const ORDERS_PER_PAGE: i64 = 50;

impl Admin {
    /// Orders newest first, filtered, a page at a time (keyset: stays fast however deep).
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<OrderList, AdminError> {
        let mut sql = Sql::default();
        sql.push(
            "SELECT id, created_at, email, address_json, status, fulfilment, total_amount, currency FROM orders WHERE 1 = 1",
        );
        if !filter.status.is_empty() {
            let status = OrderStatus::parse(&filter.status).ok_or_else(|| {
                AdminError::Invalid(format!("'{}' is not an order status", filter.status))
            })?;
            sql.push(" AND status = ").bind(status.as_str());
        }
        if !filter.from.is_empty() {
            sql.push(" AND created_at >= ")
                .bind(parse_date(&filter.from)?);
        }
        if !filter.to.is_empty() {
            sql.push(" AND created_at < ")
                .bind(parse_date(&filter.to)? + 86_400);
        }
        let q = filter.q.trim();
        let mut searching_text = false;
        if !q.is_empty() {
            if let Some(id) = order_id(q) {
                sql.push(" AND id = ").bind(id);
            } else {
                let pattern = format!(
                    "%{}%",
                    // LIKE's wildcards in the search are taken literally by dropping them.
                    q.to_lowercase().replace(['\\', '%', '_'], "")
                );
                sql.push(" AND search_text LIKE ").bind(pattern);
                searching_text = true;
            }
        }
        if !filter.cursor.is_empty() {
            let (created, id) = filter
                .cursor
                .split_once('_')
                .and_then(|(c, i)| Some((c.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
                .ok_or_else(|| AdminError::Invalid("That page link is not valid.".into()))?;
            sql.push(" AND (created_at, id) < (")
                .bind(created)
                .push(", ")
                .bind(id)
                .push(")");
        }
        // A text search matches few rows anywhere in the table: reading the table in order and
        // sorting the matches beats walking the date index row by row (SQLite takes the unary
        // plus as "do not use an index for this"; to Postgres it is a no-op).
        let order = if searching_text {
            "+created_at DESC, +id DESC"
        } else {
            "created_at DESC, id DESC"
        };
        sql.push(&format!(" ORDER BY {order} LIMIT {}", ORDERS_PER_PAGE + 1));
        let rows = sql.query().fetch_all(self.db().pool()).await?;
        let more = rows.len() as i64 > ORDERS_PER_PAGE;
        let mut page: Vec<(i64, OrderRow)> = Vec::with_capacity(rows.len());
        for row in rows.iter().take(ORDERS_PER_PAGE as usize) {
            // Written by checkout from a validated address; an unreadable one shows no name.
            let address: Address = serde_json::from_str(&row.try_get::<String, _>("address_json")?)
                .unwrap_or_default();
            let id: i64 = row.try_get("id")?;
            let status: String = row.try_get("status")?;
            page.push((
                id,
                OrderRow {
                    number: order_number(id),
                    created_at: row.try_get("created_at")?,
                    email: row.try_get("email")?,
                    name: address.name,
                    status: OrderStatus::parse(&status)
                        .ok_or_else(|| decode_error("status", &status))?,
                    fulfilment: row.try_get("fulfilment")?,
                    total: Money::new(row.try_get("total_amount")?, currency_of(row, "currency")?),
                },
            ));
        }
        let next_cursor = page
            .last()
            .filter(|_| more)
            .map(|(id, last)| format!("{}_{id}", last.created_at));
        let rows = page.into_iter().map(|(_, row)| row).collect();
        Ok(OrderList { rows, next_cursor })
    }

    pub async fn order(&self, number: &str, account: &Account) -> Result<AdminOrder, AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        let head = self.order_payment(id, number).await?;
        let (fulfilment, refunded, placed_at) =
            (head.fulfilment.clone(), head.refunded, head.created_at);
        let pool = self.db().pool();
        let order = record::details(pool, head, None).await?;
        let mut lines = Vec::new();
        for row in sqlx::query(
            "SELECT id, title, variant_title, sku, quantity, shipped_quantity, refunded_quantity \
             FROM order_lines WHERE order_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        {
            lines.push(AdminLine {
                id: row.try_get("id")?,
                title: line_title(
                    row.try_get("title")?,
                    &row.try_get::<String, _>("variant_title")?,
                ),
                sku: row.try_get("sku")?,
                quantity: count(&row, "quantity")?,
                shipped: count(&row, "shipped_quantity")?,
                refunded: count(&row, "refunded_quantity")?,
            });
        }
        let currency = order.total.currency;
        let mut timeline = vec![TimelineEvent {
            at: placed_at,
            text: format!("Order placed by {}", order.email),
        }];
        let payments = sqlx::query(
            "SELECT kind, status, amount, message, created_at FROM payments WHERE order_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let mut paid = 0;
        for p in &payments {
            let kind: String = p.try_get("kind")?;
            let status: String = p.try_get("status")?;
            let amount = Money::new(p.try_get("amount")?, currency);
            if kind == "charge" && status == "succeeded" {
                paid += amount.amount;
            }
            let message: String = p.try_get("message")?;
            let text = match (kind.as_str(), status.as_str()) {
                ("charge", "succeeded") => format!("Payment of {amount} received"),
                ("charge", "failed") => format!("Payment of {amount} failed: {message}"),
                ("charge", "requires_action") => {
                    format!("Payment of {amount} waiting for authentication")
                }
                ("charge", _) => format!("Payment of {amount} cancelled"),
                ("refund", "succeeded") => format!("Refunded {amount}"),
                ("refund", "failed") => format!("Refund of {amount} failed: {message}"),
                _ => format!("Refund of {amount} started"),
            };
            timeline.push(TimelineEvent {
                at: p.try_get("created_at")?,
                text,
            });
        }
        for shipment in &order.shipments {
            let items: u32 = shipment.lines.iter().map(|(_, q)| q).sum();
            timeline.push(TimelineEvent {
                at: shipment.created_at,
                text: format!(
                    "Shipped {items} item(s) with {} (tracking {})",
                    shipment.carrier, shipment.tracking_number
                ),
            });
            if let Some(at) = shipment.delivered_at {
                timeline.push(TimelineEvent {
                    at,
                    text: format!(
                        "Delivered ({} {})",
                        shipment.carrier, shipment.tracking_number
                    ),
                });
            }
        }
        // The shopper's return requests (staff's steps on them are in the audit log below).
        let returns = sqlx::query("SELECT rma, created_at FROM returns WHERE order_id = $1")
            .bind(id)
            .fetch_all(pool)
            .await?;
        for r in returns {
            timeline.push(TimelineEvent {
                at: r.try_get("created_at")?,
                text: format!(
                    "Return {} requested by the shopper",
                    r.try_get::<String, _>("rma")?
                ),
            });
        }
        let audit = sqlx::query(
            "SELECT actor, action, detail, created_at FROM audit_log WHERE subject = $1 ORDER BY id",
        )
        .bind(format!("order:{id}"))
        .fetch_all(pool)
        .await?;
        for entry in audit {
            let detail: String = entry.try_get("detail")?;
            timeline.push(TimelineEvent {
                at: entry.try_get("created_at")?,
                text: format!(
                    "{} by {}{}",
                    entry.try_get::<String, _>("action")?,
                    entry.try_get::<String, _>("actor")?,
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {detail}")
                    }
                ),
            });
        }
        timeline.sort_by_key(|e| e.at);
        Ok(AdminOrder {
            id,
            fulfilment,
            refunded,
            paid: Money::new(paid, currency),
            order,
            lines,
            timeline,
            refund_key: random_token(),
            may_refund: account.may_refund(),
        })
    }

    /// Ships some or all of what is left of an order's lines.
    pub async fn create_shipment(
        &self,
        account: &Account,
        number: &str,
        lines: Vec<(i64, u32)>,
        carrier: &str,
        tracking: &str,
    ) -> Result<i64, AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        let shipment = NewShipment {
            lines,
            carrier: carrier.to_string(),
            tracking_number: tracking.to_string(),
        }
        .checked()?;
        let actor = account.clone();
        let order_url_base = self.checkout().order_url("");
        self.checkout()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<i64, AdminError>> {
                Box::pin(async move {
                    let made = shipments::create(conn, id, &shipment, &order_url_base, now_epoch())
                        .await?;
                    let detail = format!("{} {}", shipment.carrier, shipment.tracking_number);
                    audit(conn, &actor, "Shipment created", id, &detail).await?;
                    Ok(made)
                })
            })
            .await
    }

    /// Ships everything left of several paid orders, each with its carrier and tracking number
    /// (a pasted sheet): all or none, every problem named with its line. Each customer is
    /// emailed as for one shipment.
    pub async fn ship_many(
        &self,
        account: &Account,
        sheet: Vec<shipments::SheetLine>,
    ) -> Result<usize, AdminError> {
        let actor = account.clone();
        let order_url_base = self.checkout().order_url("");
        self.checkout()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<usize, AdminError>> {
                Box::pin(async move {
                    // Read every order first: a failed statement would end a Postgres
                    // transaction, and staff should see all the problems at once.
                    let mut planned = Vec::with_capacity(sheet.len());
                    let mut problems = Vec::new();
                    for line in &sheet {
                        let number = order_number(line.order_id);
                        let status: Option<String> =
                            sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
                                .bind(line.order_id)
                                .fetch_optional(&mut *conn)
                                .await?;
                        let left: Vec<(i64, i64)> = sqlx::query_as(
                            "SELECT id, quantity - shipped_quantity FROM order_lines \
                             WHERE order_id = $1 AND shipped_quantity < quantity ORDER BY id",
                        )
                        .bind(line.order_id)
                        .fetch_all(&mut *conn)
                        .await?;
                        match status.as_deref() {
                            None => problems
                                .push(format!("line {}: there is no order {number}", line.line)),
                            Some(s) if s != OrderStatus::Paid.as_str() => problems.push(format!(
                                "line {}: order {number} is not paid, so it cannot be shipped",
                                line.line
                            )),
                            Some(_) if left.is_empty() => problems.push(format!(
                                "line {}: order {number} has already been shipped",
                                line.line
                            )),
                            Some(_) => planned.push((line, left)),
                        }
                    }
                    if !problems.is_empty() {
                        return Err(AdminError::Invalid(format!(
                            "Nothing was shipped. {}.",
                            problems.join("; ")
                        )));
                    }
                    let now = now_epoch();
                    for (line, left) in &planned {
                        let shipment = NewShipment {
                            lines: left
                                .iter()
                                .map(|(id, quantity)| (*id, u32::try_from(*quantity).unwrap_or(0)))
                                .collect(),
                            carrier: line.carrier.clone(),
                            tracking_number: line.tracking_number.clone(),
                        }
                        .checked()?;
                        shipments::create(conn, line.order_id, &shipment, &order_url_base, now)
                            .await?;
                        let detail = format!("{} {}", shipment.carrier, shipment.tracking_number);
                        audit(conn, &actor, "Shipment created", line.order_id, &detail).await?;
                    }
                    Ok(planned.len())
                })
            })
            .await
    }

    pub async fn mark_delivered(
        &self,
        account: &Account,
        number: &str,
        shipment: i64,
    ) -> Result<(), AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        let actor = account.clone();
        self.checkout()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    shipments::mark_delivered(conn, id, shipment, now_epoch()).await?;
                    let detail = format!("shipment {shipment}");
                    audit(conn, &actor, "Shipment delivered", id, &detail).await
                })
            })
            .await
    }

    /// Cancels an order nothing of which has shipped: a pending one releases its reservation,
    /// a paid one puts its stock back (in the ledger) and is refunded in full.
    ///
    /// A pending payment is cancelled at its gateway first, so it cannot succeed after its stock
    /// went back. If the gateway says it already succeeded, the shopper has paid: the order is
    /// settled as paid, then cancelled like any paid order, with a full refund.
    pub async fn cancel(&self, account: &Account, number: &str) -> Result<(), AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        let order = self.order_payment(id, number).await?;
        if order.status == OrderStatus::PendingPayment {
            let mut paid_meanwhile = false;
            if let Some(reference) = order.payment_ref.clone() {
                let gateway = self
                    .checkout()
                    .gateway()
                    .for_order(&order.gateway)
                    .map_err(|e| AdminError::Gateway(e.to_string()))?;
                let now = gateway
                    .cancel(&reference)
                    .await
                    .map_err(|e| AdminError::Gateway(e.to_string()))?;
                if now == IntentStatus::Succeeded {
                    self.checkout()
                        .settle(id, Settlement::Paid { reference }, None)
                        .await?;
                    paid_meanwhile = true;
                }
            }
            if !paid_meanwhile {
                let released = self
                    .checkout()
                    .settle(
                        id,
                        Settlement::Release {
                            status: OrderStatus::Cancelled,
                            reason: format!("Cancelled by {}", account.email),
                        },
                        None,
                    )
                    .await?;
                if released {
                    let actor = account.clone();
                    return self
                        .checkout()
                        .writes()
                        .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                            Box::pin(
                                async move { audit(conn, &actor, "Order cancelled", id, "").await },
                            )
                        })
                        .await;
                }
                // Settled meanwhile (a webhook, the shopper's return): look again below.
            }
        }
        self.cancel_paid(account, number, id).await
    }

    /// Cancels a paid, unfulfilled order: stock back on the shelf, the rest of the payment
    /// refunded through the gateway that took it.
    async fn cancel_paid(
        &self,
        account: &Account,
        number: &str,
        id: i64,
    ) -> Result<(), AdminError> {
        let order = self.order_payment(id, number).await?;
        if order.status != OrderStatus::Paid || order.fulfilment != "unfulfilled" {
            return Err(AdminError::Conflict(
                "Only unfulfilled orders can be cancelled; this one has shipped or is not paid."
                    .into(),
            ));
        }
        let actor = account.clone();
        self.checkout()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    let note = format!("cancelled by {}", actor.email);
                    if !gift_card_store::void_bought(conn, id, None, now_epoch()).await? {
                        return Err(gift_card_spent());
                    }
                    settle::cancel_paid(conn, id, &note, now_epoch())
                        .await
                        .map_err(|error| match error {
                            TransitionError::Moved(_) => AdminError::Conflict(
                                "The order changed meanwhile; reload and try again.".into(),
                            ),
                            other => other.into(),
                        })?;
                    audit(conn, &actor, "Order cancelled", id, "stock returned").await
                })
            })
            .await?;
        let remaining = order.total.amount - order.refunded.amount;
        if remaining > 0 {
            // One key per order: cancelling is refunded once, however often it is retried.
            self.refund(
                account,
                number,
                remaining,
                "order-cancelled",
                "order cancelled",
            )
            .await?;
        }
        Ok(())
    }

    /// The currency an order was paid in.
    pub async fn order_currency(&self, number: &str) -> Result<Currency, AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        let code: String = sqlx::query_scalar("SELECT currency FROM orders WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        Currency::parse(&code).map_err(|_| AdminError::Internal)
    }

    /// What cancel and refund need to know of an order.
    async fn order_payment(&self, id: i64, number: &str) -> Result<OrderRecord, AdminError> {
        record::by_id(self.db().pool(), id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("Order {number}")))
    }

    /// Refunds part or all of what was paid, never more, once per `key` and order, through the
    /// gateway that took the payment.
    pub async fn refund(
        &self,
        account: &Account,
        number: &str,
        amount: i64,
        key: &str,
        reason: &str,
    ) -> Result<(), AdminError> {
        self.refund_of(account, number, RefundOf::Amount(amount), key, reason)
            .await
    }

    /// Refunds an amount, or units of lines at what they were paid (their share of the
    /// discounts off, see [`refund_lines`]), never more than what is left of either.
    pub async fn refund_of(
        &self,
        account: &Account,
        number: &str,
        of: RefundOf,
        key: &str,
        reason: &str,
    ) -> Result<(), AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        if matches!(of, RefundOf::Amount(amount) if amount <= 0) {
            return Err(AdminError::Invalid("Enter an amount above zero.".into()));
        }
        let lines = match &of {
            RefundOf::Lines(lines) => lines.clone(),
            RefundOf::Return(r) => r.lines.clone(),
            RefundOf::Amount(_) => Vec::new(),
        };
        let return_id = match &of {
            RefundOf::Return(r) => Some(r.return_id),
            _ => None,
        };
        let key = key.trim().to_string();
        if key.is_empty() || key.chars().count() > 64 {
            return Err(AdminError::Invalid(
                "The refund form is out of date; reload the page.".into(),
            ));
        }
        let (reserve_key, reason_text) = (key.clone(), reason.trim().to_string());
        let taken_lines = lines.clone();
        // 1. Reserve the amount against what was paid (and the lines' units), in the database,
        // before asking the gateway.
        let reserved = self
            .checkout()
            .writes()
            .run(move |conn| -> JobFuture<'_, ReservedRefund> {
                Box::pin(async move {
                    let amount = match of {
                        RefundOf::Amount(amount) => amount,
                        // A key seen before answers as before (below): nothing is taken again.
                        RefundOf::Lines(_) | RefundOf::Return(_)
                            if ledger::refund_seen(conn, id, &reserve_key).await? =>
                        {
                            0
                        }
                        RefundOf::Return(r) => {
                            let now = now_epoch();
                            let worth =
                                refund_lines::take(conn, id, &r.lines)
                                    .await?
                                    .ok_or_else(|| {
                                        AdminError::Conflict(
                                            "Some of the returned units were refunded already \
                                         (on the order page); refund what is left there."
                                                .into(),
                                        )
                                    })?;
                            let due = crate::returns::refund_due(
                                worth,
                                r.restocking_percent,
                                r.shipping_fee,
                            );
                            let amount = match r.at_most {
                                Some(chosen) if chosen > due => {
                                    let currency: String = sqlx::query_scalar(
                                        "SELECT currency FROM orders WHERE id = $1",
                                    )
                                    .bind(id)
                                    .fetch_one(&mut *conn)
                                    .await?;
                                    let currency = Currency::parse(&currency)
                                        .map_err(|_| AdminError::Internal)?;
                                    return Err(AdminError::Invalid(format!(
                                        "The refund for this return is at most {}: the units' \
                                         worth as paid less the fees.",
                                        Money::new(due, currency)
                                    )));
                                }
                                Some(chosen) => chosen,
                                None => due,
                            };
                            if !crate::returns::store::mark_refunded(conn, r.return_id, amount, now)
                                .await?
                            {
                                return Err(AdminError::Conflict(
                                    "This return is not waiting for its refund: receive its \
                                     items first (or it was refunded already)."
                                        .into(),
                                ));
                            }
                            if !gift_card_store::void_bought(conn, id, Some(&r.lines), now).await? {
                                return Err(gift_card_spent());
                            }
                            amount
                        }
                        RefundOf::Lines(lines) => {
                            let amount = refund_lines::take(conn, id, &lines)
                                .await?
                                .filter(|amount| *amount > 0)
                                .ok_or_else(|| {
                                    AdminError::Conflict(
                                        "Those units were refunded meanwhile, or were worth \
                                         nothing; reload the order."
                                            .into(),
                                    )
                                })?;
                            if !gift_card_store::void_bought(conn, id, Some(&lines), now_epoch())
                                .await?
                            {
                                return Err(gift_card_spent());
                            }
                            amount
                        }
                    };
                    let target = ledger::reserve_refund(
                        conn,
                        id,
                        amount,
                        &reserve_key,
                        &reason_text,
                        now_epoch(),
                    )
                    .await?;
                    Ok(target.map(|t| (t, amount)))
                })
            })
            .await?;
        let Some((target, amount)) = reserved else {
            return Ok(()); // This refund was already made (a double submit).
        };
        // 2. The gateway that took the payment, with a key scoped to the order: a retry never
        // refunds twice, and the same key on two orders never collides at the provider.
        // Whatever went back onto gift cards is done; only the card's part needs the gateway.
        let outcome = match self.checkout().gateway().for_order(&target.gateway) {
            _ if target.to_card == 0 => Ok(String::new()),
            Ok(gateway) => {
                gateway
                    .refund(
                        &target.payment_ref,
                        target.to_card,
                        &format!("order-{id}-{key}"),
                    )
                    .await
            }
            Err(error) => Err(error),
        };
        // 3. Record the outcome with its audit entry; a failure gives the amount back.
        let actor = account.clone();
        let result = outcome
            .as_ref()
            .map(|r| r.clone())
            .map_err(|e| e.to_string());
        let amount_text = if target.to_gift_cards > 0 {
            format!(
                "{} ({} to the card, {} back onto gift cards)",
                Money::new(amount, target.currency),
                Money::new(target.to_card, target.currency),
                Money::new(target.to_gift_cards, target.currency)
            )
        } else {
            Money::new(amount, target.currency).to_string()
        };
        let (to_card, lines_back) = (target.to_card, target.to_gift_cards == 0);
        self.checkout()
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    ledger::record_refund(conn, id, &key, to_card, &result).await?;
                    // Units stay refunded when gift cards already took their part back.
                    if result.is_err() && lines_back {
                        refund_lines::give_back(conn, id, &taken_lines).await?;
                        if let Some(return_id) = return_id {
                            crate::returns::store::unmark_refunded(conn, return_id).await?;
                        }
                    }
                    match &result {
                        Ok(_) => audit(conn, &actor, "Refunded", id, &amount_text).await,
                        Err(message) => audit(conn, &actor, "Refund failed", id, message).await,
                    }
                })
            })
            .await?;
        outcome
            .map(|_| ())
            .map_err(|e| AdminError::Gateway(e.to_string()))
    }
}

/// A gift card bought in the order has paid for something since: paying it back in full would
/// give the shopper its value twice.
fn gift_card_spent() -> AdminError {
    AdminError::Conflict(
        "A gift card bought in this order has been used since, so it cannot be paid back in \
         full. Refund an amount up to its balance instead, and disable the card on its page."
            .into(),
    )
}
