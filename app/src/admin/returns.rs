//! Returns in the back office: the list by status, and one return with its lines and the step
//! it waits for (approve or decline, receive line by line, refund). Changes go through the
//! admin API's own functions (`rest::returns`), so the pages and integrations keep one set of
//! rules.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::pages::{failure, Flash};
use super::AdminError;
use crate::components::when_loaded;
use crate::returns::{ReturnView, Status, MAX_TEXT};

#[server(endpoint = "admin/returns", input = server_fn::codec::Json)]
pub async fn admin_returns(status: String, order: String) -> Result<Vec<ReturnView>, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Support).await?;
            let filter = crate::returns::store::Filter {
                status: Status::parse(&status),
                order_id: crate::orders::order_id(&order),
                ..Default::default()
            };
            let (rows, _) = crate::admin::rest::returns::page(&admin, &filter, 200)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok(rows)
        }
        .await,
    )
}

#[server(endpoint = "admin/return", input = server_fn::codec::Json)]
pub async fn admin_return(rma: String) -> Result<ReturnView, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Support).await?;
            crate::admin::rest::returns::one(&admin, &rma)
                .await
                .map_err(|_| AdminError::NotFound(format!("Return {rma}")))
        }
        .await,
    )
}

#[component]
pub fn AdminReturnsPage() -> impl IntoView {
    let query = use_query_map().read_untracked();
    let order = query.get("order").unwrap_or_default();
    // An order's returns: all of them, whatever their status.
    let status = query.get("status").unwrap_or_else(|| {
        if order.is_empty() {
            "requested".into()
        } else {
            "all".into()
        }
    });
    let tabs = [
        ("requested", "Requested"),
        ("approved", "Approved"),
        ("received", "Received"),
        ("refunded", "Refunded"),
        ("declined", "Declined"),
        ("all", "All"),
    ];
    let current = status.clone();
    view! {
        <Title text="Returns"/>
        <Flash/>
        <h1>"Returns"</h1>
        <p><a href="/admin/support">"Support inbox"</a>" · the return policy is on the "<a href="/admin/settings#returns">"settings"</a>" page."</p>
        <nav class="tabs" aria-label="Returns by status">
            {tabs.into_iter().map(|(value, label)| {
                let here = value == current;
                view! { <a href=format!("/admin/returns?status={value}") aria-current=here.then_some("page")>{label}</a> }
            }).collect_view()}
        </nav>
        {when_loaded(async move {
            match admin_returns(status, order).await {
                Ok(rows) if rows.is_empty() => view! { <p>"No returns here."</p> }.into_any(),
                Ok(rows) => view! {
                    <table class="admin-table">
                        <thead><tr>
                            <th scope="col">"RMA"</th><th scope="col">"Order"</th><th scope="col">"Items"</th>
                            <th scope="col">"Status"</th><th scope="col">"Refund"</th><th scope="col">"Asked"</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| {
                                let items: u32 = r.lines.iter().map(|l| l.quantity).sum();
                                let money = r.refund.or(r.refund_due).map(|m| m.to_string()).unwrap_or_default();
                                view! {
                                    <tr data-testid="return-row">
                                        <td><a href=format!("/admin/returns/{}", r.rma)>{r.rma.clone()}</a></td>
                                        <td><a href=format!("/admin/orders/{}", r.order_number)>{format!("#{}", r.order_number)}</a></td>
                                        <td>{items}</td>
                                        <td><span class=format!("badge status-{}", r.status.as_str())>{r.status.label()}</span></td>
                                        <td>{money}</td>
                                        <td>{r.created_at.clone()}</td>
                                    </tr>
                                }
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
pub fn AdminReturnPage() -> impl IntoView {
    let rma = use_params_map()
        .read_untracked()
        .get("rma")
        .unwrap_or_default();
    view! {
        <Title text="Return"/>
        <Flash/>
        <p><a href="/admin/returns">"← Returns"</a></p>
        {when_loaded(async move {
            match admin_return(rma).await {
                Ok(r) => return_view(r).into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

fn return_view(r: ReturnView) -> impl IntoView {
    let action = format!("/admin/returns/{}", r.rma);
    let key = refund_form_key(&r.rma);
    let fees = format!(
        "Fees fixed when it was asked: restocking {}%, return shipping {}.",
        r.restocking_percent, r.shipping_fee
    );
    view! {
        <h1>{format!("Return {}", r.rma)}</h1>
        <p data-testid="return-status">
            <span class=format!("badge status-{}", r.status.as_str())>{r.status.label()}</span>
            " · "<a href=format!("/admin/orders/{}", r.order_number)>{format!("order #{}", r.order_number)}</a>
            {format!(" · asked {}", r.created_at)}
        </p>
        <table class="admin-table" data-testid="return-lines">
            <thead><tr>
                <th scope="col">"Item"</th><th scope="col">"Units"</th><th scope="col">"Reason"</th>
                <th scope="col">"Back on the shelf"</th><th scope="col">"Damaged"</th>
            </tr></thead>
            <tbody>
                {r.lines.iter().map(|l| view! {
                    <tr>
                        <td>{l.title.clone()}</td><td>{l.quantity}</td><td>{l.reason.label()}</td>
                        <td>{l.restocked}</td><td>{l.damaged}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {(!r.comment.is_empty()).then(|| view! { <p><strong>"The shopper wrote: "</strong>{r.comment.clone()}</p> })}
        {(!r.staff_message.is_empty()).then(|| view! { <p><strong>"Told the shopper: "</strong>{r.staff_message.clone()}</p> })}
        <p class="hint">{fees}</p>
        {r.refund.map(|m| view! { <p data-testid="return-refunded">{format!("Refunded {m}.")}</p> })}
        {r.exchange_variant_id.map(|variant| view! {
            <p data-testid="return-exchange">
                "An exchange, not a refund: for "<a href=format!("/admin/variants/{variant}")>{format!("variant {variant}")}</a>"."
                {r.replacement_order.clone().map(|n| view! { " Replacement: "<a href=format!("/admin/orders/{n}")>{format!("order #{n}")}</a>", at no charge." })}
            </p>
        })}
        {match r.status {
            Status::Requested => view! {
                <div class="actions">
                    <form method="post" action=format!("{action}/approve") class="admin-form" data-testid="return-approve">
                        <label for="approve-message">"Instructions for sending the items back"</label>
                        <textarea id="approve-message" name="message" rows="4" required maxlength=MAX_TEXT.to_string()></textarea>
                        <button type="submit" class="primary">"Approve"</button>
                    </form>
                    <form method="post" action=format!("{action}/decline") class="admin-form" data-testid="return-decline">
                        <label for="decline-reason">"Why it is declined"</label>
                        <textarea id="decline-reason" name="reason" rows="3" required maxlength=MAX_TEXT.to_string()></textarea>
                        <button type="submit">"Decline"</button>
                    </form>
                </div>
            }.into_any(),
            Status::Approved => view! {
                <form method="post" action=format!("{action}/receive") class="admin-form" data-testid="return-receive">
                    <fieldset>
                        <legend>"Mark items received"</legend>
                        {r.lines.iter().filter(|l| l.restocked + l.damaged < l.quantity).map(|l| {
                            let id = l.line_id;
                            let left = l.quantity - l.restocked - l.damaged;
                            view! {
                                <div class="receive-line">
                                    <label for=format!("restock-{id}")>{format!("{}: back on the shelf", l.title)}</label>
                                    <input id=format!("restock-{id}") name=format!("restock_{id}") type="number" min="0" max=left.to_string() value=left.to_string() inputmode="numeric"/>
                                    <label for=format!("damaged-{id}")>{format!("{}: damaged", l.title)}</label>
                                    <input id=format!("damaged-{id}") name=format!("damaged_{id}") type="number" min="0" max=left.to_string() value="0" inputmode="numeric"/>
                                </div>
                            }
                        }).collect_view()}
                        <button type="submit" class="primary">"Mark received"</button>
                    </fieldset>
                </form>
            }.into_any(),
            Status::Received if r.exchange_variant_id.is_some() => ().into_any(),
            Status::Received => view! {
                <form method="post" action=format!("{action}/refund") class="admin-form" data-testid="return-refund">
                    <input type="hidden" name="key" value=key/>
                    <p>{format!("Refund due: {} (the units as paid, less the fees).", r.refund_due.map(|m| m.to_string()).unwrap_or_default())}</p>
                    <label for="refund-amount">"Refund less (optional)"</label>
                    <input id="refund-amount" name="amount" inputmode="decimal" placeholder=r.refund_due.map(|m| m.plain_number()).unwrap_or_default()/>
                    <label for="refund-reason">"Why less (told to the shopper)"</label>
                    <input id="refund-reason" name="reason" maxlength="500"/>
                    <button type="submit" class="primary">"Refund"</button>
                </form>
            }.into_any(),
            Status::Declined | Status::Refunded => ().into_any(),
        }}
    }
}

/// The refund form's idempotency key: one per return and page load, so a double submit of the
/// same form refunds once.
fn refund_form_key(rma: &str) -> String {
    #[cfg(feature = "ssr")]
    {
        format!("return-{rma}-{}", crate::checkout::service::random_token())
    }
    #[cfg(not(feature = "ssr"))]
    {
        format!("return-{rma}")
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use axum::extract::{Form, Path, State};
    use axum::http::HeaderMap;
    use axum::response::Response;

    use crate::admin::listed::ListedRouter;
    use crate::admin::respond::outcome;
    use crate::admin::rest::returns as api;
    use crate::admin::service::Admin;
    use crate::admin::{Access, AdminError};
    use crate::money::Money;

    pub fn listed_routes<S>() -> ListedRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        ListedRouter::default()
            .post("/admin/returns/{rma}/approve", approve_form)
            .post("/admin/returns/{rma}/decline", decline_form)
            .post("/admin/returns/{rma}/receive", receive_form)
            .post("/admin/returns/{rma}/refund", refund_form)
    }

    pub fn routes<S>() -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        listed_routes().into_router()
    }

    type Fields = Form<Vec<(String, String)>>;

    fn field(form: &[(String, String)], name: &str) -> String {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }

    fn page(rma: &str) -> String {
        format!("/admin/returns/{}", crate::admin::respond::urlencode(rma))
    }

    fn said(error: crate::admin::rest::ApiError) -> AdminError {
        AdminError::Invalid(error.said())
    }

    async fn approve_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(rma): Path<String>,
        Form(form): Fields,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Support).await?;
            api::approve(&admin, &account, &rma, &field(&form, "message"))
                .await
                .map_err(said)?;
            Ok("Approved: the shopper has the instructions.".to_string())
        }
        .await;
        outcome(&headers, &page(&rma), result)
    }

    async fn decline_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(rma): Path<String>,
        Form(form): Fields,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Support).await?;
            api::decline(&admin, &account, &rma, &field(&form, "reason"))
                .await
                .map_err(said)?;
            Ok("Declined: the shopper was told why.".to_string())
        }
        .await;
        outcome(&headers, &page(&rma), result)
    }

    async fn receive_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(rma): Path<String>,
        Form(form): Fields,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Staff).await?;
            let mut lines = Vec::new();
            for (name, value) in &form {
                let (line, restock) = if let Some(line) = name.strip_prefix("restock_") {
                    (line, true)
                } else if let Some(line) = name.strip_prefix("damaged_") {
                    (line, false)
                } else {
                    continue;
                };
                let Ok(line) = line.parse::<i64>() else {
                    continue;
                };
                let value = value.trim();
                if value.is_empty() || value == "0" {
                    continue;
                }
                let units = value.parse::<u32>().map_err(|_| {
                    AdminError::Invalid("Enter whole numbers of units received.".into())
                })?;
                lines.push((line, units, restock));
            }
            api::receive(&admin, &account, &rma, lines)
                .await
                .map_err(said)?;
            Ok("Received.".to_string())
        }
        .await;
        outcome(&headers, &page(&rma), result)
    }

    async fn refund_form(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(rma): Path<String>,
        Form(form): Fields,
    ) -> Response {
        let result = async {
            let account = admin.authorize(&headers, Access::Refunds).await?;
            let currency = admin.checkout().rules().await?.currency;
            let typed = field(&form, "amount");
            let amount = if typed.is_empty() {
                None
            } else {
                Some(
                    Money::parse(&typed, currency)
                        .map_err(|e| AdminError::Invalid(format!("Refund amount: {e}")))?
                        .amount,
                )
            };
            let key = field(&form, "key");
            if key.is_empty() || key.len() > 80 {
                return Err(AdminError::Invalid(
                    "The refund form is out of date; reload the page.".into(),
                ));
            }
            let paid = api::refund(
                &admin,
                &account,
                &rma,
                amount,
                &field(&form, "reason"),
                &format!("form:{key}"),
            )
            .await
            .map_err(said)?;
            Ok(format!("Refunded {}.", Money::new(paid, currency)))
        }
        .await;
        outcome(&headers, &page(&rma), result)
    }
}
