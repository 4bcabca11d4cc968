//! The shopper's side over HTTP: the JSON API, the contact form and the reply form of the
//! private page (plain forms: they work without JavaScript).

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Form, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::{self, Conversation};
use super::{
    check_message, check_new, Author, ConversationView, MessageView, NewConversation,
    REPLIES_PER_HOUR, STARTED_PER_HOUR,
};
use crate::accounts::service::Accounts;
use crate::catalog::media::MediaStore;
use crate::checkout::address::FieldError;
use crate::checkout::service::Checkout;
use crate::db::now_epoch;
use crate::notifications;
use crate::orders::{order_id, order_number, record};
use crate::time::rfc3339;
use crate::write_queue::JobFuture;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Checkout: axum::extract::FromRef<S>,
    Accounts: axum::extract::FromRef<S>,
    MediaStore: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/support/conversations", post(start_api))
        .route("/api/v1/support/conversations/{token}", get(show_api))
        .route(
            "/api/v1/support/conversations/{token}/messages",
            post(reply_api),
        )
        .route("/contact", post(contact_form))
        .route(
            "/support/{token}",
            post(reply_form).layer(axum::extract::DefaultBodyLimit::max(
                super::MAX_PICTURE_BYTES + 64 * 1024,
            )),
        )
}

/// Why a shopper's request was refused.
#[derive(Debug)]
pub enum SupportError {
    Invalid(Vec<FieldError>),
    NotFound,
    TooMany(String),
    Internal,
}

impl From<sqlx::Error> for SupportError {
    fn from(error: sqlx::Error) -> SupportError {
        tracing::error!(%error, "support: database error");
        SupportError::Internal
    }
}

impl SupportError {
    fn status(&self) -> StatusCode {
        match self {
            SupportError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            SupportError::NotFound => StatusCode::NOT_FOUND,
            SupportError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            SupportError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// In one sentence, for a page.
    pub fn said(&self) -> String {
        match self {
            SupportError::Invalid(fields) => fields
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
            SupportError::NotFound => {
                "This conversation was not found: check the link in your email.".into()
            }
            SupportError::TooMany(message) => message.clone(),
            SupportError::Internal => {
                "Something went wrong on our side; please try again in a moment.".into()
            }
        }
    }
}

impl IntoResponse for SupportError {
    fn into_response(self) -> Response {
        let status = self.status();
        let fields = match &self {
            SupportError::Invalid(fields) => fields.clone(),
            _ => Vec::new(),
        };
        let message = match &self {
            SupportError::Invalid(_) => "Please correct the fields named.".to_string(),
            other => other.said(),
        };
        (
            status,
            Json(
                json!({"error": {"status": status.as_u16(), "message": message, "fields": fields}}),
            ),
        )
            .into_response()
    }
}

fn rejected(text: String) -> SupportError {
    SupportError::Invalid(vec![FieldError::new("body", text)])
}

/// The order a new conversation is about: only one the writer can show is theirs (its access
/// token, their account, or the email it was placed with), so a stranger's number links
/// nothing.
async fn order_of(
    checkout: &Checkout,
    number: Option<&str>,
    order_token: Option<&str>,
    customer_id: Option<i64>,
    email: &str,
) -> Result<Option<i64>, SupportError> {
    let pool = checkout.db().pool();
    let by_token = match order_token {
        Some(token) => record::by_token(pool, token.trim()).await?,
        None => None,
    };
    let Some(number) = number else {
        return Ok(by_token.map(|o| o.id));
    };
    let Some(id) = order_id(number) else {
        return Ok(None);
    };
    if by_token.as_ref().is_some_and(|o| o.id == id) {
        return Ok(Some(id));
    }
    let owner: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT lower(email), customer_id FROM orders WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    match owner {
        Some((placed_with, customer))
            if placed_with == email || customer.is_some_and(|c| Some(c) == customer_id) =>
        {
            Ok(Some(id))
        }
        _ => Err(SupportError::Invalid(vec![FieldError::new(
            "order_number",
            "We found no order with this number for this email address.",
        )])),
    }
}

/// Starts a conversation and emails its link; the private token.
pub async fn start(
    checkout: &Checkout,
    input: &NewConversation,
    order_token: Option<&str>,
    customer_id: Option<i64>,
) -> Result<String, SupportError> {
    let new = check_new(input).map_err(SupportError::Invalid)?;
    let order = order_of(
        checkout,
        new.order_number.as_deref(),
        order_token,
        customer_id,
        &new.email,
    )
    .await?;
    let site = checkout.site_url().to_string();
    let shop = checkout
        .rules()
        .await
        .map_err(SupportError::from)?
        .shop_name
        .clone();
    let key = checkout.gift_card_key().await?.clone();
    let now = now_epoch();
    let token = checkout
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<String, SupportError>> {
            Box::pin(async move {
                if store::started_recently(conn, &new.email, now).await? >= STARTED_PER_HOUR {
                    return Err(SupportError::TooMany(
                        "You have written to us several times in the last hour; we will \
                             answer those first. Please reply on one of their pages instead."
                            .into(),
                    ));
                }
                let (_, token) = store::start(conn, &key, &new, order, customer_id, now).await?;
                let link = format!("{site}/support/{token}");
                let email = notifications::support_received(&shop, &new.message, &link);
                notifications::queue(conn, &new.email, email, now).await?;
                Ok(token)
            })
        })
        .await?;
    notifications::wake_sender();
    Ok(token)
}

/// Adds the shopper's reply to the conversation behind `token`.
pub async fn reply(
    checkout: &Checkout,
    token: &str,
    body: &str,
    picture: Option<String>,
) -> Result<(), SupportError> {
    let body = check_message("body", body).map_err(|e| SupportError::Invalid(vec![e]))?;
    let conversation = store::by_token(checkout.db().pool(), token)
        .await?
        .ok_or(SupportError::NotFound)?;
    let now = now_epoch();
    checkout
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<(), SupportError>> {
            Box::pin(async move {
                if store::replies_recently(conn, conversation.id, now).await? >= REPLIES_PER_HOUR {
                    return Err(SupportError::TooMany(
                        "That is many messages in an hour; please wait for our answer.".into(),
                    ));
                }
                store::add(
                    conn,
                    conversation.id,
                    Author::Shopper,
                    None,
                    &body,
                    picture.as_deref(),
                    now,
                )
                .await?;
                Ok(())
            })
        })
        .await?;
    Ok(())
}

