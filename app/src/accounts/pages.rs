//! The account pages: sign-in with a code (two plain forms, no JavaScript needed) and the
//! account itself (orders with their shipments, the address book). Every change is a form
//! posted to `api.rs`, which comes back here with a notice.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use super::{
    passkeys_offered, read_account, signed_in, AccountError, AccountOrder, EmailPreferences,
    SavedAddress, SavedPasskey,
};
use crate::checkout::address::{Address, COUNTRIES};
use crate::components::when_loaded;

/// The notice or error a form came back with (`?notice=…`, `?error=…`).
#[component]
fn Said() -> impl IntoView {
    let query = use_query_map();
    let notice = query.read_untracked().get("notice");
    let error = query.read_untracked().get("error");
    view! {
        {notice.map(|n| view! { <p class="notice" role="status" data-testid="account-notice">{n}</p> })}
        {error.map(|e| view! { <p class="notice error" role="alert" data-testid="account-error">{e}</p> })}
    }
}

#[component]
pub fn AccountSignInPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |name: &str| query.read_untracked().get(name).unwrap_or_default();
    let (email, sent, next) = (get("email"), get("sent") == "1", get("next"));
    let next = super::safe_next(&next);
    let body = if let Some(customer) = signed_in() {
        view! {
            <p>"You are signed in as " <strong>{customer.email}</strong> "."</p>
            <p><a class="button primary" href="/account">"Go to your account"</a></p>
        }
        .into_any()
    } else if sent && !email.is_empty() {
        view! {
            <p>"We sent a six-digit code to " <strong data-testid="code-email">{email.clone()}</strong> ". It works for 10 minutes."</p>
            <form method="post" action="/account/sign-in" class="stacked" data-testid="code-form">
                <input type="hidden" name="email" value=email.clone()/>
                <input type="hidden" name="next" value=next.clone()/>
                <label for="code">"Code"</label>
                <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 -]{6,8}" maxlength="8" required autofocus/>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
            <form method="post" action="/account/sign-in/code" class="inline">
                <input type="hidden" name="email" value=email.clone()/>
                <input type="hidden" name="next" value=next.clone()/>
                <p class="hint">"No email? Check your spam folder, or "<button type="submit" class="link">"send a new code"</button>"."</p>
            </form>
            <p><a href="/account/sign-in">"Use another email"</a></p>
        }
        .into_any()
    } else {
        view! {
            <p class="hint">"No password needed: we email you a code. The first code makes your account, and orders you placed with that email join it."</p>
            <form method="post" action="/account/sign-in/code" class="stacked" data-testid="email-form">
                <input type="hidden" name="next" value=next.clone()/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="email" value=email.clone() required/>
                <button type="submit" class="primary">"Email me a code"</button>
            </form>
            {passkeys_offered().then(|| view! {
                <div class="passkey-sign-in">
                    // Shown by passkeys.js where the browser can use passkeys.
                    <button type="button" id="passkey-sign-in" data-next=next.clone() hidden>"Sign in with a passkey"</button>
                    <p id="passkey-status" class="notice error" role="alert" hidden></p>
                    <script src="/passkeys.js" defer></script>
                </div>
            })}
        }
        .into_any()
    };
    view! {
        <Title text="Sign in"/>
        <Meta name="robots" content="noindex"/>
        <section class="sign-in">
            <h1>"Sign in"</h1>
            <Said/>
            {body}
        </section>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Your account"/>
        <Meta name="robots" content="noindex"/>
        {when_loaded(async move {
            match read_account().await {
                Ok(overview) => view! {
                    <div class="account">
                        <header class="account-head">
                            <h1>"Your account"</h1>
                            <p>"Signed in as " <strong data-testid="account-email">{overview.customer.email.clone()}</strong></p>
                            <form method="post" action="/account/sign-out" class="inline">
                                <button type="submit">"Sign out"</button>
                            </form>
                        </header>
                        <Said/>
                        <Orders orders=overview.orders/>
                        <crate::support::pages::MyConversations/>
                        <Addresses addresses=overview.addresses/>
                        <Passkeys passkeys=overview.passkeys offered=overview.passkeys_offered/>
                        <Preferences preferences=overview.preferences/>
                        <YourData/>
                    </div>
                }
                .into_any(),
                Err(AccountError::SignedOut) => {
                    view! { <Redirect path="/account/sign-in?next=/account"/> }.into_any()
                }
                Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
            }
        })}
    }
}

