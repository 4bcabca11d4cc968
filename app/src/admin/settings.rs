//! The shop's settings as the owner changes them: its name and email sender, currency, whether
//! prices include tax, how long checkout holds stock, shipping zones with their rates, and tax
//! rates. Checkout reads them through `Checkout::rules` (cached a few seconds on every server);
//! a change here forgets this server's copy at once.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use sqlx::{AnyConnection, Row};

use super::listed::ListedRouter;
use super::respond::{form_error, outcome};
use super::service::{audited_write, Admin, Audited};
use super::{Access, AdminError, RateEdit, ShopSettings, TaxEdit, ZoneEdit};
use crate::money::{Currency, Money};

const SETTINGS: &str = "/admin/settings";

pub fn routes<S>() -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: axum::extract::FromRef<S>,
{
    listed_routes().into_router()
}

pub fn listed_routes<S>() -> ListedRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: axum::extract::FromRef<S>,
{
    ListedRouter::default()
        .post("/admin/settings", save_general)
        .post("/admin/settings/zones", add_zone)
        .post("/admin/settings/zones/{zone}", save_zone)
        .post("/admin/settings/zones/{zone}/rates", add_rate)
        .post("/admin/settings/rates/{rate}", save_rate)
        .post("/admin/settings/taxes", add_tax)
        .post("/admin/settings/taxes/{tax}", save_tax)
        .post("/admin/settings/returns", save_returns)
        .post("/admin/settings/analytics", save_analytics)
}

/// The checks of what the owner types, as plain functions.
pub mod check {
    use crate::money::{Currency, Money};

    /// The most minutes checkout may hold stock for an unpaid order: a day.
    pub const MAX_RESERVATION_MINUTES: i64 = 24 * 60;

    /// A return window: 0 (no returns) to a year of days.
    pub fn return_window_days(text: &str) -> Result<i64, String> {
        match text.trim().parse::<i64>() {
            Ok(days) if (0..=crate::returns::MAX_WINDOW_DAYS).contains(&days) => Ok(days),
            _ => Err(format!(
                "return window: enter 0 to {} days",
                crate::returns::MAX_WINDOW_DAYS
            )),
        }
    }

    /// Days raw analytics events are kept: 1 to 10 years' worth.
    pub fn analytics_retention_days(text: &str) -> Result<i64, String> {
        match text.trim().parse::<i64>() {
            Ok(days) if (1..=3650).contains(&days) => Ok(days),
            _ => Err("keep analytics events for: enter 1 to 3650 days".into()),
        }
    }

    /// A time zone of the time zone database (`Europe/Berlin`, `UTC`).
    pub fn time_zone(text: &str) -> Result<String, String> {
        let zone = text.trim();
        if crate::analytics::ShopClock::is_known(zone) {
            Ok(zone.to_string())
        } else {
            Err(format!(
                "time zone: '{}' is not one the shop knows; pick one from the list, such as Europe/Berlin",
                zone.chars().take(64).collect::<String>()
            ))
        }
    }

    /// A restocking fee: 0 to 100 percent, whole.
    pub fn restocking_percent(text: &str) -> Result<i64, String> {
        match text.trim().parse::<i64>() {
            Ok(percent) if (0..=100).contains(&percent) => Ok(percent),
            _ => Err("restocking fee: enter 0 to 100 percent".into()),
        }
    }

