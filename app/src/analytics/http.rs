//! Where events come from over HTTP: every storefront page served ([`PageView`], taken outside the
//! page cache, so cached copies count too), the islands' beacons (`POST /api/v1/events`), and
//! the checkout's placed orders. Nothing here sets a cookie or keeps an address.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::collector::{Analytics, Event, Kind, Who};
use super::{
    address_prefix, asks_not_to_be_tracked, browser_family, classify, normalise_query, Attribution,
    Beacon, BeaconKind,
};
use crate::db::now_epoch;

/// Set by the product page on its response: a variant of the product viewed (the product is
/// looked up when the event is written). Taken off before the response leaves.
pub const PRODUCT_HEADER: &str = "x-kassa-analytics-variant";
/// Set by the search page on its first page of results: how many it found.
pub const RESULTS_HEADER: &str = "x-kassa-analytics-results";
/// The largest beacon body taken.
pub const MAX_BEACON_BYTES: usize = 2048;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Analytics: axum::extract::FromRef<S>,
{
    Router::new().route(
        "/api/v1/events",
        post(receive_beacon).layer(axum::extract::DefaultBodyLimit::max(MAX_BEACON_BYTES)),
    )
}

/// Who a request is counted for: `None` for a robot (not counted), `Untracked` for a browser
/// that asked not to be tracked or an unknown address.
pub fn who(headers: &HeaderMap, peer: Option<IpAddr>) -> Option<Who> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let family = browser_family(text(header::USER_AGENT.as_str()).unwrap_or(""))?;
    if asks_not_to_be_tracked(text("dnt"), text("sec-gpc")) {
        return Some(Who::Untracked);
    }
    Some(match peer {
        Some(ip) => Who::Visitor {
            address_prefix: address_prefix(ip),
            family,
        },
        None => Who::Untracked,
    })
}

