//! Customer support: conversations between a shopper and the shop. A shopper writes from
//! `/contact` or their order page and gets a private link (`/support/{token}`) to read the
//! thread and reply; staff answer from the inbox (`/admin/support`), where they also keep
//! internal notes the shopper never sees. Every staff reply is emailed with the link.
//!
//! The rules are here, plain Rust: what a message may be, how a conversation's status follows
//! its messages. The records are [`store`]'s; the shopper's routes [`http`]'s; the pages
//! [`pages`]'.

use serde::{Deserialize, Serialize};

use crate::checkout::address::{validate_email, FieldError};

#[cfg(feature = "ssr")]
pub mod http;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod store;

/// The longest message, in characters.
pub const MAX_MESSAGE: usize = 5_000;
/// The longest name.
pub const MAX_NAME: usize = 100;
/// Conversations one address may start in an hour: a form is not a way to flood the inbox.
pub const STARTED_PER_HOUR: i64 = 5;
/// The largest picture a message may carry, in bytes.
pub const MAX_PICTURE_BYTES: usize = 5 * 1024 * 1024;
/// Messages a shopper may add to one conversation in an hour.
pub const REPLIES_PER_HOUR: i64 = 20;

/// Where a conversation stands, as the inbox sorts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The shopper wrote last: the shop owes an answer.
    Open,
    /// The shop answered: waiting for the shopper.
    Waiting,
    /// Done; a new message from the shopper opens it again.
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Waiting => "waiting",
            Status::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "open" => Some(Status::Open),
            "waiting" => Some(Status::Waiting),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }

    /// What people read.
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::Waiting => "Waiting for the shopper",
            Status::Closed => "Closed",
        }
    }
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Shopper,
    Staff,
    /// Staff's internal note: never shown to the shopper.
    Note,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Shopper => "shopper",
            Author::Staff => "staff",
            Author::Note => "note",
        }
    }

    pub fn parse(text: &str) -> Author {
        match text {
            "staff" => Author::Staff,
            "note" => Author::Note,
            _ => Author::Shopper,
        }
    }
}

/// The status after a message by `author` (a note changes nothing): the shopper writing opens
/// a conversation (even a closed one), staff answering makes it wait for the shopper.
pub fn status_after(current: Status, author: Author) -> Status {
    match author {
        Author::Shopper => Status::Open,
        Author::Staff => Status::Waiting,
        Author::Note => current,
    }
}

/// A message's text, checked: trimmed, not empty, not too long; named `field`.
/// The longest saved reply's title.
pub const MAX_SAVED_TITLE: usize = 80;

/// A saved reply as staff write it: a title to pick it by, and the text.
pub fn check_saved_reply(title: &str, body: &str) -> Result<(String, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_SAVED_TITLE || title.contains('\0') {
        errors.push(FieldError::new(
            "title",
            format!("Name it in 1 to {MAX_SAVED_TITLE} characters."),
        ));
    }
    let body = check_message("body", body).map_err(|e| errors.push(e)).ok();
    match body {
        Some(body) if errors.is_empty() => Ok((title.to_string(), body)),
        _ => Err(errors),
    }
}

/// A saved reply for one conversation: `{name}` becomes the shopper's name, `{order}` the
/// order's number (or "your order" when the conversation is about none).
pub fn fill_saved_reply(body: &str, name: &str, order: Option<&str>) -> String {
    let order = order
        .map(|n| format!("#{n}"))
        .unwrap_or_else(|| "your order".into());
    body.replace("{name}", name).replace("{order}", &order)
}

pub fn check_message(field: &str, body: &str) -> Result<String, FieldError> {
    let body = body.trim();
    let length = body.chars().count();
    if length == 0 {
        return Err(FieldError::new(field, "Write a message."));
    }
    if length > MAX_MESSAGE {
        return Err(FieldError::new(
            field,
            format!("Keep the message to {MAX_MESSAGE} characters."),
        ));
    }
    if body.contains('\0') {
        return Err(FieldError::new(
            field,
            "The message holds a character that cannot be kept.",
        ));
    }
    Ok(body.to_string())
}

