//! The account's cart on the server: a signed-in shopper's cart, kept so it follows them to
//! another device. The browser's store syncs with it through [`super::sync_cart`]; headless
//! shops use `GET|PUT /api/v1/customer/cart` and `POST /api/v1/customer/cart/merge`. The rules
//! are [`super::sync`]'s; here they meet the database, one transaction per change, with the
//! customer's row locked on Postgres so two tabs syncing at once take turns.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::sync::{apply_edits, live, merge_at_sign_in, CartSync, Change, StampedLine, SyncedCart};
use super::{now_ms, CartItem, CartLine};
use crate::accounts::http::body_error;
use crate::accounts::service::Accounts;
use crate::accounts::AccountError;
use crate::checkout::address::FieldError;
use crate::checkout::service::buyable_variants;
use crate::checkout::{MAX_LINES, MAX_LINE_QUANTITY};
use crate::db::{Backend, Db};
use crate::error::ErrorBody;
use crate::money::Money;
use crate::write_queue::JobFuture;

/// A removed line is remembered this long, so an older edit arriving late (a phone back from
/// a week offline) cannot bring it back; then it is forgotten.
pub const REMOVALS_KEPT_MS: i64 = 30 * 24 * 60 * 60 * 1000;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Accounts: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/customer/cart", get(read).put(edit))
        .route("/api/v1/customer/cart/merge", post(merge))
}

/// Applies a browser's sync to `customer_id`'s cart and answers the cart as it now is: a kept
/// cart's edits (the later edit wins per line), a guest cart's lines merged in at sign-in, or
/// nothing at all for a cart kept with another account (its edits are not this one's).
/// Variants the shop does not know are passed over.
pub async fn sync(
    db: &Db,
    customer_id: i64,
    request: CartSync,
) -> Result<SyncedCart, AccountError> {
    let (lines, notices) = apply(db, customer_id, request).await?;
    Ok(SyncedCart {
        owner: customer_id,
        lines: lines.into_iter().map(|(line, _)| line).collect(),
        notices,
    })
}

/// The cart's lines, each with the time of its last edit, and a merge's notices.
type Applied = (Vec<(CartLine, i64)>, Vec<String>);

/// [`sync`]'s change, in one transaction: the cart's lines afterwards (each with the time of
/// its last edit) and the merge's notices.
async fn apply(db: &Db, customer_id: i64, request: CartSync) -> Result<Applied, AccountError> {
    let now = now_ms();
    db.writes()
        .run(
            move |conn| -> JobFuture<'_, Result<Applied, AccountError>> {
                Box::pin(async move {
                    lock_cart(conn, customer_id).await?;
                    let notices = match request.owner {
                        Some(owner) if owner == customer_id => {
                            record_edits(conn, customer_id, &request.lines, now).await?;
                            Vec::new()
                        }
                        Some(_) => Vec::new(),
                        None => merge_in(conn, customer_id, &live(&request.lines), now).await?,
                    };
                    let lines = lines_with_times(conn, customer_id).await?;
                    if lines.len() > MAX_LINES {
                        // Rolls the whole change back.
                        return Err(AccountError::field(
                            "lines",
                            &format!("A cart holds at most {MAX_LINES} lines."),
                        ));
                    }
                    Ok((lines, notices))
                })
            },
        )
        .await
}

/// The cart as it is, for a page or the API.
pub async fn current(db: &Db, customer_id: i64) -> Result<Vec<(CartLine, i64)>, AccountError> {
    let mut conn = db.pool().acquire().await?;
    Ok(lines_with_times(&mut conn, customer_id).await?)
}

/// Forgets removals older than [`REMOVALS_KEPT_MS`] (the job runner calls this).
pub async fn forget_old_removals(db: &Db, now_ms: i64) -> Result<u64, sqlx::Error> {
    db.writes()
        .run(move |conn| -> JobFuture<'_, Result<u64, sqlx::Error>> {
            Box::pin(async move {
                let done = sqlx::query(
                    "DELETE FROM customer_cart_lines WHERE quantity = 0 AND edited_at < $1",
                )
                .bind(now_ms - REMOVALS_KEPT_MS)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected())
            })
        })
        .await
}

