//! The checkout page: contact, address, shipping, the server's summary, and the card.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;

use super::address::{validate_address, validate_email, Address, FieldError, COUNTRIES};
use super::{CheckoutError, CheckoutRequest, Destination};
use crate::accounts::{read_checkout_prefill, CheckoutPrefill};
use crate::cart::{requote_on_change, Cart, CartStore, LiveQuote, OfflineBanner};
use crate::components::when_loaded;
use crate::connectivity::Connectivity;
use crate::payments::{test_token_for_card, PaymentChoice, TEST_CARDS};
use crate::promotions::view::DiscountCodes;

/// The session-storage key holding the current attempt's idempotency key, so a reload or a
/// retry after a lost answer sends the same key.
#[cfg(feature = "hydrate")]
const ATTEMPT_KEY: &str = "kassa.checkout.attempt";

#[component]
pub fn CheckoutPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let gateway = use_context::<super::service::Checkout>()
        .map(|c| c.gateway().name().to_string())
        .unwrap_or_else(|| "test".into());
    #[cfg(not(feature = "ssr"))]
    let gateway = String::from("test");
    view! {
        <Title text="Checkout"/>
        <crate::PrefetchLazyIsland island="checkout_form"/>
        {when_loaded(async move {
            // A signed-in shopper finds their email and address book filled in; a guest (or
            // an answer that failed) gets the empty form.
            let prefill = read_checkout_prefill().await.ok().flatten();
            view! { <CheckoutForm gateway prefill/> }
        })}
    }
}