/// The conversation behind `token` as its shopper sees it (no internal notes).
pub async fn view(checkout: &Checkout, token: &str) -> Result<ConversationView, SupportError> {
    let pool = checkout.db().pool();
    let conversation: Conversation = store::by_token(pool, token)
        .await?
        .ok_or(SupportError::NotFound)?;
    let messages = store::messages(pool, conversation.id, false).await?;
    Ok(ConversationView {
        status: conversation.status,
        order_number: conversation.order_id.map(order_number),
        messages: messages
            .into_iter()
            .map(|m| MessageView {
                from: m.author,
                body: m.body,
                picture: m.picture,
                at: rfc3339(m.created_at),
            })
            .collect(),
    })
}

/// The answer to a new conversation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    /// The private token: the conversation's page is `/support/{token}`.
    token: String,
    url: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyIn {
    body: String,
}

fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<T, SupportError> {
    let Json(value) = body.map_err(|rejection| rejected(rejection.body_text()))?;
    serde_json::from_value(value).map_err(|error| rejected(error.to_string()))
}

/// Write to the shop. With the order's access token (`Authorization: Bearer`) or a customer
/// session the conversation is linked to that order or account; an `order_number` is linked
/// only when the email is the one the order was placed with (or the token or account shows it
/// is theirs). The shopper gets an email with the conversation's private link.
#[utoipa::path(post, path = "/api/v1/support/conversations", tag = "support",
    request_body = NewConversation,
    responses((status = 201, body = Started), (status = 400, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn start_api(
    State(checkout): State<Checkout>,
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, SupportError> {
    let input: NewConversation = json_body(body)?;
    let customer = accounts.customer_of(&headers).await?.map(|c| c.id);
    let token = start(
        &checkout,
        &input,
        crate::cookies::bearer(&headers),
        customer,
    )
    .await?;
    let url = format!("{}/support/{token}", checkout.site_url());
    Ok((StatusCode::CREATED, Json(Started { token, url })).into_response())
}

/// The conversation behind a private token: its status and messages (never staff's notes).
#[utoipa::path(get, path = "/api/v1/support/conversations/{token}", tag = "support",
    params(("token" = String, Path, description = "The private token from the conversation's link.")),
    responses((status = 200, body = ConversationView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show_api(
    State(checkout): State<Checkout>,
    Path(token): Path<String>,
) -> Result<Response, SupportError> {
    Ok(Json(view(&checkout, &token).await?).into_response())
}

/// Reply in a conversation (a closed one opens again).
#[utoipa::path(post, path = "/api/v1/support/conversations/{token}/messages", tag = "support",
    params(("token" = String, Path, description = "The private token from the conversation's link.")),
    request_body = ReplyIn,
    responses((status = 201, body = ConversationView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn reply_api(
    State(checkout): State<Checkout>,
    Path(token): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, SupportError> {
    let input: ReplyIn = json_body(body)?;
    reply(&checkout, &token, &input.body, None).await?;
    Ok((StatusCode::CREATED, Json(view(&checkout, &token).await?)).into_response())
}

/// The contact form as a browser posts it.
#[derive(Deserialize, Default)]
struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    order_number: String,
    #[serde(default)]
    message: String,
    /// The order page's form carries the order's access token.
    #[serde(default)]
    order_token: String,
    /// Hidden from people; a bot that fills every field fills it.
    #[serde(default)]
    website: String,
}

async fn contact_form(
    State(checkout): State<Checkout>,
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    form: Result<Form<ContactForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if !form.website.trim().is_empty() {
        // A bot: it is told what a person is told, and nothing is kept or sent.
        return Redirect::to("/contact?sent=1").into_response();
    }
    let input = NewConversation {
        email: form.email,
        name: form.name,
        order_number: Some(form.order_number),
        message: form.message,
    };
    let customer = match accounts.customer_of(&headers).await {
        Ok(customer) => customer.map(|c| c.id),
        Err(_) => None,
    };
    let order_token = Some(form.order_token).filter(|t| !t.trim().is_empty());
    match start(&checkout, &input, order_token.as_deref(), customer).await {
        Ok(token) => Redirect::to(&format!("/support/{token}?sent=1")).into_response(),
        Err(error) => Redirect::to(&format!(
            "/contact?error={}",
            crate::admin::respond::urlencode(&error.said())
        ))
        .into_response(),
    }
}

/// A message form as a browser posts it: its text fields, and the picture stored with the
/// shop's media (decoded and re-encoded, so only a plain JPEG or PNG is ever served).
#[derive(Debug, Default)]
pub struct MessageForm {
    pub fields: Vec<(String, String)>,
    pub picture: Option<String>,
}

impl MessageForm {
    pub fn field(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// Reads a message form (multipart, with an optional `picture` file). Problems are said in a
/// sentence for the page.
pub async fn read_message_form(
    multipart: Result<Multipart, MultipartRejection>,
    media: &MediaStore,
) -> Result<MessageForm, String> {
    let mut multipart = multipart.map_err(|e| e.body_text())?;
    let mut form = MessageForm::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "picture" {
            let bytes = field.bytes().await.map_err(|e| e.body_text())?;
            if bytes.is_empty() {
                continue; // No file chosen.
            }
            if bytes.len() > super::MAX_PICTURE_BYTES {
                return Err(format!(
                    "The picture is larger than {} MB; send a smaller one.",
                    super::MAX_PICTURE_BYTES / 1024 / 1024
                ));
            }
            let media = media.clone();
            let stored = tokio::task::spawn_blocking(move || media.store(&bytes))
                .await
                .map_err(|_| "The picture could not be read; try another.".to_string())?
                .map_err(|e| format!("The picture could not be used: {e}."))?;
            form.picture = Some(stored.url);
        } else {
            let text = field.text().await.map_err(|e| e.body_text())?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}

async fn reply_form(
    State(checkout): State<Checkout>,
    State(media): State<MediaStore>,
    Path(token): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let result = match read_message_form(multipart, &media).await {
        Ok(form) => {
            let body = form.field("body");
            // A picture alone is a message too.
            let body = if body.trim().is_empty() && form.picture.is_some() {
                "(a picture)".to_string()
            } else {
                body
            };
            reply(&checkout, &token, &body, form.picture).await
        }
        Err(problem) => Err(rejected(problem)),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/support/{token}?sent=1")).into_response(),
        Err(SupportError::NotFound) => SupportError::NotFound.into_response(),
        Err(error) => Redirect::to(&format!(
            "/support/{token}?error={}",
            crate::admin::respond::urlencode(&error.said())
        ))
        .into_response(),
    }
}