    /// A shop name: 1 to 80 characters, no control characters.
    pub fn shop_name(text: &str) -> Result<String, String> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err("shop name: enter 1 to 80 characters".into());
        }
        Ok(name.to_string())
    }

    /// An email sender, "Shop <shop@example.com>" or "shop@example.com"; empty for the
    /// server's own (`KASSA_MAIL_FROM`).
    pub fn email_sender(text: &str) -> Result<String, String> {
        let sender = text.trim();
        if sender.is_empty() {
            return Ok(String::new());
        }
        let address = match sender.rsplit_once('<') {
            Some((name, rest)) => {
                let Some(address) = rest.strip_suffix('>') else {
                    return Err("email sender: close the address with '>'".into());
                };
                if name.contains(['<', '>', '"']) {
                    return Err("email sender: write it as Shop name <shop@example.com>".into());
                }
                address
            }
            None => sender,
        };
        let valid = sender.chars().count() <= 200
            && !sender.chars().any(char::is_control)
            && address.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !address.contains(char::is_whitespace)
                    && address.matches('@').count() == 1
            });
        if valid {
            Ok(sender.to_string())
        } else {
            Err("email sender: enter an address such as Shop <shop@example.com>".into())
        }
    }

    /// Days the data of an unpaid order is kept: from a day to ten years.
    pub fn retention_days(text: &str) -> Result<i64, String> {
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| "retention: enter a whole number of days from 1 to 3650".to_string())
    }

    /// Hours before an abandoned checkout's reminder: 0 (never) to a month.
    pub fn reminder_hours(text: &str) -> Result<i64, String> {
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|h| (0..=720).contains(h))
            .ok_or_else(|| {
                "reminders: enter a whole number of hours from 0 (never) to 720".to_string()
            })
    }

    pub fn reservation_minutes(text: &str) -> Result<i64, String> {
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|m| (1..=MAX_RESERVATION_MINUTES).contains(m))
            .ok_or_else(|| {
                format!("reservation: enter a whole number of minutes from 1 to {MAX_RESERVATION_MINUTES}")
            })
    }

    /// A zone's countries: ISO codes separated by commas or spaces ("de, AT"), or `*` for
    /// every country no other zone names.
    pub fn countries(text: &str) -> Result<String, String> {
        let codes: Vec<String> = text
            .split([',', ' ', ';', '\n'])
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        if codes == ["*"] {
            return Ok("*".into());
        }
        if codes.is_empty() {
            return Err(
                "countries: enter country codes such as DE, AT, or * for the rest of the world"
                    .into(),
            );
        }
        if let Some(bad) = codes
            .iter()
            .find(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(format!(
                "countries: '{}' is not a two-letter country code",
                bad.chars().take(12).collect::<String>()
            ));
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != codes.len() {
            return Err("countries: a country is named twice".into());
        }
        Ok(codes.join(","))
    }

    /// A tax rate typed as a percentage ("19", "8.1", "7,25") in basis points.
    pub fn tax_percent(text: &str) -> Result<i64, String> {
        let value = text.trim().trim_end_matches('%').trim().replace(',', ".");
        let (whole, fraction) = value.split_once('.').unwrap_or((&value, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let bad = || "rate: enter a percentage from 0 to 100 such as 19 or 8.1".to_string();
        if whole.is_empty()
            || whole.len() > 3
            || fraction.len() > 2
            || !digits(whole)
            || !digits(fraction)
        {
            return Err(bad());
        }
        let bp = whole.parse::<i64>().map_err(|_| bad())? * 100
            + format!("{fraction:0<2}")
                .parse::<i64>()
                .map_err(|_| bad())?;
        if bp > 10_000 {
            return Err(bad());
        }
        Ok(bp)
    }

    /// A basis-point rate as the form shows it: 1900 → "19", 810 → "8.1".
    pub fn percent_text(bp: i64) -> String {
        let text = format!("{}.{:02}", bp / 100, bp % 100);
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    /// An amount kept in `from`'s minor units, the same number in `to`'s: €19.99 is $19.99,
    /// ¥2000 is €2000.00, €19.99 is ¥20 (half up). Prices keep their numbers when a shop
    /// changes its currency before its first order; nothing is converted at a rate.
    pub fn relabel(amount: i64, from: Currency, to: Currency) -> Option<i64> {
        let (f, t) = (from.minor_digits(), to.minor_digits());
        let value = i128::from(amount);
        let result = if t >= f {
            value.checked_mul(10i128.pow(t - f))?
        } else {
            let scale = 10i128.pow(f - t);
            (value + scale / 2) / scale
        };
        i64::try_from(result)
            .ok()
            .filter(|a| *a <= crate::money::MAX_AMOUNT)
    }

    /// A two-letter code for a tax rate's region ("CA" for California); empty for the whole
    /// country.
    pub fn region(text: &str) -> Result<String, String> {
        let region = text.trim().to_ascii_uppercase();
        if region.len() > 10
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("region: enter a region code such as CA, or leave it empty".into());
        }
        Ok(region)
    }

    /// A name shown to shoppers (a rate's, a tax's, a zone's): 1 to 60 characters.
    pub fn label(field: &str, text: &str) -> Result<String, String> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(format!("{field}: enter 1 to 60 characters"));
        }
        Ok(name.to_string())
    }

    /// An optional amount ("" is none).
    pub fn optional_amount(
        field: &str,
        text: &str,
        currency: Currency,
    ) -> Result<Option<i64>, String> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        Money::parse(text, currency)
            .map(|m| Some(m.amount))
            .map_err(|e| format!("{field}: {e}"))
    }

    /// Delivery days "from" and "to", from 0 to 365, in order.
    pub fn days(min: &str, max: &str) -> Result<(i64, i64), String> {
        let day = |text: &str| {
            text.trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (0..=365).contains(d))
        };
        match (day(min), day(max)) {
            (Some(min), Some(max)) if min <= max => Ok((min, max)),
            (Some(_), Some(_)) => Err("days: the first day cannot be after the last".into()),
            _ => Err("days: enter whole numbers of days from 0 to 365".into()),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn names_and_senders() {
            assert_eq!(shop_name("  Fjord & Fell "), Ok("Fjord & Fell".into()));
            assert!(shop_name("").is_err());
            assert!(shop_name("a\u{7}b").is_err());
            assert!(shop_name(&"x".repeat(81)).is_err());
            assert_eq!(email_sender(""), Ok(String::new()));
            assert_eq!(
                email_sender("Fjord <hi@fjord.example>"),
                Ok("Fjord <hi@fjord.example>".into())
            );
            assert_eq!(
                email_sender("hi@fjord.example"),
                Ok("hi@fjord.example".into())
            );
            for bad in [
                "Fjord",
                "hi@",
                "@fjord.example",
                "hi@fjord",
                "Fjord <hi@fjord.example",
                "a b@c.de",
                "x <a@b.c>\r\nBcc: y@z.de",
                "a@@b.de",
            ] {
                assert!(email_sender(bad).is_err(), "{bad:?}");
            }
        }

        #[test]
        fn countries_are_codes_or_the_rest_of_the_world() {
            assert_eq!(countries("de, at ;nl"), Ok("DE,AT,NL".into()));
            assert_eq!(countries(" * "), Ok("*".into()));
            assert!(countries("").is_err());
            assert!(countries("DEU").is_err());
            assert!(countries("DE, *").is_err());
            assert!(countries("DE, de").is_err());
            assert!(countries("D1").is_err());
        }

        #[test]
        fn tax_rates_read_as_percentages() {
            assert_eq!(tax_percent("19"), Ok(1900));
            assert_eq!(tax_percent("8,1 %"), Ok(810));
            assert_eq!(tax_percent("7.25"), Ok(725));
            assert_eq!(tax_percent("0"), Ok(0));
            assert_eq!(tax_percent("100"), Ok(10_000));
            for bad in ["", "-5", "100.01", "1.234", "x", "19 % %"] {
                assert!(tax_percent(bad).is_err(), "{bad}");
            }
            assert_eq!(percent_text(1900), "19");
            assert_eq!(percent_text(810), "8.1");
            assert_eq!(percent_text(725), "7.25");
            assert_eq!(percent_text(0), "0");
        }

        #[test]
        fn a_relabelled_price_keeps_its_number() {
            let eur = Currency::EUR;
            let jpy = Currency::parse("JPY").unwrap();
            let kwd = Currency::parse("KWD").unwrap();
            assert_eq!(relabel(1999, eur, Currency::USD), Some(1999));
            assert_eq!(relabel(1999, eur, jpy), Some(20));
            assert_eq!(relabel(1949, eur, jpy), Some(19));
            assert_eq!(relabel(2000, jpy, eur), Some(200_000));
            assert_eq!(relabel(1999, eur, kwd), Some(19_990));
            assert_eq!(relabel(crate::money::MAX_AMOUNT, jpy, kwd), None);
        }

        #[test]
        fn days_and_reservations_have_bounds() {
            assert_eq!(days("1", "3"), Ok((1, 3)));
            assert!(days("3", "1").is_err());
            assert!(days("x", "1").is_err());
            assert_eq!(reservation_minutes(" 30 "), Ok(30));
            assert!(reservation_minutes("0").is_err());
            assert!(reservation_minutes("1441").is_err());
            assert_eq!(reminder_hours(" 0 "), Ok(0));
            assert_eq!(reminder_hours("4"), Ok(4));
            assert!(reminder_hours("721").is_err() && reminder_hours("-1").is_err());
            assert_eq!(retention_days("30"), Ok(30));
            assert!(retention_days("0").is_err() && retention_days("3651").is_err());
            assert!(retention_days("2.5").is_err());
            assert_eq!(region(" ca "), Ok("CA".into()));
            assert!(region("C A").is_err());
        }
    }
}

