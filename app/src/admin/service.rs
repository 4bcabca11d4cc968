//! The admin on the server: who may do what, and the staff actions, each in the file of what
//! it manages (`dashboard`, `orders`, `stock`; the catalog in `catalog`). Each action writes its
//! change and its audit entry in one transaction through the shop's writer; a refund is three
//! (the amount reserved, the gateway asked outside any transaction, the outcome recorded with
//! its audit entry), so a slow gateway never holds the write lock.

use std::time::Duration;

use sqlx::{AnyConnection, Row};
use tokio::sync::broadcast;

use super::auth::{self, Account};
use super::{Access, AdminError};
use crate::checkout::service::Checkout;
use crate::db::now_epoch;
use crate::write_queue::JobFuture;

#[derive(Clone, Debug)]
pub struct Admin {
    checkout: Checkout,
    import_jobs: super::ImportJobs,
    events: broadcast::Sender<&'static str>,
    secure_cookies: bool,
}

/// What a new staff member may do beyond the staff's common work.
#[derive(Clone, Copy, Debug, Default)]
pub struct StaffPermissions {
    pub refund: bool,
    pub privacy: bool,
    pub support: bool,
    pub analytics: bool,
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

    pub fn import_jobs(&self) -> &super::ImportJobs {
        &self.import_jobs
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    pub fn subscribe(&self) -> broadcast::Receiver<&'static str> {
        self.events.subscribe()
    }

    /// How many open dashboards listen for changes.
    pub(super) fn listeners(&self) -> usize {
        self.events.receiver_count()
    }

    pub(super) fn tell_listeners(&self, event: &'static str) {
        // Nobody listening is fine: dashboards come and go.
        let _ = self.events.send(event);
    }

    pub(super) fn db(&self) -> &crate::db::Db {
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
            Access::Privacy => account.may_handle_privacy(),
            Access::Support => account.may_support(),
            Access::Analytics => account.may_read_analytics(),
            Access::Owner => account.role == super::Role::Owner,
        };
        if !allowed {
            return Err(AdminError::Forbidden);
        }
        if account.must_set_up_2fa {
            return Err(AdminError::SetUpTwoFactor);
        }
        Ok(account)
    }

    /// The signed-in staff member, even one who must still set up two-factor (the Security
    /// page, where they do).
    pub async fn authorize_for_setup(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Account, AdminError> {
        let token = auth::token_from_cookies(headers).ok_or(AdminError::Unauthorized)?;
        let account = auth::session_account(self.db(), &token, now_epoch())
            .await?
            .ok_or(AdminError::Unauthorized)?;
        if account.is_staff() {
            Ok(account)
        } else {
            Err(AdminError::Forbidden)
        }
    }

    pub async fn create_staff(
        &self,
        account: &Account,
        email: &str,
        password: &str,
        may: StaffPermissions,
    ) -> Result<(), AdminError> {
        let StaffPermissions {
            refund: can_refund,
            privacy: can_privacy,
            support: can_support,
            analytics: can_analytics,
        } = may;
        auth::create_account_with(
            self.db(),
            email,
            password,
            super::Role::Staff,
            can_refund,
            can_privacy,
        )
        .await
        .map_err(AdminError::Invalid)?;
        let actor = account.clone();
        let email = email.trim().to_ascii_lowercase();
        self.checkout
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE accounts SET can_support = $1, can_analytics = $2 WHERE email = $3",
                    )
                    .bind(i64::from(can_support))
                    .bind(i64::from(can_analytics))
                    .bind(&email)
                    .execute(&mut *conn)
                    .await?;
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

pub(super) fn variant_title(row: &sqlx::any::AnyRow) -> Result<String, sqlx::Error> {
    let title: String = row.try_get("title")?;
    let mut options = Vec::with_capacity(3);
    for column in ["option1", "option2", "option3"] {
        if let Some(value) = row.try_get::<Option<String>, _>(column)? {
            if !value.is_empty() {
                options.push(value);
            }
        }
    }
    Ok(crate::orders::record::line_title(
        title,
        &options.join(" / "),
    ))
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

pub(super) async fn audit(
    conn: &mut AnyConnection,
    actor: &Account,
    action: &str,
    order: i64,
    detail: &str,
) -> Result<(), AdminError> {
    audit_subject(conn, actor, action, &format!("order:{order}"), detail).await
}

/// What a staff change did, for its audit entry: the change's own result, and the entry's
/// subject (`product:12`) and detail.
pub struct Audited<T> {
    pub value: T,
    pub subject: String,
    pub detail: String,
}

/// A staff change and its audit entry: one job of the shop's writer, so the entry is written
/// exactly when the change is, and an `Err` from `job` undoes both. Generic over the error so
/// the pages (`AdminError`) and the JSON API (its `ApiError`) share it; each has a front that
/// fixes the error type (`catalog::audited_write`, `rest::audited`).
pub async fn audited_write<T, E, F>(
    admin: &Admin,
    account: &Account,
    action: &'static str,
    job: F,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<AdminError> + From<sqlx::Error> + Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> JobFuture<'c, Result<Audited<T>, E>>
        + Send
        + 'static,
{
    let actor = account.clone();
    admin
        .checkout()
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<T, E>> {
            Box::pin(async move {
                let done = job(&mut *conn).await?;
                audit_subject(conn, &actor, action, &done.subject, &done.detail).await?;
                Ok(done.value)
            })
        })
        .await
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

/// Polls for new orders, stock movements and support messages once a second while a dashboard listens, and
/// tells the listeners. Polling the database (not an in-process signal) also sees orders
/// placed through other servers on the same database.
///
/// The last figures are kept while nobody listens: a page that subscribes right after a change
/// (made between the previous poll and its first one) still hears of it, rather than the change
/// becoming the new starting point unannounced.
async fn watch_changes(admin: Admin) {
    let mut last: Option<(i64, i64, i64, i64)> = None;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        ticker.tick().await;
        if admin.listeners() == 0 {
            continue;
        }
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM orders) AS orders, \
                    (SELECT COALESCE(MAX(updated_at), 0) FROM orders) AS updated, \
                    (SELECT COALESCE(MAX(id), 0) FROM stock_ledger) AS stock, \
                    (SELECT COALESCE(MAX(id), 0) FROM support_messages) AS messages",
        )
        .fetch_one(admin.db().pool())
        .await;
        let now = row.and_then(|row| {
            Ok::<_, sqlx::Error>((
                row.try_get::<i64, _>("orders")?,
                row.try_get::<i64, _>("updated")?,
                row.try_get::<i64, _>("stock")?,
                row.try_get::<i64, _>("messages")?,
            ))
        });
        let Ok(now) = now else { continue };
        if last.is_some_and(|l| l != now) {
            admin.tell_listeners("changed");
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

/// A part of a product that has its own forms in the product's editor.
#[derive(Clone, Copy)]
pub enum ProductPart {
    Variant,
    Picture,
}

/// The product a variant or picture belongs to, and the editor its forms return to (the
/// product list when it is gone).
pub async fn editor_of(admin: &Admin, part: ProductPart, id: i64) -> (Option<i64>, String) {
    let sql = match part {
        ProductPart::Variant => "SELECT product_id FROM variants WHERE id = $1",
        ProductPart::Picture => "SELECT product_id FROM product_images WHERE id = $1",
    };
    let product: Option<i64> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(admin.db().pool())
        .await
        .ok()
        .flatten();
    let to = product.map_or_else(
        || "/admin/products".to_string(),
        |p| format!("/admin/products/{p}"),
    );
    (product, to)
}
