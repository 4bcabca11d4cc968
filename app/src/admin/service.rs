//! The admin on the server: who may do what, the dashboard's numbers, the order list, and the
//! staff actions (ship, deliver, cancel, refund, adjust stock), each one transaction with an
//! audit entry.

use std::time::Duration;

use sqlx::{AnyConnection, Row};
use tokio::sync::broadcast;

use super::auth::{self, Account};
use super::{
    Access, AdminError, AdminLine, AdminOrder, Dashboard, LedgerEntry, LowStock, OrderFilter,
    OrderList, OrderRow, Period, TimelineEvent, VariantStock,
};
use crate::checkout::address::Address;
use crate::checkout::service::{queue_email, random_token, Checkout, Email, Settlement};
use crate::db::now_epoch;
use crate::money::{Currency, Money};
use crate::orders::{order_id, order_number, OrderStatus};
use crate::payments::gateway::Gateway;
use crate::write_queue::JobFuture;

/// Rows per page of the order list.
pub const ORDERS_PER_PAGE: i64 = 50;

#[derive(Clone, Debug)]
pub struct Admin {
    checkout: Checkout,
    import_jobs: super::catalog::ImportJobs,
    events: broadcast::Sender<&'static str>,
    secure_cookies: bool,
}

impl Admin {
    /// The admin over the shop's checkout; watches the database for changes to push to open
    /// dashboards (orders or stock changed by any server sharing the database).
    pub fn new(checkout: Checkout, secure_cookies: bool) -> Admin {
        let (events, _) = broadcast::channel(16);
        let admin = Admin {
            checkout,
            import_jobs: Default::default(),
            events,
            secure_cookies,
        };
        tokio::spawn(watch_changes(admin.clone()));
        admin
    }

    pub fn checkout(&self) -> &Checkout {
        &self.checkout
    }

    pub fn import_jobs(&self) -> &super::catalog::ImportJobs {
        &self.import_jobs
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    pub fn subscribe(&self) -> broadcast::Receiver<&'static str> {
        self.events.subscribe()
    }

    fn db(&self) -> &crate::db::Db {
        self.checkout.db()
    }

    /// The account behind the request's session, if it has `access`: 401 without a live
    /// session, 403 with one that lacks the role.
    pub async fn authorize(
        &self,
        headers: &axum::http::HeaderMap,
        access: Access,
    ) -> Result<Account, AdminError> {
        let token = auth::token_from_cookies(headers).ok_or(AdminError::Unauthorized)?;
        let account = auth::session_account(self.db(), &token, now_epoch())
            .await?
            .ok_or(AdminError::Unauthorized)?;
        let allowed = match access {
            Access::Staff => account.is_staff(),
            Access::Refunds => account.may_refund(),
            Access::Owner => account.role == super::Role::Owner,
        };
        if allowed {
            Ok(account)
        } else {
            Err(AdminError::Forbidden)
        }
    }

