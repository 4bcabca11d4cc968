//! The gift card pages: issue a card (its code is shown once, on a page no cache keeps), the
//! list with balances, and one card with its ledger and a way to disable it. Issuing and
//! disabling go through the admin API's own functions (`rest::gift_cards`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::pages::{failure, Flash};
use super::AdminError;
use crate::components::when_loaded;

/// A card as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftCardRow {
    pub id: i64,
    pub masked_code: String,
    pub balance: String,
    pub initial: String,
    pub status: String,
    pub expires: String,
    pub recipient: String,
    pub note: String,
    pub order: Option<String>,
    pub created: String,
}

/// One change of a card's balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRow {
    pub kind: String,
    pub amount: String,
    pub balance_after: String,
    pub order: Option<String>,
    pub at: String,
}

#[server(endpoint = "admin/gift-cards", input = server_fn::codec::Json)]
pub async fn admin_gift_cards() -> Result<Vec<GiftCardRow>, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Staff).await?;
            ssr::rows(&admin).await
        }
        .await,
    )
}

#[server(endpoint = "admin/gift-card", input = server_fn::codec::Json)]
pub async fn admin_gift_card(id: i64) -> Result<(GiftCardRow, Vec<LedgerRow>), AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Staff).await?;
            ssr::card(&admin, id).await
        }
        .await,
    )
}

