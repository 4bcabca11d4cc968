//! Gift cards: issue (the only answer that shows the whole code), list with balances, one card
//! with its ledger, disable. Issuing and disabling take the refund permission: both are money.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    audited, body, check_text, id_page, path_id, rfc3339, shop_currency, ApiError, Audited, Caller,
    ErrorBody, MoneyIn, Problems,
};
use crate::admin::service::Admin;
use crate::admin::Access;
use crate::checkout::address::validate_email;
use crate::db::now_epoch;
use crate::money::Money;
use crate::orders::order_number;
use crate::promotions::gift_card_store::{self, LedgerEntry, Managed, NewCard};
use crate::promotions::gift_cards::{grouped, masked};
use crate::time::parse_rfc3339;

/// A gift card to issue. Optional fields take `null` and absence alike.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiftCardIn {
    /// Its value, in the shop's currency.
    amount: MoneyIn,
    /// RFC 3339; the card cannot pay after it.
    #[serde(default)]
    expires_at: Option<String>,
    /// Sent the code by email when set.
    #[serde(default)]
    recipient_email: Option<String>,
    /// For staff: why it was issued.
    #[serde(default)]
    note: Option<String>,
}

impl GiftCardIn {
    /// The issue form's input in the API's words.
    pub(crate) fn new(
        amount: Money,
        expires_at: Option<String>,
        recipient_email: Option<String>,
        note: Option<String>,
    ) -> GiftCardIn {
        GiftCardIn {
            amount: MoneyIn::of(amount),
            expires_at,
            recipient_email,
            note,
        }
    }
}

/// A gift card as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct GiftCardOut {
    id: i64,
    /// The whole code: only in the answer that issued the card, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    last4: String,
    /// "••••WXYZ", as pages show it.
    masked_code: String,
    initial_amount: Money,
    balance: Money,
    /// `active`, `disabled`, `expired` or `used_up`.
    status: &'static str,
    expires_at: Option<String>,
    recipient_email: Option<String>,
    note: String,
    /// The order that bought it, if a shopper did.
    order: Option<String>,
    created_at: String,
    /// Every change of its balance, oldest first (one card only).
    #[serde(skip_serializing_if = "Option::is_none")]
    ledger: Option<Vec<LedgerOut>>,
}

/// One change of a card's balance.
#[derive(Serialize, ToSchema)]
pub struct LedgerOut {
    /// `issue`, `redeem`, `release`, `refund` or `adjust`.
    kind: String,
    /// Negative when spent.
    amount: Money,
    balance_after: Money,
    order: Option<String>,
    note: String,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct GiftCardList {
    items: Vec<GiftCardOut>,
    next_cursor: Option<String>,
}

/// Where a card stands at `now`.
pub(crate) fn status(card: &Managed, now: i64) -> &'static str {
    if card.disabled_at.is_some() {
        "disabled"
    } else if card.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else if card.balance.amount == 0 {
        "used_up"
    } else {
        "active"
    }
}

fn card_out(card: &Managed, code: Option<String>, ledger: Option<Vec<LedgerEntry>>) -> GiftCardOut {
    GiftCardOut {
        id: card.id,
        code: code.map(|c| grouped(&c)),
        last4: card.last4.clone(),
        masked_code: masked(&card.last4),
        initial_amount: card.initial,
        balance: card.balance,
        status: status(card, now_epoch()),
        expires_at: card.expires_at.map(rfc3339),
        recipient_email: card.recipient_email.clone(),
        note: card.note.clone(),
        order: card.order_id.map(order_number),
        created_at: rfc3339(card.created_at),
        ledger: ledger.map(|entries| {
            entries
                .into_iter()
                .map(|e| LedgerOut {
                    kind: e.kind,
                    amount: e.amount,
                    balance_after: e.balance_after,
                    order: e.order_id.map(order_number),
                    note: e.note,
                    created_at: rfc3339(e.created_at),
                })
                .collect()
        }),
    }
}