/// Two syncs of one customer's cart never interleave: on Postgres the customer's row is locked
/// until the transaction ends (SQLite's single writer already does this).
async fn lock_cart(conn: &mut AnyConnection, customer_id: i64) -> Result<(), sqlx::Error> {
    if Backend::of(conn) == Backend::Postgres {
        sqlx::query("SELECT id FROM customers WHERE id = $1 FOR UPDATE")
            .bind(customer_id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Every line kept for the customer, removals included, by variant.
async fn read_stamped(
    conn: &mut AnyConnection,
    customer_id: i64,
) -> Result<Vec<StampedLine>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT variant_id, quantity, edited_at FROM customer_cart_lines \
         WHERE customer_id = $1 ORDER BY variant_id",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StampedLine {
                variant_id: row.try_get("variant_id")?,
                quantity: crate::db::count(row, "quantity")?,
                edited_at: row.try_get("edited_at")?,
            })
        })
        .collect()
}

/// Writes the lines of `after` that differ from `before`.
async fn write_changes(
    conn: &mut AnyConnection,
    customer_id: i64,
    before: &[StampedLine],
    after: &[StampedLine],
) -> Result<(), sqlx::Error> {
    for line in after.iter().filter(|line| !before.contains(line)) {
        sqlx::query(
            "INSERT INTO customer_cart_lines (customer_id, variant_id, quantity, edited_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (customer_id, variant_id) DO UPDATE SET \
             quantity = excluded.quantity, edited_at = excluded.edited_at",
        )
        .bind(customer_id)
        .bind(line.variant_id)
        .bind(i64::from(line.quantity))
        .bind(line.edited_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The ids among `ids` the shop knows, with what can be bought of each.
async fn known(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<(CartItem, u32)>, sqlx::Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let variants = buyable_variants(conn, &ids).await?;
    Ok(variants
        .into_iter()
        .map(|v| {
            let item = CartItem {
                variant_id: v.variant_id,
                product_slug: v.product_slug,
                title: v.title,
                variant_title: v.variant_title,
                unit_price: v.unit_price,
                image_url: v.image_url,
            };
            (item, v.available)
        })
        .collect())
}

/// A kept cart's edits: the later edit wins per line ([`apply_edits`]). A time from the future
/// (a device whose clock runs ahead) counts as now, or it would win over every edit to come.
async fn record_edits(
    conn: &mut AnyConnection,
    customer_id: i64,
    edits: &[StampedLine],
    now: i64,
) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = edits.iter().map(|e| e.variant_id).collect();
    let known = known(conn, &ids).await?;
    let edits: Vec<StampedLine> = edits
        .iter()
        .filter(|e| {
            known
                .iter()
                .any(|(item, _)| item.variant_id == e.variant_id)
        })
        .map(|e| StampedLine {
            edited_at: e.edited_at.clamp(0, now),
            ..*e
        })
        .collect();
    let kept = read_stamped(conn, customer_id).await?;
    let after = apply_edits(&kept, &edits);
    write_changes(conn, customer_id, &kept, &after).await
}

/// A guest cart joins the account's at sign-in ([`merge_at_sign_in`]); the notices say what
/// changed from what the browser showed.
async fn merge_in(
    conn: &mut AnyConnection,
    customer_id: i64,
    browser: &[(i64, u32)],
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let kept = read_stamped(conn, customer_id).await?;
    let account = live(&kept);
    let ids: Vec<i64> = browser.iter().chain(&account).map(|(id, _)| *id).collect();
    let known = known(conn, &ids).await?;
    let is_known = |id: i64| known.iter().any(|(item, _)| item.variant_id == id);
    let browser: Vec<(i64, u32)> = browser
        .iter()
        .filter(|(id, _)| is_known(*id))
        .copied()
        .collect();
    let available = |id: i64| {
        known
            .iter()
            .find(|(item, _)| item.variant_id == id)
            .map_or(0, |(_, available)| *available)
    };
    let (merged, changes) = merge_at_sign_in(&browser, &account, available);
    // The merge is a fresh statement of every line either cart had.
    let mut after = kept.clone();
    for (item, _) in &known {
        let id = item.variant_id;
        if browser.iter().chain(&account).any(|(v, _)| *v == id) {
            let quantity = merged.iter().find(|(v, _)| *v == id).map_or(0, |(_, q)| *q);
            after.retain(|l| l.variant_id != id);
            after.push(StampedLine {
                variant_id: id,
                quantity,
                edited_at: now,
            });
        }
    }
    write_changes(conn, customer_id, &kept, &after).await?;
    let title_of = |id: i64| {
        known
            .iter()
            .find(|(item, _)| item.variant_id == id)
            .map(|(item, _)| display_title(item))
            .unwrap_or_default()
    };
    Ok(changes.iter().map(|c| said(c, &title_of)).collect())
}

fn display_title(item: &CartItem) -> String {
    crate::checkout::line_title(&item.title, &item.variant_title)
}

/// A change of the merge in the shopper's words.
fn said(change: &Change, title_of: &impl Fn(i64) -> String) -> String {
    match *change {
        Change::Added {
            variant_id,
            quantity,
        } => format!(
            "{} × {quantity} was in your account's cart and is now here too.",
            title_of(variant_id)
        ),
        Change::Raised {
            variant_id,
            from,
            to,
        } => format!(
            "{}: {to} as in your account's cart (this device had {from}).",
            title_of(variant_id)
        ),
        Change::Lowered {
            variant_id,
            wanted,
            to,
        } => format!(
            "{}: lowered from {wanted} to {to}, as only {to} can be bought now.",
            title_of(variant_id)
        ),
        Change::Removed { variant_id } => format!(
            "{} can no longer be bought and was taken out of your cart.",
            title_of(variant_id)
        ),
    }
}

/// The cart's lines as shown (names, pictures and prices of now), in variant order, each with
/// the time of its last edit.
async fn lines_with_times(
    conn: &mut AnyConnection,
    customer_id: i64,
) -> Result<Vec<(CartLine, i64)>, sqlx::Error> {
    let stamped = read_stamped(conn, customer_id).await?;
    let lines = lines_of(conn, &live(&stamped)).await?;
    Ok(lines
        .into_iter()
        .map(|line| {
            let edited_at = stamped
                .iter()
                .find(|s| s.variant_id == line.item.variant_id)
                .map_or(0, |s| s.edited_at);
            (line, edited_at)
        })
        .collect())
}

async fn lines_of(
    conn: &mut AnyConnection,
    lines: &[(i64, u32)],
) -> Result<Vec<CartLine>, sqlx::Error> {
    let ids: Vec<i64> = lines.iter().map(|(id, _)| *id).collect();
    let items = known(conn, &ids).await?;
    Ok(lines
        .iter()
        .filter_map(|(id, quantity)| {
            items
                .iter()
                .find(|(item, _)| item.variant_id == *id)
                .map(|(item, _)| CartLine {
                    item: item.clone(),
                    quantity: *quantity,
                })
        })
        .collect())
}

/// A line of the account's cart, as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountCartLine {
    pub variant_id: i64,
    pub quantity: u32,
    pub product_slug: String,
    pub title: String,
    pub variant_title: String,
    /// Today's price (the cart keeps no price of its own; checkout prices it again).
    pub unit_price: Money,
    pub image_url: Option<String>,
    /// The line's last edit, RFC 3339 UTC.
    pub updated_at: String,
}

/// The account's cart.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountCart {
    pub lines: Vec<AccountCartLine>,
    /// After a merge: what changed from the lines sent, in words.
    pub notices: Vec<String>,
}

