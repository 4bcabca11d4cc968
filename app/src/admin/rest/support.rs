//! The support inbox for integrations and the admin's pages: list and search conversations,
//! read one with its internal notes, reply (emailed to the shopper with the private link) or
//! note, assign, close and reopen. Every change is in the audit log.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{audited, body, path_id, query_pairs, rfc3339, ApiError, Audited, Caller, ErrorBody};
use crate::admin::auth::Account;
use crate::admin::service::Admin;
use crate::admin::Access;
use crate::db::now_epoch;
use crate::orders::order_number;
use crate::support::store::{self, Conversation, Filter, Message};
use crate::support::{check_message, Author, Status};

/// Conversations per page, by default and at most.
const PER_PAGE: i64 = 50;
const MAX_PER_PAGE: i64 = 200;

/// A conversation as the API lists it.
#[derive(Serialize, ToSchema)]
pub struct ConversationOut {
    id: i64,
    /// The private token of the shopper's page (`/support/{token}`).
    token: String,
    email: String,
    name: String,
    status: Status,
    order_number: Option<String>,
    /// The staff member it is assigned to, by email.
    assigned_to: Option<String>,
    created_at: String,
    last_message_at: String,
    /// The newest message's first words.
    preview: String,
    /// Every message, notes too, oldest first (one conversation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<MessageOut>>,
}

/// One message as staff see it.
#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    id: i64,
    /// `shopper`, `staff` or `note` (internal: never shown to the shopper).
    from: Author,
    /// Who of the staff wrote it.
    staff: Option<String>,
    body: String,
    /// A picture sent with it (`/media/…`).
    picture: Option<String>,
    at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationList {
    items: Vec<ConversationOut>,
    next_cursor: Option<String>,
}

/// A reply to the shopper, or an internal note.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffMessageIn {
    pub body: String,
    /// An internal note: kept for staff, never shown or emailed to the shopper.
    #[serde(default)]
    pub internal: Option<bool>,
}

/// Who a conversation is assigned to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// A staff member's email; `null` or absent: nobody.
    #[serde(default)]
    pub email: Option<String>,
}

pub(crate) fn out(
    key: &crate::promotions::gift_card_store::CodeKey,
    c: Conversation,
    messages: Option<Vec<Message>>,
) -> ConversationOut {
    ConversationOut {
        token: store::token_for(key, c.id),
        id: c.id,
        email: c.email,
        name: c.name,
        status: c.status,
        order_number: c.order_id.map(order_number),
        assigned_to: c.assignee,
        created_at: rfc3339(c.created_at),
        last_message_at: rfc3339(c.last_message_at),
        preview: c.preview,
        messages: messages.map(|messages| {
            messages
                .into_iter()
                .map(|m| MessageOut {
                    id: m.id,
                    from: m.author,
                    staff: m.staff_email,
                    body: m.body,
                    picture: m.picture,
                    at: rfc3339(m.created_at),
                })
                .collect()
        }),
    }
}

/// One conversation with its messages, or 404.
pub(crate) async fn one(admin: &Admin, id: i64) -> Result<ConversationOut, ApiError> {
    let pool = admin.checkout().db().pool();
    let conversation = store::by_id(pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("This conversation"))?;
    let messages = store::messages(pool, id, true).await?;
    let key = admin.checkout().gift_card_key().await?;
    Ok(out(key, conversation, Some(messages)))
}

/// Staff's reply (emailed to the shopper with the private link) or internal note.
pub(crate) async fn write(
    admin: &Admin,
    account: &Account,
    id: i64,
    body: &str,
    internal: bool,
    picture: Option<String>,
) -> Result<(), ApiError> {
    let body = check_message("body", body).map_err(|e| ApiError::field(e.field, e.message))?;
    let pool = admin.checkout().db().pool();
    let conversation = store::by_id(pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("This conversation"))?;
    let key = admin.checkout().gift_card_key().await?.clone();
    let link = format!(
        "{}/support/{}",
        admin.checkout().site_url(),
        store::token_for(&key, id)
    );
    let shop = admin.checkout().rules().await?.shop_name.clone();
    let (author, action) = if internal {
        (Author::Note, "Support note added")
    } else {
        (Author::Staff, "Support reply sent")
    };
    let staff_id = account.id;
    audited(admin, account, action, move |conn| {
        Box::pin(async move {
            let now = now_epoch();
            store::add(
                conn,
                id,
                author,
                Some(staff_id),
                &body,
                picture.as_deref(),
                now,
            )
            .await?
            .ok_or_else(|| ApiError::not_found("This conversation"))?;
            if author == Author::Staff {
                let email = crate::notifications::support_reply(&shop, &body, &link);
                crate::notifications::queue(conn, &conversation.email, email, now).await?;
            }
            Ok(Audited {
                value: (),
                subject: format!("support:{id}"),
                detail: String::new(),
            })
        })
    })
    .await?;
    if !internal {
        crate::notifications::wake_sender();
    }
    Ok(())
}

