//! What the islands send: a few events with `navigator.sendBeacon` (it survives the page
//! being left, needs no answer and sets no cookie), and the landing page's referrer and `utm_*`
//! parameters, kept with the cart in localStorage until checkout.

use wasm_bindgen::JsValue;

use super::{Attribution, ATTRIBUTION_KEY};

fn json_string(text: &str) -> String {
    js_sys::JSON::stringify(&JsValue::from_str(text))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "\"\"".into())
}

/// Sends `{"type": kind, "path", "product_id"?, "variant_id"?}` to `/api/v1/events`.
pub fn send(kind: &str, product_id: Option<i64>, variant_id: Option<i64>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let path = window.location().pathname().unwrap_or_default();
    let mut body = format!("{{\"type\":\"{kind}\",\"path\":{}", json_string(&path));
    if let Some(id) = product_id {
        body.push_str(&format!(",\"product_id\":{id}"));
    }
    if let Some(id) = variant_id {
        body.push_str(&format!(",\"variant_id\":{id}"));
    }
    body.push('}');
    let _ = window
        .navigator()
        .send_beacon_with_opt_str("/api/v1/events", Some(&body));
}

/// On a page reached from another site, or with `utm_*` parameters, keeps where the shopper
/// came from (the latest such landing wins); a page reached from the shop changes nothing.
pub fn remember_landing() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let search = location.search().unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
    let param = |name: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(name))
            .filter(|v| !v.is_empty())
    };
    let own_host = location.host().unwrap_or_default();
    let referrer = window
        .document()
        .map(|d| d.referrer())
        .filter(|r| !r.is_empty())
        .filter(|r| {
            super::host_of(r).as_deref()
                != super::host_of(&format!("https://{own_host}/")).as_deref()
        });
    let landing = Attribution {
        referrer,
        utm_source: param("utm_source"),
        utm_medium: param("utm_medium"),
        utm_campaign: param("utm_campaign"),
    };
    if landing != Attribution::default() {
        // Kept as a query string (the browser's own encoding), not JSON: no decoder for it in
        // the WASM.
        let Ok(params) = web_sys::UrlSearchParams::new() else {
            return;
        };
        for (name, value) in [
            ("referrer", &landing.referrer),
            ("utm_source", &landing.utm_source),
            ("utm_medium", &landing.utm_medium),
            ("utm_campaign", &landing.utm_campaign),
        ] {
            if let Some(value) = value {
                params.append(name, value);
            }
        }
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(ATTRIBUTION_KEY, &String::from(params.to_string()));
        }
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Where this shopper came from, for the checkout.
pub fn attribution() -> Option<Attribution> {
    let stored = local_storage()?.get_item(ATTRIBUTION_KEY).ok()??;
    let params = web_sys::UrlSearchParams::new_with_str(&stored).ok()?;
    let get = |name: &str| params.get(name).filter(|v| !v.is_empty());
    Some(Attribution {
        referrer: get("referrer"),
        utm_source: get("utm_source"),
        utm_medium: get("utm_medium"),
        utm_campaign: get("utm_campaign"),
    })
}
