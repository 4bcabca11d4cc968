//! The privacy requests page: export or erase a person's data by email (the forms post to
//! `privacy.rs`).

use leptos::prelude::*;
use leptos_meta::Title;

use super::pages::Flash;

#[component]
pub fn AdminPrivacyPage() -> impl IntoView {
    view! {
        <Title text="Privacy requests"/>
        <Flash/>
        <h1>"Privacy requests"</h1>
        <p class="hint">"When someone asks for their data or for it to be erased, find it by their email: their account, addresses, orders (also as a guest), sign-in codes and emails sent to them. Orders stay in the books with their totals, taxes and lines; only whose they were goes. Only the owner and staff allowed to may do this; each request is in the audit log."</p>
        <section aria-labelledby="export-heading" class="settings-block">
            <h2 id="export-heading">"Export"</h2>
            <form method="get" action="/admin/privacy/export" class="stacked" data-testid="privacy-export">
                <label for="export-email">"Email"</label>
                <input id="export-email" name="email" type="email" autocomplete="off" required/>
                <button type="submit" class="primary">"Download their data (JSON)"</button>
            </form>
        </section>
        <section aria-labelledby="erase-heading" class="settings-block">
            <h2 id="erase-heading">"Erase"</h2>
            <form method="post" action="/admin/privacy/erase" class="stacked" data-testid="privacy-erase">
                <label for="erase-email">"Email"</label>
                <input id="erase-email" name="email" type="email" autocomplete="off" required/>
                <label class="checkbox"><input type="checkbox" name="confirm" value="yes" required/>" I understand this cannot be undone"</label>
                <button type="submit" data-confirm="Erase this person's data? This cannot be undone.">"Erase their data"</button>
            </form>
        </section>
    }
}