/// A shopper's first message, as the contact form or the API sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConversation {
    pub email: String,
    pub name: String,
    /// The order it is about ("1042"), if any.
    #[serde(default)]
    pub order_number: Option<String>,
    pub message: String,
}

/// A new conversation, checked: the address in lower case, the name and message trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub email: String,
    pub name: String,
    pub order_number: Option<String>,
    pub message: String,
}

/// Checks a new conversation, naming each field at fault.
pub fn check_new(input: &NewConversation) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Vec::new();
    let email = validate_email(&input.email)
        .map(|e| e.to_lowercase())
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.contains(['\0', '\r', '\n']) {
        errors.push(FieldError::new(
            "name",
            format!("Enter your name (up to {MAX_NAME} characters)."),
        ));
    }
    let order_number = input
        .order_number
        .as_deref()
        .map(|n| n.trim().trim_start_matches('#'))
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if let Some(number) = &order_number {
        if crate::orders::order_id(number).is_none() {
            errors.push(FieldError::new(
                "order_number",
                "An order number is the number in your confirmation email, such as 1042.",
            ));
        }
    }
    let message = check_message("message", &input.message)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if errors.is_empty() {
        Ok(Checked {
            email,
            name,
            order_number,
            message,
        })
    } else {
        Err(errors)
    }
}

/// One message as the shopper's page and the API show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageView {
    /// `shopper` or `staff` (notes are never shown to the shopper).
    pub from: Author,
    pub body: String,
    /// A picture sent with the message (`/media/…`, a JPEG or PNG).
    #[serde(default)]
    pub picture: Option<String>,
    /// RFC 3339, UTC.
    pub at: String,
}

/// A conversation as its shopper sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConversationView {
    pub status: Status,
    /// The order it is about, if any.
    pub order_number: Option<String>,
    pub messages: Vec<MessageView>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn saved_replies_are_filled_in_for_the_conversation() {
        assert_eq!(
            fill_saved_reply("Hello {name}, {order} left today.", "Ada", Some("1042")),
            "Hello Ada, #1042 left today."
        );
        assert_eq!(fill_saved_reply("{order}", "Ada", None), "your order");
        assert!(check_saved_reply("", "x").is_err());
        assert!(check_saved_reply("Where is my parcel", "").is_err());
        assert_eq!(
            check_saved_reply(" Parcel ", " It left. ").unwrap(),
            ("Parcel".to_string(), "It left.".to_string())
        );
    }

    use super::*;

    #[test]
    fn the_status_follows_who_wrote_last_and_notes_change_nothing() {
        assert_eq!(status_after(Status::Open, Author::Staff), Status::Waiting);
        assert_eq!(status_after(Status::Waiting, Author::Shopper), Status::Open);
        assert_eq!(status_after(Status::Closed, Author::Shopper), Status::Open);
        assert_eq!(status_after(Status::Closed, Author::Note), Status::Closed);
        assert_eq!(status_after(Status::Open, Author::Note), Status::Open);
        for status in [Status::Open, Status::Waiting, Status::Closed] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("deleted"), None);
    }

    #[test]
    fn a_new_conversation_is_checked_field_by_field() {
        let good = NewConversation {
            email: " Ada@Example.com ".into(),
            name: " Ada ".into(),
            order_number: Some("#1042".into()),
            message: " Where is my parcel? ".into(),
        };
        let checked = check_new(&good).unwrap();
        assert_eq!(checked.email, "ada@example.com");
        assert_eq!(checked.name, "Ada");
        assert_eq!(checked.order_number.as_deref(), Some("1042"));
        assert_eq!(checked.message, "Where is my parcel?");
        let blank_order = NewConversation {
            order_number: Some("  ".into()),
            ..good.clone()
        };
        assert_eq!(check_new(&blank_order).unwrap().order_number, None);
        let bad = NewConversation {
            email: "not an address".into(),
            name: "".into(),
            order_number: Some("abc".into()),
            message: "x".repeat(MAX_MESSAGE + 1),
        };
        let fields: Vec<String> = check_new(&bad)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["email", "name", "order_number", "message"]);
        assert!(check_message("body", "   ").is_err());
    }
}
