//! Cart components: the header count, the add button and the cart page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{CartItem, CartStore, MAX_LINE_QUANTITY};

/// The header link to the cart with the number of items in it. Every page has it, so it also
/// marks `<body data-hydrated>` once the page is interactive (for tests, and for CSS that hides
/// the no-JavaScript fallbacks).
#[island]
pub fn CartCount() -> impl IntoView {
    let count = CartStore::get().item_count();
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <a href="/cart" class="cart-link">
            "Cart "
            <span class="cart-count" data-testid="cart-count" aria-live="polite">{count}</span>
            <span class="visually-hidden">" items"</span>
        </a>
    }
}

/// The add button as an island of its own, for server-rendered product cards.
#[island]
pub fn AddToCartButton(item: Option<CartItem>) -> impl IntoView {
    view! { <AddButton item=Signal::stored(item)/> }
}

/// Adds one unit of `item` to the cart; disabled and labelled "Sold out" when there is none.
#[component]
pub fn AddButton(#[prop(into)] item: Signal<Option<CartItem>>) -> impl IntoView {
    let store = CartStore::get();
    let (added, set_added) = signal(false);
    let add = move |_| {
        if let Some(item) = item.get_untracked() {
            store.add(item, 1);
            set_added.set(true);
        }
    };
    view! {
        <button
            type="button"
            class="add-to-cart"
            disabled=move || item.with(Option::is_none)
            on:click=add
        >
            {move || match (item.with(Option::is_some), added.get()) {
                (false, _) => "Sold out",
                (true, false) => "Add to cart",
                (true, true) => "Added ✓",
            }}
        </button>
    }
}

#[component]
pub fn CartPage() -> impl IntoView {
    view! {
        <Title text="Cart"/>
        <CartContents/>
    }
}

/// The cart's lines, editable: rendered empty on the server, filled from the browser's storage.
#[island]
fn CartContents() -> impl IntoView {
    let store = CartStore::get();
    let cart = store.cart();
    view! {
        <section class="cart-page">
            <h1>"Your cart"</h1>
            <Show
                when=move || !cart.with(|c| c.is_empty())
                fallback=|| view! { <p>"Your cart is empty. " <a href="/">"Continue shopping"</a></p> }
            >
                <ul class="cart-lines">
                    <For
                        each=move || cart.get().lines
                        key=|line| (line.item.variant_id, line.quantity)
                        children=move |line| {
                            let id = line.item.variant_id;
                            let quantity = line.quantity;
                            view! {
                                <li class="cart-line" data-testid="cart-line">
                                    {line.item.image_url.clone().map(|url| view! {
                                        <img src=url alt="" width=80 height=80/>
                                    })}
                                    <div>
                                        <a href=format!("/products/{}", line.item.product_slug)>{line.item.title.clone()}</a>
                                        <p class="variant">{line.item.variant_title.clone()}</p>
                                        <p class="price">{line.item.unit_price.to_string()}</p>
                                    </div>
                                    <div class="quantity" role="group" aria-label="Quantity">
                                        <button type="button" aria-label="One fewer" on:click=move |_| store.set_quantity(id, quantity - 1)>"−"</button>
                                        <span data-testid="line-quantity">{quantity}</span>
                                        <button type="button" aria-label="One more" disabled={quantity >= MAX_LINE_QUANTITY} on:click=move |_| store.set_quantity(id, quantity + 1)>"+"</button>
                                    </div>
                                    <button type="button" class="link" on:click=move |_| store.remove(id)>"Remove"</button>
                                </li>
                            }
                        }
                    />
                </ul>
                <p class="subtotal">
                    "Subtotal: "
                    <strong>{move || cart.with(|c| c.estimated_subtotal().map(|m| m.to_string()).unwrap_or_default())}</strong>
                </p>
                <p class="hint">"Prices, shipping and tax are confirmed at checkout."</p>
            </Show>
        </section>
    }
}