fn peer_of(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// Pages whose views count: the storefront's, not the back office, the APIs or files.
fn is_shop_page(path: &str) -> bool {
    const NOT_PAGES: [&str; 7] = [
        "/admin", "/api/", "/pkg/", "/media/", "/healthz", "/sw.js", "/favicon",
    ];
    !NOT_PAGES.iter().any(|p| path.starts_with(p))
        && !path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

/// The path as kept: private links (an order's or a conversation's token) lose their token.
pub fn stored_path(path: &str) -> String {
    for private in ["/orders/", "/support/"] {
        if path.starts_with(private) {
            return format!("{private}*");
        }
    }
    path.chars().take(200).collect()
}

/// A query string's pairs, read once per request.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

fn query_value(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// A storefront page view on its way, read off the request before the request moves on
/// (owned: a borrow of the request would make the middleware's future not `Send`).
///
/// Taken outside the page cache, so cached copies count too: [`PageView::of`] before the
/// page is answered, [`PageView::record`] once it is.
pub struct PageView {
    /// `None`: a robot, not counted (its response still loses the pages' notes).
    visit: Option<Visit>,
}

struct Visit {
    who: Who,
    path: String,
    query: String,
    referrer: Option<String>,
    host: Option<String>,
}

impl PageView {
    /// The view `request` makes, if it asks for a storefront page.
    pub fn of(request: &Request) -> Option<PageView> {
        if request.method() != Method::GET || !is_shop_page(request.uri().path()) {
            return None;
        }
        let headers = request.headers();
        // What a robot asked for is not kept: nothing of it is copied.
        let visit = who(headers, peer_of(request)).map(|who| {
            let text = |name: header::HeaderName| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            Visit {
                who,
                path: request.uri().path().to_string(),
                query: request.uri().query().unwrap_or("").to_string(),
                referrer: text(header::REFERER),
                host: text(header::HOST),
            }
        });
        Some(PageView { visit })
    }

    /// Takes the page's notes for analytics off `response`, and records the view if the page
    /// was answered with 200 and HTML.
    pub fn record(self, analytics: &Analytics, response: &mut Response) {
        let note = |response: &mut Response, name: &str| {
            response
                .headers_mut()
                .remove(name)
                .and_then(|v| v.to_str().ok().and_then(|v| v.parse::<i64>().ok()))
        };
        let variant_id = note(response, PRODUCT_HEADER);
        let results = note(response, RESULTS_HEADER);
        let html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let Some(Visit {
            who,
            path,
            query,
            referrer,
            host,
        }) = self.visit
        else {
            return;
        };
        if response.status() != StatusCode::OK || !html {
            return;
        }
        let referrer_search = search_of(referrer.as_deref(), host.as_deref());
        let pairs = query_pairs(&query);
        let attribution = Attribution {
            referrer,
            utm_source: query_value(&pairs, "utm_source"),
            utm_medium: query_value(&pairs, "utm_medium"),
            utm_campaign: query_value(&pairs, "utm_campaign"),
        };
        let mut event = Event::new(now_epoch(), Kind::PageView, who);
        event.landing = classify(&attribution, host.as_deref());
        event.variant_id = variant_id;
        if path == "/search" && results.is_some() {
            event.query = query_value(&pairs, "q")
                .as_deref()
                .and_then(normalise_query);
            event.results = event.query.as_ref().and(results);
        }
        event.path = Some(stored_path(&path));
        // A product opened from the search page is that search's click (no JavaScript needed).
        if let (Some(variant), Some(query)) = (
            event.variant_id,
            referrer_search.as_deref().and_then(normalise_query),
        ) {
            let mut click = Event::new(event.at, Kind::SearchClick, event.who.clone());
            click.variant_id = Some(variant);
            click.path = event.path.clone();
            click.query = Some(query);
            analytics.record(click);
        }
        analytics.record(event);
    }
}

/// The search of a referrer that is the shop's own search page (`/search?q=…`).
fn search_of(referrer: Option<&str>, host: Option<&str>) -> Option<String> {
    let referrer = referrer?;
    let rest = referrer
        .strip_prefix("https://")
        .or_else(|| referrer.strip_prefix("http://"))?;
    let (authority, path) = rest.split_at(rest.find('/')?);
    if Some(authority) != host {
        return None;
    }
    let query = path.strip_prefix("/search?")?;
    query_value(&query_pairs(query), "q")
}

/// Notes on the page being rendered that it shows the product of this variant (for its views).
pub fn mark_product_view(variant_id: i64) {
    mark(PRODUCT_HEADER, variant_id);
}

/// Notes on the search page being rendered how many results its first page found.
pub fn mark_search_results(results: usize) {
    mark(RESULTS_HEADER, results as i64);
}

fn mark(name: &'static str, value: i64) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(value) = header::HeaderValue::from_str(&value.to_string()) {
            response.insert_header(header::HeaderName::from_static(name), value);
        }
    }
}

/// Counts an order for the visitor whose request placed it.
pub fn record_order(
    analytics: &Analytics,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    order_id: i64,
) {
    if let Some(who) = who(headers, peer) {
        let mut event = Event::new(now_epoch(), Kind::Order, who);
        event.order_id = Some(order_id);
        analytics.record(event);
    }
}

fn bad_request(field: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {
            "status": 400,
            "message": message,
            "fields": [{"field": field, "message": message}],
        }})),
    )
        .into_response()
}

/// Checks a beacon; `Err` names the field.
pub fn check_beacon(beacon: &Beacon) -> Result<(), (&'static str, &'static str)> {
    if let Some(path) = &beacon.path {
        if !path.starts_with('/') || path.len() > 512 || path.chars().any(char::is_control) {
            return Err((
                "path",
                "a path of this shop, such as /products/mug (at most 512 characters)",
            ));
        }
    }
    if beacon.product_id.is_some_and(|id| id <= 0) {
        return Err(("product_id", "a product's id (a positive number)"));
    }
    if beacon.variant_id.is_some_and(|id| id <= 0) {
        return Err(("variant_id", "a variant's id (a positive number)"));
    }
    if let Some(query) = &beacon.query {
        if query.chars().count() > 200 || query.chars().any(char::is_control) {
            return Err(("query", "the search as typed, at most 200 characters"));
        }
    }
    Ok(())
}

/// An event from the islands (`navigator.sendBeacon`): 204, never a cookie.
#[utoipa::path(post, path = "/api/v1/events", tag = "analytics", operation_id = "recordEvent",
    request_body(content = Beacon, description = "Sent as JSON; `text/plain` (what `sendBeacon` sends) is read the same."),
    responses((status = 204, description = "Recorded (or, for a robot, ignored)"), (status = 400, body = crate::error::ErrorBody)))]