/// A line to set: quantity 0 removes it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CartLineInput {
    pub variant_id: i64,
    pub quantity: u32,
}

/// Lines to set. Lines not named stay as they are, so two devices' edits never erase each
/// other; each line sent is an edit made now, and the later edit of a line wins.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CartInput {
    pub lines: Vec<CartLineInput>,
}

fn answer(lines: Vec<(CartLine, i64)>, notices: Vec<String>) -> AccountCart {
    AccountCart {
        lines: lines
            .into_iter()
            .map(|(line, edited_at)| AccountCartLine {
                variant_id: line.item.variant_id,
                quantity: line.quantity,
                product_slug: line.item.product_slug,
                title: line.item.title,
                variant_title: line.item.variant_title,
                unit_price: line.item.unit_price,
                image_url: line.item.image_url,
                updated_at: crate::time::rfc3339(edited_at.div_euclid(1000)),
            })
            .collect(),
        notices,
    }
}

/// The lines of an API request, checked: at most [`MAX_LINES`], each variant once and known to
/// the shop, quantities up to [`MAX_LINE_QUANTITY`].
async fn checked(db: &Db, input: &CartInput) -> Result<Vec<StampedLine>, AccountError> {
    if input.lines.len() > MAX_LINES {
        return Err(AccountError::field(
            "lines",
            &format!("A cart holds at most {MAX_LINES} lines."),
        ));
    }
    let ids: Vec<i64> = input.lines.iter().map(|l| l.variant_id).collect();
    let mut conn = db.pool().acquire().await?;
    let known = known(&mut conn, &ids).await?;
    drop(conn);
    let mut errors = Vec::new();
    let now = now_ms();
    for (i, line) in input.lines.iter().enumerate() {
        if !known
            .iter()
            .any(|(item, _)| item.variant_id == line.variant_id)
        {
            errors.push(FieldError::new(
                format!("lines[{i}].variant_id"),
                "The shop has no product variant with this id.",
            ));
        } else if input.lines[..i]
            .iter()
            .any(|l| l.variant_id == line.variant_id)
        {
            errors.push(FieldError::new(
                format!("lines[{i}].variant_id"),
                "This variant is already listed; send each variant once.",
            ));
        }
        if line.quantity > MAX_LINE_QUANTITY {
            errors.push(FieldError::new(
                format!("lines[{i}].quantity"),
                format!("At most {MAX_LINE_QUANTITY} of one item fit in a cart."),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AccountError::Invalid(errors));
    }
    Ok(input
        .lines
        .iter()
        .map(|l| StampedLine {
            variant_id: l.variant_id,
            quantity: l.quantity,
            edited_at: now,
        })
        .collect())
}

/// The signed-in customer's cart.
#[utoipa::path(get, path = "/api/v1/customer/cart", tag = "customer", operation_id = "getCustomerCart",
    security(("customer" = [])),
    responses((status = 200, body = AccountCart), (status = 401, body = ErrorBody)))]
