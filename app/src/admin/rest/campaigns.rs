//! Newsletter campaigns: write (a draft in Markdown), preview, send a test to yourself, send to
//! every subscriber, stop; each with its figures (sent, failed, skipped).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    audited, body, id_page, path_id, rfc3339, ApiError, Audited, Caller, ErrorBody, Problems,
};
use crate::admin::auth::Account;
use crate::admin::service::Admin;
use crate::admin::Access;
use crate::db::now_epoch;
use crate::promotions::campaigns::ssr::{self as store, Campaign, CampaignError};
use crate::promotions::campaigns::{check, Progress};

/// A new campaign: a draft until it is sent.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignIn {
    /// One line, at most 200 characters.
    pub subject: String,
    /// Markdown (raw HTML is dropped; links only http(s) and mailto). The footer with the
    /// unsubscribe link is added to every copy.
    pub body_markdown: String,
}

/// Changes to a draft; absent or `null` fields stay.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body_markdown: Option<String>,
}

/// A campaign as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct CampaignOut {
    id: i64,
    subject: String,
    body_markdown: String,
    /// The body as the email's HTML shows it (one campaign only).
    #[serde(skip_serializing_if = "Option::is_none")]
    preview_html: Option<String>,
    /// `draft`, `sending`, `sent` or `stopped`.
    status: &'static str,
    progress: Progress,
    created_at: String,
    updated_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CampaignList {
    items: Vec<CampaignOut>,
    next_cursor: Option<String>,
}

impl From<CampaignError> for ApiError {
    fn from(error: CampaignError) -> ApiError {
        match error {
            CampaignError::NotFound => ApiError::not_found("This campaign"),
            CampaignError::NotDraft | CampaignError::NotSending => {
                ApiError::new(StatusCode::CONFLICT, error.to_string())
            }
            CampaignError::NoSubscribers => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Nobody is subscribed to the newsletter yet: there is no one to send it to.",
            ),
            CampaignError::Database(error) => error.into(),
        }
    }
}

fn out(campaign: Campaign, with_preview: bool) -> CampaignOut {
    CampaignOut {
        id: campaign.id,
        preview_html: with_preview.then(|| store::preview_html(&campaign.body_markdown)),
        subject: campaign.subject,
        body_markdown: campaign.body_markdown,
        status: campaign.status.as_str(),
        progress: campaign.progress,
        created_at: rfc3339(campaign.created_at),
        updated_at: rfc3339(campaign.updated_at),
        started_at: campaign.started_at.map(rfc3339),
        finished_at: campaign.finished_at.map(rfc3339),
    }
}

fn checked(subject: &str, body_markdown: &str) -> Result<(), ApiError> {
    Problems(check(subject, body_markdown)).finish()
}

