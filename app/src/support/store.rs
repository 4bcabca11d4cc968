//! The records: the one place `support_conversations` and `support_messages` are written.
//!
//! A conversation's private link carries a token signed with the server's key for its id: every
//! staff reply's email can carry the link again, yet the database keeps only the token's hash,
//! so a copy of it opens no conversation.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyPool, Row};

use super::{status_after, Author, Checked, Status};
use crate::checkout::service::random_token;
use crate::db::Sql;
use crate::promotions::gift_card_store::CodeKey;

/// The private token of conversation `id`: 128 bits of the server key's signature.
pub fn token_for(key: &CodeKey, id: i64) -> String {
    key.sign("support conversation", &id.to_string())[..32].to_string()
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A conversation as staff see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub order_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub status: Status,
    pub assigned_to: Option<i64>,
    /// The assignee's address, for the inbox.
    pub assignee: Option<String>,
    pub created_at: i64,
    pub last_message_at: i64,
    /// The newest message's first words (the inbox's preview).
    pub preview: String,
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub author: Author,
    /// The staff member who wrote it (staff replies and notes).
    pub staff_email: Option<String>,
    pub body: String,
    /// A picture sent with it (`/media/…`).
    pub picture: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "c.id, c.email, c.name, c.order_id, c.customer_id, c.status, \
     c.assigned_to, a.email AS assignee, c.created_at, c.last_message_at, \
     (SELECT m.body FROM support_messages m WHERE m.conversation_id = c.id \
      AND m.author <> 'note' ORDER BY m.id DESC LIMIT 1) AS preview";
const FROM: &str = "support_conversations c LEFT JOIN accounts a ON a.id = c.assigned_to";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Conversation, sqlx::Error> {
    let preview: Option<String> = row.try_get("preview")?;
    Ok(Conversation {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        order_id: row.try_get("order_id")?,
        customer_id: row.try_get("customer_id")?,
        status: Status::parse(&row.try_get::<String, _>("status")?).unwrap_or(Status::Open),
        assigned_to: row.try_get("assigned_to")?,
        assignee: row.try_get("assignee")?,
        created_at: row.try_get("created_at")?,
        last_message_at: row.try_get("last_message_at")?,
        preview: preview
            .map(|p| p.chars().take(140).collect())
            .unwrap_or_default(),
    })
}

/// How many conversations `email` started in the last hour.
pub async fn started_recently(
    conn: &mut AnyConnection,
    email: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM support_conversations WHERE email = $1 AND created_at > $2",
    )
    .bind(email)
    .bind(now - 3600)
    .fetch_one(&mut *conn)
    .await
}

/// Starts a conversation with the shopper's first message; its id and private token.
pub async fn start(
    conn: &mut AnyConnection,
    key: &CodeKey,
    new: &Checked,
    order_id: Option<i64>,
    customer_id: Option<i64>,
    now: i64,
) -> Result<(i64, String), sqlx::Error> {
    // A placeholder until the id, which the token is made from, is known.
    let placeholder = format!("new:{}", random_token());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO support_conversations \
         (token_hash, email, name, order_id, customer_id, status, created_at, last_message_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $6) RETURNING id",
    )
    .bind(&placeholder)
    .bind(&new.email)
    .bind(&new.name)
    .bind(order_id)
    .bind(customer_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let token = token_for(key, id);
    sqlx::query("UPDATE support_conversations SET token_hash = $1 WHERE id = $2")
        .bind(hash(&token))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    insert_message(conn, id, Author::Shopper, None, &new.message, None, now).await?;
    Ok((id, token))
}

async fn insert_message(
    conn: &mut AnyConnection,
    conversation_id: i64,
    author: Author,
    staff_id: Option<i64>,
    body: &str,
    picture: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO support_messages (conversation_id, author, staff_id, body, created_at, picture_url) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(conversation_id)
    .bind(author.as_str())
    .bind(staff_id)
    .bind(body)
    .bind(now)
    .bind(picture)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds a message and moves the status on (see [`status_after`]); the new status, or `None`
/// if there is no such conversation. A note leaves the inbox's order alone.
pub async fn add(
    conn: &mut AnyConnection,
    conversation_id: i64,
    author: Author,
    staff_id: Option<i64>,
    body: &str,
    picture: Option<&str>,
    now: i64,
) -> Result<Option<Status>, sqlx::Error> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT status FROM support_conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(current) = current.as_deref().and_then(Status::parse) else {
        return Ok(None);
    };
    insert_message(conn, conversation_id, author, staff_id, body, picture, now).await?;
    let next = status_after(current, author);
    if author != Author::Note {
        sqlx::query(
            "UPDATE support_conversations SET status = $1, last_message_at = $2 WHERE id = $3",
        )
        .bind(next.as_str())
        .bind(now)
        .bind(conversation_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Some(next))
}

/// How many messages the shopper added to a conversation in the last hour.
pub async fn replies_recently(
    conn: &mut AnyConnection,
    conversation_id: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM support_messages WHERE conversation_id = $1 \
         AND author = 'shopper' AND created_at > $2",
    )
    .bind(conversation_id)
    .bind(now - 3600)
    .fetch_one(&mut *conn)
    .await
}