/// Closes or reopens conversation `id`.
pub(crate) async fn set_status(
    admin: &Admin,
    account: &Account,
    id: i64,
    status: Status,
) -> Result<(), ApiError> {
    let action = if status == Status::Closed {
        "Support conversation closed"
    } else {
        "Support conversation reopened"
    };
    audited(admin, account, action, move |conn| {
        Box::pin(async move {
            if !store::set_status(conn, id, status).await? {
                return Err(ApiError::not_found("This conversation"));
            }
            Ok(Audited {
                value: (),
                subject: format!("support:{id}"),
                detail: String::new(),
            })
        })
    })
    .await
}

/// Assigns conversation `id` to the staff member with `email` (empty: nobody).
pub(crate) async fn assign(
    admin: &Admin,
    account: &Account,
    id: i64,
    email: Option<String>,
) -> Result<(), ApiError> {
    let email = email
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let assignee: Option<i64> = match &email {
        Some(email) => Some(
            sqlx::query_scalar(
                "SELECT id FROM accounts WHERE lower(email) = $1 AND role IN ('owner', 'staff') \
                 AND disabled = 0",
            )
            .bind(email)
            .fetch_optional(admin.checkout().db().pool())
            .await?
            .ok_or_else(|| ApiError::field("email", "no staff member has this email"))?,
        ),
        None => None,
    };
    let detail = email.unwrap_or_else(|| "nobody".into());
    audited(
        admin,
        account,
        "Support conversation assigned",
        move |conn| {
            Box::pin(async move {
                if !store::assign(conn, id, assignee).await? {
                    return Err(ApiError::not_found("This conversation"));
                }
                Ok(Audited {
                    value: (),
                    subject: format!("support:{id}"),
                    detail,
                })
            })
        },
    )
    .await
}

/// The inbox's filter from a query: `status`, `q`, `cursor`, `limit`.
pub(crate) fn filter_of(raw: Option<&str>) -> Result<(Filter, i64), ApiError> {
    let mut filter = Filter::default();
    let mut limit = PER_PAGE;
    for (name, value) in query_pairs(raw)? {
        match name.as_str() {
            "status" if value.is_empty() || value == "all" => {}
            "status" => {
                filter.status = Some(Status::parse(&value).ok_or_else(|| {
                    ApiError::bad_request("status", "use open, waiting, closed or all")
                })?)
            }
            "q" if value.contains('\0') => {
                return Err(ApiError::bad_request("q", "remove the NUL character"))
            }
            "q" => filter.q = Some(value.chars().take(200).collect()),
            "cursor" => {
                let parsed = value
                    .split_once(':')
                    .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.parse::<i64>().ok()?)));
                filter.before = Some(parsed.ok_or_else(|| {
                    ApiError::bad_request("cursor", "use the next_cursor of the previous page")
                })?);
            }
            "limit" => {
                limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request("limit", format!("use 1 to {MAX_PER_PAGE}"))
                    })?;
            }
            _ => {}
        }
    }
    Ok((filter, limit))
}

