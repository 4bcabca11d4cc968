//! The campaign pages: write a newsletter in Markdown, see it as subscribers will, send a test
//! to yourself, send it to everyone, and follow it going out. Changes go through the admin
//! API's own functions (`rest::campaigns`); the rules and records are
//! `promotions::campaigns`'.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::pages::{failure, Flash};
use super::AdminError;
use crate::components::when_loaded;
use crate::promotions::campaigns::{Progress, MAX_BODY, MAX_SUBJECT};

/// A campaign as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRow {
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub progress: Progress,
    pub updated: String,
    pub started: String,
}

/// One campaign: its text, how it will look, and who would get it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub row: CampaignRow,
    pub body_markdown: String,
    /// Safe HTML, rendered on the server as the email's HTML part shows it.
    pub preview_html: String,
    pub subscribers: i64,
    /// Where the test copy goes: the signed-in staff member's address.
    pub test_to: String,
}

#[server(endpoint = "admin/campaigns", input = server_fn::codec::Json)]
pub async fn admin_campaigns() -> Result<Vec<CampaignRow>, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Staff).await?;
            ssr::rows(&admin).await
        }
        .await,
    )
}

#[server(endpoint = "admin/campaign", input = server_fn::codec::Json)]
pub async fn admin_campaign(id: i64) -> Result<CampaignDetail, AdminError> {
    super::with_status(
        async {
            let (admin, account) = super::require(super::Access::Staff).await?;
            ssr::detail(&admin, id, account.email).await
        }
        .await,
    )
}

/// The subject and body fields, empty for a new campaign.
#[component]
fn CampaignFields(subject: String, body: String) -> impl IntoView {
    view! {
        <label for="campaign-subject">"Subject"</label>
        <input id="campaign-subject" name="subject" required maxlength=MAX_SUBJECT.to_string() value=subject/>
        <label for="campaign-body">"Message (Markdown)"</label>
        <textarea id="campaign-body" name="body_markdown" rows="14" required maxlength=MAX_BODY.to_string()
            aria-describedby="campaign-body-hint">{body}</textarea>
        <p class="hint" id="campaign-body-hint">"**bold**, *italic*, # headings, - lists, [links](https://…). Every copy ends with a line saying why it came and a one-click unsubscribe link."</p>
    }
}

