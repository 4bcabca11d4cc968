//! Newsletter campaigns: staff write an email in Markdown, preview it, send a test to
//! themselves, then send it to every confirmed subscriber.
//!
//! Sending fixes the audience (one `campaign_recipients` row per address subscribed at that
//! moment). The job runner then moves one batch a minute into the outbox (the rate is
//! `KASSA_NEWSLETTER_PER_MINUTE`), so a campaign to fifty thousand addresses neither floods the
//! mail server nor delays the shop's order emails queued meanwhile. A server takes a batch by
//! moving the campaign's `next_batch_at` on with a guarded update, so several servers send one
//! batch a minute between them, never a copy twice. Each copy carries its own signed one-click
//! unsubscribe link (RFC 8058); an address that unsubscribed after the campaign started is
//! skipped. A copy's fate, sent or failed, is its outbox row's.

use serde::{Deserialize, Serialize};

use crate::checkout::address::FieldError;

/// The longest subject: mail clients show about 60 characters anyway.
pub const MAX_SUBJECT: usize = 200;
/// The longest body, in characters of Markdown.
pub const MAX_BODY: usize = 50_000;
/// Copies a minute when `KASSA_NEWSLETTER_PER_MINUTE` is not set.
pub const DEFAULT_PER_MINUTE: i64 = 120;

/// The copies a minute for a configured rate: the default when none is set.
pub fn rate(configured: i64) -> i64 {
    if configured > 0 {
        configured
    } else {
        DEFAULT_PER_MINUTE
    }
}

/// Where a campaign stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being written: it can still change.
    Draft,
    /// Going out, a batch a minute.
    Sending,
    /// Every copy is in the outbox.
    Sent,
    /// Staff stopped it: copies not yet queued never go.
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Stopped => "stopped",
        }
    }

    pub fn parse(text: &str) -> Status {
        match text {
            "sending" => Status::Sending,
            "sent" => Status::Sent,
            "stopped" => Status::Stopped,
            _ => Status::Draft,
        }
    }
}

/// How far a campaign's copies have come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Progress {
    /// Addresses subscribed when sending began.
    pub recipients: i64,
    /// Not yet handed to the outbox.
    pub waiting: i64,
    /// In the outbox, not yet accepted by the mail server (or being retried).
    pub queued: i64,
    /// Accepted by the mail server.
    pub sent: i64,
    /// Given up on after every retry.
    pub failed: i64,
    /// Unsubscribed before their copy's turn, or left when the campaign was stopped.
    pub skipped: i64,
}

/// Checks a campaign's subject and Markdown body, naming the fields.
pub fn check(subject: &str, body: &str) -> Vec<FieldError> {
    let mut problems = Vec::new();
    let subject_length = subject.trim().chars().count();
    if subject_length == 0 || subject_length > MAX_SUBJECT {
        problems.push(FieldError::new(
            "subject",
            format!("enter 1 to {MAX_SUBJECT} characters"),
        ));
    } else if subject.contains(['\r', '\n']) {
        problems.push(FieldError::new("subject", "keep the subject on one line"));
    }
    let body_length = body.trim().chars().count();
    if body_length == 0 || body_length > MAX_BODY {
        problems.push(FieldError::new(
            "body_markdown",
            format!("enter 1 to {MAX_BODY} characters"),
        ));
    }
    problems
}

/// The plain-text copy: the Markdown as written (it reads as text) and the footer.
pub fn email_text(shop: &str, body_markdown: &str, unsubscribe_url: &str) -> String {
    format!(
        "{}\n\n-- \nYou get this email because you subscribed to {shop}'s newsletter.\n\
         Unsubscribe with one click: {unsubscribe_url}\n",
        body_markdown.trim_end()
    )
}