    pub async fn dashboard(&self, now: i64) -> Result<Dashboard, AdminError> {
        let pool = self.db().pool();
        let currency = self.checkout.rules().await?.currency;
        let today = now - now.rem_euclid(86_400);
        let mut periods = Vec::new();
        for (label, since) in [
            ("Today", today),
            ("7 days", now - 7 * 86_400),
            ("30 days", now - 30 * 86_400),
        ] {
            let row = sqlx::query(
                "SELECT COUNT(*) AS orders, CAST(COALESCE(SUM(total_amount - refunded_amount), 0) AS BIGINT) AS revenue \
                 FROM orders WHERE status = 'paid' AND paid_at >= $1",
            )
            .bind(since)
            .fetch_one(pool)
            .await?;
            let orders: i64 = row.get("orders");
            let revenue: i64 = row.get("revenue");
            periods.push(Period {
                label: label.into(),
                revenue: Money::new(revenue, currency),
                orders,
                average: (orders > 0).then(|| Money::new(revenue / orders, currency)),
            });
        }
        let first_day = today / 86_400 - 29;
        let days = sqlx::query(
            "SELECT paid_at / 86400 AS day, CAST(SUM(total_amount - refunded_amount) AS BIGINT) AS revenue \
             FROM orders WHERE status = 'paid' AND paid_at >= $1 GROUP BY paid_at / 86400",
        )
        .bind(first_day * 86_400)
        .fetch_all(pool)
        .await?;
        let mut daily = vec![0i64; 30];
        for row in days {
            let day: i64 = row.get("day");
            if let Some(slot) = daily.get_mut((day - first_day) as usize) {
                *slot = row.get("revenue");
            }
        }
        let recent = self
            .list_orders(&OrderFilter::default())
            .await?
            .rows
            .into_iter()
            .take(8)
            .collect();
        let low_stock = sqlx::query(
            "SELECT v.id, v.sku, p.title, v.option1, v.option2, v.option3, v.on_hand - v.reserved AS available, \
             v.low_stock_threshold FROM variants v JOIN products p ON p.id = v.product_id \
             WHERE p.status = 'active' AND v.backorder = 'deny' AND v.on_hand - v.reserved <= v.low_stock_threshold \
             ORDER BY v.on_hand - v.reserved, v.id LIMIT 10",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| LowStock {
            variant_id: row.get("id"),
            sku: row.get("sku"),
            title: variant_title(row),
            available: row.get("available"),
            threshold: row.get("low_stock_threshold"),
        })
        .collect();
        let pending_fulfilment: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE status = 'paid' AND fulfilment IN ('unfulfilled', 'partial')",
        )
        .fetch_one(pool)
        .await?;
        Ok(Dashboard {
            periods,
            daily,
            recent,
            low_stock,
            pending_fulfilment,
        })
    }

    /// Orders newest first, filtered, a page at a time (keyset: stays fast however deep).
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<OrderList, AdminError> {
        let mut sql = String::from(
            "SELECT id, created_at, email, address_json, status, fulfilment, total_amount, currency FROM orders WHERE 1 = 1",
        );
        let mut binds: Vec<Bind> = Vec::new();
        let next = |binds: &mut Vec<Bind>, value: Bind| {
            binds.push(value);
            format!("${}", binds.len())
        };
        if !filter.status.is_empty() {
            let status = OrderStatus::parse(&filter.status).ok_or_else(|| {
                AdminError::Invalid(format!("'{}' is not an order status", filter.status))
            })?;
            let p = next(&mut binds, Bind::Text(status.as_str().into()));
            sql.push_str(&format!(" AND status = {p}"));
        }
        if !filter.from.is_empty() {
            let from = parse_date(&filter.from)?;
            let p = next(&mut binds, Bind::Int(from));
            sql.push_str(&format!(" AND created_at >= {p}"));
        }
        if !filter.to.is_empty() {
            let to = parse_date(&filter.to)? + 86_400;
            let p = next(&mut binds, Bind::Int(to));
            sql.push_str(&format!(" AND created_at < {p}"));
        }
        let q = filter.q.trim();
        let mut searching_text = false;
        if !q.is_empty() {
            if let Some(id) = order_id(q) {
                let p = next(&mut binds, Bind::Int(id));
                sql.push_str(&format!(" AND id = {p}"));
            } else {
                let pattern = format!(
                    "%{}%",
                    // LIKE's wildcards in the search are taken literally by dropping them.
                    q.to_lowercase().replace(['\\', '%', '_'], "")
                );
                let p = next(&mut binds, Bind::Text(pattern));
                sql.push_str(&format!(" AND search_text LIKE {p}"));
                searching_text = true;
            }
        }
        if !filter.cursor.is_empty() {
            let (created, id) = filter
                .cursor
                .split_once('_')
                .and_then(|(c, i)| Some((c.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
                .ok_or_else(|| AdminError::Invalid("That page link is not valid.".into()))?;
            let c = next(&mut binds, Bind::Int(created));
            let i = next(&mut binds, Bind::Int(id));
            sql.push_str(&format!(" AND (created_at, id) < ({c}, {i})"));
        }
        // A text search matches few rows anywhere in the table: reading the table in order and
        // sorting the matches beats walking the date index row by row (SQLite takes the unary
        // plus as "do not use an index for this"; to Postgres it is a no-op).
        let order = if searching_text {
            "+created_at DESC, +id DESC"
        } else {
            "created_at DESC, id DESC"
        };
        sql.push_str(&format!(" ORDER BY {order} LIMIT {}", ORDERS_PER_PAGE + 1));
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Int(v) => query.bind(v),
                Bind::Text(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(self.db().pool()).await?;
        let more = rows.len() as i64 > ORDERS_PER_PAGE;
        let rows: Vec<OrderRow> = rows
            .iter()
            .take(ORDERS_PER_PAGE as usize)
            .map(|row| {
                let address: Address =
                    serde_json::from_str(&row.get::<String, _>("address_json")).unwrap_or_default();
                let currency =
                    Currency::parse(&row.get::<String, _>("currency")).unwrap_or(Currency::EUR);
                OrderRow {
                    number: order_number(row.get("id")),
                    created_at: row.get("created_at"),
                    email: row.get("email"),
                    name: address.name,
                    status: OrderStatus::parse(&row.get::<String, _>("status"))
                        .unwrap_or(OrderStatus::PendingPayment),
                    fulfilment: row.get("fulfilment"),
                    total: Money::new(row.get("total_amount"), currency),
                }
            })
            .collect();
        let next_cursor = more.then(|| {
            let last = rows.last().expect("a full page has a last row");
            format!(
                "{}_{}",
                last.created_at,
                order_id(&last.number).unwrap_or_default()
            )
        });
        Ok(OrderList { rows, next_cursor })
    }

    pub async fn order(&self, number: &str, account: &Account) -> Result<AdminOrder, AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        let order = self
            .checkout
            .order_details_by_id(id)
            .await
            .map_err(|_| AdminError::NotFound(format!("Order {number}")))?;
        let pool = self.db().pool();
        let head =
            sqlx::query("SELECT fulfilment, refunded_amount, created_at FROM orders WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?;
        let lines = sqlx::query(
            "SELECT id, title, variant_title, sku, quantity, shipped_quantity FROM order_lines WHERE order_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            let title: String = row.get("title");
            let variant: String = row.get("variant_title");
            AdminLine {
                id: row.get("id"),
                title: if variant.is_empty() { title } else { format!("{title} ({variant})") },
                sku: row.get("sku"),
                quantity: row.get::<i64, _>("quantity") as u32,
                shipped: row.get::<i64, _>("shipped_quantity") as u32,
            }
        })
        .collect();
        let currency = order.total.currency;
        let mut timeline = vec![TimelineEvent {
            at: head.get("created_at"),
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
            let kind: String = p.get("kind");
            let status: String = p.get("status");
            let amount = Money::new(p.get("amount"), currency);
            if kind == "charge" && status == "succeeded" {
                paid += amount.amount;
            }
            let message: String = p.get("message");
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
                at: p.get("created_at"),
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
        let audit = sqlx::query(
            "SELECT actor, action, detail, created_at FROM audit_log WHERE subject = $1 ORDER BY id",
        )
        .bind(format!("order:{id}"))
        .fetch_all(pool)
        .await?;
        for entry in audit {
            let detail: String = entry.get("detail");
            timeline.push(TimelineEvent {
                at: entry.get("created_at"),
                text: format!(
                    "{} by {}{}",
                    entry.get::<String, _>("action"),
                    entry.get::<String, _>("actor"),
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
            fulfilment: head.get("fulfilment"),
            refunded: Money::new(head.get("refunded_amount"), currency),
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
        let carrier = carrier.trim().to_string();
        let tracking = tracking.trim().to_string();
        if carrier.is_empty() || carrier.len() > 100 {
            return Err(AdminError::Invalid(
                "Enter the carrier (up to 100 characters).".into(),
            ));
        }
        if tracking.is_empty() || tracking.len() > 100 {
            return Err(AdminError::Invalid(
                "Enter the tracking number (up to 100 characters).".into(),
            ));
        }
        let lines: Vec<(i64, u32)> = lines.into_iter().filter(|(_, q)| *q > 0).collect();
        if lines.is_empty() {
            return Err(AdminError::Invalid(
                "Choose at least one item to ship.".into(),
            ));
        }
        let actor = account.clone();
        let site = self.checkout.order_url("");
        self.checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<i64, AdminError>> {
                Box::pin(async move {
                    let order = sqlx::query("SELECT status, email, access_token FROM orders WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or_else(|| AdminError::NotFound(format!("Order {}", order_number(id))))?;
                    if order.get::<String, _>("status") != "paid" {
                        return Err(AdminError::Conflict("Only paid orders can be shipped.".into()));
                    }
                    let now = now_epoch();
                    let shipment: i64 = sqlx::query(
                        "INSERT INTO shipments (order_id, carrier, tracking_number, status, created_at) \
                         VALUES ($1, $2, $3, 'shipped', $4) RETURNING id",
                    )
                    .bind(id)
                    .bind(&carrier)
                    .bind(&tracking)
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await?
                    .get("id");
                    for (line, quantity) in &lines {
                        let done = sqlx::query(
                            "UPDATE order_lines SET shipped_quantity = shipped_quantity + $1 \
                             WHERE id = $2 AND order_id = $3 AND shipped_quantity + $1 <= quantity",
                        )
                        .bind(*quantity as i64)
                        .bind(*line)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                        if done.rows_affected() != 1 {
                            return Err(AdminError::Invalid(format!(
                                "Line {line} does not have {quantity} item(s) left to ship."
                            )));
                        }
                        sqlx::query(
                            "INSERT INTO shipment_lines (shipment_id, order_line_id, quantity) VALUES ($1, $2, $3)",
                        )
                        .bind(shipment)
                        .bind(*line)
                        .bind(*quantity as i64)
                        .execute(&mut *conn)
                        .await?;
                    }
                    let left: i64 = sqlx::query_scalar(
                        "SELECT CAST(COALESCE(SUM(quantity - shipped_quantity), 0) AS BIGINT) FROM order_lines WHERE order_id = $1",
                    )
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                    let fulfilment = if left == 0 { "fulfilled" } else { "partial" };
                    sqlx::query("UPDATE orders SET fulfilment = $1, updated_at = $2 WHERE id = $3")
                        .bind(fulfilment)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    let token: String = order.get("access_token");
                    let email = Email {
                        kind: "order_shipped",
                        subject: format!("Your order #{} has shipped", order_number(id)),
                        body: format!(
                            "Good news: part or all of your order #{} is on its way with {carrier}.\n\
                             Tracking number: {tracking}\n\nFollow your order at {site}{token}\n",
                            order_number(id)
                        ),
                    };
                    queue_email(conn, &order.get::<String, _>("email"), email, now).await?;
                    audit(conn, &actor, "Shipment created", id, &format!("{carrier} {tracking}")).await?;
                    Ok(shipment)
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
        self.checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE shipments SET status = 'delivered', delivered_at = $1 \
                         WHERE id = $2 AND order_id = $3 AND status = 'shipped'",
                    )
                    .bind(now_epoch())
                    .bind(shipment)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(AdminError::Conflict(
                            "That shipment is not out for delivery.".into(),
                        ));
                    }
                    audit(
                        conn,
                        &actor,
                        "Shipment delivered",
                        id,
                        &format!("shipment {shipment}"),
                    )
                    .await
                })
            })
            .await
    }

    /// Cancels an order nothing of which has shipped: a pending one releases its reservation,
    /// a paid one puts its stock back (in the ledger) and is refunded in full.
    pub async fn cancel(&self, account: &Account, number: &str) -> Result<(), AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        let row = sqlx::query("SELECT status, fulfilment, total_amount, refunded_amount, payment_ref, gateway FROM orders WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        let status: String = row.get("status");
        if status == "pending_payment" {
            if let (Some(reference), "stripe") = (
                row.get::<Option<String>, _>("payment_ref"),
                row.get::<String, _>("gateway").as_str(),
            ) {
                self.checkout
                    .gateway()
                    .cancel(&reference)
                    .await
                    .map_err(|e| AdminError::Gateway(e.to_string()))?;
            }
            self.checkout
                .settle(
                    id,
                    Settlement::Release {
                        status: OrderStatus::Cancelled,
                        reason: format!("Cancelled by {}", account.email),
                    },
                    None,
                )
                .await?;
            let actor = account.clone();
            return self
                .checkout
                .writes()
                .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                    Box::pin(async move { audit(conn, &actor, "Order cancelled", id, "").await })
                })
                .await;
        }
        if status != "paid" || row.get::<String, _>("fulfilment") != "unfulfilled" {
            return Err(AdminError::Conflict(
                "Only unfulfilled orders can be cancelled; this one has shipped or is not paid."
                    .into(),
            ));
        }
        let actor = account.clone();
        self.checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    let now = now_epoch();
                    let done = sqlx::query(
                        "UPDATE orders SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status = 'paid' AND fulfilment = 'unfulfilled'",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(AdminError::Conflict("The order changed meanwhile; reload and try again.".into()));
                    }
                    let lines = sqlx::query(
                        "SELECT variant_id, quantity - backordered_quantity AS taken FROM order_lines \
                         WHERE order_id = $1 AND variant_id IS NOT NULL ORDER BY variant_id",
                    )
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?;
                    for line in lines {
                        let taken: i64 = line.get("taken");
                        let variant: i64 = line.get("variant_id");
                        if taken <= 0 {
                            continue;
                        }
                        sqlx::query("UPDATE variants SET on_hand = on_hand + $1 WHERE id = $2")
                            .bind(taken)
                            .bind(variant)
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(
                            "INSERT INTO stock_ledger (variant_id, order_id, reason, on_hand_delta, reserved_delta, note, created_at) \
                             VALUES ($1, $2, 'cancel', $3, 0, $4, $5)",
                        )
                        .bind(variant)
                        .bind(id)
                        .bind(taken)
                        .bind(format!("cancelled by {}", actor.email))
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    }
                    audit(conn, &actor, "Order cancelled", id, "stock returned").await
                })
            })
            .await?;
        let remaining = row.get::<i64, _>("total_amount") - row.get::<i64, _>("refunded_amount");
        if remaining > 0 {
            self.refund(
                account,
                number,
                remaining,
                &random_token(),
                "order cancelled",
            )
            .await?;
        }
        Ok(())
    }

    /// Refunds part or all of what was paid, never more, once per `key`.
    pub async fn refund(
        &self,
        account: &Account,
        number: &str,
        amount: i64,
        key: &str,
        reason: &str,
    ) -> Result<(), AdminError> {
        let id = order_id(number).ok_or_else(|| AdminError::NotFound(format!("Order {number}")))?;
        if amount <= 0 {
            return Err(AdminError::Invalid("Enter an amount above zero.".into()));
        }
        let key = key.trim().to_string();
        if key.is_empty() || key.len() > 64 {
            return Err(AdminError::Invalid(
                "The refund form is out of date; reload the page.".into(),
            ));
        }
        let (reserve_key, reason_text) = (key.clone(), reason.trim().to_string());
        // 1. Reserve the amount against what was paid, in the database, before asking the gateway.
        let reserved = self
            .checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<Option<RefundTarget>, AdminError>> {
                Box::pin(async move {
                    let seen = sqlx::query("SELECT id FROM payments WHERE idempotency_key = $1")
                        .bind(&reserve_key)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if seen.is_some() {
                        return Ok(None);
                    }
                    let order = sqlx::query(
                        "UPDATE orders SET refunded_amount = refunded_amount + $1, updated_at = $2 \
                         WHERE id = $3 AND status IN ('paid', 'cancelled') AND refunded_amount + $1 <= total_amount \
                         RETURNING gateway, currency, payment_ref, total_amount - refunded_amount + $1 AS refundable",
                    )
                    .bind(amount)
                    .bind(now_epoch())
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some(order) = order else {
                        let left = sqlx::query(
                            "SELECT total_amount - refunded_amount AS refundable, currency FROM orders \
                             WHERE id = $1 AND status IN ('paid', 'cancelled')",
                        )
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?;
                        return Err(match left {
                            Some(left) => {
                                let currency = Currency::parse(&left.get::<String, _>("currency"))
                                    .unwrap_or(Currency::EUR);
                                AdminError::Invalid(format!(
                                    "You can refund at most {} on this order.",
                                    Money::new(left.get("refundable"), currency)
                                ))
                            }
                            None => AdminError::Conflict("Only paid orders can be refunded.".into()),
                        });
                    };
                    let gateway: String = order.get("gateway");
                    let currency: String = order.get("currency");
                    sqlx::query(
                        "INSERT INTO payments (order_id, gateway, kind, status, amount, currency, reference, message, created_at, idempotency_key) \
                         VALUES ($1, $2, 'refund', 'requires_action', $3, $4, '', $5, $6, $7)",
                    )
                    .bind(id)
                    .bind(&gateway)
                    .bind(amount)
                    .bind(&currency)
                    .bind(&reason_text)
                    .bind(now_epoch())
                    .bind(&reserve_key)
                    .execute(&mut *conn)
                    .await?;
                    Ok(Some((gateway, currency, order.get::<Option<String>, _>("payment_ref").unwrap_or_default())))
                })
            })
            .await?;
        let Some((gateway, currency, payment_ref)) = reserved else {
            return Ok(()); // This refund was already made (a double submit).
        };
        // 2. The gateway, with the same key: a retry never refunds twice.
        let outcome = match self.checkout.gateway() {
            Gateway::Test => Ok(format!("test_re_{}", &key[..key.len().min(16)])),
            Gateway::Stripe(stripe) => stripe.refund(&payment_ref, amount, &key).await,
        };
        // 3. Record the outcome; a failed refund gives the amount back to the refundable total.
        let actor = account.clone();
        let result = outcome
            .as_ref()
            .map(|r| r.clone())
            .map_err(|e| e.to_string());
        let amount_text =
            Money::new(amount, Currency::parse(&currency).unwrap_or(Currency::EUR)).to_string();
        let _ = gateway;
        self.checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    match &result {
                        Ok(reference) => {
                            sqlx::query("UPDATE payments SET status = 'succeeded', reference = $1 WHERE idempotency_key = $2")
                                .bind(reference)
                                .bind(&key)
                                .execute(&mut *conn)
                                .await?;
                            audit(conn, &actor, "Refunded", id, &amount_text).await
                        }
                        Err(message) => {
                            sqlx::query("UPDATE payments SET status = 'failed', message = $1 WHERE idempotency_key = $2")
                                .bind(message)
                                .bind(&key)
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("UPDATE orders SET refunded_amount = refunded_amount - $1 WHERE id = $2")
                                .bind(amount)
                                .bind(id)
                                .execute(&mut *conn)
                                .await?;
                            audit(conn, &actor, "Refund failed", id, message).await
                        }
                    }
                })
            })
            .await?;
        outcome
            .map(|_| ())
            .map_err(|e| AdminError::Gateway(e.to_string()))
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
        .map(|l| LedgerEntry {
            at: l.get("created_at"),
            reason: l.get("reason"),
            on_hand_delta: l.get("on_hand_delta"),
            reserved_delta: l.get("reserved_delta"),
            order_number: l.get::<Option<i64>, _>("order_id").map(order_number),
            note: l.get("note"),
        })
        .collect();
        Ok(VariantStock {
            id,
            sku: row.get("sku"),
            title: variant_title(&row),
            on_hand: row.get("on_hand"),
            reserved: row.get("reserved"),
            threshold: row.get("low_stock_threshold"),
            version: row.get("version"),
            history,
        })
    }

    /// Changes stock by hand, with a reason, if nobody changed it since `expected_version`.
    /// `received` and `returned` add, `damaged` and `lost` take away, `counted` sets the
    /// count, `correction` adds a signed amount.
    pub async fn adjust_stock(
        &self,
        account: &Account,
        variant: i64,
        reason: &str,
        quantity: i64,
        note: &str,
        expected_version: i64,
    ) -> Result<(), AdminError> {
        let reason = reason.to_string();
        if !matches!(
            reason.as_str(),
            "received" | "returned" | "damaged" | "lost" | "counted" | "correction"
        ) {
            return Err(AdminError::Invalid(
                "Choose a reason for the change.".into(),
            ));
        }
        if reason != "correction" && quantity < 0 {
            return Err(AdminError::Invalid(
                "Enter a quantity of zero or more.".into(),
            ));
        }
        let note = note.trim().chars().take(500).collect::<String>();
        let actor = account.clone();
        let backend = self.db().backend();
        self.checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    let lock = if backend == crate::db::Backend::Postgres { " FOR UPDATE" } else { "" };
                    let row = sqlx::query(&format!("SELECT on_hand, reserved, version FROM variants WHERE id = $1{lock}"))
                        .bind(variant)
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or_else(|| AdminError::NotFound(format!("Variant {variant}")))?;
                    let (on_hand, reserved, version): (i64, i64, i64) =
                        (row.get("on_hand"), row.get("reserved"), row.get("version"));
                    if version != expected_version {
                        return Err(AdminError::Conflict(format!(
                            "Someone changed this stock meanwhile (now {on_hand} on hand); review it and try again."
                        )));
                    }
                    let delta = match reason.as_str() {
                        "received" | "returned" => quantity,
                        "damaged" | "lost" => -quantity,
                        "counted" => quantity - on_hand,
                        _ => quantity,
                    };
                    if on_hand + delta < reserved {
                        return Err(AdminError::Invalid(format!(
                            "That would leave {} on hand, but {reserved} are reserved for orders.",
                            on_hand + delta
                        )));
                    }
                    sqlx::query("UPDATE variants SET on_hand = on_hand + $1, version = version + 1 WHERE id = $2 AND version = $3")
                        .bind(delta)
                        .bind(variant)
                        .bind(expected_version)
                        .execute(&mut *conn)
                        .await?;
                    let now = now_epoch();
                    sqlx::query(
                        "INSERT INTO stock_ledger (variant_id, order_id, reason, on_hand_delta, reserved_delta, note, created_at) \
                         VALUES ($1, NULL, $2, $3, 0, $4, $5)",
                    )
                    .bind(variant)
                    .bind(&reason)
                    .bind(delta)
                    .bind(format!("{note} ({})", actor.email).trim().to_string())
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    audit_subject(conn, &actor, "Stock adjusted", &format!("variant:{variant}"), &format!("{reason} {delta:+}")).await
                })
            })
            .await
    }

    pub async fn create_staff(
        &self,
        account: &Account,
        email: &str,
        password: &str,
        can_refund: bool,
    ) -> Result<(), AdminError> {
        auth::create_account(self.db(), email, password, super::Role::Staff, can_refund)
            .await
            .map_err(AdminError::Invalid)?;
        let actor = account.clone();
        let email = email.trim().to_ascii_lowercase();
        self.checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    audit_subject(
                        conn,
                        &actor,
                        "Staff account created",
                        &format!("account:{email}"),
                        "",
                    )
                    .await
                })
            })
            .await
    }
}