pub async fn receive_beacon(
    State(analytics): State<Analytics>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut reader = serde_json::Deserializer::from_slice(&body);
    let beacon: Beacon = match serde_path_to_error::deserialize(&mut reader) {
        Ok(beacon) => beacon,
        Err(error) => {
            let path = error.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            let message = format!(
                "Expected {{\"type\": \"add_to_cart\" | \"checkout_started\" | \"search_click\", \"path\", \"product_id\", \"variant_id\", \"query\"}}: {}",
                error.inner()
            );
            return bad_request(&field, &message);
        }
    };
    if reader.end().is_err() {
        return bad_request("body", "One JSON object, nothing after it.");
    }
    if let Err((field, message)) = check_beacon(&beacon) {
        return bad_request(field, message);
    }
    if let Some(who) = who(&headers, Some(peer.ip())) {
        let kind = match beacon.kind {
            BeaconKind::AddToCart => Kind::AddToCart,
            BeaconKind::CheckoutStarted => Kind::CheckoutStarted,
            BeaconKind::SearchClick => Kind::SearchClick,
        };
        let mut event = Event::new(now_epoch(), kind, who);
        event.path = beacon.path.as_deref().map(stored_path);
        event.product_id = beacon.product_id;
        event.variant_id = beacon.variant_id;
        event.query = beacon.query.as_deref().and_then(normalise_query);
        analytics.record(event);
    }
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_opened_from_the_shops_search_is_a_click_of_that_search() {
        let host = Some("shop.example");
        assert_eq!(
            search_of(
                Some("https://shop.example/search?q=merino+wool&sort=price-asc"),
                host
            ),
            Some("merino wool".into())
        );
        assert_eq!(
            search_of(Some("https://evil.example/search?q=x"), host),
            None
        );
        assert_eq!(
            search_of(Some("https://shop.example/collections/x"), host),
            None
        );
        assert_eq!(search_of(None, host), None);
    }

    #[test]
    fn private_links_are_not_kept() {
        assert_eq!(stored_path("/orders/abc123secret"), "/orders/*");
        assert_eq!(stored_path("/support/tok"), "/support/*");
        assert_eq!(stored_path("/products/mug"), "/products/mug");
    }

    #[test]
    fn only_storefront_pages_count() {
        assert!(is_shop_page("/"));
        assert!(is_shop_page("/products/mug"));
        assert!(!is_shop_page("/admin/orders"));
        assert!(!is_shop_page("/api/v1/products"));
        assert!(!is_shop_page("/pkg/kassa.js"));
        assert!(!is_shop_page("/robots.txt"));
    }

    #[test]
    fn a_robot_is_not_counted_and_do_not_track_has_no_key() {
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, "curl/8".parse().unwrap());
        assert_eq!(who(&headers, Some("10.0.0.1".parse().unwrap())), None);
        headers.insert(
            header::USER_AGENT,
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            who(&headers, Some("10.0.0.1".parse().unwrap())),
            Some(Who::Visitor {
                address_prefix: "10.0.0.0/24".into(),
                family: "firefox"
            })
        );
        headers.insert("sec-gpc", "1".parse().unwrap());
        assert_eq!(
            who(&headers, Some("10.0.0.1".parse().unwrap())),
            Some(Who::Untracked)
        );
    }

    #[test]
    fn beacons_are_checked_field_by_field() {
        let beacon = |path: Option<&str>, product: Option<i64>| Beacon {
            kind: BeaconKind::AddToCart,
            path: path.map(str::to_string),
            product_id: product,
            variant_id: None,
            query: None,
        };
        assert_eq!(
            check_beacon(&beacon(Some("/products/mug"), Some(3))),
            Ok(())
        );
        assert_eq!(
            check_beacon(&beacon(Some("https://evil"), None))
                .unwrap_err()
                .0,
            "path"
        );
        assert_eq!(
            check_beacon(&beacon(None, Some(0))).unwrap_err().0,
            "product_id"
        );
    }
}
