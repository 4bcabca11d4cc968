//! What the shopper sees of discounts: the code field (cart and checkout) and the list of
//! discounts a quote applied.

use leptos::prelude::*;

use super::DiscountLine;
use crate::cart::CartStore;
use crate::connectivity::Connectivity;

/// Entered codes, each removable, and a field to add one. Offline a code is kept and checked
/// when the shop can be reached again.
#[component]
pub fn DiscountCodes(
    store: CartStore,
    /// Why a code the shop checked does not apply.
    problem: ReadSignal<Option<String>>,
) -> impl IntoView {
    let cart = store.cart();
    let online = Connectivity::get().online();
    let typed = RwSignal::new(String::new());
    let (local_problem, set_local_problem) = signal(None::<String>);
    let apply = move || {
        let code = typed.get_untracked();
        match store.add_code(&code) {
            Ok(()) => {
                typed.set(String::new());
                set_local_problem.set(None);
            }
            Err(message) => set_local_problem.set(Some(message)),
        }
    };
    let message = move || local_problem.get().or_else(|| problem.get());
    view! {
        <div class="discount-codes" data-testid="discount-codes">
            <label for="discount-code">"Discount code"</label>
            <div class="inline-form">
                <input id="discount-code" name="discount_code" autocomplete="off"
                    aria-invalid=move || message().is_some().to_string()
                    aria-describedby="discount-code-message"
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); apply(); }
                />
                <button type="button" data-testid="apply-code" on:click=move |_| apply()>"Apply"</button>
            </div>
            <p id="discount-code-message" class="field-error" role="alert" data-testid="code-message">
                {message}
            </p>
            <ul class="entered-codes">
                <For each=move || cart.with(|c| c.codes.clone()) key=|c| c.clone() children=move |code| {
                    let remove = code.clone();
                    view! {
                        <li data-testid="entered-code">
                            <code>{code.clone()}</code>
                            {move || (!online.get()).then(|| view! { <span class="hint">" (checked when you are back online)"</span> })}
                            " "
                            <button type="button" class="link" aria-label=format!("Remove code {code}")
                                on:click=move |_| store.remove_code(&remove)>"Remove"</button>
                        </li>
                    }
                }/>
            </ul>
        </div>
    }
}

/// The discounts a quote or an order applied, each by name with its amount.
#[component]
pub fn DiscountList(discounts: Vec<DiscountLine>) -> impl IntoView {
    view! {
        <ul class="discounts" data-testid="discounts">
            {discounts.into_iter().map(|d| {
                let name = d.label();
                view! { <li data-testid="discount"><span>{name}</span>" "<span>{format!("−{}", d.amount)}</span></li> }
            }).collect_view()}
        </ul>
    }
}
