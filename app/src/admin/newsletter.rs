//! The subscribers page: who signed up for the newsletter, where, and whether they confirmed
//! or left; and the same as CSV. (Sign-ups are `promotions::newsletter`'s.)

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use super::pages::{failure, Flash};
use super::{format_time, AdminError};
use crate::components::when_loaded;

/// The most subscribers the page lists; the CSV has them all.
pub const SHOWN: i64 = 500;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberRow {
    pub email: String,
    pub status: String,
    pub source: String,
    pub asked_at: i64,
    pub confirmed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribers {
    pub rows: Vec<SubscriberRow>,
    pub subscribed: i64,
    pub pending: i64,
    pub unsubscribed: i64,
}

#[server(endpoint = "admin/subscribers", input = server_fn::codec::Json)]
pub async fn admin_subscribers() -> Result<Subscribers, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Staff).await?;
            ssr::subscribers(admin.checkout().db().pool(), SHOWN).await
        }
        .await,
    )
}

#[component]
pub fn AdminNewsletterPage() -> impl IntoView {
    view! {
        <Title text="Newsletter"/>
        <Flash/>
        <div class="admin-heading">
            <h1>"Newsletter"</h1>
            <div class="actions">
                <a class="button" href="/admin/newsletter/campaigns">"Campaigns"</a>
                <a class="button" href="/admin/newsletter.csv" download>"Export CSV"</a>
            </div>
        </div>
        <p class="hint">"Sign-ups from the shop's footer and the box at checkout. An address counts once its owner used the link in the confirmation email (double opt-in); each kept record says when, where and what they agreed to."</p>
        {when_loaded(async move {
            match admin_subscribers().await {
                Ok(list) => view! {
                    <p data-testid="subscriber-counts">{format!(
                        "{} subscribed · {} waiting for confirmation · {} unsubscribed",
                        list.subscribed, list.pending, list.unsubscribed
                    )}</p>
                    <table class="admin-table" data-testid="subscribers">
                        <thead><tr>
                            <th scope="col">"Email"</th><th scope="col">"Status"</th><th scope="col">"Where"</th>
                            <th scope="col">"Asked"</th><th scope="col">"Confirmed"</th><th scope="col">"Unsubscribed"</th>
                        </tr></thead>
                        <tbody>
                            {list.rows.into_iter().map(|r| view! {
                                <tr>
                                    <td>{r.email}</td><td>{r.status}</td><td>{r.source}</td>
                                    <td>{format_time(r.asked_at)}</td>
                                    <td>{r.confirmed_at.map(format_time).unwrap_or_default()}</td>
                                    <td>{r.unsubscribed_at.map(format_time).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use sqlx::{AnyPool, Row};

    use super::{SubscriberRow, Subscribers};
    use crate::admin::listed::ListedRouter;
    use crate::admin::service::Admin;
    use crate::admin::{Access, AdminError};
    use crate::time::rfc3339;

    pub fn listed_routes<S>() -> ListedRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        ListedRouter::default().get("/admin/newsletter.csv", export)
    }

    pub fn routes<S>() -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        listed_routes().into_router()
    }

    pub async fn subscribers(pool: &AnyPool, limit: i64) -> Result<Subscribers, AdminError> {
        let rows = sqlx::query(
            "SELECT email, status, source, asked_at, confirmed_at, unsubscribed_at \
             FROM newsletter_subscribers ORDER BY asked_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(SubscriberRow {
                email: r.try_get("email")?,
                status: r.try_get("status")?,
                source: r.try_get("source")?,
                asked_at: r.try_get("asked_at")?,
                confirmed_at: r.try_get("confirmed_at")?,
                unsubscribed_at: r.try_get("unsubscribed_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let count = |status: &'static str| async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM newsletter_subscribers WHERE status = $1",
            )
            .bind(status)
            .fetch_one(pool)
            .await
        };
        Ok(Subscribers {
            rows,
            subscribed: count("subscribed").await?,
            pending: count("pending").await?,
            unsubscribed: count("unsubscribed").await?,
        })
    }

    async fn export(State(admin): State<Admin>, headers: HeaderMap) -> Response {
        let result = async {
            admin.authorize(&headers, Access::Staff).await?;
            let list = subscribers(admin.checkout().db().pool(), i64::MAX).await?;
            let mut csv = csv::Writer::from_writer(Vec::new());
            let time = |t: Option<i64>| t.map(rfc3339).unwrap_or_default();
            csv.write_record([
                "email",
                "status",
                "source",
                "asked_at",
                "confirmed_at",
                "unsubscribed_at",
            ])
            .map_err(|_| AdminError::Internal)?;
            for r in &list.rows {
                csv.write_record([
                    r.email.as_str(),
                    &r.status,
                    &r.source,
                    &rfc3339(r.asked_at),
                    &time(r.confirmed_at),
                    &time(r.unsubscribed_at),
                ])
                .map_err(|_| AdminError::Internal)?;
            }
            csv.into_inner().map_err(|_| AdminError::Internal)
        }
        .await;
        match result {
            Ok(bytes) => crate::admin::respond::csv_download(bytes, "subscribers.csv"),
            Err(error) => error.into_response(),
        }
    }
}