impl Admin {
    /// Everything the settings page shows.
    pub async fn settings(&self) -> Result<ShopSettings, AdminError> {
        let pool = self.db().pool();
        let row = sqlx::query(
            "SELECT shop_name, email_from, currency, prices_include_tax, reservation_minutes, retention_days, \
             require_staff_2fa, reminder_hours, return_window_days, return_shipping_fee, \
             restocking_fee_percent, time_zone, analytics_retention_days FROM shop_settings WHERE id = 1",
        )
        .fetch_one(pool)
        .await?;
        let currency = Currency::parse(&row.try_get::<String, _>("currency")?)
            .map_err(|_| AdminError::Internal)?;
        let plain = |amount: i64| Money::new(amount, currency).plain_number();
        let zones =
            sqlx::query("SELECT id, name, countries FROM shipping_zones ORDER BY position, id")
                .fetch_all(pool)
                .await?;
        let rates = sqlx::query(
            "SELECT id, zone_id, code, name, price_amount, free_above_amount, min_days, max_days \
             FROM shipping_rates ORDER BY position, id",
        )
        .fetch_all(pool)
        .await?;
        let mut zone_edits = Vec::with_capacity(zones.len());
        for zone in &zones {
            let id: i64 = zone.try_get("id")?;
            let mut zone_rates = Vec::new();
            for rate in rates
                .iter()
                .filter(|r| r.try_get::<i64, _>("zone_id").ok() == Some(id))
            {
                zone_rates.push(RateEdit {
                    id: rate.try_get("id")?,
                    code: rate.try_get("code")?,
                    name: rate.try_get("name")?,
                    price: plain(rate.try_get("price_amount")?),
                    free_above: rate
                        .try_get::<Option<i64>, _>("free_above_amount")?
                        .map(plain)
                        .unwrap_or_default(),
                    min_days: rate.try_get("min_days")?,
                    max_days: rate.try_get("max_days")?,
                });
            }
            zone_edits.push(ZoneEdit {
                id,
                name: zone.try_get("name")?,
                countries: zone.try_get::<String, _>("countries")?.replace(',', ", "),
                rates: zone_rates,
            });
        }
        let taxes = sqlx::query(
            "SELECT id, country, region, name, rate_bp FROM tax_rates ORDER BY country, region, id",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|t| {
            Ok(TaxEdit {
                id: t.try_get("id")?,
                country: t.try_get("country")?,
                region: t.try_get("region")?,
                name: t.try_get("name")?,
                percent: check::percent_text(t.try_get("rate_bp")?),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
            .fetch_one(pool)
            .await?;
        Ok(ShopSettings {
            time_zone: row.try_get("time_zone")?,
            analytics_retention_days: row.try_get("analytics_retention_days")?,
            return_window_days: row.try_get("return_window_days")?,
            return_shipping_fee: plain(row.try_get("return_shipping_fee")?),
            restocking_fee_percent: row.try_get("restocking_fee_percent")?,
            shop_name: row.try_get("shop_name")?,
            email_from: row.try_get("email_from")?,
            currency: currency.code().to_string(),
            prices_include_tax: row.try_get::<i64, _>("prices_include_tax")? != 0,
            reservation_minutes: row.try_get("reservation_minutes")?,
            retention_days: row.try_get("retention_days")?,
            reminder_hours: row.try_get("reminder_hours")?,
            require_staff_2fa: row.try_get::<i64, _>("require_staff_2fa")? != 0,
            zones: zone_edits,
            taxes,
            currency_locked: orders > 0,
        })
    }

    /// One settings change and its audit entry, then this server's cached rules are forgotten
    /// (the others reread theirs within seconds).
    async fn change_settings<F>(
        &self,
        account: &super::auth::Account,
        action: &'static str,
        job: F,
    ) -> Result<(), AdminError>
    where
        F: for<'c> FnOnce(
                &'c mut AnyConnection,
            )
                -> crate::write_queue::JobFuture<'c, Result<Audited<()>, AdminError>>
            + Send
            + 'static,
    {
        let result = audited_write(self, account, action, job).await;
        self.checkout().forget_rules().await;
        // Read again at once, so this server's header shows a new name on the next page.
        let _ = self.checkout().rules().await;
        result
    }
}

/// Problems found in a form, named by field, as one message.
fn problems(found: Vec<String>) -> Result<(), AdminError> {
    if found.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "Please correct: {}.",
            found.join("; ")
        )))
    }
}

