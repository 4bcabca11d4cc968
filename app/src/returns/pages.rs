//! The order page's returns section: the order's returns so far, and a form to ask for a new
//! one (posted to `returns::http`; it works without JavaScript).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{Reason, ReturnOptions, ReturnView, Status};
use crate::components::when_loaded;

/// What the order behind an access token can return, and its returns.
#[server(endpoint = "order/returns", input = server_fn::codec::Json)]
pub async fn order_returns(
    token: String,
) -> Result<Option<ReturnOptions>, crate::checkout::CheckoutError> {
    let checkout = use_context::<crate::checkout::service::Checkout>()
        .ok_or(crate::checkout::CheckoutError::Internal)?;
    let Some(order) = crate::orders::record::by_token(checkout.db().pool(), &token).await? else {
        return Ok(None);
    };
    super::http::options(&checkout, &order)
        .await
        .map(Some)
        .map_err(|_| crate::checkout::CheckoutError::Internal)
}

/// The returns section of the order page (nothing before anything was delivered, unless a
/// return exists).
#[component]
pub fn OrderReturns(token: String) -> impl IntoView {
    let query = use_query_map().read_untracked();
    let sent = query.get("return");
    let problem = query.get("return_error");
    when_loaded(async move {
        let Ok(Some(options)) = order_returns(token.clone()).await else {
            return ().into_any();
        };
        if !options.delivered && options.returns.is_empty() {
            return ().into_any();
        }
        let can_return = options.lines.iter().any(|l| l.units > 0);
        let fees = fees_text(&options);
        view! {
            <section id="returns" aria-labelledby="returns-heading" data-testid="order-returns">
                <h2 id="returns-heading">"Returns"</h2>
                {sent.map(|rma| view! {
                    <p class="notice" role="status" data-testid="return-sent">
                        {format!("Return {rma} requested. We have emailed you the details and will let you know once we have looked at it.")}
                    </p>
                })}
                {problem.map(|p| view! { <p class="notice error" role="alert" data-testid="return-error">{p}</p> })}
                {(!options.returns.is_empty()).then(|| view! {
                    <ul class="returns" data-testid="returns-list">
                        {options.returns.iter().map(return_item).collect_view()}
                    </ul>
                })}
                <p>{format!("Items can be returned within {} days of delivery.", options.window_days)} {fees}</p>
                {if can_return {
                    view! { <ReturnForm token=token.clone() options=options.clone()/> }.into_any()
                } else {
                    view! {
                        <ul class="not-returnable">
                            {options.lines.iter().filter_map(|l| l.why_not.clone().map(|why| view! {
                                <li>{format!("{}: {why}", l.title)}</li>
                            })).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        }
        .into_any()
    })
}

fn fees_text(options: &ReturnOptions) -> String {
    let mut parts = Vec::new();
    if options.restocking_percent > 0 {
        parts.push(format!(
            "a restocking fee of {}%",
            options.restocking_percent
        ));
    }
    if let Some(fee) = options.shipping_fee {
        parts.push(format!("return shipping of {fee}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            "The refund is the price you paid less {}.",
            parts.join(" and ")
        )
    }
}

fn return_item(r: &ReturnView) -> impl IntoView {
    let lines = r
        .lines
        .iter()
        .map(|l| format!("{} × {} ({})", l.quantity, l.title, l.reason.label()))
        .collect::<Vec<_>>()
        .join(", ");
    let money = match (r.status, r.refund, r.refund_due) {
        (Status::Refunded, Some(refund), _) => format!("Refunded {refund}."),
        (Status::Declined, _, _) => String::new(),
        (_, _, Some(due)) => format!("Refund on receipt: {due}."),
        _ => String::new(),
    };
    view! {
        <li data-testid="return" data-status=r.status.as_str()>
            <strong>{r.rma.clone()}</strong>" · "<span data-testid="return-status">{r.status.label()}</span>
            <br/>{lines}
            {(!r.staff_message.is_empty()).then(|| view! { <br/><em>{r.staff_message.clone()}</em> })}
            {(!money.is_empty()).then(|| view! { <br/><span data-testid="return-refund">{money.clone()}</span> })}
            {match (&r.replacement_order, r.exchange_variant_id) {
                (Some(number), _) => Some(format!("Exchange: your replacement is order #{number}, at no charge.")),
                (None, Some(_)) if r.status != Status::Declined => Some("Exchange: a replacement follows once we approve it.".to_string()),
                _ => None,
            }.map(|text| view! { <br/><span data-testid="return-exchange">{text}</span> })}
        </li>
    }
}

#[component]
fn ReturnForm(token: String, options: ReturnOptions) -> impl IntoView {
    view! {
        <form method="post" action=format!("/orders/{token}/returns") class="return-form" data-testid="return-form">
            <fieldset>
                <legend>"Ask for a return"</legend>
                {options.lines.iter().map(|line| {
                    let id = line.line_id;
                    match &line.why_not {
                        Some(why) => view! {
                            <p class="not-returnable" data-testid="not-returnable">{format!("{}: {why}", line.title)}</p>
                        }.into_any(),
                        None => view! {
                            <div class="return-line" data-testid="return-line">
                                <span class="return-item">{line.title.clone()}</span>
                                <label for=format!("qty-{id}")>{format!("How many to return of {}", line.title)}</label>
                                <select id=format!("qty-{id}") name=format!("qty_{id}")>
                                    {(0..=line.units).map(|n| view! { <option value=n.to_string()>{n.to_string()}</option> }).collect_view()}
                                </select>
                                <label for=format!("reason-{id}")>{format!("Why are you returning {}?", line.title)}</label>
                                <select id=format!("reason-{id}") name=format!("reason_{id}")>
                                    <option value="">"Choose a reason"</option>
                                    {Reason::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                                </select>
                            </div>
                        }.into_any(),
                    }
                }).collect_view()}
                {(!options.exchanges.is_empty()).then(|| view! {
                    <label for="return-exchange">"Refund, or exchange for another size or colour?"</label>
                    <select id="return-exchange" name="exchange">
                        <option value="">"Refund me"</option>
                        {options.exchanges.iter().map(|(id, title)| view! {
                            <option value=id.to_string()>{format!("Exchange for {title}")}</option>
                        }).collect_view()}
                    </select>
                })}
                <label for="return-comment">"Anything else we should know? (optional)"</label>
                <textarea id="return-comment" name="comment" rows="3" maxlength=super::MAX_TEXT.to_string()></textarea>
                <button type="submit" class="primary">"Request a return"</button>
            </fieldset>
        </form>
    }
}