/// What the gateway needs to refund: gateway name, currency, payment reference.
type RefundTarget = (String, String, String);

enum Bind {
    Int(i64),
    Text(String),
}

fn variant_title(row: &sqlx::any::AnyRow) -> String {
    let title: String = row.get("title");
    let options: Vec<String> = ["option1", "option2", "option3"]
        .iter()
        .filter_map(|c| row.get::<Option<String>, _>(*c))
        .filter(|v| !v.is_empty())
        .collect();
    if options.is_empty() {
        title
    } else {
        format!("{title} ({})", options.join(" / "))
    }
}

/// `YYYY-MM-DD` as Unix seconds at midnight UTC.
pub fn parse_date(text: &str) -> Result<i64, AdminError> {
    let bad = || AdminError::Invalid(format!("'{text}' is not a date like 2026-11-25."));
    let mut parts = text.trim().splitn(3, '-');
    let (y, m, d) = (
        parts
            .next()
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(bad)?,
        parts
            .next()
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(bad)?,
        parts
            .next()
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(bad)?,
    );
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400)
}

async fn audit(
    conn: &mut AnyConnection,
    actor: &Account,
    action: &str,
    order: i64,
    detail: &str,
) -> Result<(), AdminError> {
    audit_subject(conn, actor, action, &format!("order:{order}"), detail).await
}