/// A card with its ledger, or 404.
pub(crate) async fn one_out(admin: &Admin, id: i64) -> Result<GiftCardOut, ApiError> {
    let pool = admin.checkout().db().pool();
    let card = gift_card_store::by_id(pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Gift card {id}")))?;
    let ledger = gift_card_store::ledger(pool, id, card.balance.currency).await?;
    Ok(card_out(&card, None, Some(ledger)))
}

/// Issues a card from staff's input and emails the recipient, if any; returns the card's id
/// and its code (shown once).
pub(crate) async fn issue(
    admin: &Admin,
    account: &crate::admin::auth::Account,
    input: GiftCardIn,
) -> Result<(i64, String), ApiError> {
    let currency = shop_currency(admin).await?;
    let mut problems = Problems::default();
    let amount = input.amount.check("amount", currency, 1, &mut problems);
    let now = now_epoch();
    let expires_at = input
        .expires_at
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .and_then(|text| match parse_rfc3339(text) {
            Some(at) if at > now => Some(at),
            Some(_) => {
                problems.add("expires_at", "choose a time in the future");
                None
            }
            None => {
                problems.add("expires_at", "use RFC 3339, such as 2027-12-31T23:59:59Z");
                None
            }
        });
    let recipient = input
        .recipient_email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .and_then(|email| match validate_email(email) {
            Ok(email) => Some(email),
            Err(error) => {
                problems.add("recipient_email", error.message);
                None
            }
        });
    let note = input.note.unwrap_or_default();
    check_text(&mut problems, "note", &note, 0, 500);
    problems.finish()?;
    let key = admin.checkout().gift_card_key().await?.clone();
    let card = NewCard {
        amount: Money::new(amount, currency),
        expires_at,
        recipient_email: recipient.clone(),
        note: note.trim().to_string(),
        order_id: None,
    };
    let shop = admin.checkout().rules().await?.shop_name.clone();
    let site_url = admin.checkout().site_url().to_string();
    let issued = audited(admin, account, "Gift card issued", move |conn| {
        Box::pin(async move {
            let (id, code) = gift_card_store::issue(conn, &key, &card, now).await?;
            if let Some(recipient) = &card.recipient_email {
                let email = crate::notifications::gift_card(
                    &shop,
                    &grouped(&code),
                    card.amount,
                    card.expires_at,
                    &site_url,
                );
                crate::notifications::queue(conn, recipient, email, now).await?;
            }
            Ok(Audited {
                detail: format!("{} {}", masked(&code[code.len() - 4..]), card.amount),
                subject: format!("gift_card:{id}"),
                value: (id, code),
            })
        })
    })
    .await?;
    if recipient.is_some() {
        crate::notifications::wake_sender();
    }
    Ok(issued)
}

/// Disables card `id`.
pub(crate) async fn disable(
    admin: &Admin,
    account: &crate::admin::auth::Account,
    id: i64,
) -> Result<(), ApiError> {
    audited(admin, account, "Gift card disabled", move |conn| {
        Box::pin(async move {
            if !gift_card_store::disable(conn, id, now_epoch()).await? {
                return Err(ApiError::not_found(&format!("Gift card {id}")));
            }
            Ok(Audited {
                value: (),
                subject: format!("gift_card:{id}"),
                detail: String::new(),
            })
        })
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/admin/gift-cards", tag = "admin", security(("bearer" = [])),
    params(
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor."),
        ("limit" = Option<i64>, Query, description = "1 to 200; 50 by default."),
    ),
    responses((status = 200, body = GiftCardList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_gift_cards(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let (before, limit) = id_page(raw.as_deref())?;
    let mut cards = gift_card_store::list(admin.checkout().db().pool(), before, limit + 1).await?;
    let more = cards.len() as i64 > limit;
    cards.truncate(limit as usize);
    Ok(Json(GiftCardList {
        next_cursor: more
            .then(|| cards.last().map(|c| c.id.to_string()))
            .flatten(),
        items: cards.iter().map(|c| card_out(c, None, None)).collect(),
    })
    .into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/gift-cards", tag = "admin", security(("bearer" = [])),
    request_body = GiftCardIn,
    responses((status = 201, description = "The card, with its whole `code` (shown only here)", body = GiftCardOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_gift_card(
    State(admin): State<Admin>,
    caller: Caller,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Refunds)?;
    let input: GiftCardIn = body(request)?;
    let (id, code) = issue(&admin, &account, input).await?;
    let mut out = one_out(&admin, id).await?;
    out.code = Some(grouped(&code));
    out.ledger = None;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/gift-cards/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The gift card's id.")),
    responses((status = 200, body = GiftCardOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_gift_card(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let id = path_id(&id, "Gift card")?;
    Ok(Json(one_out(&admin, id).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/gift-cards/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The gift card's id.")),
    responses((status = 200, body = GiftCardOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn disable_gift_card(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Refunds)?;
    let id = path_id(&id, "Gift card")?;
    disable(&admin, &account, id).await?;
    Ok(Json(one_out(&admin, id).await?).into_response())
}
