//! The shopper's support pages: `/contact` (write to the shop) and `/support/{token}` (the
//! conversation's private page: the thread and a reply form). Plain forms, posted to
//! `support::http`: they work without JavaScript.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{Author, ConversationView, MAX_MESSAGE, MAX_NAME};
use crate::components::when_loaded;

/// The conversation behind a private token, as its shopper sees it.
#[server(endpoint = "support/conversation", input = server_fn::codec::Json)]
pub async fn support_conversation(
    token: String,
) -> Result<Option<ConversationView>, crate::checkout::CheckoutError> {
    let checkout = use_context::<crate::checkout::service::Checkout>()
        .ok_or(crate::checkout::CheckoutError::Internal)?;
    match super::http::view(&checkout, &token).await {
        Ok(view) => Ok(Some(view)),
        Err(super::http::SupportError::NotFound) => Ok(None),
        Err(_) => Err(crate::checkout::CheckoutError::Internal),
    }
}

/// A conversation as the shopper's account lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MyConversation {
    pub token: String,
    pub preview: String,
    pub status: super::Status,
    pub order_number: Option<String>,
    pub at: String,
}

/// The signed-in shopper's conversations: their account's, and those they started with their
/// address before signing in (signing in proved it is theirs). None for a guest.
#[server(endpoint = "account/conversations", input = server_fn::codec::Json)]
pub async fn my_conversations() -> Result<Vec<MyConversation>, crate::checkout::CheckoutError> {
    let Some(customer) = crate::accounts::signed_in() else {
        return Ok(Vec::new());
    };
    let checkout = use_context::<crate::checkout::service::Checkout>()
        .ok_or(crate::checkout::CheckoutError::Internal)?;
    let key = checkout.gift_card_key().await?;
    let filter = super::store::Filter {
        owner: Some((customer.id, customer.email.to_lowercase())),
        ..Default::default()
    };
    Ok(super::store::list(checkout.db().pool(), &filter, 20)
        .await?
        .into_iter()
        .map(|c| MyConversation {
            token: super::store::token_for(key, c.id),
            preview: c.preview,
            status: c.status,
            order_number: c.order_id.map(crate::orders::order_number),
            at: crate::time::format_time(c.last_message_at),
        })
        .collect())
}

