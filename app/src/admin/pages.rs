//! The admin's pages. Server-rendered; forms post to the admin's axum routes and come back
//! with `?notice=` or `?error=`; `public/admin.js` keeps the dashboard live over server-sent
//! events.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{
    admin_dashboard, admin_orders, admin_variant, order_for_staff, AdminError, AdminOrder,
    Dashboard, OrderFilter, OrderRow, VariantStock,
};
use crate::components::when_loaded;
use crate::orders::OrderStatus;
use crate::time::format_time;

/// Percent-encodes a query value.
pub(super) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The notice or error a form sent back.
#[component]
pub(super) fn Flash() -> impl IntoView {
    let query = use_query_map();
    let notice = move || query.read().get("notice");
    let error = move || query.read().get("error");
    view! {
        {move || notice().map(|n| view! { <p class="notice" role="status" data-testid="admin-notice">{n}</p> })}
        {move || error().map(|e| view! { <p class="notice error" role="alert" data-testid="admin-error">{e}</p> })}
    }
}

/// An admin server function's error, said on the page.
pub(super) fn failure(error: AdminError) -> AnyView {
    view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    if query.read_untracked().get("step").as_deref() == Some("code") {
        return view! {
            <Title text="Staff sign-in"/>
            <Meta name="robots" content="noindex"/>
            <section class="sign-in">
                <h1>"Two-factor authentication"</h1>
                <Flash/>
                <form method="post" action="/admin/sign-in/code" class="stacked" data-testid="second-factor">
                    <input type="hidden" name="next" value=next/>
                    <label for="code">"Code from your authenticator app"</label>
                    <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" required autofocus/>
                    <p class="hint">"Lost your phone? Enter one of your recovery codes instead."</p>
                    <button type="submit" class="primary">"Sign in"</button>
                </form>
                <p><a href="/admin/sign-in">"Start again"</a></p>
            </section>
        }
        .into_any();
    }
    view! {
        <Title text="Staff sign-in"/>
        <Meta name="robots" content="noindex"/>
        <section class="sign-in">
            <h1>"Staff sign-in"</h1>
            <Flash/>
            <form method="post" action="/admin/sign-in" class="stacked">
                <input type="hidden" name="next" value=next/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </section>
    }
    .into_any()
}

