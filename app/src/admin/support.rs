//! The support inbox: conversations by status with a search, and one conversation with its
//! thread (internal notes marked), a reply or note form, assignment, close and reopen. Both
//! pages follow new messages live, as the dashboard does (`public/admin.js`). Changes go
//! through the admin API's own functions (`rest::support`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use super::pages::{failure, Flash};
use super::AdminError;
use crate::components::when_loaded;
use crate::support::{Author, Status, MAX_MESSAGE};

/// A conversation as the inbox lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub status: Status,
    pub order_number: Option<String>,
    pub assignee: Option<String>,
    pub last_message: String,
    pub preview: String,
}

/// One message as staff read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadMessage {
    pub from: Author,
    pub staff: Option<String>,
    pub body: String,
    #[serde(default)]
    pub picture: Option<String>,
    pub at: String,
}

/// One conversation, and who it could be assigned to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportThread {
    pub row: InboxRow,
    pub messages: Vec<ThreadMessage>,
    pub staff: Vec<String>,
    /// Saved replies filled in for this conversation: (id, title, text).
    #[serde(default)]
    pub saved: Vec<(i64, String, String)>,
}

/// A saved reply as its page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReplyRow {
    pub id: i64,
    pub title: String,
    pub body: String,
}

#[server(endpoint = "admin/saved-replies", input = server_fn::codec::Json)]
pub async fn admin_saved_replies() -> Result<Vec<SavedReplyRow>, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Support).await?;
            Ok(
                crate::support::store::saved_replies(admin.checkout().db().pool())
                    .await?
                    .into_iter()
                    .map(|r| SavedReplyRow {
                        id: r.id,
                        title: r.title,
                        body: r.body,
                    })
                    .collect(),
            )
        }
        .await,
    )
}

/// `/admin/saved-replies`: the answers staff give often, to pick in a conversation's reply form.
#[component]
pub fn AdminSavedRepliesPage() -> impl IntoView {
    view! {
        <Title text="Saved replies"/>
        <Flash/>
        <p><a href="/admin/support">"← Support"</a></p>
        <h1>"Saved replies"</h1>
        <p>"Pick one in a conversation's reply form, then change what you like before sending. "
            <code>"{name}"</code>" becomes the shopper's name, "<code>"{order}"</code>" the order's number."</p>
        {when_loaded(async move {
            match admin_saved_replies().await {
                Ok(rows) => view! {
                    <ul class="saved-replies" data-testid="saved-replies">
                        {rows.into_iter().map(|r| view! {
                            <li>
                                <strong>{r.title.clone()}</strong>
                                <p class="body">{r.body}</p>
                                <form method="post" action=format!("/admin/saved-replies/{}/delete", r.id) class="inline">
                                    <button type="submit" aria-label=format!("Delete the saved reply {}", r.title)>"Delete"</button>
                                </form>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Err(error) => failure(error),
            }
        })}
        <form method="post" action="/admin/saved-replies" class="admin-form" data-testid="saved-reply-form">
            <h2>"New saved reply"</h2>
            <label for="saved-title">"Title"</label>
            <input id="saved-title" name="title" required maxlength=crate::support::MAX_SAVED_TITLE.to_string()/>
            <label for="saved-body">"Text"</label>
            <textarea id="saved-body" name="body" rows="5" required maxlength=MAX_MESSAGE.to_string()></textarea>
            <button type="submit" class="primary">"Save"</button>
        </form>
    }
}

#[server(endpoint = "admin/support", input = server_fn::codec::Json)]
pub async fn admin_support(status: String, q: String) -> Result<Vec<InboxRow>, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Support).await?;
            ssr::rows(&admin, &status, &q).await
        }
        .await,
    )
}

#[server(endpoint = "admin/support-conversation", input = server_fn::codec::Json)]
pub async fn admin_support_conversation(id: i64) -> Result<SupportThread, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Support).await?;
            ssr::thread(&admin, id).await
        }
        .await,
    )
}

