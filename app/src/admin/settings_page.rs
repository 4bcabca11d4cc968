//! The settings page: the shop's name and sender, currency, tax and reservation, shipping zones
//! with their rates, and tax rates. Every block is its own form, posted to the settings routes
//! (`settings.rs`), which come back here with a notice.

use leptos::prelude::*;
use leptos_meta::Title;

use super::pages::{failure, Flash};
use super::{admin_settings, RateEdit, ShopSettings, TaxEdit, ZoneEdit};
use crate::components::when_loaded;

#[component]
pub fn AdminSettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings"/>
        <Flash/>
        <h1>"Settings"</h1>
        {when_loaded(async move {
            match admin_settings().await {
                Ok(settings) => view! { <Settings settings/> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
fn Settings(settings: ShopSettings) -> impl IntoView {
    let currency = settings.currency.clone();
    view! {
        <section aria-labelledby="general" class="settings-block">
            <h2 id="general">"Shop"</h2>
            <form method="post" action="/admin/settings" class="settings-form" data-testid="general-settings">
                <label for="shop-name">"Shop name"</label>
                <input id="shop-name" name="shop_name" value=settings.shop_name required maxlength="80"/>
                <label for="email-from">"Email sender"</label>
                <input id="email-from" name="email_from" value=settings.email_from placeholder="Shop name <shop@example.com>" aria-describedby="email-from-hint"/>
                <p class="hint" id="email-from-hint">"Order and shipping emails come from this address. Empty: the server's own."</p>
                <label for="currency">"Currency"</label>
                <input id="currency" name="currency" value=settings.currency.clone() maxlength="3" size="4" readonly=settings.currency_locked aria-describedby="currency-hint"/>
                <p class="hint" id="currency-hint">{if settings.currency_locked {
                    "The shop has orders, so its currency stays."
                } else {
                    "Until the first order. Prices keep their numbers: 19.90 EUR becomes 19.90 USD."
                }}</p>
                <label class="checkbox"><input type="checkbox" name="prices_include_tax" checked=settings.prices_include_tax/>" Prices include tax"</label>
                <label for="reservation">"Hold stock at checkout for (minutes)"</label>
                <input id="reservation" name="reservation_minutes" type="number" min="1" max="1440" inputmode="numeric" value=settings.reservation_minutes.to_string() required/>
                <label for="retention">"Erase the personal data of unpaid orders after (days)"</label>
                <input id="retention" name="retention_days" type="number" min="1" max="3650" inputmode="numeric" value=settings.retention_days.to_string() required aria-describedby="retention-hint"/>
                <p class="hint" id="retention-hint">"Expired and declined orders keep their totals; their email and address are erased after this many days."</p>
                <label for="reminder-hours">"Remind of an abandoned checkout after (hours)"</label>
                <input id="reminder-hours" name="reminder_hours" type="number" min="0" max="720" inputmode="numeric" value=settings.reminder_hours.to_string() required aria-describedby="reminder-hint"/>
                <p class="hint" id="reminder-hint">"One email with a link back to the cart, only to newsletter subscribers who did not order. 0: never."</p>
                <label class="checkbox"><input type="checkbox" name="require_staff_2fa" checked=settings.require_staff_2fa/>" Require two-factor authentication for all staff"</label>
                <button type="submit" class="primary">"Save"</button>
            </form>
        </section>
        <section aria-labelledby="returns" class="settings-block">
            <h2 id="returns">"Returns"</h2>
            <form method="post" action="/admin/settings/returns" class="settings-form" data-testid="return-settings">
                <label for="return-window">"Accept returns within (days after delivery)"</label>
                <input id="return-window" name="return_window_days" type="number" min="0" max=crate::returns::MAX_WINDOW_DAYS.to_string() inputmode="numeric" value=settings.return_window_days.to_string() required aria-describedby="return-window-hint"/>
                <p class="hint" id="return-window-hint">"0: no returns. Products marked final sale can never be returned."</p>
                <label for="return-shipping-fee">{format!("Return shipping fee ({currency})")}</label>
                <input id="return-shipping-fee" name="return_shipping_fee" inputmode="decimal" value=settings.return_shipping_fee.clone() placeholder="0"/>
                <label for="restocking-fee">"Restocking fee (percent of the returned items' price)"</label>
                <input id="restocking-fee" name="restocking_fee_percent" type="number" min="0" max="100" inputmode="numeric" value=settings.restocking_fee_percent.to_string() required/>
                <button type="submit" class="primary">"Save return policy"</button>
            </form>
        </section>
        <section aria-labelledby="analytics" class="settings-block">
            <h2 id="analytics">"Analytics"</h2>
            <form method="post" action="/admin/settings/analytics" class="settings-form" data-testid="analytics-settings">
                <label for="time-zone">"Time zone (the shop's days in reports)"</label>
                <select id="time-zone" name="time_zone" aria-describedby="time-zone-hint">
                    {crate::admin::analytics::time_zone_names().into_iter().map(|zone| {
                        let chosen = zone == settings.time_zone;
                        view! { <option value=zone.clone() selected=chosen>{zone.clone()}</option> }
                    }).collect_view()}
                </select>
                <p class="hint" id="time-zone-hint">"Events are dated in the zone of their day: a change applies from now on."</p>
                <label for="analytics-retention">"Keep raw analytics events for (days)"</label>
                <input id="analytics-retention" name="analytics_retention_days" type="number" min="1" max="3650" inputmode="numeric" value=settings.analytics_retention_days.to_string() required aria-describedby="analytics-retention-hint"/>
                <p class="hint" id="analytics-retention-hint">"Daily figures stay; no address or browser is ever kept."</p>
                <button type="submit" class="primary">"Save analytics settings"</button>
            </form>
        </section>
        <section aria-labelledby="shipping" class="settings-block">
            <h2 id="shipping">"Shipping"</h2>
            <p class="hint">"A zone ships to its countries; " <code>"*"</code> " is every country no other zone names. A shopper sees the rates of their country's zone."</p>
            {settings.zones.into_iter().map(|zone| view! { <Zone zone currency=currency.clone()/> }).collect_view()}
            <form method="post" action="/admin/settings/zones" class="inline-fields" data-testid="new-zone">
                <label>"New zone " <input name="name" placeholder="Nordics" required/></label>
                <label>"Countries " <input name="countries" placeholder="NO, IS" required/></label>
                <button type="submit">"Add zone"</button>
            </form>
        </section>
        <section aria-labelledby="taxes" class="settings-block">
            <h2 id="taxes">"Tax rates"</h2>
            <p class="hint">"A region's rate (a US state) wins over its country's. Countries without a rate pay no tax."</p>
            <table class="admin-table settings-table" data-testid="tax-rates">
                <thead><tr>
                    <th scope="col">"Country"</th><th scope="col">"Region"</th><th scope="col">"Name"</th>
                    <th scope="col">"Rate (%)"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {settings.taxes.into_iter().map(|tax| view! { <Tax tax/> }).collect_view()}
                </tbody>
            </table>
            <form method="post" action="/admin/settings/taxes" class="inline-fields" data-testid="new-tax">
                <label>"Country " <input name="country" size="3" maxlength="2" placeholder="NO" required/></label>
                <label>"Region " <input name="region" size="5" placeholder="optional"/></label>
                <label>"Name " <input name="name" placeholder="MVA" required/></label>
                <label>"Rate (%) " <input name="percent" size="6" inputmode="decimal" placeholder="25" required/></label>
                <button type="submit">"Add tax rate"</button>
            </form>
        </section>
    }
}

#[component]
fn Zone(zone: ZoneEdit, currency: String) -> impl IntoView {
    let zone_id = zone.id;
    let heading = format!("zone-{zone_id}");
    view! {
        <div class="zone" data-testid="zone" aria-labelledby=heading.clone() role="group">
            <h3 id=heading.clone()>{zone.name.clone()}</h3>
            <form method="post" action=format!("/admin/settings/zones/{zone_id}") class="inline-fields">
                <label>"Name " <input name="name" value=zone.name.clone() required/></label>
                <label>"Countries " <input name="countries" value=zone.countries size="40" required/></label>
                <button type="submit">"Save zone"</button>
                <button type="submit" name="intent" value="delete" class="danger" data-confirm=format!("Delete the zone {} and its rates?", zone.name)>{format!("Delete zone {}", zone.name)}</button>
            </form>
            <table class="admin-table settings-table" data-testid="rates">
                <thead><tr>
                    <th scope="col">"Rate"</th><th scope="col">{format!("Price ({currency})")}</th>
                    <th scope="col">"Free from"</th><th scope="col">"Days"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>{zone.rates.into_iter().map(|rate| view! { <Rate rate/> }).collect_view()}</tbody>
            </table>
            <form method="post" action=format!("/admin/settings/zones/{zone_id}/rates") class="inline-fields">
                <label>"New rate " <input name="name" placeholder="Express" required/></label>
                <label>"Price " <input name="price" size="8" inputmode="decimal" required/></label>
                <label>"Free from " <input name="free_above" size="8" inputmode="decimal"/></label>
                <label>"Days " <input name="min_days" size="3" inputmode="numeric" value="1"/></label>
                <label>"to " <input name="max_days" size="3" inputmode="numeric" value="5"/></label>
                <button type="submit">"Add rate"</button>
            </form>
        </div>
    }
}

#[component]
fn Rate(rate: RateEdit) -> impl IntoView {
    let form = format!("rate-{}", rate.id);
    let named = |what: &str| format!("{what} of {}", rate.name);
    view! {
        <tr data-testid="rate">
            <td><input form=form.clone() name="name" value=rate.name.clone() aria-label=named("Name") required/></td>
            <td><input form=form.clone() name="price" value=rate.price size="8" inputmode="decimal" aria-label=named("Price") required/></td>
            <td><input form=form.clone() name="free_above" value=rate.free_above size="8" inputmode="decimal" aria-label=named("Free from")/></td>
            <td class="days">
                <input form=form.clone() name="min_days" value=rate.min_days.to_string() size="3" inputmode="numeric" aria-label=named("Fewest days")/>
                "–"
                <input form=form.clone() name="max_days" value=rate.max_days.to_string() size="3" inputmode="numeric" aria-label=named("Most days")/>
            </td>
            <td>
                <form id=form method="post" action=format!("/admin/settings/rates/{}", rate.id) class="row-form">
                    <button type="submit">"Save"</button>
                    <button type="submit" name="intent" value="delete" class="danger" aria-label=named("Delete") data-confirm=format!("Delete the rate {}?", rate.name)>"Delete"</button>
                </form>
            </td>
        </tr>
    }
}

#[component]
fn Tax(tax: TaxEdit) -> impl IntoView {
    let form = format!("tax-{}", tax.id);
    let place = if tax.region.is_empty() {
        tax.country.clone()
    } else {
        format!("{}-{}", tax.country, tax.region)
    };
    let named = move |what: &str| format!("{what} for {place}");
    view! {
        <tr data-testid="tax">
            <td><input form=form.clone() name="country" value=tax.country size="3" maxlength="2" aria-label=named("Country") required/></td>
            <td><input form=form.clone() name="region" value=tax.region size="5" aria-label=named("Region")/></td>
            <td><input form=form.clone() name="name" value=tax.name aria-label=named("Tax name") required/></td>
            <td><input form=form.clone() name="percent" value=tax.percent size="6" inputmode="decimal" aria-label=named("Rate") required/></td>
            <td>
                <form id=form method="post" action=format!("/admin/settings/taxes/{}", tax.id) class="row-form">
                    <button type="submit">"Save"</button>
                    <button type="submit" name="intent" value="delete" class="danger" aria-label=named("Delete") data-confirm=named("Delete the tax rate")>"Delete"</button>
                </form>
            </td>
        </tr>
    }
}