#[component]
pub fn AdminGiftCardsPage() -> impl IntoView {
    view! {
        <Title text="Gift cards"/>
        <Flash/>
        <p><a href="/admin/discounts">"← Discounts"</a></p>
        <h1>"Gift cards"</h1>
        <p class="hint">"A gift card pays all or part of an order at checkout; what it does not pay stays on it. Its code is shown once, when it is issued; the shop keeps only a keyed hash of it and its last four characters."</p>
        <form method="post" action="/admin/gift-cards" class="admin-form" data-testid="issue-gift-card">
            <h2>"Issue a gift card"</h2>
            <label for="gift-amount">"Value"</label>
            <input id="gift-amount" name="amount" inputmode="decimal" required placeholder="50.00"/>
            <label for="gift-expires">"Valid until (optional)"</label>
            <input id="gift-expires" name="expires_on" type="date"/>
            <label for="gift-recipient">"Send the code to (optional)"</label>
            <input id="gift-recipient" name="recipient_email" type="email" autocomplete="off"/>
            <label for="gift-note">"Note for staff (optional)"</label>
            <input id="gift-note" name="note" maxlength="500"/>
            <button type="submit" class="primary">"Issue gift card"</button>
        </form>
        {when_loaded(async move {
            match admin_gift_cards().await {
                Ok(rows) if rows.is_empty() => view! { <p>"No gift cards yet."</p> }.into_any(),
                Ok(rows) => view! {
                    <table class="admin-table" data-testid="gift-cards-table">
                        <thead><tr>
                            <th scope="col">"Code"</th><th scope="col">"Balance"</th><th scope="col">"Status"</th>
                            <th scope="col">"Valid until"</th><th scope="col">"Recipient"</th><th scope="col">"Issued"</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| view! {
                                <tr data-testid="gift-card-row">
                                    <td><a href=format!("/admin/gift-cards/{}", row.id)><code>{row.masked_code}</code></a></td>
                                    <td>{format!("{} of {}", row.balance, row.initial)}</td>
                                    <td><span class=format!("badge status-{}", row.status)>{row.status.replace('_', " ")}</span></td>
                                    <td>{row.expires}</td>
                                    <td>{row.recipient}</td>
                                    <td>{row.created}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
pub fn AdminGiftCardPage() -> impl IntoView {
    let params = use_params_map();
    let id = params
        .read_untracked()
        .get("card")
        .and_then(|id| id.parse::<i64>().ok())
        .unwrap_or(0);
    view! {
        <Title text="Gift card"/>
        <Flash/>
        <p><a href="/admin/gift-cards">"← Gift cards"</a></p>
        {when_loaded(async move {
            match admin_gift_card(id).await {
                Ok((card, ledger)) => view! {
                    <h1>"Gift card "<code>{card.masked_code.clone()}</code></h1>
                    <p data-testid="gift-card-balance">
                        <span class=format!("badge status-{}", card.status)>{card.status.replace('_', " ")}</span>
                        {format!(" · {} left of {}", card.balance, card.initial)}
                    </p>
                    <dl class="facts">
                        <dt>"Valid until"</dt><dd>{if card.expires.is_empty() { "no end".to_string() } else { card.expires.clone() }}</dd>
                        <dt>"Recipient"</dt><dd>{card.recipient.clone()}</dd>
                        <dt>"Note"</dt><dd>{card.note.clone()}</dd>
                        {card.order.clone().map(|order| view! {
                            <dt>"Bought in"</dt><dd><a href=format!("/admin/orders/{order}")>{format!("#{order}")}</a></dd>
                        })}
                    </dl>
                    {(card.status != "disabled").then(|| view! {
                        <form method="post" action=format!("/admin/gift-cards/{}/disable", card.id) class="inline">
                            <button type="submit" data-confirm="Disable this gift card? It can no longer pay; its balance is kept.">"Disable"</button>
                        </form>
                    })}
                    <h2>"Ledger"</h2>
                    <table class="admin-table" data-testid="gift-card-ledger">
                        <thead><tr>
                            <th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Amount"</th>
                            <th scope="col">"Balance after"</th><th scope="col">"Order"</th>
                        </tr></thead>
                        <tbody>
                            {ledger.into_iter().map(|row| view! {
                                <tr data-testid="ledger-row">
                                    <td>{row.at}</td><td>{row.kind}</td><td>{row.amount}</td><td>{row.balance_after}</td>
                                    <td>{row.order.map(|order| view! { <a href=format!("/admin/orders/{order}")>{format!("#{order}")}</a> })}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use axum::extract::rejection::FormRejection;
    use axum::extract::{Form, Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::Response;
    use serde::Deserialize;

    use super::{GiftCardRow, LedgerRow};
    use crate::admin::listed::ListedRouter;
    use crate::admin::respond::{form_error, outcome, shown_once};
    use crate::admin::rest::gift_cards::{disable, issue, status, GiftCardIn};
    use crate::admin::service::Admin;
    use crate::admin::{Access, AdminError};
    use crate::db::now_epoch;
    use crate::money::Money;
    use crate::orders::order_number;
    use crate::promotions::gift_card_store::{self, Managed};
    use crate::promotions::gift_cards::{grouped, masked};
    use crate::time::format_time;

    pub fn listed_routes<S>() -> ListedRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        ListedRouter::default()
            .post("/admin/gift-cards", issue_form)
            .post("/admin/gift-cards/{card}/disable", disable_form)
    }

    pub fn routes<S>() -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        listed_routes().into_router()
    }

    fn row(card: &Managed, now: i64) -> GiftCardRow {
        GiftCardRow {
            id: card.id,
            masked_code: masked(&card.last4),
            balance: card.balance.to_string(),
            initial: card.initial.to_string(),
            status: status(card, now).to_string(),
            expires: card.expires_at.map(format_time).unwrap_or_default(),
            recipient: card.recipient_email.clone().unwrap_or_default(),
            note: card.note.clone(),
            order: card.order_id.map(order_number),
            created: format_time(card.created_at),
        }
    }

    pub async fn rows(admin: &Admin) -> Result<Vec<GiftCardRow>, AdminError> {
        let now = now_epoch();
        Ok(
            gift_card_store::list(admin.checkout().db().pool(), None, 500)
                .await?
                .iter()
                .map(|card| row(card, now))
                .collect(),
        )
    }

    pub async fn card(admin: &Admin, id: i64) -> Result<(GiftCardRow, Vec<LedgerRow>), AdminError> {
        let pool = admin.checkout().db().pool();
        let card = gift_card_store::by_id(pool, id)
            .await?
            .ok_or_else(|| AdminError::NotFound("This gift card".into()))?;
        let ledger = gift_card_store::ledger(pool, id, card.balance.currency)
            .await?
            .into_iter()
            .map(|entry| LedgerRow {
                kind: entry.kind,
                amount: entry.amount.to_string(),
                balance_after: entry.balance_after.to_string(),
                order: entry.order_id.map(order_number),
                at: format_time(entry.created_at),
            })
            .collect();
        Ok((row(&card, now_epoch()), ledger))
    }

    /// The issue form as posted: the value as people write it, a date, text.
    #[derive(Deserialize)]
    pub struct IssueForm {
        amount: String,
        #[serde(default)]
        expires_on: String,
        #[serde(default)]
        recipient_email: String,
        #[serde(default)]
        note: String,
    }

    async fn issue_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        form: Result<Form<IssueForm>, FormRejection>,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Refunds).await?;
            let Form(form) = form.map_err(form_error)?;
            let currency = admin.checkout().rules().await?.currency;
            let amount = Money::parse(form.amount.trim(), currency)
                .map_err(|e| AdminError::Invalid(format!("Value: {e}")))?;
            let expires_on = form.expires_on.trim();
            let input = GiftCardIn::new(
                amount,
                // The end of the chosen day, UTC.
                (!expires_on.is_empty()).then(|| format!("{expires_on}T23:59:59Z")),
                Some(form.recipient_email),
                Some(form.note),
            );
            let (id, code) = issue(&admin, &account, input)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok::<_, AdminError>((id, code, amount))
        }
        .await;
        let (id, code, amount) = match result {
            Ok(issued) => issued,
            Err(error) => return outcome(&headers, "/admin/gift-cards", Err(error)),
        };
        let body = format!(
            "<p>Copy the code now: the shop keeps no copy of it and shows only its last four \
             characters from now on.</p><p><code data-testid=\"gift-card-code\">{}</code></p>\
             <p><a href=\"/admin/gift-cards/{id}\">The card's page</a></p>",
            grouped(&code)
        );
        shown_once(
            StatusCode::CREATED,
            ("New gift card", &format!("Gift card worth {amount}")),
            &body,
            ("/admin/gift-cards", "Back to gift cards"),
        )
    }

    async fn disable_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let result = async {
            let account = admin.authorize(&headers, Access::Refunds).await?;
            disable(&admin, &account, id)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok("Gift card disabled: it can no longer pay.".to_string())
        }
        .await;
        outcome(&headers, &format!("/admin/gift-cards/{id}"), result)
    }
}