/// Collects the error of `result` into `found`, keeping its value if it has one.
fn keep<T>(found: &mut Vec<String>, result: Result<T, String>) -> Option<T> {
    result.map_err(|e| found.push(e)).ok()
}

/// The rows of the settings a button deletes.
#[derive(Clone, Copy)]
enum Setting {
    /// A shipping zone, with its rates.
    Zone,
    Rate,
    Tax,
}

impl Setting {
    fn table(self) -> &'static str {
        match self {
            Setting::Zone => "shipping_zones",
            Setting::Rate => "shipping_rates",
            Setting::Tax => "tax_rates",
        }
    }

    fn what(self) -> (&'static str, &'static str) {
        match self {
            Setting::Zone => ("Shipping zone deleted", "shipping zone"),
            Setting::Rate => ("Shipping rate deleted", "shipping rate"),
            Setting::Tax => ("Tax rate deleted", "tax rate"),
        }
    }
}

async fn delete_setting(
    admin: &Admin,
    account: &super::auth::Account,
    setting: Setting,
    id: i64,
) -> Result<(), AdminError> {
    let (action, what) = setting.what();
    admin
        .change_settings(account, action, move |conn| {
            Box::pin(async move {
                if let Setting::Zone = setting {
                    sqlx::query("DELETE FROM shipping_rates WHERE zone_id = $1")
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                }
                let done = sqlx::query(&format!("DELETE FROM {} WHERE id = $1", setting.table()))
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(AdminError::NotFound(format!("That {what}")));
                }
                Ok(Audited {
                    value: (),
                    subject: format!("{}:{id}", setting.table()),
                    detail: String::new(),
                })
            })
        })
        .await
}