/// The owner adds staff accounts here (the form posts to an owner-only route).
#[component]
pub fn AdminStaffPage() -> impl IntoView {
    view! {
        <Title text="Staff"/>
        <Flash/>
        <h1>"Staff accounts"</h1>
        <p class="hint">"Only the owner can add staff. Staff run orders, stock and the catalog; refunds only if allowed."</p>
        <form method="post" action="/admin/staff" class="stacked">
            <label for="staff-email">"Email"</label>
            <input id="staff-email" name="email" type="email" autocomplete="off" required/>
            <label for="staff-password">"Password (at least 12 characters)"</label>
            <input id="staff-password" name="password" type="password" autocomplete="new-password" required minlength="12"/>
            <label><input type="checkbox" name="can_refund"/>" May refund"</label>
            <label><input type="checkbox" name="can_privacy"/>" May export and erase a person's data"</label>
            <label><input type="checkbox" name="can_support"/>" May answer customers (support inbox)"</label>
            <label><input type="checkbox" name="can_analytics"/>" May read the analytics"</label>
            <button type="submit" class="primary">"Add staff account"</button>
        </form>
        <h2>"API tokens"</h2>
        <p class="hint">"Programs call /api/v1/admin/… with a token, acting with the role of the staff member it belongs to. Each token is shown once when made; every use is in the audit log."</p>
        {when_loaded(async move {
            match super::tokens::admin_api_tokens().await {
                Ok(Some(tokens)) => view! { <ApiTokenList tokens/> }.into_any(),
                Ok(None) => view! { <p class="hint">"Only the owner manages API tokens."</p> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
fn ApiTokenList(tokens: super::tokens::ApiTokens) -> impl IntoView {
    let when = |at: Option<i64>, none: &'static str| {
        at.map(format_time).unwrap_or_else(|| none.to_string())
    };
    let rows = tokens
        .tokens
        .into_iter()
        .map(|t| {
            let revoke = format!("/admin/staff/tokens/{}/revoke", t.id);
            view! {
                <tr data-testid="api-token-row">
                    <td>{t.name}</td>
                    <td>{t.staff_email}</td>
                    <td>{format_time(t.created_at)}</td>
                    <td>{when(t.expires_at, "never")}</td>
                    <td>{when(t.last_used_at, "never")}</td>
                    <td>
                        {match t.revoked_at {
                            Some(at) => format!("revoked {}", format_time(at)).into_any(),
                            None => view! {
                                <form method="post" action=revoke class="inline">
                                    <button type="submit">"Revoke"</button>
                                </form>
                            }.into_any(),
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let staff = tokens
        .staff
        .into_iter()
        .map(|email| view! { <option value=email.clone()>{email.clone()}</option> })
        .collect_view();
    view! {
        <table class="admin-table">
            <thead><tr><th>"Name"</th><th>"Acts as"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <form method="post" action="/admin/staff/tokens" class="stacked">
            <label for="token-name">"Token name (what it is for)"</label>
            <input id="token-name" name="name" required maxlength="100"/>
            <label for="token-email">"Acts as"</label>
            <select id="token-email" name="email">{staff}</select>
            <label for="token-expires">"Expires after (days; empty for never)"</label>
            <input id="token-expires" name="expires_days" type="number" min="1" max="3650"/>
            <button type="submit" class="primary">"Create API token"</button>
        </form>
    }
}

#[component]
pub fn AdminDashboardPage() -> impl IntoView {
    view! {
        <Title text="Dashboard"/>
        <Flash/>
        {when_loaded(async move {
            match admin_dashboard().await {
                Ok(dashboard) => view! { <LiveDashboard initial=dashboard/> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

/// The dashboard's numbers. `public/admin.js` keeps them live: on every "changed" event from
/// `/admin/events` (orders or stock moved) it fetches the page again and swaps this section in,
/// so the dashboard needs none of the shop's WASM.
#[component]
fn LiveDashboard(initial: Dashboard) -> impl IntoView {
    let d = initial;
    view! {
        <section class="dashboard" data-testid="dashboard" data-live-dashboard data-live="false">
            <h1>"Dashboard"</h1>
            <div class="periods">
                {d.periods.iter().map(|p| view! {
                    <div class="period">
                        <h2>{p.label.clone()}</h2>
                        <p class="figure">{p.revenue.to_string()}</p>
                        <p>{format!("{} order{}", p.orders, if p.orders == 1 { "" } else { "s" })}</p>
                        <p>{format!("{} visitor{}", p.visitors, if p.visitors == 1 { "" } else { "s" })}</p>
                        <p class="hint">{p.average.map(|a| format!("{a} average")).unwrap_or_else(|| "no orders".into())}</p>
                    </div>
                }).collect_view()}
            </div>
            <figure class="chart">
                {revenue_chart(&d.daily)}
                <figcaption>"Net revenue per day, last 30 days " <a href="/admin/analytics">"(analytics)"</a></figcaption>
            </figure>
            <p>{match d.pending_fulfilment {
                1 => "1 paid order waits to be shipped.".to_string(),
                n => format!("{n} paid orders wait to be shipped."),
            }}</p>
            <h2>"Recent orders"</h2>
            <OrderTable rows=d.recent.clone()/>
            <h2>"Low stock"</h2>
            <ul data-testid="low-stock">
                {d.low_stock.iter().map(|v| view! {
                    <li><a href=format!("/admin/variants/{}", v.variant_id)>{v.title.clone()}</a>
                        {format!(" — {} left (SKU {}, alert at {})", v.available, v.sku, v.threshold)}</li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// Thirty bars, scaled to the best day.
fn revenue_chart(daily: &[i64]) -> impl IntoView {
    let max = daily.iter().copied().max().unwrap_or(0).max(1);
    let bars = daily
        .iter()
        .enumerate()
        .map(|(i, amount)| {
            let height = (amount * 100 / max).max(if *amount > 0 { 2 } else { 0 });
            view! { <rect x=i * 10 y=100 - height width=8 height=height/> }
        })
        .collect_view();
    view! {
        <svg viewBox="0 0 300 100" role="img" aria-label="Revenue per day" class="revenue-chart" preserveAspectRatio="none">
            {bars}
        </svg>
    }
}

#[component]
pub(super) fn OrderTable(rows: Vec<OrderRow>) -> impl IntoView {
    view! {
        <table class="admin-table" data-testid="order-table">
            <thead><tr><th scope="col">"Order"</th><th scope="col">"Date"</th><th scope="col">"Customer"</th>
                <th scope="col">"Status"</th><th scope="col">"Fulfilment"</th><th scope="col">"Total"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|o| view! {
                    <tr data-testid="order-row">
                        <td><a href=format!("/admin/orders/{}", o.number)>{format!("#{}", o.number)}</a></td>
                        <td>{format_time(o.created_at)}</td>
                        <td>{o.name}" " <small>{o.email}</small></td>
                        <td>{o.status.label()}</td>
                        <td>{o.fulfilment}</td>
                        <td>{o.total.to_string()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        query.with(|q| OrderFilter {
            status: q.get("status").unwrap_or_default(),
            from: q.get("from").unwrap_or_default(),
            to: q.get("to").unwrap_or_default(),
            q: q.get("q").unwrap_or_default(),
            cursor: q.get("cursor").unwrap_or_default(),
        })
    };
    let wanted = filter();
    view! {
        <Title text="Orders"/>
        <Flash/>
        <h1>"Orders"</h1>
        <details class="ship-many" data-testid="ship-many">
            <summary>"Ship several orders"</summary>
            <form method="post" action="/admin/orders/ship-many" class="stacked wide">
                <label for="tracking">"Tracking numbers"</label>
                <p class="hint" id="tracking-hint">
                    "One order per line: order number, carrier, tracking number. Paste the three columns from a spreadsheet, or separate them with commas. Each order ships everything it has left, and its customer is emailed. Nothing ships unless every line is right."
                </p>
                <textarea id="tracking" name="tracking" rows="6" required aria-describedby="tracking-hint" placeholder="1042, DHL, JD014600006281230405"></textarea>
                <button type="submit" class="primary">"Ship these orders"</button>
            </form>
        </details>
        <form method="get" action="/admin/orders" class="filters">
            <label>"Status " <select name="status">
                <option value="">"Any"</option>
                {[OrderStatus::Paid, OrderStatus::PendingPayment, OrderStatus::PaymentFailed, OrderStatus::Cancelled, OrderStatus::Expired]
                    .into_iter()
                    .map(|s| view! { <option value=s.as_str() selected=move || filter().status == s.as_str()>{s.label()}</option> })
                    .collect_view()}
            </select></label>
            <label>"From " <input type="date" name="from" value=move || filter().from/></label>
            <label>"To " <input type="date" name="to" value=move || filter().to/></label>
            <label>"Search " <input type="search" name="q" placeholder="Number, email or name" value=move || filter().q/></label>
            <button type="submit">"Filter"</button>
        </form>
        {when_loaded(async move {
            match admin_orders(wanted.clone()).await {
                Ok(list) => {
                    let next = list.next_cursor.clone().map(|cursor| {
                        let f = wanted;
                        let query = [("status", f.status), ("from", f.from), ("to", f.to), ("q", f.q), ("cursor", cursor)]
                            .iter()
                            .map(|(k, v)| format!("{k}={}", encode(v)))
                            .collect::<Vec<_>>()
                            .join("&");
                        view! { <a href=format!("/admin/orders?{query}") rel="next" data-testid="next-page">"Next page →"</a> }
                    });
                    view! { <OrderTable rows=list.rows/> {next} }.into_any()
                }
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
pub fn AdminOrderPage() -> impl IntoView {
    let number = use_params_map()
        .read_untracked()
        .get("number")
        .unwrap_or_default();
    view! {
        <Flash/>
        {when_loaded(async move {
            match order_for_staff(number).await {
                Ok(order) => view! { <OrderAdmin order/> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
fn OrderAdmin(order: AdminOrder) -> impl IntoView {
    let number = order.order.number.clone();
    let details = order.order.clone();
    let paid = details.status == OrderStatus::Paid;
    let can_ship = paid && order.lines.iter().any(|l| l.shipped < l.quantity);
    let can_cancel = (paid && order.fulfilment == "unfulfilled")
        || details.status == OrderStatus::PendingPayment;
    let refundable = order.paid.amount - order.refunded.amount;
    let address = details.shipping_address.clone();
    view! {
        <Title text=format!("Order #{number}")/>
        <section class="admin-order" data-testid="admin-order">
            <h1>{format!("Order #{number}")}</h1>
            <p>
                <span data-testid="admin-order-status">{details.status.label()}</span>" · "
                <span data-testid="admin-fulfilment">{order.fulfilment.clone()}</span>" · "
                {format_time(details.created_at)}" · "
                <a href=format!("/admin/orders/{number}/packing-slip")>"Packing slip"</a>
            </p>
            <p>{details.email.clone()}" — "{address.name.clone()}", "{address.line1.clone()}", "
                {format!("{} {}", address.postal_code, address.city)}", "{address.country.clone()}</p>
            <form method="post" action=format!("/admin/orders/{number}/shipments") class="ship-form">
                <table class="admin-table">
                    <thead><tr><th scope="col">"Item"</th><th scope="col">"SKU"</th><th scope="col">"Ordered"</th>
                        <th scope="col">"Shipped"</th><th scope="col">"Ship now"</th></tr></thead>
                    <tbody>
                        {order.lines.iter().map(|l| {
                            let left = l.quantity - l.shipped;
                            view! {
                                <tr data-testid="admin-line">
                                    <td>{l.title.clone()}</td><td>{l.sku.clone()}</td><td>{l.quantity}</td><td>{l.shipped}</td>
                                    <td>{(can_ship && left > 0).then(|| view! {
                                        <input type="number" min="0" max=left.to_string() name=format!("qty_{}", l.id)
                                            aria-label=format!("Quantity of {} to ship", l.title) value="0"/>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                {can_ship.then(|| view! {
                    <div class="inline-fields">
                        <label>"Carrier " <input name="carrier" required/></label>
                        <label>"Tracking number " <input name="tracking_number" required/></label>
                        <button type="submit" class="primary">"Create shipment"</button>
                    </div>
                })}
            </form>
            <h2>"Shipments"</h2>
            <ul data-testid="admin-shipments">
                {details.shipments.iter().map(|s| {
                    let items = s.lines.iter().map(|(t, q)| format!("{q} × {t}")).collect::<Vec<_>>().join(", ");
                    view! {
                        <li>
                            {format!("{} {} — {} — {}", s.carrier, s.tracking_number, items, s.status)}
                            {(s.status == "shipped").then(|| view! {
                                <form method="post" action=format!("/admin/orders/{number}/shipments/{}/delivered", s.id) class="inline">
                                    <button type="submit" class="link">"Mark delivered"</button>
                                </form>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <h2>"Payment"</h2>
            <dl class="order-totals">
                <dt>"Subtotal"</dt><dd>{details.subtotal.to_string()}</dd>
                <dt>"Shipping"</dt><dd>{details.shipping.to_string()}</dd>
                {details.discounts.iter().map(|d| view! {
                    <dt data-testid="admin-order-discount">{d.label()}</dt><dd>{format!("−{}", d.amount)}</dd>
                }).collect_view()}
                <dt>"Total"</dt><dd>{details.total.to_string()}</dd>
                {details.gift_cards.iter().map(|g| view! {
                    <dt data-testid="admin-order-gift-card">{format!("Paid by gift card {}", crate::promotions::gift_cards::masked(&g.last4))}</dt><dd>{g.amount.to_string()}</dd>
                }).collect_view()}
                <dt>"Paid"</dt><dd>{order.paid.to_string()}</dd>
                <dt>"Refunded"</dt><dd data-testid="admin-refunded">{order.refunded.to_string()}</dd>
            </dl>
            {(order.may_refund && refundable > 0).then(|| view! {
                <form method="post" action=format!("/admin/orders/{number}/refunds") class="inline-fields">
                    <input type="hidden" name="key" value=order.refund_key.clone()/>
                    <label>"Refund amount " <input name="amount" inputmode="decimal" required/></label>
                    <label>"Reason " <input name="reason"/></label>
                    <button type="submit">"Refund"</button>
                </form>
                <form method="post" action=format!("/admin/orders/{number}/refunds") class="inline-fields" data-testid="refund-line">
                    <input type="hidden" name="key" value=order.refund_key.clone()/>
                    <label>"Or refund units of " <select name="line" required>
                        {order.lines.iter().filter(|l| l.refunded < l.quantity).map(|l| view! {
                            <option value=l.id.to_string()>{format!("{} ({} of {} left)", l.title, l.quantity - l.refunded, l.quantity)}</option>
                        }).collect_view()}
                    </select></label>
                    <label>"Units " <input name="units" type="number" min="1" value="1" inputmode="numeric" required/></label>
                    <label>"Reason " <input name="reason"/></label>
                    <button type="submit">"Refund what they paid"</button>
                </form>
                <p class="hint">"A line's units are refunded at what the shopper paid for them: their share of any discount off, their tax in."</p>
            })}
            {can_cancel.then(|| view! {
                <form method="post" action=format!("/admin/orders/{number}/cancel") class="inline">
                    <button type="submit">"Cancel order"</button>
                </form>
            })}
            <h2>"Timeline"</h2>
            <ol class="timeline" data-testid="timeline">
                {order.timeline.iter().map(|e| view! { <li><time>{format_time(e.at)}</time>" "{e.text.clone()}</li> }).collect_view()}
            </ol>
            <p><a href=format!("/admin/returns?order={number}") data-testid="order-returns-link">"Returns of this order"</a></p>
            <super::order_conversations::OrderConversations number=number.clone()/>
        </section>
    }
}

#[component]
pub fn PackingSlipPage() -> impl IntoView {
    let number = use_params_map()
        .read_untracked()
        .get("number")
        .unwrap_or_default();
    view! {
        {when_loaded(async move {
                match order_for_staff(number).await {
                    Ok(order) => {
                        let a = order.order.shipping_address.clone();
                        view! {
                            <Title text=format!("Packing slip #{}", order.order.number)/>
                            <section class="packing-slip" data-testid="packing-slip">
                                <h1>{format!("Packing slip — order #{}", order.order.number)}</h1>
                                <address>{a.name}<br/>{a.line1}<br/>{a.line2}<br/>{format!("{} {}", a.postal_code, a.city)}<br/>{a.region}" "{a.country}</address>
                                <table class="admin-table">
                                    <thead><tr><th scope="col">"Item"</th><th scope="col">"SKU"</th><th scope="col">"Quantity"</th></tr></thead>
                                    <tbody>{order.lines.iter().map(|l| view! { <tr><td>{l.title.clone()}</td><td>{l.sku.clone()}</td><td>{l.quantity}</td></tr> }).collect_view()}</tbody>
                                </table>
                                <p class="hint">{format!("Shipping: {}", order.order.shipping_method)}</p>
                            </section>
                        }.into_any()
                    }
                    Err(error) => failure(error),
                }
        })}
    }
}

#[component]
pub fn AdminVariantPage() -> impl IntoView {
    let id = use_params_map()
        .read_untracked()
        .get("variant")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or_default();
    view! {
        <Flash/>
        {when_loaded(async move {
            match admin_variant(id).await {
                Ok(v) => view! { <VariantAdmin variant=v/> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
fn VariantAdmin(variant: VariantStock) -> impl IntoView {
    view! {
        <Title text=format!("Stock — {}", variant.title)/>
        <section class="admin-variant">
            <h1>{variant.title.clone()}</h1>
            <p>{format!("SKU {} · {} on hand · {} reserved · {} available · low-stock alert at {}",
                variant.sku, variant.on_hand, variant.reserved, variant.on_hand - variant.reserved, variant.threshold)}</p>
            <form method="post" action=format!("/admin/variants/{}/adjust", variant.id) class="inline-fields">
                <input type="hidden" name="version" value=variant.version.to_string()/>
                <label>"Reason " <select name="reason">
                    {super::REASONS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select></label>
                <label>"Quantity " <input name="quantity" inputmode="numeric" required/></label>
                <label>"Note " <input name="note"/></label>
                <button type="submit" class="primary">"Save"</button>
            </form>
            <h2>"History"</h2>
            <table class="admin-table">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Reason"</th><th scope="col">"On hand"</th>
                    <th scope="col">"Reserved"</th><th scope="col">"Order"</th><th scope="col">"Note"</th></tr></thead>
                <tbody>
                    {variant.history.iter().map(|e| view! {
                        <tr><td>{format_time(e.at)}</td><td>{e.reason.clone()}</td><td>{format!("{:+}", e.on_hand_delta)}</td>
                            <td>{format!("{:+}", e.reserved_delta)}</td>
                            <td>{e.order_number.clone().map(|n| view! { <a href=format!("/admin/orders/{n}")>{format!("#{n}")}</a> })}</td>
                            <td>{e.note.clone()}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