/// Closes or reopens; `false` if there is no such conversation.
pub async fn set_status(
    conn: &mut AnyConnection,
    conversation_id: i64,
    status: Status,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE support_conversations SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(conversation_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Assigns a staff member (`None`: nobody); `false` if there is no such conversation.
pub async fn assign(
    conn: &mut AnyConnection,
    conversation_id: i64,
    account_id: Option<i64>,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE support_conversations SET assigned_to = $1 WHERE id = $2")
            .bind(account_id)
            .bind(conversation_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// The conversation behind a private link.
pub async fn by_token(pool: &AnyPool, token: &str) -> Result<Option<Conversation>, sqlx::Error> {
    let token = token.trim();
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE c.token_hash = $1"
    ))
    .bind(hash(token))
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id(pool: &AnyPool, id: i64) -> Result<Option<Conversation>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A conversation's messages, oldest first; notes only for staff.
pub async fn messages(
    pool: &AnyPool,
    conversation_id: i64,
    with_notes: bool,
) -> Result<Vec<Message>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.id, m.author, a.email AS staff_email, m.body, m.picture_url, m.created_at \
         FROM support_messages m LEFT JOIN accounts a ON a.id = m.staff_id \
         WHERE m.conversation_id = $1 AND (m.author <> 'note' OR $2 = 1) ORDER BY m.id",
    )
    .bind(conversation_id)
    .bind(i64::from(with_notes))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Message {
                id: row.try_get("id")?,
                author: Author::parse(&row.try_get::<String, _>("author")?),
                staff_email: row.try_get("staff_email")?,
                body: row.try_get("body")?,
                picture: row.try_get("picture_url")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// What the inbox shows: a status (or all), a search over address, order number and text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<Status>,
    pub q: Option<String>,
    pub order_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// A signed-in shopper's: their account's, or started with their address as a guest.
    pub owner: Option<(i64, String)>,
    /// Newest activity first, from before this (the previous page's last).
    pub before: Option<(i64, i64)>,
}

/// Conversations for the inbox, newest activity first.
pub async fn list(
    pool: &AnyPool,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Conversation>, sqlx::Error> {
    let mut sql = Sql::default();
    sql.push(&format!("SELECT {COLUMNS} FROM {FROM} WHERE 1 = 1"));
    if let Some(status) = filter.status {
        sql.push(" AND c.status = ");
        sql.bind(status.as_str());
    }
    if let Some(order_id) = filter.order_id {
        sql.push(" AND c.order_id = ");
        sql.bind(order_id);
    }
    if let Some(customer_id) = filter.customer_id {
        sql.push(" AND c.customer_id = ");
        sql.bind(customer_id);
    }
    if let Some((customer_id, email)) = &filter.owner {
        sql.push(" AND (c.customer_id = ");
        sql.bind(*customer_id);
        sql.push(" OR c.email = ");
        sql.bind(email.as_str());
        sql.push(")");
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", like_escaped(&q.to_lowercase()));
        sql.push(" AND (c.email LIKE ");
        sql.bind(pattern.as_str());
        sql.push(" ESCAPE '\\' OR lower(c.name) LIKE ");
        sql.bind(pattern.as_str());
        sql.push(" ESCAPE '\\'");
        if let Some(order_id) = crate::orders::order_id(q) {
            sql.push(" OR c.order_id = ");
            sql.bind(order_id);
        }
        sql.push(
            " OR EXISTS (SELECT 1 FROM support_messages m WHERE m.conversation_id = c.id AND lower(m.body) LIKE ",
        );
        sql.bind(pattern.as_str());
        sql.push(" ESCAPE '\\'))");
    }
    if let Some((at, id)) = filter.before {
        sql.push(" AND (c.last_message_at < ");
        sql.bind(at);
        sql.push(" OR (c.last_message_at = ");
        sql.bind(at);
        sql.push(" AND c.id < ");
        sql.bind(id);
        sql.push("))");
    }
    sql.push(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT ");
    sql.bind(limit);
    let rows = sql.query().fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// `%` and `_` as themselves in a LIKE pattern.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Open conversations, for the sidebar's count.
pub async fn open_count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM support_conversations WHERE status = 'open'")
        .fetch_one(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(like_escaped("50%_off\\"), "50\\%\\_off\\\\");
    }

    #[test]
    fn a_token_is_the_keys_for_its_conversation_and_only_its_hash_is_kept() {
        let key = CodeKey::from_secret("a key of at least thirty-two characters!");
        let token = token_for(&key, 7);
        assert_eq!(token.len(), 32);
        assert_eq!(token, token_for(&key, 7));
        assert_ne!(token, token_for(&key, 8));
        let other = CodeKey::from_secret("another key of thirty-two characters!!");
        assert_ne!(token, token_for(&other, 7));
        assert_eq!(hash(&token).len(), 64);
        assert_eq!(hash(&format!(" {token} ")), hash(&token));
    }
}

/// A saved reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedReply {
    pub id: i64,
    pub title: String,
    pub body: String,
}

/// Every saved reply, by title.
pub async fn saved_replies(pool: &AnyPool) -> Result<Vec<SavedReply>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, title, body FROM support_saved_replies ORDER BY title, id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SavedReply {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
            })
        })
        .collect()
}

pub async fn add_saved_reply(
    conn: &mut AnyConnection,
    title: &str,
    body: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO support_saved_replies (title, body, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(title)
    .bind(body)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

/// Deletes a saved reply; `false` if there was none.
pub async fn delete_saved_reply(conn: &mut AnyConnection, id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM support_saved_replies WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            > 0,
    )
}
