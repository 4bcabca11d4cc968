//! The shopper's order page, reached through the unguessable link in the confirmation.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{OrderDetails, OrderStatus};
use crate::checkout::{order_by_token, CheckoutError};
use crate::components::{when_loaded, NotFound};
use crate::payments::NextAction;

#[component]
pub fn OrderPage() -> impl IntoView {
    let token = use_params_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    // Stripe sends the shopper back with `?payment_intent=…`: ask Stripe before showing.
    let returned = use_query_map()
        .read_untracked()
        .get("payment_intent")
        .is_some();
    view! {
        // The link is the key to the order: keep it out of search engines and other sites'
        // referrers. "same-origin", not "no-referrer": the return form's POST must still name
        // this shop as its origin (a no-referrer page sends `Origin: null`, which the
        // cross-site check refuses).
        <Meta name="robots" content="noindex"/>
        <Meta name="referrer" content="same-origin"/>
        {when_loaded(async move {
            match order_by_token(token.clone(), returned).await {
                Ok(order) => view! { <OrderView order token/> }.into_any(),
                Err(CheckoutError::NotFound(_)) => view! { <NotFound/> }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
            }
        })}
    }
}

#[component]
fn OrderView(order: OrderDetails, token: String) -> impl IntoView {
    let heading = match order.status {
        OrderStatus::Paid => "Thank you for your order!",
        OrderStatus::PendingPayment => "Almost done: your payment is waiting",
        OrderStatus::PaymentFailed => "The payment did not go through",
        OrderStatus::Cancelled => "This order was cancelled",
        OrderStatus::Expired => "This order expired",
    };
    let address = order.shipping_address.clone();
    let tax_note = if order.prices_include_tax {
        "Included tax"
    } else {
        "Tax"
    };
    view! {
        <Title text=format!("Order #{}", order.number)/>
        <section class="order-page" data-testid="order-page" data-status=order.status.as_str()>
            <h1>{heading}</h1>
            <p class="order-number">"Order " <strong data-testid="order-number">{format!("#{}", order.number)}</strong>
                " · " <span data-testid="order-status">{order.status.label()}</span></p>
            {(order.status == OrderStatus::Paid).then(|| view! {
                <p>"A confirmation is on its way to " <strong>{order.email.clone()}</strong>". Keep this page's address to follow your order."</p>
            })}
            {match order.next_action.clone() {
                Some(NextAction::ConfirmTestPayment) => view! { <TestAuthentication token=token.clone()/> }.into_any(),
                Some(NextAction::StripePaymentElement { client_secret, publishable_key }) => view! {
                    <div id="stripe-payment" data-client-secret=client_secret data-publishable-key=publishable_key>
                        <div id="payment-element"></div>
                        <button type="button" id="stripe-pay" class="primary">"Pay now"</button>
                        <p id="stripe-message" role="alert"></p>
                    </div>
                    <script src="https://js.stripe.com/v3/"></script>
                    <script src="/stripe-payment.js"></script>
                }.into_any(),
                None => ().into_any(),
            }}
            <table class="order-lines">
                <thead><tr><th scope="col">"Item"</th><th scope="col">"Qty"</th><th scope="col">"Total"</th></tr></thead>
                <tbody>
                    {order.lines.iter().map(|l| view! {
                        <tr>
                            <td>{l.title.clone()} {(!l.variant_title.is_empty()).then(|| format!(" ({})", l.variant_title))}
                                {(l.backordered > 0).then(|| view! { <small class="backorder">{format!(" — {} on backorder", l.backordered)}</small> })}</td>
                            <td>{l.quantity}</td>
                            <td>{l.total.to_string()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <dl class="order-totals">
                <dt>"Subtotal"</dt><dd>{order.subtotal.to_string()}</dd>
                <dt>{format!("Shipping ({})", order.shipping_method)}</dt><dd>{order.shipping.to_string()}</dd>
                {order.discounts.iter().map(|d| {
                    let name = d.label();
                    view! { <dt data-testid="order-discount">{name}</dt><dd>{format!("−{}", d.amount)}</dd> }
                }).collect_view()}
                <dt>{tax_note}</dt><dd>{order.tax.to_string()}</dd>
                <dt>"Total"</dt><dd data-testid="order-page-total"><strong>{order.total.to_string()}</strong></dd>
                {order.gift_cards.iter().map(|g| view! {
                    <dt data-testid="order-gift-card">{g.label()}</dt><dd>{format!("−{}", g.amount)}</dd>
                }).collect_view()}
                {(!order.gift_cards.is_empty()).then(|| view! {
                    <dt>"Paid by card"</dt><dd data-testid="order-amount-due">{order.amount_due.to_string()}</dd>
                })}
            </dl>
            {(!order.shipments.is_empty()).then(|| view! {
                <h2>"Shipments"</h2>
                <ul class="shipments">
                    {order.shipments.iter().map(|s| view! {
                        <li data-testid="shipment">
                            {format!("{} — tracking number {}", s.carrier, s.tracking_number)}
                            {if s.status == "delivered" { " (delivered)" } else { " (on its way)" }}
                            <br/><small>{s.lines.iter().map(|(t, q)| format!("{q} × {t}")).collect::<Vec<_>>().join(", ")}</small>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            <h2>"Shipping to"</h2>
            <address>
                {address.name}<br/>{address.line1}<br/>
                {(!address.line2.is_empty()).then(|| view! { {address.line2.clone()}<br/> })}
                {format!("{} {}", address.postal_code, address.city)}<br/>
                {(!address.region.is_empty()).then(|| view! { {address.region.clone()}<br/> })}
                {address.country}
            </address>
            {(order.status == OrderStatus::Paid).then(|| view! { <crate::returns::pages::OrderReturns token=token.clone()/> })}
            <h2>"Questions?"</h2>
            <p><a href=format!("/contact?order={}&token={token}", order.number) data-testid="order-contact">"Write to us about this order"</a>" — we answer by email."</p>
        </section>
    }
}

/// The test gateway's stand-in for a bank's 3-D Secure page.
#[island(lazy)]
fn TestAuthentication(token: String) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    let (problem, set_problem) = signal(None::<String>);
    let answer = move |approve: bool| {
        let token = token.clone();
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            match crate::checkout::confirm_test_payment(token, approve).await {
                Ok(_) => {
                    #[cfg(feature = "hydrate")]
                    crate::connectivity::browser::reload();
                }
                Err(error) => {
                    set_busy.set(false);
                    set_problem.set(Some(error.to_string()));
                }
            }
        });
    };
    let fail = answer.clone();
    view! {
        <div class="authentication" data-testid="test-authentication">
            <p>"Your bank asks you to confirm this payment (test mode: choose the outcome)."</p>
            <button type="button" class="primary" data-testid="complete-authentication" disabled=busy
                on:click=move |_| answer(true)>"Complete authentication"</button>
            " "
            <button type="button" data-testid="fail-authentication" disabled=busy
                on:click=move |_| fail(false)>"Fail authentication"</button>
            {move || problem.get().map(|p| view! { <p class="notice error" role="alert">{p}</p> })}
        </div>
    }
}