#[derive(Deserialize)]
struct GeneralForm {
    #[serde(default)]
    shop_name: String,
    #[serde(default)]
    email_from: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    prices_include_tax: Option<String>,
    #[serde(default)]
    reservation_minutes: String,
    /// Empty (a client that does not know the field): unchanged.
    #[serde(default)]
    retention_days: String,
    /// Empty (a client that does not know the field): unchanged.
    #[serde(default)]
    reminder_hours: String,
    #[serde(default)]
    require_staff_2fa: Option<String>,
}

async fn save_general(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<GeneralForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        let mut found = Vec::new();
        let name = keep(&mut found, check::shop_name(&form.shop_name));
        let sender = keep(&mut found, check::email_sender(&form.email_from));
        let minutes = keep(
            &mut found,
            check::reservation_minutes(&form.reservation_minutes),
        );
        let retention = (!form.retention_days.trim().is_empty())
            .then(|| keep(&mut found, check::retention_days(&form.retention_days)))
            .flatten();
        let reminder_hours = (!form.reminder_hours.trim().is_empty())
            .then(|| keep(&mut found, check::reminder_hours(&form.reminder_hours)))
            .flatten();
        let currency = keep(
            &mut found,
            Currency::parse(form.currency.trim().to_ascii_uppercase().as_str())
                .map_err(|e| format!("currency: {e}")),
        );
        problems(found)?;
        let (name, sender, minutes, currency) = (
            name.unwrap_or_default(),
            sender.unwrap_or_default(),
            minutes.unwrap_or_default(),
            currency.ok_or(AdminError::Internal)?,
        );
        let include_tax = form.prices_include_tax.is_some();
        let require_2fa = form.require_staff_2fa.is_some();
        admin
            .change_settings(&account, "Settings changed", move |conn| {
                Box::pin(async move {
                    let was: String =
                        sqlx::query_scalar("SELECT currency FROM shop_settings WHERE id = 1")
                            .fetch_one(&mut *conn)
                            .await?;
                    let was = Currency::parse(&was).map_err(|_| AdminError::Internal)?;
                    if was != currency {
                        change_currency(conn, was, currency).await?;
                    }
                    sqlx::query(
                        "UPDATE shop_settings SET shop_name = $1, email_from = $2, currency = $3, \
                         prices_include_tax = $4, reservation_minutes = $5, \
                         retention_days = COALESCE($6, retention_days), require_staff_2fa = $7, \
                         reminder_hours = COALESCE($8, reminder_hours) WHERE id = 1",
                    )
                    .bind(&name)
                    .bind(&sender)
                    .bind(currency.code())
                    .bind(i64::from(include_tax))
                    .bind(minutes)
                    .bind(retention)
                    .bind(i64::from(require_2fa))
                    .bind(reminder_hours)
                    .execute(&mut *conn)
                    .await?;
                    Ok(Audited {
                        value: (),
                        subject: "settings".into(),
                        detail: format!(
                            "{name}; {currency}; tax included: {include_tax}; {minutes} min; staff 2FA required: {require_2fa}"
                        ),
                    })
                })
            })
            .await?;
        Ok("Settings saved.".to_string())
    }
    .await;
    outcome(&headers, SETTINGS, result)
}

#[derive(Deserialize, Default)]
pub struct ReturnsForm {
    #[serde(default)]
    return_window_days: String,
    #[serde(default)]
    return_shipping_fee: String,
    #[serde(default)]
    restocking_fee_percent: String,
}

/// The return policy: window, return shipping fee, restocking fee. Returns asked for before
/// keep the fees of their day.
async fn save_returns(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<ReturnsForm>, FormRejection>,
) -> Response {
    let to = "/admin/settings#returns";
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        let currency = admin.checkout().rules().await?.currency;
        let mut found = Vec::new();
        let days = keep(&mut found, check::return_window_days(&form.return_window_days));
        let fee_text = form.return_shipping_fee.trim();
        let fee = if fee_text.is_empty() {
            Some(0)
        } else {
            keep(
                &mut found,
                Money::parse(fee_text, currency)
                    .map_err(|e| format!("return shipping fee: {e}"))
                    .and_then(|m| {
                        if m.amount < 0 {
                            Err("return shipping fee: enter 0 or more".to_string())
                        } else {
                            Ok(m.amount)
                        }
                    }),
            )
        };
        let percent = keep(
            &mut found,
            check::restocking_percent(&form.restocking_fee_percent),
        );
        problems(found)?;
        let (days, fee, percent) = (
            days.unwrap_or_default(),
            fee.unwrap_or_default(),
            percent.unwrap_or_default(),
        );
        admin
            .change_settings(&account, "Return policy changed", move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE shop_settings SET return_window_days = $1, return_shipping_fee = $2, \
                         restocking_fee_percent = $3 WHERE id = 1",
                    )
                    .bind(days)
                    .bind(fee)
                    .bind(percent)
                    .execute(&mut *conn)
                    .await?;
                    Ok(Audited {
                        value: (),
                        subject: "settings".into(),
                        detail: format!(
                            "returns within {days} days; shipping fee {}; restocking {percent}%",
                            Money::new(fee, currency)
                        ),
                    })
                })
            })
            .await?;
        Ok("Return policy saved.".to_string())
    }
    .await;
    outcome(&headers, to, result)
}

