//! The dashboard's numbers, and the watcher that tells open dashboards when orders or stock
//! changed (on any server sharing the database).

use sqlx::Row;

use super::service::{variant_title, Admin};
use super::{AdminError, Dashboard, LowStock, OrderFilter, Period};
use crate::money::Money;

impl Admin {
    pub async fn dashboard(&self, now: i64) -> Result<Dashboard, AdminError> {
        let pool = self.db().pool();
        let currency = self.checkout().rules().await?.currency;
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
            let orders: i64 = row.try_get("orders")?;
            let revenue: i64 = row.try_get("revenue")?;
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
            let day: i64 = row.try_get("day")?;
            if let Some(slot) = daily.get_mut((day - first_day) as usize) {
                *slot = row.try_get("revenue")?;
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
        .map(|row| {
            Ok(LowStock {
                variant_id: row.try_get("id")?,
                sku: row.try_get("sku")?,
                title: variant_title(row)?,
                available: row.try_get("available")?,
                threshold: row.try_get("low_stock_threshold")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
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
}
