//! Cart components: the header count, the add button and the cart page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{Cart, CartItem, CartStore, MAX_LINE_QUANTITY};
use crate::checkout::address::FieldError;
use crate::checkout::{CheckoutError, Notice, Quote, QuoteRequest};
use crate::connectivity::Connectivity;
use crate::money::Money;
use crate::promotions::view::{DiscountCodes, DiscountList};

/// The header link to the cart with the number of items in it, on every shop page.
#[island]
pub fn CartCount() -> impl IntoView {
    let store = CartStore::get();
    let count = store.item_count();
    let cart = store.cart();
    view! {
        <div class="mini-cart">
            <a href="/cart" class="cart-link">
                "Cart "
                <span class="cart-count" data-testid="cart-count" aria-live="polite">{count}</span>
                <span class="visually-hidden">" items"</span>
            </a>
            // The mini-cart: a glance at the lines without leaving the page.
            <details class="mini-cart-panel" data-testid="mini-cart">
                <summary aria-label="Show what is in the cart"></summary>
                <div class="panel">
                    <Show
                        when=move || !cart.with(Cart::is_empty)
                        fallback=|| view! { <p>"Nothing in your cart yet."</p> }
                    >
                        <ul>
                            <For
                                each=move || cart.get().lines
                                key=|line| (line.item.variant_id, line.quantity)
                                children=|line| view! {
                                    <li>
                                        {format!("{} × {}", line.quantity, line.item.title)}
                                        {(!line.item.variant_title.is_empty()).then(|| format!(" ({})", line.item.variant_title))}
                                    </li>
                                }
                            />
                        </ul>
                        <p>"Subtotal: " {move || cart.with(|c| c.estimated_subtotal().map(|m| m.to_string()).unwrap_or_default())}</p>
                        {move || cart.with(|c| c.priced_discounts().iter().map(|d| view! {
                            <p class="mini-cart-discount" data-testid="mini-cart-discount">{format!("{}: −{}", d.label(), d.amount)}</p>
                        }).collect_view())}
                        <p class="mini-cart-actions">
                            <a href="/cart">"View cart"</a>
                            <a href="/checkout" class="button primary">"Check out"</a>
                        </p>
                    </Show>
                </div>
            </details>
        </div>
    }
}

/// Adds a product card's item to the cart when its add button (`catalog::cards`) is
/// clicked, and says so: one listener on the window for every card of the page, set up by
/// this island, which renders nothing. An island per card cost every collection page 24
/// reactive owners, stores and serialised props (a sixth of its render) and the browser 24
/// hydrations; an island around the grid rendered the grid through its children, as a boxed
/// view copied to be owned.
#[island]
pub fn CardButtons() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        thread_local!(static LISTENING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if !LISTENING.replace(true) {
            let listener = window_event_listener(leptos::ev::click, |event| {
                use wasm_bindgen::JsCast;
                let button = event
                    .target()
                    .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                    .and_then(|element| {
                        element
                            .closest("button.add-to-cart[data-variant]")
                            .ok()
                            .flatten()
                    });
                if let Some((button, item)) =
                    button.and_then(|b| card_item(&b).map(|item| (b, item)))
                {
                    CartStore::get().add(item, 1);
                    button.set_text_content(Some("Added ✓"));
                }
            });
            // For as long as the page is open.
            std::mem::forget(listener);
        }
    }
}

/// The item a card's add button carries ([`card_add_button`]).
#[cfg(feature = "hydrate")]
fn card_item(button: &web_sys::Element) -> Option<CartItem> {
    let text = |name: &str| button.get_attribute(name);
    Some(CartItem {
        variant_id: text("data-variant")?.parse().ok()?,
        product_slug: text("data-slug")?,
        title: text("data-title")?,
        variant_title: text("data-variant-title").unwrap_or_default(),
        unit_price: Money {
            amount: text("data-amount")?.parse().ok()?,
            currency: crate::money::Currency::parse(&text("data-currency")?).ok()?,
        },
        image_url: text("data-image"),
    })
}