#[derive(Deserialize, Default)]
pub struct AnalyticsForm {
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    analytics_retention_days: String,
}

/// The shop's time zone (its days in reports, from the next event on) and how long raw
/// analytics events are kept.
async fn save_analytics(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<AnalyticsForm>, FormRejection>,
) -> Response {
    let to = "/admin/settings#analytics";
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        let mut found = Vec::new();
        let zone = keep(&mut found, check::time_zone(&form.time_zone));
        let days = keep(
            &mut found,
            check::analytics_retention_days(&form.analytics_retention_days),
        );
        problems(found)?;
        let (zone, days) = (zone.unwrap_or_default(), days.unwrap_or_default());
        admin
            .change_settings(&account, "Analytics settings changed", move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE shop_settings SET time_zone = $1, analytics_retention_days = $2 WHERE id = 1",
                    )
                    .bind(&zone)
                    .bind(days)
                    .execute(&mut *conn)
                    .await?;
                    Ok(Audited {
                        value: (),
                        subject: "settings".into(),
                        detail: format!("time zone {zone}; analytics events kept {days} days"),
                    })
                })
            })
            .await?;
        Ok("Analytics settings saved.".to_string())
    }
    .await;
    outcome(&headers, to, result)
}

/// Moves every price to `to`, keeping its number, while the shop has no orders.
async fn change_currency(
    conn: &mut AnyConnection,
    from: Currency,
    to: Currency,
) -> Result<(), AdminError> {
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&mut *conn)
        .await?;
    if orders > 0 {
        return Err(AdminError::Invalid(format!(
            "Please correct: currency: the shop has orders in {from}, so its currency stays {from}."
        )));
    }
    let too_large = || {
        AdminError::Invalid(format!(
            "Please correct: currency: some prices are too large for {to}."
        ))
    };
    let variants =
        sqlx::query("SELECT id, price_amount, compare_at_amount FROM variants ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    for v in &variants {
        let price = check::relabel(v.try_get("price_amount")?, from, to).ok_or_else(too_large)?;
        let compare_at = match v.try_get::<Option<i64>, _>("compare_at_amount")? {
            Some(amount) => Some(check::relabel(amount, from, to).ok_or_else(too_large)?),
            None => None,
        };
        sqlx::query("UPDATE variants SET price_amount = $1, compare_at_amount = $2, currency = $3, version = version + 1 WHERE id = $4")
            .bind(price)
            .bind(compare_at)
            .bind(to.code())
            .bind(v.try_get::<i64, _>("id")?)
            .execute(&mut *conn)
            .await?;
    }
    let rates =
        sqlx::query("SELECT id, price_amount, free_above_amount FROM shipping_rates ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    for r in &rates {
        let price = check::relabel(r.try_get("price_amount")?, from, to).ok_or_else(too_large)?;
        let free_above = match r.try_get::<Option<i64>, _>("free_above_amount")? {
            Some(amount) => Some(check::relabel(amount, from, to).ok_or_else(too_large)?),
            None => None,
        };
        sqlx::query(
            "UPDATE shipping_rates SET price_amount = $1, free_above_amount = $2 WHERE id = $3",
        )
        .bind(price)
        .bind(free_above)
        .bind(r.try_get::<i64, _>("id")?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct ZoneForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    countries: String,
    /// `delete` to delete the zone with its rates; anything else saves.
    #[serde(default)]
    intent: String,
}

fn check_zone(form: &ZoneForm) -> Result<(String, String), AdminError> {
    let mut found = Vec::new();
    let name = keep(&mut found, check::label("name", &form.name));
    let countries = keep(&mut found, check::countries(&form.countries));
    problems(found)?;
    Ok((name.unwrap_or_default(), countries.unwrap_or_default()))
}

/// No two zones may name the same country, nor may two be the rest of the world.
async fn zone_overlap(
    conn: &mut AnyConnection,
    zone: Option<i64>,
    countries: &str,
) -> Result<(), AdminError> {
    let others = sqlx::query("SELECT id, name, countries FROM shipping_zones")
        .fetch_all(&mut *conn)
        .await?;
    for other in &others {
        if Some(other.try_get::<i64, _>("id")?) == zone {
            continue;
        }
        let theirs: String = other.try_get("countries")?;
        let name: String = other.try_get("name")?;
        if let Some(shared) = countries
            .split(',')
            .find(|c| theirs.split(',').any(|t| t == *c))
        {
            let what = if shared == "*" {
                "the rest of the world".to_string()
            } else {
                shared.to_string()
            };
            return Err(AdminError::Invalid(format!(
                "Please correct: countries: {what} is already in the zone '{name}'."
            )));
        }
    }
    Ok(())
}

async fn add_zone(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<ZoneForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        let (name, countries) = check_zone(&form)?;
        admin
            .change_settings(&account, "Shipping zone added", move |conn| {
                Box::pin(async move {
                    zone_overlap(conn, None, &countries).await?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO shipping_zones (name, countries, position) \
                         VALUES ($1, $2, (SELECT COALESCE(MAX(position), -1) + 1 FROM shipping_zones)) RETURNING id",
                    )
                    .bind(&name)
                    .bind(&countries)
                    .fetch_one(&mut *conn)
                    .await?;
                    Ok(Audited { value: (), subject: format!("shipping_zone:{id}"), detail: format!("{name}: {countries}") })
                })
            })
            .await?;
        Ok("Shipping zone added; give it a rate.".to_string())
    }
    .await;
    outcome(&headers, SETTINGS, result)
}