/// One campaign, or 404.
pub(crate) async fn one(admin: &Admin, id: i64) -> Result<Campaign, ApiError> {
    store::by_id(admin.checkout().db().pool(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("This campaign"))
}

/// Writes a new draft; its id.
pub(crate) async fn create(
    admin: &Admin,
    account: &Account,
    input: CampaignIn,
) -> Result<i64, ApiError> {
    checked(&input.subject, &input.body_markdown)?;
    let account_id = account.id;
    audited(admin, account, "Campaign written", move |conn| {
        Box::pin(async move {
            let id = store::create(
                conn,
                &input.subject,
                &input.body_markdown,
                account_id,
                now_epoch(),
            )
            .await?;
            Ok(Audited {
                value: id,
                subject: format!("campaign:{id}"),
                detail: input.subject.trim().to_string(),
            })
        })
    })
    .await
}

/// Rewrites draft `id`.
pub(crate) async fn update(
    admin: &Admin,
    account: &Account,
    id: i64,
    subject: String,
    body_markdown: String,
) -> Result<(), ApiError> {
    checked(&subject, &body_markdown)?;
    audited(admin, account, "Campaign edited", move |conn| {
        Box::pin(async move {
            store::update(conn, id, &subject, &body_markdown, now_epoch()).await?;
            Ok(Audited {
                value: (),
                subject: format!("campaign:{id}"),
                detail: subject.trim().to_string(),
            })
        })
    })
    .await
}

/// Queues a copy of campaign `id` to the staff member's own address.
pub(crate) async fn send_test(admin: &Admin, account: &Account, id: i64) -> Result<(), ApiError> {
    let campaign = one(admin, id).await?;
    let key = admin.checkout().gift_card_key().await?.clone();
    let site = admin.checkout().site_url().to_string();
    let shop = admin.checkout().rules().await?.shop_name.clone();
    let to = account.email.clone();
    audited(admin, account, "Campaign test sent", move |conn| {
        Box::pin(async move {
            store::queue_test(conn, &campaign, &to, (&key, &site, &shop), now_epoch()).await?;
            Ok(Audited {
                value: (),
                subject: format!("campaign:{id}"),
                detail: to,
            })
        })
    })
    .await?;
    crate::notifications::wake_sender();
    Ok(())
}

/// Starts sending campaign `id` to every subscriber, and queues the first batch at once.
/// Returns how many will get it.
pub(crate) async fn send(admin: &Admin, account: &Account, id: i64) -> Result<i64, ApiError> {
    let recipients = audited(admin, account, "Campaign sent", move |conn| {
        Box::pin(async move {
            let recipients = store::start(conn, id, now_epoch()).await?;
            Ok(Audited {
                value: recipients,
                subject: format!("campaign:{id}"),
                detail: format!("{recipients} subscribers"),
            })
        })
    })
    .await?;
    let checkout = admin.checkout();
    store::send_due(checkout, now_epoch(), checkout.newsletter_per_minute()).await?;
    Ok(recipients)
}

/// Stops campaign `id`: copies not yet queued are skipped.
pub(crate) async fn stop(admin: &Admin, account: &Account, id: i64) -> Result<(), ApiError> {
    audited(admin, account, "Campaign stopped", move |conn| {
        Box::pin(async move {
            store::stop(conn, id, now_epoch()).await?;
            Ok(Audited {
                value: (),
                subject: format!("campaign:{id}"),
                detail: String::new(),
            })
        })
    })
    .await
}

/// Deletes draft `id`.
pub(crate) async fn delete(admin: &Admin, account: &Account, id: i64) -> Result<(), ApiError> {
    audited(admin, account, "Campaign deleted", move |conn| {
        Box::pin(async move {
            store::delete(conn, id).await?;
            Ok(Audited {
                value: (),
                subject: format!("campaign:{id}"),
                detail: String::new(),
            })
        })
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/admin/campaigns", tag = "admin", security(("bearer" = [])),
    params(
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor."),
        ("limit" = Option<i64>, Query, description = "1 to 200; 50 by default."),
    ),
    responses((status = 200, body = CampaignList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_campaigns(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let (before, limit) = id_page(raw.as_deref())?;
    let mut campaigns = store::list(admin.checkout().db().pool(), before, limit + 1).await?;
    let more = campaigns.len() as i64 > limit;
    campaigns.truncate(limit as usize);
    Ok(Json(CampaignList {
        next_cursor: more
            .then(|| campaigns.last().map(|c| c.id.to_string()))
            .flatten(),
        items: campaigns.into_iter().map(|c| out(c, false)).collect(),
    })
    .into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/campaigns", tag = "admin", security(("bearer" = [])),
    request_body = CampaignIn,
    responses((status = 201, body = CampaignOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_campaign(
    State(admin): State<Admin>,
    caller: Caller,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: CampaignIn = body(request)?;
    let id = create(&admin, &account, input).await?;
    Ok((StatusCode::CREATED, Json(out(one(&admin, id).await?, true))).into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/campaigns/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The campaign's id.")),
    responses((status = 200, body = CampaignOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_campaign(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let id = path_id(&id, "Campaign")?;
    Ok(Json(out(one(&admin, id).await?, true)).into_response())
}

#[utoipa::path(method(patch, post), path = "/api/v1/admin/campaigns/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The campaign's id.")),
    request_body = CampaignPatch,
    responses((status = 200, body = CampaignOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Sent already", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn update_campaign(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&id, "Campaign")?;
    let patch: CampaignPatch = body(request)?;
    let current = one(&admin, id).await?;
    update(
        &admin,
        &account,
        id,
        patch.subject.unwrap_or(current.subject),
        patch.body_markdown.unwrap_or(current.body_markdown),
    )
    .await?;
    Ok(Json(out(one(&admin, id).await?, true)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/admin/campaigns/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The campaign's id.")),
    responses((status = 204, description = "The draft is gone"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Sent already: it stays, with its figures", body = ErrorBody)))]
pub(super) async fn delete_campaign(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&id, "Campaign")?;
    delete(&admin, &account, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/test", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The campaign's id.")),
    responses((status = 202, description = "A copy marked [Test] is on its way to the caller's own address", body = CampaignOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn test_campaign(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&id, "Campaign")?;
    send_test(&admin, &account, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(out(one(&admin, id).await?, true)),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/send", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The campaign's id.")),
    responses((status = 202, description = "Sending: a batch a minute to every address subscribed now", body = CampaignOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Sent already", body = ErrorBody), (status = 422, description = "Nobody is subscribed", body = ErrorBody)))]
pub(super) async fn send_campaign(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&id, "Campaign")?;
    send(&admin, &account, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(out(one(&admin, id).await?, true)),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/stop", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The campaign's id.")),
    responses((status = 200, body = CampaignOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Not being sent", body = ErrorBody)))]
pub(super) async fn stop_campaign(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&id, "Campaign")?;
    stop(&admin, &account, id).await?;
    Ok(Json(out(one(&admin, id).await?, true)).into_response())
}