/// Adds `quantity` units of `item` (one unless given) to the cart; disabled and labelled
/// "Sold out" when there is none.
#[component]
pub fn AddButton(
    #[prop(into)] item: Signal<Option<CartItem>>,
    #[prop(optional, into)] quantity: Option<Signal<u32>>,
) -> impl IntoView {
    let store = CartStore::get();
    let (added, set_added) = signal(false);
    let add = move |_| {
        if let Some(item) = item.get_untracked() {
            let units = quantity.map_or(1, |q| q.get_untracked()).max(1);
            store.add(item, units);
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
        <crate::PrefetchLazyIsland island="cart_contents"/>
        <CartContents/>
    }
}

/// Asks the server to price the cart whenever its lines change or the connection returns, and
/// brings the stored cart in line with the answer. Only the newest answer counts. Gift cards
/// (checkout only) live in `gift_cards`, never in the stored cart: a refused one is taken out.
pub fn requote_on_change(
    store: CartStore,
    destination: Signal<Option<crate::checkout::Destination>>,
    method: Signal<Option<String>>,
    email: Signal<Option<String>>,
    gift_cards: Option<RwSignal<Vec<String>>>,
) -> LiveQuote {
    let cart = store.cart();
    let online = Connectivity::get().online();
    let (quote, set_quote) = signal(None::<Quote>);
    let (notices, set_notices) = signal(Vec::<Notice>::new());
    let (problem, set_problem) = signal(None::<String>);
    let (code_problem, set_code_problem) = signal(None::<String>);
    let (gift_card_problem, set_gift_card_problem) = signal(None::<String>);
    let asked = Memo::new(move |_| {
        cart.with(|c| {
            let lines = c
                .lines
                .iter()
                .map(|l| (l.item.variant_id, l.quantity))
                .collect::<Vec<_>>();
            (lines, c.codes.clone())
        })
    });
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let (lines, codes) = asked.get();
        let destination = destination.get();
        let method = method.get();
        let email = email.get();
        let cards = gift_cards.map(|g| g.get()).unwrap_or_default();
        // Any change makes the answers still on their way stale, offline too: a quote asked
        // for one item, answering after the shopper raised it to two offline, would lower the
        // line back to the quantity it priced.
        generation.update_value(|g| *g += 1);
        if !online.get() || lines.is_empty() {
            return;
        }
        let mine = generation.get_value();
        let request = QuoteRequest {
            lines: cart.with_untracked(Cart::quote_lines),
            shipping_address: destination,
            shipping_method: method,
            discount_codes: codes.clone(),
            email,
            gift_cards: cards.clone(),
        };
        leptos::task::spawn_local(async move {
            let answer = crate::checkout::quote_cart(request).await;
            if generation.get_value() != mine {
                return;
            }
            match answer {
                Ok(fresh) => {
                    set_problem.set(None);
                    if !codes.is_empty() {
                        set_code_problem.set(None);
                    }
                    if !cards.is_empty() {
                        set_gift_card_problem.set(None);
                    }
                    if !fresh.notices.is_empty() {
                        set_notices.set(fresh.notices.clone());
                    }
                    store.apply_quote(&fresh);
                    set_quote.set(Some(fresh));
                }
                // A code that cannot apply leaves the cart with its reason; the quote without
                // it follows (the cart changed).
                Err(CheckoutError::Invalid(fields))
                    if refused(&fields, "discount_codes", &codes).is_some() =>
                {
                    let (refused, reasons) =
                        refused(&fields, "discount_codes", &codes).unwrap_or_default();
                    set_code_problem.set(Some(reasons));
                    for code in refused {
                        store.remove_code(&code);
                    }
                }
                Err(CheckoutError::Invalid(fields))
                    if refused(&fields, "gift_cards", &cards).is_some() =>
                {
                    let (refused, reasons) =
                        refused(&fields, "gift_cards", &cards).unwrap_or_default();
                    set_gift_card_problem.set(Some(reasons));
                    if let Some(gift_cards) = gift_cards {
                        gift_cards.update(|list| list.retain(|c| !refused.contains(c)));
                    }
                }
                Err(error) => set_problem.set(Some(error.to_string())),
            }
        });
    });
    LiveQuote {
        quote,
        notices,
        problem,
        code_problem,
        gift_card_problem,
    }
}

/// The codes a quote refused (`{list}[i]`), and their reasons in one sentence each.
fn refused(fields: &[FieldError], list: &str, codes: &[String]) -> Option<(Vec<String>, String)> {
    let mut refused = Vec::new();
    let mut reasons = Vec::new();
    for field in fields {
        let place = field
            .field
            .strip_prefix(list)
            .and_then(|rest| rest.strip_prefix('['))
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok());
        if let Some(code) = place.and_then(|i| codes.get(i)) {
            reasons.push(format!("{code}: {}", field.message));
            refused.push(code.clone());
        }
    }
    (!refused.is_empty()).then(|| (refused, reasons.join(" ")))
}

/// The server's latest quote for the cart, what changed, and why there is none (if so).
#[derive(Clone, Copy)]
pub struct LiveQuote {
    pub quote: ReadSignal<Option<Quote>>,
    pub notices: ReadSignal<Vec<Notice>>,
    pub problem: ReadSignal<Option<String>>,
    /// Why the last code entered (or kept offline) does not apply.
    pub code_problem: ReadSignal<Option<String>>,
    /// Why a gift card cannot pay.
    pub gift_card_problem: ReadSignal<Option<String>>,
}