/// The HTML copy around the rendered body (already safe HTML): a narrow column and the
/// footer with the unsubscribe link.
pub fn email_html(shop: &str, body_html: &str, unsubscribe_url: &str) -> String {
    let shop = crate::html::escape_html(shop);
    let url = crate::html::escape_html(unsubscribe_url);
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
         <body style=\"margin:0;padding:24px;background:#f6f6f4\">\
         <div style=\"max-width:600px;margin:0 auto;padding:24px;background:#fff;\
         font:16px/1.5 system-ui,sans-serif;color:#1d1d1b\">{body_html}</div>\
         <p style=\"max-width:600px;margin:16px auto;font:13px/1.5 system-ui,sans-serif;color:#555\">\
         You get this email because you subscribed to {shop}'s newsletter. \
         <a href=\"{url}\" style=\"color:#555\">Unsubscribe</a> with one click.</p></body></html>"
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The records: the one place `campaigns` and `campaign_recipients` are written.

    use sqlx::{AnyConnection, AnyPool, Row};

    use super::{email_html, email_text, Progress, Status};
    use crate::catalog::markdown::render_markdown;
    use crate::checkout::service::Checkout;
    use crate::notifications::{self, MAX_ATTEMPTS};
    use crate::promotions::gift_card_store::CodeKey;
    use crate::promotions::reminders::ssr::unsubscribe_url;
    use crate::write_queue::JobFuture;

    /// A campaign as staff see it.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Campaign {
        pub id: i64,
        pub subject: String,
        pub body_markdown: String,
        pub status: Status,
        pub created_by: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub started_at: Option<i64>,
        pub finished_at: Option<i64>,
        pub progress: Progress,
    }

    /// Why a change was refused.
    #[derive(Debug, thiserror::Error)]
    pub enum CampaignError {
        #[error("this campaign was not found")]
        NotFound,
        #[error("this campaign is being sent or was sent; it can no longer change")]
        NotDraft,
        #[error("this campaign is not being sent")]
        NotSending,
        #[error("nobody is subscribed yet: there is no one to send it to")]
        NoSubscribers,
        #[error(transparent)]
        Database(#[from] sqlx::Error),
    }

    /// The body as safe HTML: what the preview and the email show.
    pub fn preview_html(body_markdown: &str) -> String {
        render_markdown(body_markdown)
    }

    fn from_row(row: &sqlx::any::AnyRow) -> Result<Campaign, sqlx::Error> {
        Ok(Campaign {
            id: row.try_get("id")?,
            subject: row.try_get("subject")?,
            body_markdown: row.try_get("body_markdown")?,
            status: Status::parse(&row.try_get::<String, _>("status")?),
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            progress: Progress::default(),
        })
    }

    const COLUMNS: &str = "id, subject, body_markdown, status, created_by, created_at, \
                           updated_at, started_at, finished_at";

    /// A new draft; its id.
    pub async fn create(
        conn: &mut AnyConnection,
        subject: &str,
        body_markdown: &str,
        account_id: i64,
        now: i64,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO campaigns (subject, body_markdown, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(subject.trim())
        .bind(body_markdown.trim_end())
        .bind(account_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
    }

    /// Rewrites a draft.
    pub async fn update(
        conn: &mut AnyConnection,
        id: i64,
        subject: &str,
        body_markdown: &str,
        now: i64,
    ) -> Result<(), CampaignError> {
        let done = sqlx::query(
            "UPDATE campaigns SET subject = $1, body_markdown = $2, updated_at = $3 \
             WHERE id = $4 AND status = 'draft'",
        )
        .bind(subject.trim())
        .bind(body_markdown.trim_end())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(refused(conn, id).await);
        }
        Ok(())
    }

    /// Deletes a draft (a campaign that went out stays, with its figures).
    pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<(), CampaignError> {
        let done = sqlx::query("DELETE FROM campaigns WHERE id = $1 AND status = 'draft'")
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(refused(conn, id).await);
        }
        Ok(())
    }

    /// Why a guarded change found no row: there is none, or it is past its draft.
    async fn refused(conn: &mut AnyConnection, id: i64) -> CampaignError {
        let status: Result<Option<String>, sqlx::Error> =
            sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await;
        match status {
            Ok(None) => CampaignError::NotFound,
            Ok(Some(status)) if status == "draft" => CampaignError::NotSending,
            Ok(Some(_)) => CampaignError::NotDraft,
            Err(error) => error.into(),
        }
    }

    /// Starts sending: fixes the audience (every address subscribed now) and makes the first
    /// batch due at once. Returns how many will get it.
    pub async fn start(conn: &mut AnyConnection, id: i64, now: i64) -> Result<i64, CampaignError> {
        let started = sqlx::query(
            "UPDATE campaigns SET status = 'sending', started_at = $1, next_batch_at = $1, \
             updated_at = $1 WHERE id = $2 AND status = 'draft'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if started == 0 {
            return Err(refused(conn, id).await);
        }
        let recipients = sqlx::query(
            "INSERT INTO campaign_recipients (campaign_id, email) \
             SELECT $1, email FROM newsletter_subscribers WHERE status = 'subscribed' ORDER BY id",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if recipients == 0 {
            // The caller's transaction rolls back: the campaign stays a draft.
            return Err(CampaignError::NoSubscribers);
        }
        Ok(recipients as i64)
    }

    /// Stops a campaign being sent: the copies not yet queued are skipped.
    pub async fn stop(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), CampaignError> {
        let stopped = sqlx::query(
            "UPDATE campaigns SET status = 'stopped', finished_at = $1, next_batch_at = NULL, \
             updated_at = $1 WHERE id = $2 AND status = 'sending'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if stopped == 0 {
            return Err(match refused(conn, id).await {
                CampaignError::NotDraft | CampaignError::NotSending => CampaignError::NotSending,
                other => other,
            });
        }
        sqlx::query(
            "UPDATE campaign_recipients SET status = 'skipped' \
             WHERE campaign_id = $1 AND status = 'waiting'",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Queues one copy to `to` (staff trying it out): "[Test]" before the subject, the same
    /// body, a working unsubscribe link for that address.
    pub async fn queue_test(
        conn: &mut AnyConnection,
        campaign: &Campaign,
        to: &str,
        (key, site, shop): (&CodeKey, &str, &str),
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let copy = Copy {
            subject: &format!("[Test] {}", campaign.subject),
            body_markdown: &campaign.body_markdown,
            body_html: &preview_html(&campaign.body_markdown),
        };
        queue_copy(conn, "campaign_test", to, &copy, (key, site, shop), now).await?;
        Ok(())
    }

    /// A campaign's content, rendered once for all its copies.
    struct Copy<'a> {
        subject: &'a str,
        body_markdown: &'a str,
        body_html: &'a str,
    }

    /// Queues one copy to `to`, text and HTML with its own unsubscribe link; its outbox id.
    async fn queue_copy(
        conn: &mut AnyConnection,
        kind: &'static str,
        to: &str,
        copy: &Copy<'_>,
        (key, site, shop): (&CodeKey, &str, &str),
        now: i64,
    ) -> Result<i64, sqlx::Error> {
        let unsubscribe = unsubscribe_url(site, key, to);
        notifications::queue_marketing(
            conn,
            notifications::MarketingEmail {
                kind,
                recipient: to,
                subject: copy.subject,
                text: &email_text(shop, copy.body_markdown, &unsubscribe),
                html: Some(&email_html(shop, copy.body_html, &unsubscribe)),
                unsubscribe_url: &unsubscribe,
            },
            now,
        )
        .await
    }

    /// One campaign with its figures.
    pub async fn by_id(pool: &AnyPool, id: i64) -> Result<Option<Campaign>, sqlx::Error> {
        let Some(row) = sqlx::query(&format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?
        else {
            return Ok(None);
        };
        let mut campaign = from_row(&row)?;
        campaign.progress = progress(pool, &[id])
            .await?
            .pop()
            .map(|(_, p)| p)
            .unwrap_or_default();
        Ok(Some(campaign))
    }

    /// Newest first, ids below `before`, with their figures.
    pub async fn list(
        pool: &AnyPool,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Campaign>, sqlx::Error> {
        let mut campaigns = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM campaigns WHERE id < $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<i64> = campaigns.iter().map(|c| c.id).collect();
        for (id, figures) in progress(pool, &ids).await? {
            if let Some(c) = campaigns.iter_mut().find(|c| c.id == id) {
                c.progress = figures;
            }
        }
        Ok(campaigns)
    }

    /// Each campaign's figures, from its recipients and their outbox rows.
    async fn progress(pool: &AnyPool, ids: &[i64]) -> Result<Vec<(i64, Progress)>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Numbers only: safe to write into the statement.
        let list = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let count = |condition: &str| {
            format!("CAST(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS BIGINT)")
        };
        let rows = sqlx::query(&format!(
            "SELECT r.campaign_id, CAST(COUNT(*) AS BIGINT) AS recipients, \
             {} AS waiting, {} AS skipped, {} AS sent, {} AS failed \
             FROM campaign_recipients r LEFT JOIN outbox o ON o.id = r.outbox_id \
             WHERE r.campaign_id IN ({list}) GROUP BY r.campaign_id",
            count("r.status = 'waiting'"),
            count("r.status = 'skipped'"),
            count("r.status = 'queued' AND o.sent_at IS NOT NULL"),
            count(&format!(
                "r.status = 'queued' AND o.sent_at IS NULL AND o.attempts >= {MAX_ATTEMPTS}"
            )),
        ))
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|row| {
                let recipients: i64 = row.try_get("recipients")?;
                let waiting: i64 = row.try_get("waiting")?;
                let skipped: i64 = row.try_get("skipped")?;
                let sent: i64 = row.try_get("sent")?;
                let failed: i64 = row.try_get("failed")?;
                Ok((
                    row.try_get("campaign_id")?,
                    Progress {
                        recipients,
                        waiting,
                        queued: recipients - waiting - skipped - sent - failed,
                        sent,
                        failed,
                        skipped,
                    },
                ))
            })
            .collect()
    }

    /// The job: for each campaign being sent whose batch is due at `now`, hands up to
    /// `per_minute` copies to the outbox. Returns how many copies were queued.
    pub async fn send_due(
        checkout: &Checkout,
        now: i64,
        per_minute: i64,
    ) -> Result<usize, sqlx::Error> {
        let due: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM campaigns WHERE status = 'sending' AND next_batch_at <= $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(checkout.db().pool())
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let key = checkout.gift_card_key().await?.clone();
        let site = checkout.site_url().to_string();
        let shop = checkout.rules().await?.shop_name.clone();
        let per_minute = super::rate(per_minute);
        let mut queued = 0;
        for id in due {
            let (key, site, shop) = (key.clone(), site.clone(), shop.clone());
            queued += checkout
                .writes()
                .run(move |conn| -> JobFuture<'_, Result<usize, sqlx::Error>> {
                    Box::pin(async move {
                        send_batch(conn, id, per_minute, (&key, &site, &shop), now).await
                    })
                })
                .await?;
        }
        if queued > 0 {
            notifications::wake_sender();
        }
        Ok(queued)
    }

    /// One batch of one campaign, in one transaction: claimed by moving `next_batch_at` a
    /// minute on (a second server finds it not due), copies queued, recipients marked.
    async fn send_batch(
        conn: &mut AnyConnection,
        id: i64,
        per_minute: i64,
        (key, site, shop): (&CodeKey, &str, &str),
        now: i64,
    ) -> Result<usize, sqlx::Error> {
        let Some(row) = sqlx::query(
            "UPDATE campaigns SET next_batch_at = $1 \
             WHERE id = $2 AND status = 'sending' AND next_batch_at <= $3 \
             RETURNING subject, body_markdown",
        )
        .bind(now + 60)
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(0); // Another server took this minute's batch.
        };
        let subject: String = row.try_get("subject")?;
        let body: String = row.try_get("body_markdown")?;
        let copy = Copy {
            subject: &subject,
            body_markdown: &body,
            body_html: &preview_html(&body),
        };
        let batch = sqlx::query(
            "SELECT r.id, r.email, s.status FROM campaign_recipients r \
             LEFT JOIN newsletter_subscribers s ON s.email = r.email \
             WHERE r.campaign_id = $1 AND r.status = 'waiting' ORDER BY r.id LIMIT $2",
        )
        .bind(id)
        .bind(per_minute)
        .fetch_all(&mut *conn)
        .await?;
        let mut queued = 0;
        for recipient in &batch {
            let recipient_id: i64 = recipient.try_get("id")?;
            let email: String = recipient.try_get("email")?;
            let still_subscribed =
                recipient.try_get::<Option<String>, _>("status")?.as_deref() == Some("subscribed");
            if !still_subscribed {
                sqlx::query("UPDATE campaign_recipients SET status = 'skipped' WHERE id = $1")
                    .bind(recipient_id)
                    .execute(&mut *conn)
                    .await?;
                continue;
            }
            let outbox_id =
                queue_copy(conn, "campaign", &email, &copy, (key, site, shop), now).await?;
            sqlx::query(
                "UPDATE campaign_recipients SET status = 'queued', outbox_id = $1 WHERE id = $2",
            )
            .bind(outbox_id)
            .bind(recipient_id)
            .execute(&mut *conn)
            .await?;
            queued += 1;
        }
        if (batch.len() as i64) < per_minute {
            // Nobody is left waiting: every copy is in the outbox.
            sqlx::query(
                "UPDATE campaigns SET status = 'sent', finished_at = $1, next_batch_at = NULL \
                 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_and_body_are_checked_by_field() {
        assert!(check("Spring news", "Hello **all**").is_empty());
        let fields: Vec<String> = check(" ", "").into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["subject", "body_markdown"]);
        assert_eq!(check("Two\nlines", "x")[0].field, "subject");
        assert_eq!(check(&"s".repeat(MAX_SUBJECT + 1), "x").len(), 1);
        assert_eq!(check("ok", &"b".repeat(MAX_BODY + 1)).len(), 1);
    }

    #[test]
    fn every_copy_says_why_it_came_and_how_to_stop_it() {
        let url = "https://shop.example/newsletter/unsubscribe?token=e.61.ff";
        let text = email_text("Linen & Co", "# Hello\n\nNew shirts.\n\n", url);
        assert!(
            text.starts_with("# Hello\n\nNew shirts.\n\n-- \n"),
            "{text}"
        );
        assert!(text.contains(url));
        let html = email_html("Linen & <Co>", "<p>New shirts.</p>", url);
        assert!(html.contains("<p>New shirts.</p>"));
        assert!(
            html.contains("Linen &amp; &lt;Co&gt;'s newsletter"),
            "{html}"
        );
        assert!(html.contains(&format!("href=\"{url}\"")));
    }

    #[test]
    fn statuses_read_back() {
        for status in [
            Status::Draft,
            Status::Sending,
            Status::Sent,
            Status::Stopped,
        ] {
            assert_eq!(Status::parse(status.as_str()), status);
        }
    }
}
