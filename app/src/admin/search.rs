//! The back office's search, from the top bar of every page: orders by number, email or name,
//! and products by title, address or SKU, on one page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::catalog_pages::ProductRows;
use super::pages::{failure, OrderTable};
use super::{admin_orders, admin_products, OrderFilter, ProductFilter};
use crate::components::when_loaded;

/// How many of each kind the search page shows before pointing to the full list.
const SHOWN: usize = 10;

#[component]
pub fn AdminSearchPage() -> impl IntoView {
    let q = use_query_map()
        .read_untracked()
        .get("q")
        .unwrap_or_default()
        .trim()
        .to_string();
    let title = if q.is_empty() {
        "Search".to_string()
    } else {
        format!("Search: {q}")
    };
    view! {
        <Title text=title/>
        <h1>"Search"</h1>
        {if q.is_empty() {
            view! { <p>"Type an order number, a customer's email or name, a product title or a SKU."</p> }.into_any()
        } else {
            when_loaded(async move {
                let filter = OrderFilter { q: q.clone(), ..Default::default() };
                let orders = admin_orders(filter).await;
                let products = admin_products(ProductFilter { q: q.clone(), ..Default::default() }).await;
                let link = |path: &str| format!("{path}?q={}", super::pages::encode(&q));
                let orders = match orders {
                    Ok(list) if list.rows.is_empty() => view! { <p>"No orders match."</p> }.into_any(),
                    Ok(list) => {
                        let more = list.rows.len() > SHOWN || list.next_cursor.is_some();
                        let rows: Vec<_> = list.rows.into_iter().take(SHOWN).collect();
                        view! {
                            <OrderTable rows/>
                            {more.then(|| view! { <p><a href=link("/admin/orders")>"All matching orders →"</a></p> })}
                        }
                        .into_any()
                    }
                    Err(error) => failure(error),
                };
                let products = match products {
                    Ok(list) if list.rows.is_empty() => view! { <p>"No products match."</p> }.into_any(),
                    Ok(list) => {
                        let more = list.rows.len() > SHOWN || list.next_cursor.is_some();
                        let rows: Vec<_> = list.rows.into_iter().take(SHOWN).collect();
                        view! {
                            <ProductRows rows selectable=false/>
                            {more.then(|| view! { <p><a href=link("/admin/products")>"All matching products →"</a></p> })}
                        }
                        .into_any()
                    }
                    Err(error) => failure(error),
                };
                view! {
                    <section aria-labelledby="found-orders" data-testid="found-orders">
                        <h2 id="found-orders">"Orders"</h2>
                        {orders}
                    </section>
                    <section aria-labelledby="found-products" data-testid="found-products">
                        <h2 id="found-products">"Products"</h2>
                        {products}
                    </section>
                }
            })
            .into_any()
        }}
    }
}