#[utoipa::path(get, path = "/api/v1/admin/support/conversations", tag = "admin", security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "open, waiting, closed or all (default)."),
        ("q" = Option<String>, Query, description = "Search by email, name, order number or text."),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor."),
        ("limit" = Option<i64>, Query, description = "1 to 200; 50 by default."),
    ),
    responses((status = 200, body = ConversationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_conversations(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Support)?;
    let (filter, limit) = filter_of(raw.as_deref())?;
    let mut rows = store::list(admin.checkout().db().pool(), &filter, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| {
            rows.last()
                .map(|c| format!("{}:{}", c.last_message_at, c.id))
        })
        .flatten();
    let key = admin.checkout().gift_card_key().await?;
    Ok(Json(ConversationList {
        items: rows.into_iter().map(|c| out(key, c, None)).collect(),
        next_cursor,
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/support/conversations/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    responses((status = 200, body = ConversationOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_conversation(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.may(Access::Support)?;
    let id = path_id(&id, "Conversation")?;
    Ok(Json(one(&admin, id).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/support/conversations/{id}/messages", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    request_body = StaffMessageIn,
    responses((status = 201, description = "The conversation with the new message; a reply is emailed to the shopper", body = ConversationOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn add_message(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Support)?;
    let id = path_id(&id, "Conversation")?;
    let input: StaffMessageIn = body(request)?;
    write(
        &admin,
        &account,
        id,
        &input.body,
        input.internal.unwrap_or(false),
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(one(&admin, id).await?)).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/support/conversations/{id}/close", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    responses((status = 200, body = ConversationOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn close_conversation(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Support)?;
    let id = path_id(&id, "Conversation")?;
    set_status(&admin, &account, id, Status::Closed).await?;
    Ok(Json(one(&admin, id).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/support/conversations/{id}/reopen", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    responses((status = 200, body = ConversationOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn reopen_conversation(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Support)?;
    let id = path_id(&id, "Conversation")?;
    set_status(&admin, &account, id, Status::Open).await?;
    Ok(Json(one(&admin, id).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/support/conversations/{id}/assign", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The conversation's id.")),
    request_body = AssignIn,
    responses((status = 200, body = ConversationOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn assign_conversation(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Support)?;
    let id = path_id(&id, "Conversation")?;
    let input: AssignIn = body(request)?;
    assign(&admin, &account, id, input.email).await?;
    Ok(Json(one(&admin, id).await?).into_response())
}

/// A saved reply: picked in the reply form, `{name}` and `{order}` filled in.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedReplyOut {
    id: i64,
    title: String,
    body: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedReplyIn {
    pub title: String,
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct SavedReplyList {
    items: Vec<SavedReplyOut>,
    next_cursor: Option<String>,
}

/// Keeps a saved reply; its id.
pub(crate) async fn save_reply(
    admin: &Admin,
    account: &Account,
    title: &str,
    body: &str,
) -> Result<i64, ApiError> {
    let (title, body) = crate::support::check_saved_reply(title, body).map_err(|errors| {
        let first = &errors[0];
        ApiError::field(first.field.clone(), first.message.clone())
    })?;
    audited(admin, account, "Saved reply added", move |conn| {
        Box::pin(async move {
            let id = store::add_saved_reply(conn, &title, &body, now_epoch()).await?;
            Ok(Audited {
                value: id,
                subject: format!("saved-reply:{id}"),
                detail: title,
            })
        })
    })
    .await
}

/// Deletes a saved reply.
pub(crate) async fn delete_reply(
    admin: &Admin,
    account: &Account,
    id: i64,
) -> Result<(), ApiError> {
    audited(admin, account, "Saved reply deleted", move |conn| {
        Box::pin(async move {
            if !store::delete_saved_reply(conn, id).await? {
                return Err(ApiError::not_found("This saved reply"));
            }
            Ok(Audited {
                value: (),
                subject: format!("saved-reply:{id}"),
                detail: String::new(),
            })
        })
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/admin/support/saved-replies", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = SavedReplyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_saved_replies(
    State(admin): State<Admin>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.may(Access::Support)?;
    let items = store::saved_replies(admin.checkout().db().pool())
        .await?
        .into_iter()
        .map(|r| SavedReplyOut {
            id: r.id,
            title: r.title,
            body: r.body,
        })
        .collect();
    Ok(Json(SavedReplyList {
        items,
        next_cursor: None,
    })
    .into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/support/saved-replies", tag = "admin", security(("bearer" = [])),
    request_body = SavedReplyIn,
    responses((status = 201, body = SavedReplyOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_saved_reply(
    State(admin): State<Admin>,
    caller: Caller,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Support)?;
    let input: SavedReplyIn = body(request)?;
    let id = save_reply(&admin, &account, &input.title, &input.body).await?;
    let saved = store::saved_replies(admin.checkout().db().pool())
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("This saved reply"))?;
    Ok((
        StatusCode::CREATED,
        Json(SavedReplyOut {
            id,
            title: saved.title,
            body: saved.body,
        }),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/admin/support/saved-replies/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The saved reply's id.")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn delete_saved_reply(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Support)?;
    let id = path_id(&id, "Saved reply")?;
    delete_reply(&admin, &account, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