/// "Not shipped yet", "Partly shipped", "Shipped".
fn fulfilment_label(fulfilment: &str) -> &'static str {
    match fulfilment {
        "fulfilled" => "Shipped",
        "partial" => "Partly shipped",
        _ => "Not shipped yet",
    }
}

#[component]
fn Orders(orders: Vec<AccountOrder>) -> impl IntoView {
    let list = if orders.is_empty() {
        view! { <p class="hint">"No orders yet. " <a href="/">"Start shopping"</a></p> }.into_any()
    } else {
        view! {
            <ul class="account-orders" data-testid="account-orders">
                {orders
                    .into_iter()
                    .map(|order| {
                        let date = order.placed_at.get(..10).unwrap_or_default().to_string();
                        view! {
                            <li class="account-order">
                                <a href=order.order_url.clone()>{format!("Order #{}", order.number)}</a>
                                <span>{date}</span>
                                <span>{order.status.label()}", "{fulfilment_label(&order.fulfilment)}</span>
                                <span class="price">{order.total.to_string()}</span>
                                {order.shipments.into_iter().map(|s| view! {
                                    <span class="hint">{format!("{}: {}", s.carrier, s.tracking_number)}</span>
                                }).collect_view()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="orders-heading">
            <h2 id="orders-heading">"Orders"</h2>
            {list}
        </section>
    }
}

#[component]
fn Addresses(addresses: Vec<SavedAddress>) -> impl IntoView {
    view! {
        <section aria-labelledby="addresses-heading" id="addresses">
            <h2 id="addresses-heading">"Addresses"</h2>
            <ul class="address-book" data-testid="address-book">
                {addresses.into_iter().map(|saved| {
                    let action = format!("/account/addresses/{}", saved.id);
                    let prefix = format!("a{}", saved.id);
                    view! {
                        <li class="saved-address">
                            <AddressLines address=saved.address.clone()/>
                            {saved.is_default.then(|| view! { <p class="badge">"Default shipping address"</p> })}
                            <details>
                                <summary>"Edit"</summary>
                                <form method="post" action=action.clone() class="stacked">
                                    <AddressFields address=saved.address prefix is_default=saved.is_default/>
                                    <button type="submit" class="primary">"Save address"</button>
                                </form>
                            </details>
                            <form method="post" action=action class="inline">
                                <input type="hidden" name="intent" value="delete"/>
                                <button type="submit" class="link">"Delete"</button>
                            </form>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <details class="add-address">
                <summary>"Add an address"</summary>
                <form method="post" action="/account/addresses" class="stacked" data-testid="add-address">
                    <AddressFields address=Address { country: "DE".into(), ..Address::default() } prefix="new".to_string() is_default=false/>
                    <button type="submit" class="primary">"Save address"</button>
                </form>
            </details>
        </section>
    }
}

#[component]
fn YourData() -> impl IntoView {
    view! {
        <section aria-labelledby="data-heading">
            <h2 id="data-heading">"Your data"</h2>
            <p><a href="/account/export" download="my-data.json" data-testid="download-data">"Download my data"</a>" (everything we hold about you, as JSON)"</p>
            <details class="delete-account">
                <summary>"Delete my account"</summary>
                <form method="post" action="/account/delete" class="stacked" data-testid="delete-account">
                    <p class="hint">"Your addresses, sign-in sessions and the name and address on your orders are erased. Orders stay in the shop's books without them. You can sign up again with the same email, as a new account."</p>
                    <label class="checkbox"><input type="checkbox" name="confirm" value="yes" required/>" I understand this cannot be undone"</label>
                    <button type="submit">"Delete my account"</button>
                </form>
            </details>
        </section>
    }
}

#[component]
fn Passkeys(passkeys: Vec<SavedPasskey>, offered: bool) -> impl IntoView {
    view! {
        <section aria-labelledby="passkeys-heading" id="passkeys">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            <p class="hint">"Sign in with your fingerprint, face or screen lock instead of a code. The passkey stays on your device or in your password manager; the shop keeps only its public key."</p>
            <ul class="passkeys" data-testid="passkeys">
                {passkeys.into_iter().map(|passkey| {
                    let action = format!("/account/passkeys/{}", passkey.id);
                    let field = format!("passkey-{}", passkey.id);
                    let used = match &passkey.last_used_at {
                        Some(at) => format!("added {}, last used {}", &passkey.created_at[..10], &at[..10]),
                        None => format!("added {}, not used yet", &passkey.created_at[..10]),
                    };
                    view! {
                        <li class="passkey" data-testid="passkey">
                            <form method="post" action=action class="inline">
                                <label for=field.clone()>"Name"</label>
                                <input id=field name="name" value=passkey.name maxlength="60"/>
                                <button type="submit">"Rename"</button>
                                <button type="submit" name="intent" value="delete" class="link">"Remove"</button>
                            </form>
                            <span class="hint">{used}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {offered.then(|| view! {
                // Shown by passkeys.js where the browser can make passkeys.
                <form class="stacked add-passkey" hidden>
                    <label for="new-passkey-name">"Name for the new passkey"</label>
                    <input id="new-passkey-name" name="name" maxlength="60" placeholder="Laptop"/>
                    <button type="submit" id="add-passkey">"Add a passkey"</button>
                    <p id="passkey-status" class="notice error" role="alert" hidden></p>
                </form>
                <script src="/passkeys.js" defer></script>
            })}
        </section>
    }
}

#[component]
fn Preferences(preferences: EmailPreferences) -> impl IntoView {
    view! {
        <section aria-labelledby="preferences-heading" id="preferences">
            <h2 id="preferences-heading">"Email preferences"</h2>
            <form method="post" action="/account/preferences" class="stacked" data-testid="preferences">
                <p class="hint">"Emails about your orders and your sign-in codes always come. Anything else only if you want it."</p>
                <label class="checkbox"><input type="checkbox" name="news" checked=preferences.news/>" "{crate::promotions::newsletter::WORDING}</label>
                <button type="submit">"Save preferences"</button>
            </form>
        </section>
    }
}

#[component]
fn AddressLines(address: Address) -> impl IntoView {
    let country = COUNTRIES
        .iter()
        .find(|c| c.code == address.country)
        .map(|c| c.name)
        .unwrap_or_default();
    let place = [
        address.postal_code.as_str(),
        address.city.as_str(),
        address.region.as_str(),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    view! {
        <address>
            {address.name}<br/>
            {address.line1}<br/>
            {(!address.line2.is_empty()).then(|| view! { {address.line2.clone()}<br/> })}
            {place}<br/>
            {country}
        </address>
    }
}

/// The fields of an address form; `prefix` keeps the ids of several forms on a page apart.
#[component]
fn AddressFields(address: Address, prefix: String, is_default: bool) -> impl IntoView {
    let id = move |name: &str| format!("{prefix}-{name}");
    view! {
        <label for=id("name")>"Full name"</label>
        <input id=id("name") name="name" autocomplete="name" value=address.name required/>
        <label for=id("line1")>"Address"</label>
        <input id=id("line1") name="line1" autocomplete="address-line1" value=address.line1 required/>
        <label for=id("line2")>"Apartment, suite (optional)"</label>
        <input id=id("line2") name="line2" autocomplete="address-line2" value=address.line2/>
        <label for=id("postal")>"Postal code"</label>
        <input id=id("postal") name="postal_code" autocomplete="postal-code" value=address.postal_code/>
        <label for=id("city")>"City"</label>
        <input id=id("city") name="city" autocomplete="address-level2" value=address.city required/>
        <label for=id("region")>"State or province (US, Canada)"</label>
        <input id=id("region") name="region" autocomplete="address-level1" value=address.region/>
        <label for=id("country")>"Country"</label>
        <select id=id("country") name="country" autocomplete="country">
            {COUNTRIES.iter().map(|c| view! {
                <option value=c.code selected=c.code == address.country>{c.name}</option>
            }).collect_view()}
        </select>
        <label class="checkbox"><input type="checkbox" name="is_default" checked=is_default/>" Default shipping address"</label>
    }
}

#[cfg(test)]
mod tests {
    use super::fulfilment_label;

    #[test]
    fn fulfilment_reads_as_words() {
        assert_eq!(fulfilment_label("fulfilled"), "Shipped");
        assert_eq!(fulfilment_label("partial"), "Partly shipped");
        assert_eq!(fulfilment_label("unfulfilled"), "Not shipped yet");
    }
}
