//! The dashboard's numbers, and the watcher that tells open dashboards when orders or stock
//! changed (on any server sharing the database).

use sqlx::Row;

use super::service::{variant_title, Admin};
use super::{AdminError, Dashboard, LowStock, OrderFilter, Period};
use crate::analytics::reports::{self, Scope};
use crate::analytics::DateRange;
use crate::money::Money;

impl Admin {
    pub async fn dashboard(&self, now: i64) -> Result<Dashboard, AdminError> {
        let pool = self.db().pool();
        // The same figures as the analytics reports: the shop's days, net of refunds.
        let currency = self.checkout().rules().await?.currency;
        let clock = reports::clock(self.db()).await?;
        let today = clock.today(now);
        let mut periods = Vec::new();
        for (label, days) in [("Today", 1), ("7 days", 7), ("30 days", 30)] {
            let range = DateRange {
                from: today
                    .checked_sub(jiff::Span::new().days(days - 1))
                    .unwrap_or(today),
                to: today,
            };
            let figures =
                reports::summary(self.db(), &Scope::new(range, clock.clone(), currency)).await?;
            let orders = figures.orders;
            let revenue = figures.net_revenue.amount;
            periods.push(Period {
                label: label.into(),
                revenue: Money::new(revenue, currency),
                orders,
                average: (orders > 0).then(|| Money::new(revenue / orders, currency)),
                visitors: figures.visitors,
            });
        }
        let month = DateRange {
            from: today
                .checked_sub(jiff::Span::new().days(29))
                .unwrap_or(today),
            to: today,
        };
        let daily = reports::days(self.db(), &Scope::new(month, clock, currency))
            .await?
            .into_iter()
            .map(|day| day.revenue.amount - day.refunds.amount)
            .collect();
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