#[component]
pub fn AdminCampaignsPage() -> impl IntoView {
    view! {
        <Title text="Campaigns"/>
        <Flash/>
        <p><a href="/admin/newsletter">"← Newsletter"</a></p>
        <h1>"Campaigns"</h1>
        <p class="hint">"A campaign goes to every confirmed subscriber, a batch a minute, each copy with its own unsubscribe link."</p>
        {when_loaded(async move {
            match admin_campaigns().await {
                Ok(rows) if rows.is_empty() => view! { <p>"No campaigns yet."</p> }.into_any(),
                Ok(rows) => view! {
                    <table class="admin-table" data-testid="campaigns">
                        <thead><tr>
                            <th scope="col">"Subject"</th><th scope="col">"Status"</th><th scope="col">"Recipients"</th>
                            <th scope="col">"Sent"</th><th scope="col">"Failed"</th><th scope="col">"Started"</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| view! {
                                <tr data-testid="campaign-row">
                                    <td><a href=format!("/admin/newsletter/campaigns/{}", row.id)>{row.subject}</a></td>
                                    <td><span class=format!("badge status-{}", row.status)>{row.status.clone()}</span></td>
                                    <td>{row.progress.recipients}</td>
                                    <td>{row.progress.sent}</td>
                                    <td>{row.progress.failed}</td>
                                    <td>{row.started}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => failure(error),
            }
        })}
        <form method="post" action="/admin/newsletter/campaigns" class="admin-form" data-testid="new-campaign">
            <h2>"New campaign"</h2>
            <CampaignFields subject=String::new() body=String::new()/>
            <button type="submit" class="primary">"Save draft"</button>
        </form>
    }
}

#[component]
pub fn AdminCampaignPage() -> impl IntoView {
    let params = use_params_map();
    let id = params
        .read_untracked()
        .get("campaign")
        .and_then(|id| id.parse::<i64>().ok())
        .unwrap_or(0);
    view! {
        <Title text="Campaign"/>
        <Flash/>
        <p><a href="/admin/newsletter/campaigns">"← Campaigns"</a></p>
        {when_loaded(async move {
            match admin_campaign(id).await {
                Ok(campaign) => campaign_view(campaign).into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

fn campaign_view(campaign: CampaignDetail) -> impl IntoView {
    let CampaignDetail {
        row,
        body_markdown,
        preview_html,
        subscribers,
        test_to,
    } = campaign;
    let action = format!("/admin/newsletter/campaigns/{}", row.id);
    let draft = row.status == "draft";
    let progress = row.progress;
    view! {
        <h1>{row.subject.clone()}</h1>
        <p data-testid="campaign-status">
            <span class=format!("badge status-{}", row.status)>{row.status.clone()}</span>
            {if draft {
                format!(" · would go to {subscribers} subscribers now")
            } else {
                format!(" · started {}", row.started)
            }}
        </p>
        {(!draft).then(|| view! {
            <dl class="facts" data-testid="campaign-progress">
                <dt>"Recipients"</dt><dd>{progress.recipients}</dd>
                <dt>"Sent"</dt><dd data-testid="campaign-sent">{progress.sent}</dd>
                <dt>"In the outbox"</dt><dd>{progress.queued}</dd>
                <dt>"Waiting for their batch"</dt><dd>{progress.waiting}</dd>
                <dt>"Failed"</dt><dd data-testid="campaign-failed">{progress.failed}</dd>
                <dt>"Skipped (unsubscribed or stopped)"</dt><dd>{progress.skipped}</dd>
            </dl>
            <p><a href=action.clone()>"Refresh"</a></p>
        })}
        {(row.status == "sending").then(|| view! {
            <form method="post" action=format!("{action}/stop") class="inline">
                <button type="submit" data-confirm="Stop this campaign? Copies not yet handed to the mail server will not go.">"Stop sending"</button>
            </form>
        })}
        <h2>"Preview"</h2>
        <div class="campaign-preview" data-testid="campaign-preview" inner_html=preview_html></div>
        {draft.then(|| view! {
            <div class="actions">
                <form method="post" action=format!("{action}/test") class="inline">
                    <button type="submit">{format!("Send a test to {test_to}")}</button>
                </form>
                <form method="post" action=format!("{action}/send") class="inline">
                    <button type="submit" class="primary"
                        data-confirm=format!("Send this campaign to {subscribers} subscribers? It cannot be taken back.")>
                        {format!("Send to {subscribers} subscribers")}
                    </button>
                </form>
            </div>
            <form method="post" action=action.clone() class="admin-form" data-testid="edit-campaign">
                <h2>"Edit"</h2>
                <CampaignFields subject=row.subject.clone() body=body_markdown.clone()/>
                <button type="submit" class="primary">"Save draft"</button>
            </form>
            <form method="post" action=format!("{action}/delete") class="inline">
                <button type="submit" data-confirm="Delete this draft?">"Delete draft"</button>
            </form>
        })}
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use axum::extract::rejection::FormRejection;
    use axum::extract::{Form, Path, State};
    use axum::http::HeaderMap;
    use axum::response::Response;
    use serde::Deserialize;

    use super::{CampaignDetail, CampaignRow};
    use crate::admin::listed::ListedRouter;
    use crate::admin::respond::{form_error, outcome};
    use crate::admin::rest::campaigns::{self as api, CampaignIn};
    use crate::admin::service::Admin;
    use crate::admin::{Access, AdminError};
    use crate::promotions::campaigns::ssr::{self as store, Campaign};
    use crate::time::format_time;

    pub fn listed_routes<S>() -> ListedRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        ListedRouter::default()
            .post("/admin/newsletter/campaigns", create_form)
            .post("/admin/newsletter/campaigns/{campaign}", update_form)
            .post("/admin/newsletter/campaigns/{campaign}/test", test_form)
            .post("/admin/newsletter/campaigns/{campaign}/send", send_form)
            .post("/admin/newsletter/campaigns/{campaign}/stop", stop_form)
            .post("/admin/newsletter/campaigns/{campaign}/delete", delete_form)
    }

    pub fn routes<S>() -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        listed_routes().into_router()
    }

    fn row(campaign: &Campaign) -> CampaignRow {
        CampaignRow {
            id: campaign.id,
            subject: campaign.subject.clone(),
            status: campaign.status.as_str().to_string(),
            progress: campaign.progress,
            updated: format_time(campaign.updated_at),
            started: campaign.started_at.map(format_time).unwrap_or_default(),
        }
    }

    pub async fn rows(admin: &Admin) -> Result<Vec<CampaignRow>, AdminError> {
        Ok(store::list(admin.checkout().db().pool(), None, 200)
            .await?
            .iter()
            .map(row)
            .collect())
    }

    pub async fn detail(
        admin: &Admin,
        id: i64,
        test_to: String,
    ) -> Result<CampaignDetail, AdminError> {
        let pool = admin.checkout().db().pool();
        let campaign = store::by_id(pool, id)
            .await?
            .ok_or_else(|| AdminError::NotFound("This campaign".into()))?;
        let subscribers: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM newsletter_subscribers WHERE status = 'subscribed'",
        )
        .fetch_one(pool)
        .await?;
        Ok(CampaignDetail {
            row: row(&campaign),
            preview_html: store::preview_html(&campaign.body_markdown),
            body_markdown: campaign.body_markdown,
            subscribers,
            test_to,
        })
    }

    #[derive(Deserialize)]
    pub struct CampaignForm {
        #[serde(default)]
        subject: String,
        #[serde(default)]
        body_markdown: String,
    }

    fn page(id: i64) -> String {
        format!("/admin/newsletter/campaigns/{id}")
    }

    async fn create_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        form: Result<Form<CampaignForm>, FormRejection>,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Staff).await?;
            let Form(form) = form.map_err(form_error)?;
            let input = CampaignIn {
                subject: form.subject,
                body_markdown: form.body_markdown,
            };
            api::create(&admin, &account, input)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))
        }
        .await;
        match result {
            Ok(id) => outcome(&headers, &page(id), Ok("Draft saved.".into())),
            Err(error) => outcome(&headers, "/admin/newsletter/campaigns", Err(error)),
        }
    }

    async fn update_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
        form: Result<Form<CampaignForm>, FormRejection>,
    ) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let result = async {
            let account = admin.authorize(&headers, Access::Staff).await?;
            let Form(form) = form.map_err(form_error)?;
            api::update(&admin, &account, id, form.subject, form.body_markdown)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok("Draft saved.".to_string())
        }
        .await;
        outcome(&headers, &page(id), result)
    }

    /// What a campaign page's buttons ask for.
    enum Action {
        Test,
        Send,
        Stop,
    }

    async fn act(admin: Admin, headers: HeaderMap, id: String, action: Action) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let result = async {
            let account = admin.authorize(&headers, Access::Staff).await?;
            let rate = crate::promotions::campaigns::rate(admin.checkout().newsletter_per_minute());
            match action {
                Action::Test => api::send_test(&admin, &account, id)
                    .await
                    .map(|()| format!("A test copy is on its way to {}.", account.email)),
                Action::Send => api::send(&admin, &account, id)
                    .await
                    .map(|n| format!("Sending to {n} subscribers, {rate} a minute.")),
                Action::Stop => api::stop(&admin, &account, id)
                    .await
                    .map(|()| "Stopped: the copies not yet queued will not go.".to_string()),
            }
            .map_err(|e| AdminError::Invalid(e.said()))
        }
        .await;
        outcome(&headers, &page(id), result)
    }

    async fn test_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        act(admin, headers, id, Action::Test).await
    }

    async fn send_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        act(admin, headers, id, Action::Send).await
    }

    async fn stop_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        act(admin, headers, id, Action::Stop).await
    }

    async fn delete_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let result = async {
            let account = admin.authorize(&headers, Access::Staff).await?;
            api::delete(&admin, &account, id)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))
        }
        .await;
        match result {
            Ok(()) => outcome(
                &headers,
                "/admin/newsletter/campaigns",
                Ok("Draft deleted.".into()),
            ),
            Err(error) => outcome(&headers, &page(id), Err(error)),
        }
    }
}