pub(crate) async fn read(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
) -> Result<Json<AccountCart>, AccountError> {
    let customer = accounts.require(&headers).await?;
    let lines = current(accounts.db(), customer.id).await?;
    Ok(Json(answer(lines, Vec::new())))
}

/// Sets lines of the cart (quantity 0 removes one); lines not sent stay as they are.
#[utoipa::path(put, path = "/api/v1/customer/cart", tag = "customer", operation_id = "putCustomerCart",
    security(("customer" = [])), request_body = CartInput,
    responses((status = 200, body = AccountCart), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn edit(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    body: Result<Json<CartInput>, JsonRejection>,
) -> Result<Json<AccountCart>, AccountError> {
    change(&accounts, &headers, body, false).await
}

/// Merges a cart started before signing in into the account's: the same variant in both keeps
/// the larger quantity (not the sum), every line is clamped to what can be bought, and the
/// notices name each line that differs from the lines sent.
#[utoipa::path(post, path = "/api/v1/customer/cart/merge", tag = "customer", operation_id = "mergeCustomerCart",
    security(("customer" = [])), request_body = CartInput,
    responses((status = 200, body = AccountCart), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn merge(
    State(accounts): State<Accounts>,
    headers: HeaderMap,
    body: Result<Json<CartInput>, JsonRejection>,
) -> Result<Json<AccountCart>, AccountError> {
    change(&accounts, &headers, body, true).await
}

/// An API request's lines as edits of the signed-in customer's cart, or (`merge`) as a guest
/// cart to merge into it; the cart as it then is.
async fn change(
    accounts: &Accounts,
    headers: &HeaderMap,
    body: Result<Json<CartInput>, JsonRejection>,
    merge: bool,
) -> Result<Json<AccountCart>, AccountError> {
    let customer = accounts.require(headers).await?;
    let Json(input) = body.map_err(body_error)?;
    let lines = checked(accounts.db(), &input).await?;
    let owner = (!merge).then_some(customer.id);
    let (lines, notices) = apply(accounts.db(), customer.id, CartSync { owner, lines }).await?;
    Ok(Json(answer(lines, notices)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn every_change_of_the_merge_names_its_item() {
        let item = CartItem {
            variant_id: 7,
            product_slug: "linen".into(),
            title: "Linen shirt".into(),
            variant_title: "M".into(),
            unit_price: Money::new(4500, Currency::EUR),
            image_url: None,
        };
        let title_of = |_| display_title(&item);
        let changes = [
            Change::Added {
                variant_id: 7,
                quantity: 2,
            },
            Change::Raised {
                variant_id: 7,
                from: 1,
                to: 3,
            },
            Change::Lowered {
                variant_id: 7,
                wanted: 5,
                to: 2,
            },
            Change::Removed { variant_id: 7 },
        ];
        for change in &changes {
            assert!(said(change, &title_of).starts_with("Linen shirt (M)"));
        }
        assert_eq!(
            said(&changes[2], &title_of),
            "Linen shirt (M): lowered from 5 to 2, as only 2 can be bought now."
        );
    }
}