/// The account page's list of conversations with the shop (nothing when there are none).
#[component]
pub fn MyConversations() -> impl IntoView {
    when_loaded(async move {
        let conversations = my_conversations().await.unwrap_or_default();
        view! {
            <section aria-labelledby="conversations-heading" id="conversations">
                <h2 id="conversations-heading">"Messages"</h2>
                {if conversations.is_empty() {
                    view! { <p>"No messages yet. "<a href="/contact">"Write to us"</a>" about anything."</p> }.into_any()
                } else {
                    view! {
                        <ul data-testid="account-conversations">
                            {conversations.into_iter().map(|c| view! {
                                <li>
                                    <a href=format!("/support/{}", c.token)>{c.preview}</a>
                                    {format!(" · {}", c.status.label())}
                                    {c.order_number.map(|n| format!(" · order #{n}"))}
                                    {format!(" · {}", c.at)}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        }
    })
}

/// A link that leads nowhere: said, with status 404.
#[component]
fn Missing() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! { <p role="alert">"This conversation was not found: check the link in your email."</p> }
}

/// A notice or an error the form routes sent back in the query.
fn said() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.read_untracked().get(key).filter(|v| !v.is_empty());
    let sent = get("sent").is_some();
    let error = get("error");
    view! {
        {sent.then(|| view! { <p class="notice" role="status" data-testid="support-notice">"Thank you: your message is with us. We answer by email, usually within a working day."</p> })}
        {error.map(|e| view! { <p class="notice error" role="alert" data-testid="support-error">{e}</p> })}
    }
}

/// `/contact`: write to the shop. From an order's page the order's number and access token
/// come along (`?order=…&token=…`), so the conversation is linked to it.
#[component]
pub fn ContactPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.read_untracked().get(key).unwrap_or_default();
    let (order, token) = (get("order"), get("token"));
    view! {
        <Title text="Contact us"/>
        <section class="contact-page">
            <h1>"Contact us"</h1>
            {said()}
            <p>"Questions about an order, a product or a return? Write to us: you get a link by email where you can read our answer and reply."</p>
            <form method="post" action="/contact" class="stacked" data-testid="contact-form">
                <label for="contact-name">"Your name"</label>
                <input id="contact-name" name="name" autocomplete="name" required maxlength=MAX_NAME.to_string()/>
                <label for="contact-email">"Email"</label>
                <input id="contact-email" name="email" type="email" autocomplete="email" required/>
                <label for="contact-order">"Order number (optional)"</label>
                <input id="contact-order" name="order_number" inputmode="numeric" value=order/>
                <input type="hidden" name="order_token" value=token/>
                <label for="contact-message">"Message"</label>
                <textarea id="contact-message" name="message" rows="8" required maxlength=MAX_MESSAGE.to_string()></textarea>
                // Hidden from people (and from screen readers); bots fill it in.
                <div class="visually-hidden" aria-hidden="true">
                    <label for="contact-website">"Leave this empty"</label>
                    <input id="contact-website" name="website" tabindex="-1" autocomplete="off"/>
                </div>
                <button type="submit" class="primary">"Send message"</button>
            </form>
        </section>
    }
}

/// `/support/{token}`: the thread, newest last, and a reply form. The page is private: no
/// search engine keeps it, and no cache does.
#[component]
pub fn SupportPage() -> impl IntoView {
    let token = use_params_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    view! {
        <Title text="Your conversation"/>
        <Meta name="robots" content="noindex"/>
        <section class="support-page">
            <h1>"Your conversation with us"</h1>
            {said()}
            {when_loaded(async move {
                match support_conversation(token.clone()).await {
                    Ok(Some(conversation)) => thread(token, conversation).into_any(),
                    Ok(None) => view! { <Missing/> }.into_any(),
                    Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </section>
    }
}

fn thread(token: String, conversation: ConversationView) -> impl IntoView {
    let status = conversation.status.label();
    view! {
        <p data-testid="support-status">
            {format!("Status: {status}")}
            {conversation.order_number.map(|n| format!(" · about order #{n}"))}
        </p>
        <ol class="thread" data-testid="support-thread">
            {conversation.messages.into_iter().map(|m| {
                let who = if m.from == Author::Staff { "The shop" } else { "You" };
                view! {
                    <li class=format!("message from-{}", m.from.as_str())>
                        <p class="meta"><strong>{who}</strong>" · "<time datetime=m.at.clone()>{m.at.replace('T', " ").trim_end_matches('Z').to_string()}</time></p>
                        <p class="body">{m.body}</p>
                        {m.picture.map(|url| { let link = url.clone(); view! {
                            <a href=link class="message-picture"><img src=url alt=format!("A picture sent by {}", who.to_lowercase()) loading="lazy" data-testid="message-picture"/></a>
                        }})}
                    </li>
                }
            }).collect_view()}
        </ol>
        <form method="post" action=format!("/support/{token}") class="stacked" data-testid="support-reply" enctype="multipart/form-data">
            <label for="support-body">"Your reply"</label>
            <textarea id="support-body" name="body" rows="5" maxlength=MAX_MESSAGE.to_string()></textarea>
            <label for="support-picture">{format!("A picture (optional; JPEG, PNG, GIF or WebP, up to {} MB)", super::MAX_PICTURE_BYTES / 1024 / 1024)}</label>
            <input id="support-picture" name="picture" type="file" accept="image/jpeg,image/png,image/gif,image/webp"/>
            <button type="submit" class="primary">"Send reply"</button>
        </form>
    }
}