/// A text field bound to a signal, with its error from the form's map.
#[component]
fn Field(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    errors: ReadSignal<HashMap<String, String>>,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let id = format!("field-{}", name.replace('.', "-"));
    let error = move || errors.with(|e| e.get(name).cloned());
    view! {
        <label for=id.clone()>{label}</label>
        <input
            id=id
            name=name
            type=kind.unwrap_or("text")
            autocomplete=autocomplete.unwrap_or("on")
            required=required
            aria-invalid=move || error().is_some().to_string()
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
        />
        {move || error().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
    }
}

/// Where the shopper came from, as their browser kept it.
fn landing() -> Option<crate::analytics::Attribution> {
    #[cfg(feature = "hydrate")]
    {
        crate::analytics::browser::attribution()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

#[island(lazy)]
fn CheckoutForm(gateway: String, prefill: Option<CheckoutPrefill>) -> impl IntoView {
    let store = CartStore::get();
    let cart = store.cart();
    let online = Connectivity::get().online();
    let is_test = gateway == "test";

    let CheckoutPrefill {
        email: account_email,
        addresses: saved,
    } = prefill.unwrap_or_default();
    // The address book lists the default first.
    let first = saved.first().map(|s| s.address.clone()).unwrap_or(Address {
        country: "DE".into(),
        ..Address::default()
    });
    let email = RwSignal::new(account_email.clone());
    let account_email = StoredValue::new(account_email);
    let saved = StoredValue::new(saved);
    let name = RwSignal::new(first.name);
    let line1 = RwSignal::new(first.line1);
    let line2 = RwSignal::new(first.line2);
    let city = RwSignal::new(first.city);
    let postal_code = RwSignal::new(first.postal_code);
    let region = RwSignal::new(first.region);
    let country = RwSignal::new(first.country);
    let method = RwSignal::new(None::<String>);
    let choose_saved = move |id: String| {
        let chosen = saved.with_value(|list| {
            list.iter()
                .find(|s| s.id.to_string() == id)
                .map(|s| s.address.clone())
        });
        if let Some(a) = chosen {
            name.set(a.name);
            line1.set(a.line1);
            line2.set(a.line2);
            city.set(a.city);
            postal_code.set(a.postal_code);
            region.set(a.region);
            country.set(a.country);
            method.set(None);
        }
    };
    let card = RwSignal::new(String::new());
    // Gift cards are kept for this page only, never in the stored (and synced) cart.
    let gift_cards = RwSignal::new(Vec::<String>::new());
    let typed_gift_card = RwSignal::new(String::new());
    let news = RwSignal::new(false);
    // The funnel's "checkout started", once per page.
    #[cfg(feature = "hydrate")]
    crate::analytics::browser::send("checkout_started", None, None);
    let (errors, set_errors) = signal(HashMap::<String, String>::new());
    let (message, set_message) = signal(None::<String>);
    let (placing, set_placing) = signal(false);

    let destination = Signal::derive(move || {
        Some(Destination {
            country: country.get(),
            region: region.get(),
        })
    });
    // A once-per-customer or first-order code is checked against the email as soon as it
    // looks like one.
    let quote_email = Signal::derive(move || {
        let typed = email.get();
        validate_email(&typed).is_ok().then_some(typed)
    });
    let LiveQuote {
        quote,
        notices,
        problem,
        code_problem,
        gift_card_problem,
    } = requote_on_change(
        store,
        destination,
        method.into(),
        quote_email,
        Some(gift_cards),
    );
    // Once the email is valid the checkout is kept for a reminder (sent only to newsletter
    // subscribers who do not order); again when the cart changes.
    Effect::new(move |_| {
        let Some(email) = quote_email.get() else {
            return;
        };
        let (lines, codes) = cart.with(|c| (c.quote_lines(), c.codes.clone()));
        if lines.is_empty() || !online.get() {
            return;
        }
        leptos::task::spawn_local(async move {
            let _ = crate::promotions::reminders::remember_checkout(email, lines, codes).await;
        });
    });
    // Nothing left for the card when the gift cards pay it all.
    let card_needed = move || {
        quote.with(|q| {
            q.as_ref()
                .is_none_or(|q| q.gift_cards.is_empty() || q.amount_due.amount > 0)
        })
    };
    let apply_gift_card = move || {
        let code = typed_gift_card.get_untracked().trim().to_string();
        if !code.is_empty() && !gift_cards.with_untracked(|list| list.contains(&code)) {
            gift_cards.update(|list| list.push(code));
        }
        typed_gift_card.set(String::new());
    };

    let address = move || Address {
        name: name.get_untracked(),
        line1: line1.get_untracked(),
        line2: line2.get_untracked(),
        city: city.get_untracked(),
        postal_code: postal_code.get_untracked(),
        region: region.get_untracked(),
        country: country.get_untracked(),
    };

    let show_errors = move |list: Vec<FieldError>| {
        set_errors.set(list.into_iter().map(|e| (e.field, e.message)).collect());
    };

    let place = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if placing.get_untracked() {
            return;
        }
        set_message.set(None);
        // The browser checks first, for instant answers; the server checks again.
        let mut problems = Vec::new();
        if let Err(e) = validate_email(&email.get_untracked()) {
            problems.push(e);
        }
        if let Err(e) = validate_address(&address(), "shipping_address") {
            problems.extend(e);
        }
        let token = if is_test && !card_needed() {
            None
        } else if is_test {
            match test_token_for_card(&card.get_untracked()) {
                Some(token) => Some(token.to_string()),
                None => {
                    problems.push(FieldError::new(
                        "payment.token",
                        "Use one of the test cards listed below.",
                    ));
                    None
                }
            }
        } else {
            None
        };
        show_errors(problems.clone());
        if !problems.is_empty() {
            return;
        }
        let request = CheckoutRequest {
            email: email.get_untracked(),
            shipping_address: address(),
            shipping_method: method.get_untracked(),
            lines: cart.with_untracked(Cart::quote_lines),
            payment: PaymentChoice {
                gateway: if is_test {
                    "test".into()
                } else {
                    "stripe".into()
                },
                token,
            },
            discount_codes: cart.with_untracked(|c| c.codes.clone()),
            newsletter: news.get_untracked(),
            gift_cards: gift_cards.get_untracked(),
            attribution: landing(),
        };
        set_placing.set(true);
        leptos::task::spawn_local(async move {
            #[cfg(feature = "hydrate")]
            let key = {
                use crate::connectivity::browser;
                browser::session_get(ATTEMPT_KEY).unwrap_or_else(|| {
                    let key = browser::random_key();
                    browser::session_set(ATTEMPT_KEY, &key);
                    key
                })
            };
            #[cfg(not(feature = "hydrate"))]
            let key = String::new();
            let answer = super::place_order(request, key).await;
            set_placing.set(false);
            #[cfg(feature = "hydrate")]
            {
                use crate::connectivity::browser;
                // A definite answer ends this attempt; a lost one keeps the key for the retry.
                if !matches!(answer, Err(CheckoutError::Transport(_))) {
                    browser::session_remove(ATTEMPT_KEY);
                }
            }
            match answer {
                Ok(placed) => {
                    store.clear();
                    let path = placed
                        .order_url
                        .find("/orders/")
                        .map(|at| placed.order_url[at..].to_string())
                        .unwrap_or(placed.order_url);
                    #[cfg(feature = "hydrate")]
                    crate::connectivity::browser::go_to(&path);
                    #[cfg(not(feature = "hydrate"))]
                    let _ = path;
                }
                Err(CheckoutError::Invalid(fields)) => {
                    let codes: Vec<String> = fields
                        .iter()
                        .filter(|f| {
                            f.field.starts_with("discount_codes")
                                || f.field.starts_with("gift_cards")
                        })
                        .map(|f| f.message.clone())
                        .collect();
                    if !codes.is_empty() {
                        set_message.set(Some(format!(
                            "{} Remove it to order without it.",
                            codes.join(" ")
                        )));
                    }
                    show_errors(fields)
                }
                Err(CheckoutError::Declined { message, .. }) => set_message.set(Some(format!(
                    "{message} Nothing was charged; try another card."
                ))),
                Err(CheckoutError::Transport(_)) => set_message.set(Some(
                    "The shop could not be reached; your order was not placed yet. Check your \
                     connection and press “Place order” again."
                        .into(),
                )),
                Err(other) => set_message.set(Some(other.to_string())),
            }
        });
    };

    let error_for = move |field: &'static str| move || errors.with(|e| e.get(field).cloned());

    view! {
        <section class="checkout-page">
            <h1>"Checkout"</h1>
            <OfflineBanner message="You are offline. Checkout needs a connection; your cart is kept on this device."/>
            <Show
                when=move || !cart.with(Cart::is_empty)
                fallback=|| view! { <p data-testid="checkout-empty">"Your cart is empty. " <a href="/">"Continue shopping"</a></p> }
            >
                <form class="checkout" on:submit=place novalidate>
                    <fieldset>
                        <legend>"Contact"</legend>
                        <Field label="Email" name="email" value=email errors kind="email" autocomplete="email" required=true/>
                        <label class="checkbox">
                            <input type="checkbox" name="newsletter" data-testid="newsletter-box"
                                prop:checked=move || news.get()
                                on:change=move |ev| news.set(event_target_checked(&ev))/>
                            {format!(" {}", crate::promotions::newsletter::WORDING)}
                        </label>
                        {account_email.with_value(|account| if account.is_empty() {
                            view! { <p class="hint">"Have an account? " <a href="/account/sign-in?next=/checkout">"Sign in"</a>" for your saved addresses."</p> }.into_any()
                        } else {
                            view! { <p class="hint" data-testid="checkout-account">"Signed in as "{account.clone()}": this order joins your account."</p> }.into_any()
                        })}
                    </fieldset>
                    <fieldset>
                        <legend>"Shipping address"</legend>
                        {saved.with_value(|list| (list.len() > 1).then(|| view! {
                            <label for="saved-address">"Saved addresses"</label>
                            <select id="saved-address" data-testid="saved-address" on:change=move |ev| choose_saved(event_target_value(&ev))>
                                {list.iter().map(|s| view! {
                                    <option value=s.id.to_string()>{format!("{}, {}, {}", s.address.name, s.address.line1, s.address.city)}</option>
                                }).collect_view()}
                            </select>
                        }))}
                        <Field label="Full name" name="shipping_address.name" value=name errors autocomplete="name" required=true/>
                        <Field label="Street and number" name="shipping_address.line1" value=line1 errors autocomplete="address-line1" required=true/>
                        <Field label="Apartment, suite (optional)" name="shipping_address.line2" value=line2 errors autocomplete="address-line2"/>
                        <Field label="Postal code" name="shipping_address.postal_code" value=postal_code errors autocomplete="postal-code"/>
                        <Field label="City" name="shipping_address.city" value=city errors autocomplete="address-level2" required=true/>
                        <Field label="State / region" name="shipping_address.region" value=region errors autocomplete="address-level1"/>
                        <label for="field-country">"Country"</label>
                        <select id="field-country" name="shipping_address.country" autocomplete="country"
                            on:change=move |ev| { country.set(event_target_value(&ev)); method.set(None); }
                        >
                            {COUNTRIES.iter().map(|c| view! {
                                <option value=c.code selected=move || country.get() == c.code>{c.name}</option>
                            }).collect_view()}
                        </select>
                        {move || error_for("shipping_address.country")().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                    </fieldset>
                    <fieldset>
                        <legend>"Shipping"</legend>
                        {move || quote.with(|q| q.as_ref().map(|q| {
                            let current = q.shipping_method.clone();
                            if q.shipping_options.is_empty() {
                                return view! { <p class="field-error">"We do not ship to this country yet."</p> }.into_any();
                            }
                            q.shipping_options.iter().map(|o| {
                                let code = o.code.clone();
                                let checked = current.as_deref() == Some(o.code.as_str());
                                let label = format!("{} — {} ({}–{} days)", o.name, o.price, o.min_days, o.max_days);
                                view! {
                                    <label class="radio">
                                        <input type="radio" name="shipping_method" value=o.code.clone() checked=checked
                                            on:change=move |_| method.set(Some(code.clone()))/>
                                        {label}
                                    </label>
                                }
                            }).collect_view().into_any()
                        }))}
                        {move || error_for("shipping_method")().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                    </fieldset>
                    <fieldset>
                        <legend>"Payment"</legend>
                        <div class="gift-card-entry" data-testid="gift-card-entry">
                            <label for="gift-card-code">"Gift card"</label>
                            <div class="inline-form">
                                <input id="gift-card-code" name="gift_card" autocomplete="off" spellcheck="false"
                                    aria-describedby="gift-card-message"
                                    prop:value=move || typed_gift_card.get()
                                    on:input=move |ev| typed_gift_card.set(event_target_value(&ev))
                                    on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); apply_gift_card(); }/>
                                <button type="button" data-testid="apply-gift-card" on:click=move |_| apply_gift_card()>"Apply"</button>
                            </div>
                            <p id="gift-card-message" class="field-error" role="alert" data-testid="gift-card-message">
                                {move || gift_card_problem.get()}
                            </p>
                            <ul class="entered-codes">
                                {move || quote.with(|q| q.as_ref().map(|q| q.gift_cards.iter().zip(gift_cards.get()).map(|(used, code)| {
                                    let label = used.label();
                                    view! {
                                        <li data-testid="applied-gift-card">{format!("{label}: −{}", used.amount)}" "
                                            <button type="button" class="link" aria-label=format!("Remove {label}")
                                                on:click=move |_| gift_cards.update(|list| list.retain(|c| *c != code))>"Remove"</button>
                                        </li>
                                    }
                                }).collect_view()))}
                            </ul>
                        </div>
                        {if is_test {
                            view! {
                                <Field label="Card number" name="payment.token" value=card errors autocomplete="off"/>
                                <p class="hint">"This shop runs the test gateway: no real money moves. Test cards: "</p>
                                <ul class="hint test-cards">
                                    {TEST_CARDS.iter().map(|c| view! { <li><code>{c.number}</code>" " {c.behaviour}</li> }).collect_view()}
                                </ul>
                            }.into_any()
                        } else {
                            view! { <p class="hint">"You will enter your card on the next page, in Stripe's secure form."</p> }.into_any()
                        }}
                    </fieldset>
                    <aside class="summary" data-testid="order-summary" aria-live="polite">
                        <h2>"Summary"</h2>
                        <DiscountCodes store problem=code_problem/>
                        <ul class="notices">
                            <For each=move || notices.get() key=|n| (n.variant_id, n.message.clone()) children=|n| view! { <li class="notice">{n.message}</li> }/>
                        </ul>
                        {move || problem.get().map(|p| view! { <p class="notice error">{p}</p> })}
                        {move || quote.with(|q| q.as_ref().map(|q| view! {
                            <ul class="summary-lines">
                                {q.lines.iter().map(|l| view! {
                                    <li>{format!("{} × {}", l.quantity, l.title)}
                                        {(!l.variant_title.is_empty()).then(|| format!(" ({})", l.variant_title))}
                                        <span>{l.line_total.to_string()}</span></li>
                                }).collect_view()}
                            </ul>
                            <dl>
                                <dt>"Subtotal"</dt><dd>{q.subtotal.to_string()}</dd>
                                <dt>"Shipping"</dt><dd>{q.shipping.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</dd>
                                {q.discounts.iter().map(|d| {
                                    let name = d.label();
                                    view! { <dt data-testid="summary-discount">{name}</dt><dd>{format!("−{}", d.amount)}</dd> }
                                }).collect_view()}
                                <dt>"Total"</dt><dd data-testid="order-total"><strong>{q.total.to_string()}</strong></dd>
                                <dt class="tax">{q.tax_label.clone()}</dt><dd class="tax">{q.tax.to_string()}</dd>
                                {q.gift_cards.iter().map(|g| view! { <dt>{g.label()}</dt><dd>{format!("−{}", g.amount)}</dd> }).collect_view()}
                                {(!q.gift_cards.is_empty()).then(|| view! {
                                    <dt>"To pay by card"</dt><dd data-testid="amount-due"><strong>{q.amount_due.to_string()}</strong></dd>
                                })}
                            </dl>
                            <p class="hint">{q.rounding.clone()}</p>
                        }))}
                        {move || message.get().map(|m| view! { <p class="notice error" role="alert" data-testid="checkout-message">{m}</p> })}
                        <button type="submit" class="primary" data-testid="place-order"
                            disabled=move || placing.get() || !online.get()>
                            {move || if placing.get() { "Placing order…" } else if online.get() { "Place order" } else { "Checkout needs a connection" }}
                        </button>
                    </aside>
                </form>
            </Show>
        </section>
    }
}