/// Records a staff action: who, what, on what, when.
pub async fn audit_subject(
    conn: &mut AnyConnection,
    actor: &Account,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), AdminError> {
    sqlx::query(
        "INSERT INTO audit_log (account_id, actor, action, subject, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(actor.id)
    .bind(actor.actor())
    .bind(action)
    .bind(subject)
    .bind(detail)
    .bind(now_epoch())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Polls for new orders and stock movements once a second while a dashboard listens, and
/// tells the listeners. Polling the database (not an in-process signal) also sees orders
/// placed through other servers on the same database.
async fn watch_changes(admin: Admin) {
    let mut last: Option<(i64, i64, i64)> = None;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        ticker.tick().await;
        if admin.events.receiver_count() == 0 {
            last = None;
            continue;
        }
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM orders) AS orders, \
                    (SELECT COALESCE(MAX(updated_at), 0) FROM orders) AS updated, \
                    (SELECT COALESCE(MAX(id), 0) FROM stock_ledger) AS stock",
        )
        .fetch_one(admin.db().pool())
        .await;
        let Ok(row) = row else { continue };
        let now = (row.get("orders"), row.get("updated"), row.get("stock"));
        if last.is_some_and(|l| l != now) {
            let _ = admin.events.send("changed");
        }
        last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(parse_date("1970-01-01").unwrap(), 0);
        assert_eq!(parse_date("2026-11-25").unwrap(), 1_795_564_800);
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("yesterday").is_err());
    }
}
