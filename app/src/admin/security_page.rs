//! The Security page: the signed-in staff member's two-factor authentication (the forms post
//! to `security.rs`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::pages::{failure, Flash};
use super::{admin_security, SecurityStatus};
use crate::components::when_loaded;

#[component]
pub fn AdminSecurityPage() -> impl IntoView {
    let required_now = use_query_map().read_untracked().get("required").is_some();
    view! {
        <Title text="Security"/>
        <Flash/>
        <h1>"Security"</h1>
        {required_now.then(|| view! {
            <p class="notice error" role="alert">"The owner requires two-factor authentication for all staff. Set it up to use the back office."</p>
        })}
        {when_loaded(async move {
            match admin_security().await {
                Ok(status) => view! { <Security status/> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
fn Security(status: SecurityStatus) -> impl IntoView {
    let state = if status.enabled {
        view! {
            <p data-testid="2fa-state">"Two-factor authentication is " <strong>"on"</strong> {format!(" for {}. Recovery codes left: {}.", status.email, status.recovery_codes_left)}</p>
            <form method="post" action="/admin/security/recovery-codes" class="inline">
                <button type="submit">"Make new recovery codes"</button>
            </form>
            {(!status.required).then(|| view! {
                <form method="post" action="/admin/security/disable" class="stacked">
                    <label for="disable-code">"Code from your app, to turn it off"</label>
                    <input id="disable-code" name="code" autocomplete="one-time-code" inputmode="numeric" required/>
                    <button type="submit">"Turn off two-factor authentication"</button>
                </form>
            })}
        }
        .into_any()
    } else if let Some((secret, url, qr)) = status.setup {
        view! {
            <ol class="setup-steps">
                <li>"Scan this code with an authenticator app (1Password, Google Authenticator, Aegis, …):"
                    <div class="qr" inner_html=qr></div>
                    <p class="hint">"Or enter this key by hand: " <code data-testid="2fa-secret">{secret}</code></p>
                    <p class="hint visually-hidden">{url}</p>
                </li>
                <li>
                    <form method="post" action="/admin/security/confirm" class="stacked" data-testid="2fa-confirm">
                        <label for="confirm-code">"Enter the six digits the app shows"</label>
                        <input id="confirm-code" name="code" autocomplete="one-time-code" inputmode="numeric" required/>
                        <button type="submit" class="primary">"Turn on"</button>
                    </form>
                </li>
            </ol>
        }
        .into_any()
    } else {
        view! {
            <p data-testid="2fa-state">"Two-factor authentication is " <strong>"off"</strong> ". With it on, signing in takes your password and a code from an app on your phone."</p>
            <form method="post" action="/admin/security/start" class="inline">
                <button type="submit" class="primary">"Set up two-factor authentication"</button>
            </form>
        }
        .into_any()
    };
    view! { <section class="settings-block">{state}</section> }
}