async fn save_zone(
    State(admin): State<Admin>,
    Path(zone): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<ZoneForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        if form.intent == "delete" {
            delete_setting(&admin, &account, Setting::Zone, zone).await?;
            return Ok("Shipping zone deleted.".to_string());
        }
        let (name, countries) = check_zone(&form)?;
        admin
            .change_settings(&account, "Shipping zone changed", move |conn| {
                Box::pin(async move {
                    zone_overlap(conn, Some(zone), &countries).await?;
                    let done = sqlx::query(
                        "UPDATE shipping_zones SET name = $1, countries = $2 WHERE id = $3",
                    )
                    .bind(&name)
                    .bind(&countries)
                    .bind(zone)
                    .execute(&mut *conn)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(AdminError::NotFound("That shipping zone".into()));
                    }
                    Ok(Audited {
                        value: (),
                        subject: format!("shipping_zone:{zone}"),
                        detail: format!("{name}: {countries}"),
                    })
                })
            })
            .await?;
        Ok("Shipping zone saved.".to_string())
    }
    .await;
    outcome(&headers, SETTINGS, result)
}

#[derive(Deserialize)]
struct RateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    free_above: String,
    #[serde(default)]
    min_days: String,
    #[serde(default)]
    max_days: String,
    #[serde(default)]
    intent: String,
}

struct CheckedRate {
    name: String,
    price: i64,
    free_above: Option<i64>,
    min_days: i64,
    max_days: i64,
}

fn check_rate(form: &RateForm, currency: Currency) -> Result<CheckedRate, AdminError> {
    let mut found = Vec::new();
    let name = keep(&mut found, check::label("name", &form.name));
    let price = keep(
        &mut found,
        Money::parse(&form.price, currency)
            .map(|m| m.amount)
            .map_err(|e| format!("price: {e}")),
    );
    let free_above = keep(
        &mut found,
        check::optional_amount("free_above", &form.free_above, currency),
    );
    let days = keep(&mut found, check::days(&form.min_days, &form.max_days));
    problems(found)?;
    let (min_days, max_days) = days.unwrap_or_default();
    Ok(CheckedRate {
        name: name.unwrap_or_default(),
        price: price.unwrap_or_default(),
        free_above: free_above.flatten(),
        min_days,
        max_days,
    })
}

/// A rate's code, the key an order keeps: from the zone and the name, made unique.
async fn new_rate_code(
    conn: &mut AnyConnection,
    zone: i64,
    name: &str,
) -> Result<String, AdminError> {
    let mut base: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    base = base
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if base.is_empty() {
        base = "rate".into();
    }
    base = format!("z{zone}-{}", base.chars().take(40).collect::<String>());
    for n in 1..1000 {
        let code = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM shipping_rates WHERE code = $1")
                .bind(&code)
                .fetch_optional(&mut *conn)
                .await?;
        if taken.is_none() {
            return Ok(code);
        }
    }
    Err(AdminError::Invalid(
        "Please correct: name: choose another name for this rate.".into(),
    ))
}