#[component]
pub fn AdminSupportPage() -> impl IntoView {
    let query = use_query_map();
    let status = query
        .read_untracked()
        .get("status")
        .unwrap_or_else(|| "open".into());
    let q = query.read_untracked().get("q").unwrap_or_default();
    let tabs = [
        ("open", "Open"),
        ("waiting", "Waiting for the shopper"),
        ("closed", "Closed"),
        ("all", "All"),
    ];
    let current = status.clone();
    view! {
        <Title text="Support"/>
        <Flash/>
        <h1>"Support"</h1>
        <p><a href="/admin/returns">"Returns"</a>" · "<a href="/admin/saved-replies">"Saved replies"</a></p>
        <nav class="tabs" aria-label="Conversations by status">
            {tabs.into_iter().map(|(value, label)| {
                let here = value == current;
                view! {
                    <a href=format!("/admin/support?status={value}") aria-current=here.then_some("page")>{label}</a>
                }
            }).collect_view()}
        </nav>
        <form method="get" action="/admin/support" class="inline-form" role="search">
            <input type="hidden" name="status" value=status.clone()/>
            <label for="support-q" class="visually-hidden">"Search conversations"</label>
            <input id="support-q" name="q" type="search" value=q.clone() placeholder="Email, order number or text"/>
            <button type="submit">"Search"</button>
        </form>
        <section data-live-section data-live="false" data-testid="support-inbox">
            {when_loaded(async move {
                match admin_support(status, q).await {
                    Ok(rows) if rows.is_empty() => view! { <p>"No conversations here."</p> }.into_any(),
                    Ok(rows) => view! {
                        <table class="admin-table">
                            <thead><tr>
                                <th scope="col">"From"</th><th scope="col">"Last message"</th><th scope="col">"Status"</th>
                                <th scope="col">"Order"</th><th scope="col">"Assigned"</th><th scope="col">"When"</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| view! {
                                    <tr data-testid="support-row">
                                        <td><a href=format!("/admin/support/{}", row.id)>{row.name}</a><br/><span class="hint">{row.email}</span></td>
                                        <td>{row.preview}</td>
                                        <td><span class=format!("badge status-{}", row.status.as_str())>{row.status.label()}</span></td>
                                        <td>{row.order_number.map(|n| view! { <a href=format!("/admin/orders/{n}")>{format!("#{n}")}</a> })}</td>
                                        <td>{row.assignee.unwrap_or_default()}</td>
                                        <td>{row.last_message}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </section>
    }
}

#[component]
pub fn AdminSupportConversationPage() -> impl IntoView {
    let id = use_params_map()
        .read_untracked()
        .get("conversation")
        .and_then(|id| id.parse::<i64>().ok())
        .unwrap_or(0);
    let chosen = use_query_map()
        .read_untracked()
        .get("reply")
        .and_then(|r| r.parse::<i64>().ok());
    view! {
        <Title text="Conversation"/>
        <Flash/>
        <p><a href="/admin/support">"← Support"</a></p>
        {when_loaded(async move {
            match admin_support_conversation(id).await {
                Ok(thread) => thread_view(thread, chosen).into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

fn thread_view(thread: SupportThread, chosen: Option<i64>) -> impl IntoView {
    let SupportThread {
        row,
        messages,
        staff,
        saved,
    } = thread;
    let prefill = chosen
        .and_then(|id| saved.iter().find(|(s, _, _)| *s == id))
        .map(|(_, _, text)| text.clone())
        .unwrap_or_default();
    let action = format!("/admin/support/{}", row.id);
    let assignee = row.assignee.clone().unwrap_or_default();
    view! {
        <h1>{format!("{} ", row.name)}<span class="hint">{format!("<{}>", row.email)}</span></h1>
        <p data-testid="conversation-status">
            <span class=format!("badge status-{}", row.status.as_str())>{row.status.label()}</span>
            {row.order_number.clone().map(|n| view! { " · about "<a href=format!("/admin/orders/{n}")>{format!("order #{n}")}</a> })}
        </p>
        <section data-live-section data-live="false">
            <ol class="thread" data-testid="support-thread">
                {messages.into_iter().map(|m| {
                    let who = match m.from {
                        Author::Shopper => row.name.clone(),
                        Author::Staff => m.staff.clone().unwrap_or_else(|| "Staff".into()),
                        Author::Note => format!("Internal note · {}", m.staff.clone().unwrap_or_default()),
                    };
                    view! {
                        <li class=format!("message from-{}", m.from.as_str()) data-testid=format!("message-{}", m.from.as_str())>
                            <p class="meta"><strong>{who}</strong>" · "{m.at}</p>
                            <p class="body">{m.body}</p>
                            {m.picture.map(|url| { let link = url.clone(); view! {
                                <a href=link class="message-picture"><img src=url alt="A picture sent with this message" loading="lazy" data-testid="message-picture"/></a>
                            }})}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
        <form method="post" action=format!("{action}/messages") class="admin-form" data-testid="support-reply" enctype="multipart/form-data">
            <label for="reply-body">"Reply"</label>
            {(!saved.is_empty()).then(|| view! {
                <p class="saved-pick">"Saved replies: "
                    {saved.iter().map(|(id, title, _)| view! {
                        <a href=format!("?reply={id}#reply-body") data-testid="saved-reply-pick">{title.clone()}</a>" "
                    }).collect_view()}
                </p>
            })}
            <textarea id="reply-body" name="body" rows="6" maxlength=MAX_MESSAGE.to_string()
                aria-describedby="reply-hint">{prefill}</textarea>
            <label for="reply-picture">"A picture (optional)"</label>
            <input id="reply-picture" name="picture" type="file" accept="image/jpeg,image/png,image/gif,image/webp"/>
            <p class="hint" id="reply-hint">"A reply is emailed to the shopper with the link to this conversation."</p>
            <label class="checkbox"><input type="checkbox" name="internal" value="1"/>" Internal note (never shown to the shopper)"</label>
            <button type="submit" class="primary">"Send"</button>
        </form>
        <div class="actions">
            <form method="post" action=format!("{action}/assign") class="inline-form">
                <label for="assign-to">"Assigned to"</label>
                <select id="assign-to" name="email">
                    <option value="" selected=assignee.is_empty()>"Nobody"</option>
                    {staff.into_iter().map(|email| {
                        let selected = email == assignee;
                        view! { <option value=email.clone() selected=selected>{email.clone()}</option> }
                    }).collect_view()}
                </select>
                <button type="submit">"Assign"</button>
            </form>
            {if row.status == Status::Closed {
                view! {
                    <form method="post" action=format!("{action}/reopen") class="inline">
                        <button type="submit">"Reopen"</button>
                    </form>
                }.into_any()
            } else {
                view! {
                    <form method="post" action=format!("{action}/close") class="inline">
                        <button type="submit">"Close"</button>
                    </form>
                }.into_any()
            }}
        </div>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use axum::extract::multipart::MultipartRejection;
    use axum::extract::rejection::FormRejection;
    use axum::extract::{Form, Multipart, Path, State};
    use axum::http::HeaderMap;
    use axum::response::Response;
    use serde::Deserialize;

    use super::{InboxRow, SupportThread, ThreadMessage};
    use crate::admin::listed::ListedRouter;
    use crate::admin::respond::{form_error, outcome};
    use crate::admin::rest::support as api;
    use crate::admin::service::Admin;
    use crate::admin::{Access, AdminError};
    use crate::catalog::media::MediaStore;
    use crate::orders::order_number;
    use crate::support::store::{self, Conversation, Filter};
    use crate::support::Status;
    use crate::time::format_time;

    pub fn listed_routes<S>() -> ListedRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
        MediaStore: axum::extract::FromRef<S>,
    {
        ListedRouter::default()
            .post("/admin/support/{conversation}/messages", message_form)
            .map(|router| {
                router.layer(axum::extract::DefaultBodyLimit::max(
                    crate::support::MAX_PICTURE_BYTES + 64 * 1024,
                ))
            })
            .post("/admin/saved-replies", saved_reply_form)
            .post(
                "/admin/saved-replies/{reply}/delete",
                delete_saved_reply_form,
            )
            .post("/admin/support/{conversation}/close", close_form)
            .post("/admin/support/{conversation}/reopen", reopen_form)
            .post("/admin/support/{conversation}/assign", assign_form)
    }

    pub fn routes<S>() -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
        MediaStore: axum::extract::FromRef<S>,
    {
        listed_routes().into_router()
    }

    fn row(c: Conversation) -> InboxRow {
        InboxRow {
            id: c.id,
            email: c.email,
            name: c.name,
            status: c.status,
            order_number: c.order_id.map(order_number),
            assignee: c.assignee,
            last_message: format_time(c.last_message_at),
            preview: c.preview,
        }
    }

    pub async fn rows(admin: &Admin, status: &str, q: &str) -> Result<Vec<InboxRow>, AdminError> {
        let filter = Filter {
            status: Status::parse(status),
            // The database cannot hold NUL; nobody searches for it.
            q: Some(q.chars().filter(|c| *c != '\0').take(200).collect()),
            ..Filter::default()
        };
        Ok(store::list(admin.checkout().db().pool(), &filter, 200)
            .await?
            .into_iter()
            .map(row)
            .collect())
    }

    pub async fn thread(admin: &Admin, id: i64) -> Result<SupportThread, AdminError> {
        let pool = admin.checkout().db().pool();
        let conversation = store::by_id(pool, id)
            .await?
            .ok_or_else(|| AdminError::NotFound("This conversation".into()))?;
        let messages = store::messages(pool, id, true)
            .await?
            .into_iter()
            .map(|m| ThreadMessage {
                from: m.author,
                staff: m.staff_email,
                body: m.body,
                picture: m.picture,
                at: format_time(m.created_at),
            })
            .collect();
        let staff: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM accounts WHERE role IN ('owner', 'staff') AND disabled = 0 \
             ORDER BY email",
        )
        .fetch_all(pool)
        .await?;
        let order = conversation.order_id.map(order_number);
        let saved = store::saved_replies(pool)
            .await?
            .into_iter()
            .map(|r| {
                let text =
                    crate::support::fill_saved_reply(&r.body, &conversation.name, order.as_deref());
                (r.id, r.title, text)
            })
            .collect();
        Ok(SupportThread {
            row: row(conversation),
            messages,
            staff,
            saved,
        })
    }

    fn page(id: i64) -> String {
        format!("/admin/support/{id}")
    }

    async fn message_form(
        State(admin): State<Admin>,
        State(media): State<MediaStore>,
        headers: HeaderMap,
        Path(id): Path<String>,
        multipart: Result<Multipart, MultipartRejection>,
    ) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let result = async {
            let account = admin.authorize(&headers, Access::Support).await?;
            let form = crate::support::http::read_message_form(multipart, &media)
                .await
                .map_err(AdminError::Invalid)?;
            let internal = !form.field("internal").is_empty();
            let body = form.field("body");
            let body = if body.trim().is_empty() && form.picture.is_some() {
                "(a picture)".to_string()
            } else {
                body
            };
            api::write(&admin, &account, id, &body, internal, form.picture)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok(if internal {
                "Note kept.".to_string()
            } else {
                "Reply sent.".to_string()
            })
        }
        .await;
        outcome(&headers, &page(id), result)
    }

    async fn status_form(admin: Admin, headers: HeaderMap, id: String, status: Status) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let result = async {
            let account = admin.authorize(&headers, Access::Support).await?;
            api::set_status(&admin, &account, id, status)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok(if status == Status::Closed {
                "Closed.".to_string()
            } else {
                "Reopened.".to_string()
            })
        }
        .await;
        outcome(&headers, &page(id), result)
    }

    async fn close_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        status_form(admin, headers, id, Status::Closed).await
    }

    async fn reopen_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        status_form(admin, headers, id, Status::Open).await
    }

    #[derive(Deserialize)]
    pub struct AssignForm {
        #[serde(default)]
        email: String,
    }

    async fn assign_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
        form: Result<Form<AssignForm>, FormRejection>,
    ) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let result = async {
            let account = admin.authorize(&headers, Access::Support).await?;
            let Form(form) = form.map_err(form_error)?;
            api::assign(&admin, &account, id, Some(form.email))
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok("Assigned.".to_string())
        }
        .await;
        outcome(&headers, &page(id), result)
    }

    #[derive(Deserialize)]
    pub struct SavedReplyForm {
        #[serde(default)]
        title: String,
        #[serde(default)]
        body: String,
    }

    async fn saved_reply_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        form: Result<Form<SavedReplyForm>, FormRejection>,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Support).await?;
            let Form(form) = form.map_err(form_error)?;
            api::save_reply(&admin, &account, &form.title, &form.body)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok("Saved.".to_string())
        }
        .await;
        outcome(&headers, "/admin/saved-replies", result)
    }

    async fn delete_saved_reply_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Support).await?;
            let id = id
                .parse::<i64>()
                .map_err(|_| AdminError::NotFound("This saved reply".into()))?;
            api::delete_reply(&admin, &account, id)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok("Deleted.".to_string())
        }
        .await;
        outcome(&headers, "/admin/saved-replies", result)
    }
}
