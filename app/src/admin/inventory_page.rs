//! The inventory table: every variant with its SKU, stock on hand, reserved, available and
//! low-stock alert, searchable, a page at a time, each adjustable in its row with a reason.
//! The adjustment posts to the variant's stock route and comes back here.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::pages::{encode, failure, Flash};
use super::{admin_inventory, InventoryFilter, InventoryRow, REASONS};
use crate::components::when_loaded;

#[component]
pub fn AdminInventoryPage() -> impl IntoView {
    let filter = use_query_map().with_untracked(|q| InventoryFilter {
        q: q.get("q").unwrap_or_default(),
        low: q.get("low").is_some_and(|v| v == "1"),
        cursor: q.get("cursor").unwrap_or_default(),
    });
    // Where an adjustment returns to: this very page, filters and page kept.
    let here = inventory_href(&filter, &filter.cursor);
    let wanted = filter.clone();
    view! {
        <Title text="Inventory"/>
        <Flash/>
        <h1>"Inventory"</h1>
        <form method="get" action="/admin/inventory" class="filters">
            <label>"Search " <input type="search" name="q" placeholder="SKU or product" value=filter.q.clone()/></label>
            <label class="checkbox"><input type="checkbox" name="low" value="1" checked=filter.low/>" Low stock only"</label>
            <button type="submit">"Filter"</button>
        </form>
        {when_loaded(async move {
            match admin_inventory(wanted.clone()).await {
                Ok(list) if list.rows.is_empty() => view! { <p>"No variants match."</p> }.into_any(),
                Ok(list) => {
                    let next = list.next_cursor.map(|cursor| view! {
                        <a href=inventory_href(&wanted, &cursor) rel="next" data-testid="next-page">"Next page →"</a>
                    });
                    let here = here.clone();
                    view! {
                        <table class="admin-table inventory" data-testid="inventory-table">
                            <thead><tr>
                                <th scope="col">"Variant"</th><th scope="col">"SKU"</th>
                                <th scope="col">"On hand"</th><th scope="col">"Reserved"</th>
                                <th scope="col">"Available"</th><th scope="col">"Alert at"</th>
                                <th scope="col">"Adjust"</th>
                            </tr></thead>
                            <tbody>{list.rows.into_iter().map(|row| view! { <InventoryLine row back=here.clone()/> }).collect_view()}</tbody>
                        </table>
                        {next}
                    }
                    .into_any()
                }
                Err(error) => failure(error),
            }
        })}
    }
}

/// The inventory table's address with `filter`'s search and low-stock choice at `cursor`.
fn inventory_href(filter: &InventoryFilter, cursor: &str) -> String {
    let mut query = vec![];
    if !cursor.is_empty() {
        query.push(format!("cursor={}", encode(cursor)));
    }
    if !filter.q.is_empty() {
        query.push(format!("q={}", encode(&filter.q)));
    }
    if filter.low {
        query.push("low=1".to_string());
    }
    if query.is_empty() {
        "/admin/inventory".to_string()
    } else {
        format!("/admin/inventory?{}", query.join("&"))
    }
}

#[component]
fn InventoryLine(row: InventoryRow, back: String) -> impl IntoView {
    let available = row.on_hand - row.reserved;
    let low = available <= row.threshold;
    let reason_id = format!("reason-{}", row.id);
    let quantity_id = format!("quantity-{}", row.id);
    view! {
        <tr data-testid="inventory-row" class:low=low>
            <td><a href=format!("/admin/variants/{}", row.id)>{row.title.clone()}</a></td>
            <td>{row.sku.clone()}</td>
            <td>{row.on_hand}</td>
            <td>{row.reserved}</td>
            <td>{available}{low.then_some(" ⚠")}</td>
            <td>{row.threshold}</td>
            <td>
                <form method="post" action=format!("/admin/variants/{}/adjust", row.id) class="row-form">
                    <input type="hidden" name="version" value=row.version/>
                    <input type="hidden" name="back" value=back/>
                    <label for=reason_id.clone() class="visually-hidden">{format!("Reason for {}", row.sku)}</label>
                    <select id=reason_id name="reason">
                        {REASONS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                    <label for=quantity_id.clone() class="visually-hidden">{format!("Quantity for {}", row.sku)}</label>
                    <input id=quantity_id name="quantity" type="number" inputmode="numeric" required/>
                    <button type="submit">"Save"</button>
                </form>
            </td>
        </tr>
    }
}