async fn add_rate(
    State(admin): State<Admin>,
    Path(zone): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<RateForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        let rate = check_rate(&form, admin.checkout().rules().await?.currency)?;
        admin
            .change_settings(&account, "Shipping rate added", move |conn| {
                Box::pin(async move {
                    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM shipping_zones WHERE id = $1")
                        .bind(zone)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if exists.is_none() {
                        return Err(AdminError::NotFound("That shipping zone".into()));
                    }
                    let code = new_rate_code(conn, zone, &rate.name).await?;
                    sqlx::query(
                        "INSERT INTO shipping_rates (zone_id, code, name, price_amount, free_above_amount, min_days, max_days, position) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT COALESCE(MAX(position), -1) + 1 FROM shipping_rates WHERE zone_id = $1))",
                    )
                    .bind(zone)
                    .bind(&code)
                    .bind(&rate.name)
                    .bind(rate.price)
                    .bind(rate.free_above)
                    .bind(rate.min_days)
                    .bind(rate.max_days)
                    .execute(&mut *conn)
                    .await?;
                    Ok(Audited { value: (), subject: format!("shipping_rate:{code}"), detail: format!("{} {}", rate.name, rate.price) })
                })
            })
            .await?;
        Ok("Shipping rate added.".to_string())
    }
    .await;
    outcome(&headers, SETTINGS, result)
}

async fn save_rate(
    State(admin): State<Admin>,
    Path(rate_id): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<RateForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        if form.intent == "delete" {
            delete_setting(&admin, &account, Setting::Rate, rate_id).await?;
            return Ok("Shipping rate deleted.".to_string());
        }
        let rate = check_rate(&form, admin.checkout().rules().await?.currency)?;
        admin
            .change_settings(&account, "Shipping rate changed", move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE shipping_rates SET name = $1, price_amount = $2, free_above_amount = $3, min_days = $4, max_days = $5 WHERE id = $6",
                    )
                    .bind(&rate.name)
                    .bind(rate.price)
                    .bind(rate.free_above)
                    .bind(rate.min_days)
                    .bind(rate.max_days)
                    .bind(rate_id)
                    .execute(&mut *conn)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(AdminError::NotFound("That shipping rate".into()));
                    }
                    Ok(Audited { value: (), subject: format!("shipping_rate:{rate_id}"), detail: format!("{} {}", rate.name, rate.price) })
                })
            })
            .await?;
        Ok("Shipping rate saved.".to_string())
    }
    .await;
    outcome(&headers, SETTINGS, result)
}

#[derive(Deserialize)]
struct TaxForm {
    #[serde(default)]
    country: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    percent: String,
    #[serde(default)]
    intent: String,
}

fn check_tax(form: &TaxForm) -> Result<(String, String, String, i64), AdminError> {
    let mut found = Vec::new();
    let country = form.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        found.push("country: enter a two-letter country code such as DE".to_string());
    }
    let region = keep(&mut found, check::region(&form.region));
    let name = keep(&mut found, check::label("name", &form.name));
    let bp = keep(&mut found, check::tax_percent(&form.percent));
    problems(found)?;
    Ok((
        country,
        region.unwrap_or_default(),
        name.unwrap_or_default(),
        bp.unwrap_or_default(),
    ))
}

fn duplicate_tax(error: sqlx::Error, country: &str, region: &str) -> AdminError {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => AdminError::Invalid(format!(
            "Please correct: country: {country}{} already has a tax rate.",
            if region.is_empty() {
                String::new()
            } else {
                format!("-{region}")
            }
        )),
        other => other.into(),
    }
}

async fn add_tax(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<TaxForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        let (country, region, name, bp) = check_tax(&form)?;
        admin
            .change_settings(&account, "Tax rate added", move |conn| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO tax_rates (country, region, name, rate_bp) VALUES ($1, $2, $3, $4)")
                        .bind(&country)
                        .bind(&region)
                        .bind(&name)
                        .bind(bp)
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| duplicate_tax(e, &country, &region))?;
                    Ok(Audited { value: (), subject: format!("tax_rate:{country}{region}"), detail: format!("{name} {bp}") })
                })
            })
            .await?;
        Ok("Tax rate added.".to_string())
    }
    .await;
    outcome(&headers, SETTINGS, result)
}

async fn save_tax(
    State(admin): State<Admin>,
    Path(tax): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<TaxForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Owner).await?;
        let Form(form) = form.map_err(form_error)?;
        if form.intent == "delete" {
            delete_setting(&admin, &account, Setting::Tax, tax).await?;
            return Ok("Tax rate deleted.".to_string());
        }
        let (country, region, name, bp) = check_tax(&form)?;
        admin
            .change_settings(&account, "Tax rate changed", move |conn| {
                Box::pin(async move {
                    let done = sqlx::query("UPDATE tax_rates SET country = $1, region = $2, name = $3, rate_bp = $4 WHERE id = $5")
                        .bind(&country)
                        .bind(&region)
                        .bind(&name)
                        .bind(bp)
                        .bind(tax)
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| duplicate_tax(e, &country, &region))?;
                    if done.rows_affected() != 1 {
                        return Err(AdminError::NotFound("That tax rate".into()));
                    }
                    Ok(Audited { value: (), subject: format!("tax_rate:{tax}"), detail: format!("{name} {bp}") })
                })
            })
            .await?;
        Ok("Tax rate saved.".to_string())
    }
    .await;
    outcome(&headers, SETTINGS, result)
}