/// What the shopper sees while the shop cannot be reached.
#[component]
pub fn OfflineBanner(#[prop(into)] message: String) -> impl IntoView {
    let online = Connectivity::get().online();
    view! {
        <Show when=move || !online.get()>
            <p class="notice offline" role="status" data-testid="offline-notice">{message.clone()}</p>
        </Show>
    }
}

/// The cart's lines, editable: rendered empty on the server, filled from the browser's storage,
/// re-priced by the server whenever it can be reached.
#[island(lazy)]
fn CartContents() -> impl IntoView {
    let store = CartStore::get();
    let cart = store.cart();
    let online = Connectivity::get().online();
    // A reminder's link (`/cart?restore=…`) puts its cart back, once.
    #[cfg(feature = "hydrate")]
    if let Some(token) = crate::connectivity::browser::query_param("restore") {
        crate::connectivity::browser::replace_path("/cart");
        leptos::task::spawn_local(async move {
            if let Ok(kept) = crate::promotions::reminders::restore_checkout(token).await {
                store.restore(kept.items, &kept.codes);
            }
        });
    }
    let LiveQuote {
        quote,
        notices,
        problem,
        code_problem,
        ..
    } = requote_on_change(
        store,
        Signal::stored(None),
        Signal::stored(None),
        Signal::stored(None),
        None,
    );
    // The quote counts only while it prices exactly the lines in the cart.
    let confirmed = move || {
        quote.with(|q| {
            q.as_ref().and_then(|q| {
                let same = cart.with(|c| {
                    c.lines.len() == q.lines.len()
                        && c.lines.iter().zip(&q.lines).all(|(l, p)| {
                            l.item.variant_id == p.variant_id && l.quantity == p.quantity
                        })
                });
                same.then(|| q.clone())
            })
        })
    };
    view! {
        <section class="cart-page">
            <h1>"Your cart"</h1>
            <OfflineBanner message="You are offline. Your cart is saved on this device and can still be edited; prices are the ones you last saw."/>
            <ul class="notices" data-testid="cart-notices">
                <For each=move || notices.get() key=|n| (n.variant_id, n.message.clone()) children=|n| view! {
                    <li class="notice">{n.message}</li>
                }/>
            </ul>
            {move || problem.get().map(|p| view! { <p class="notice error">{p}</p> })}
            {move || {
                let merged = cart.with(|c| c.notices.clone());
                (!merged.is_empty()).then(|| view! {
                    <div class="notice" role="status" data-testid="cart-merge-notices">
                        <p><strong>"Your cart and your account's cart were put together:"</strong></p>
                        <ul>{merged.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                        <button type="button" class="link" on:click=move |_| store.dismiss_notices()>"OK"</button>
                    </div>
                })
            }}
            <Show
                when=move || !cart.with(|c| c.is_empty())
                fallback=|| view! { <p>"Your cart is empty. " <a href="/">"Continue shopping"</a></p> }
            >
                <ul class="cart-lines">
                    <For
                        each=move || cart.get().lines
                        key=|line| (line.item.variant_id, line.quantity, line.item.unit_price.amount)
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
                                        <p class="price" data-testid="line-price">{line.item.unit_price.to_string()}</p>
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
                <DiscountCodes store problem=code_problem/>
                {move || confirmed().filter(|q| !q.discounts.is_empty()).map(|q| view! {
                    <DiscountList discounts=q.discounts/>
                })}
                <p class="subtotal">
                    {move || match confirmed() {
                        Some(q) => view! {
                            "Subtotal: " <strong data-testid="cart-subtotal" data-confirmed="true">{q.subtotal.to_string()}</strong>
                            {(q.discount_total.amount > 0).then(|| view! {
                                <br/>"After discounts: "
                                <strong data-testid="cart-after-discounts">
                                    {Money::new(q.subtotal.amount - q.discount_total.amount, q.subtotal.currency).to_string()}
                                </strong>
                            })}
                        }.into_any(),
                        None => view! {
                            "Estimated subtotal: "
                            <strong data-testid="cart-subtotal" data-confirmed="false">
                                {cart.with(|c| c.estimated_subtotal().map(|m| m.to_string()).unwrap_or_default())}
                            </strong>
                        }.into_any(),
                    }}
                </p>
                <p class="hint">"Shipping and tax are worked out at checkout."</p>
                {move || if online.get() {
                    view! { <a class="button primary" href="/checkout" data-testid="to-checkout">"Check out"</a> }.into_any()
                } else {
                    view! { <span class="button primary disabled" aria-disabled="true" data-testid="to-checkout">"Checkout needs a connection"</span> }.into_any()
                }}
            </Show>
        </section>
    }
}
