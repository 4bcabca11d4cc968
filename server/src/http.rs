//! HTTP concerns shared by every route: caching of static files, security headers, addresses
//! no route can serve, and a 500 for a panic.

use std::any::Any;

use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};

/// The Content-Security-Policy of every page: scripts only from the shop (with the page's
/// nonce for the inline hydration script), WASM allowed to compile, Stripe.js for payments,
/// no framing by other sites.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval' https://js.stripe.com; \
         style-src 'self'; img-src 'self' data: https:; connect-src 'self' https://api.stripe.com; \
         frame-src https://js.stripe.com https://hooks.stripe.com; font-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'; worker-src 'self'"
    )
}

/// Security headers on every response. HTML pages get the policy naming their nonce from
/// [`page_security_policy`]; everything else gets the policy without one.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(value) = HeaderValue::from_str(&content_security_policy(None)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}

/// Gives an HTML page the policy naming its own nonce. leptos_axum puts a fresh nonce on the
/// page's inline scripts; it is read back from the HTML (pages are small and the page cache
/// buffers them anyway), so the header always matches the body it travels with.
pub async fn page_security_policy(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html
        || response
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 8 * 1024 * 1024).await else {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "page too large",
        )
            .into_response();
    };
    let nonce = page_nonce(&bytes);
    if let Ok(value) = HeaderValue::from_str(&content_security_policy(nonce.as_deref())) {
        parts.headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The nonce of the first script that carries one.
fn page_nonce(html: &[u8]) -> Option<String> {
    let marker = b"nonce=\"";
    let start = html.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let end = start + html[start..].iter().position(|b| *b == b'"')?;
    let nonce = std::str::from_utf8(&html[start..end]).ok()?;
    nonce
        .bytes()
        .all(|b| {
            b.is_ascii_alphanumeric()
                || b == b'-'
                || b == b'_'
                || b == b'+'
                || b == b'/'
                || b == b'='
        })
        .then(|| nonce.to_string())
}

/// The shop's own origin (`https://shop.example`), for the cross-site check.
#[derive(Clone, Debug)]
pub struct OwnOrigin(String);

impl OwnOrigin {
    pub fn new(public_url: &str) -> OwnOrigin {
        let origin = match public_url.split_once("://") {
            Some((scheme, rest)) => {
                format!("{scheme}://{}", rest.split('/').next().unwrap_or_default())
            }
            None => public_url.to_string(),
        };
        OwnOrigin(origin)
    }
}

/// Refuses cross-site requests that change things. A browser names the page a request comes
/// from in `Origin` (or `Referer`); it must be this shop, by its public address or by the
/// address the request was sent to. Requests without either are let through only without a
/// session cookie (API clients), since a forged request rides on the victim's cookie. Stripe's
/// webhook proves itself with its signature instead.
pub async fn refuse_cross_site_writes(
    axum::extract::State(own): axum::extract::State<OwnOrigin>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method();
    let safe = matches!(
        *method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if safe || request.uri().path().starts_with("/webhooks/") {
        return next.run(request).await;
    }
    let headers = request.headers();
    let host_origins: Vec<String> = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| vec![format!("http://{host}"), format!("https://{host}")])
        .unwrap_or_default();
    let trusted = |origin: &str| origin == own.0 || host_origins.iter().any(|h| h == origin);
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok());
    let allowed = match (origin, referer) {
        (Some(origin), _) => trusted(origin),
        (None, Some(referer)) => trusted(&OwnOrigin::new(referer).0),
        (None, None) => !headers.contains_key(header::COOKIE),
    };
    if allowed {
        next.run(request).await
    } else {
        tracing::warn!(
            ?origin,
            ?referer,
            path = request.uri().path(),
            "refused a cross-site request"
        );
        (
            axum::http::StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        )
            .into_response()
    }
}

/// Built assets under `/pkg/` carry a content hash in their names when built for release, so
/// they can be cached for a year; other static files (images, favicon) for a day; pages are
/// revalidated on every visit because prices and stock change.
pub async fn cache_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if response.headers().contains_key(header::CACHE_CONTROL) || !response.status().is_success() {
        return response;
    }
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // The service worker is checked for updates on every visit, as browsers expect.
    let value = if is_page || path.starts_with("/api/") || path == "/healthz" || path == "/sw.js" {
        "no-cache"
    } else if path.starts_with("/media/") || (path.starts_with("/pkg/") && is_hashed_asset(&path)) {
        // Media names are derived from their content, so they never change either.
        "public, max-age=31536000, immutable"
    } else if path.starts_with("/pkg/") {
        "public, max-age=0, must-revalidate"
    } else {
        "public, max-age=86400"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// Refuses an address holding NUL (`%00`, the only way to write it in a URL) before any handler
/// runs: no slug, token or number can contain one, and Postgres answers text containing NUL
/// with an error rather than a miss. In the path it names nothing (404); in the query it is a
/// bad request (400).
pub async fn refuse_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if uri.path().contains("%00") {
        return error_response(
            uri.path(),
            StatusCode::NOT_FOUND,
            "This address names nothing: it contains a NUL character.",
            None,
        );
    }
    let Some(query) = uri.query().filter(|query| query.contains("%00")) else {
        return next.run(request).await;
    };
    let message = "The address's query contains a NUL character.";
    // The API names the parameters that hold it, as each of its 400s names its fields.
    let fields: Vec<serde_json::Value> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, value)| value.contains('\0'))
            .map(|(field, _)| {
                serde_json::json!({"field": field, "message": "must not contain a NUL character"})
            })
            .collect();
    if uri.path().starts_with("/api/") {
        let body =
            serde_json::json!({"error": {"status": 400, "message": message, "fields": fields}});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    error_response(uri.path(), StatusCode::BAD_REQUEST, message, None)
}

/// Request ids made without a system call per request (a UUID asks the kernel for randomness
/// each time, which showed at tens of thousands of cached pages a second): a prefix per
/// process, so ids from several servers on one database do not collide, and a counter.
#[derive(Clone, Debug)]
pub struct MakeRequestNumber {
    prefix: std::sync::Arc<str>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for MakeRequestNumber {
    fn default() -> Self {
        // The process id and the start time tell this process from the others.
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or_default();
        MakeRequestNumber {
            prefix: format!("{:x}{:x}", std::process::id(), started & 0xff_ffff_ffff).into(),
            next: Default::default(),
        }
    }
}

impl tower_http::request_id::MakeRequestId for MakeRequestNumber {
    fn make_request_id<B>(
        &mut self,
        _request: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// Whether the request's `Accept-Encoding` lists `coding` (`br`, `gzip`), parameters such as
/// `;q=` aside.
pub fn accepts_encoding(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accepted| {
            accepted
                .split(',')
                .any(|item| item.split(';').next().unwrap_or("").trim() == coding)
        })
}

/// The id `SetRequestIdLayer` gave the request (`x-request-id`), for logs and error pages.
pub fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

/// The span every request is traced in, naming its id, so each log line of a request (a
/// panic's too) can be found from the id a shopper quotes.
pub fn request_span(request: &Request) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        uri = %request.uri(),
        request_id = %request_id(request.headers()),
    )
}

/// Marks the answer [`panic_response`] gave, for [`answer_panics`] to word.
#[derive(Clone, Copy, Debug)]
pub struct Panicked;

/// `CatchPanicLayer`'s handler: logs the panic (inside the request's span, so with its id) and
/// answers 500. It cannot see the request; [`answer_panics`] words the answer for it.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(panic = %message, "the request panicked");
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(Panicked);
    response
}

/// Gives a request that panicked the answer its caller reads: JSON under `/api/`, a page
/// elsewhere, each naming the request's id to quote. Sits right outside `CatchPanicLayer`.
pub async fn answer_panics(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let id = request_id(request.headers()).to_owned();
    let response = next.run(request).await;
    if response.extensions().get::<Panicked>().is_none() {
        return response;
    }
    error_response(
        &path,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side; please try again in a moment.",
        Some(&id),
    )
}

/// An error answered before or after the app: `{"error": {"status", "message", "fields",
/// "request_id"}}` for the API and server functions, as theirs; a small page for browsers.
pub fn error_response(
    path: &str,
    status: StatusCode,
    message: &str,
    request_id: Option<&str>,
) -> Response {
    if path.starts_with("/api/") {
        let mut error = serde_json::json!({
            "status": status.as_u16(),
            "message": message,
            "fields": [],
        });
        if let Some(id) = request_id {
            error["request_id"] = id.into();
        }
        return (status, Json(serde_json::json!({ "error": error }))).into_response();
    }
    let escape = app::components::escape_html;
    let heading = status.canonical_reason().unwrap_or("Error");
    let reference = request_id
        .map(|id| {
            format!(
                "<p>If it keeps happening, tell us this reference: <code>{}</code></p>",
                escape(id)
            )
        })
        .unwrap_or_default();
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{heading} · Kassa</title></head><body><main><h1>{heading}</h1><p>{}</p>{reference}\
         <p><a href=\"/\">Back to the shop</a></p></main></body></html>",
        escape(message)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// `kassa.9f3c2a1b.wasm` is hashed; `kassa.wasm` is not.
pub(crate) fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = name.split('.').collect();
    // cargo-leptos hashes are 22 characters of URL-safe base64.
    parts.len() >= 3
        && parts[parts.len() - 2].len() >= 16
        && parts[parts.len() - 2]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoding_is_accepted_when_listed_whatever_its_parameters() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            headers
        };
        assert!(accepts_encoding(&headers("gzip, deflate, br, zstd"), "br"));
        assert!(accepts_encoding(&headers("br;q=0.8, gzip"), "br"));
        assert!(accepts_encoding(&headers("br;q=0.8, gzip"), "gzip"));
        assert!(!accepts_encoding(&headers("gzip"), "br"));
        assert!(!accepts_encoding(&headers("identity"), "gzip"));
        assert!(!accepts_encoding(&HeaderMap::new(), "br"));
    }

    async fn body_text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_panic_is_a_marked_500_whatever_its_payload() {
        for panic in [
            Box::new("static message") as Box<dyn Any + Send>,
            Box::new(String::from("formatted message")),
            Box::new(17_u8),
        ] {
            let response = panic_response(panic);
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(response.extensions().get::<Panicked>().is_some());
        }
    }

    #[tokio::test]
    async fn errors_are_json_for_the_api_and_a_page_for_browsers() {
        let api = error_response(
            "/api/v1/products",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong.",
            Some("id-1"),
        );
        assert_eq!(api.status(), 500);
        assert_eq!(api.headers()[header::CONTENT_TYPE], "application/json");
        let json: serde_json::Value = serde_json::from_str(&body_text(api).await).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"status": 500, "message": "Something went wrong.",
                                         "fields": [], "request_id": "id-1"}})
        );
        let page = error_response(
            "/products/x",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong.",
            Some("<script>"),
        );
        assert!(page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = body_text(page).await;
        assert!(html.contains("<h1>Internal Server Error</h1>"), "{html}");
        assert!(html.contains("<code>&lt;script&gt;</code>"), "{html}");
    }

    #[test]
    fn the_page_nonce_is_read_from_its_first_script() {
        let html = br#"<html><script type="module" nonce="abc-_1">x</script><script nonce="zzz">"#;
        assert_eq!(super::page_nonce(html).as_deref(), Some("abc-_1"));
        assert_eq!(super::page_nonce(b"<p>no scripts</p>"), None);
        assert_eq!(super::page_nonce(br#"<script nonce="a' evil">"#), None);
    }

    #[test]
    fn recognises_content_hashed_file_names() {
        assert!(is_hashed_asset("/pkg/kassa.gkvSEifAkBGQjxCFNHyRxQ.wasm"));
        assert!(is_hashed_asset("/pkg/kassa.-t78OmUVrGMfFCwWBUnAKg.css"));
        assert!(!is_hashed_asset("/pkg/kassa.wasm"));
        assert!(!is_hashed_asset("/pkg/kassa_bg.wasm"));
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`KASSA_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub std::sync::Arc<Vec<ipnet::IpNet>>);

impl TrustedProxies {
    fn trusts(&self, ip: std::net::IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: when `peer` is a trusted proxy, the right-most address of
    /// `X-Forwarded-For` that is not one (each proxy appends the address it saw, so the
    /// entries to its left are the client's word, which anyone may forge).
    pub fn client(&self, peer: std::net::IpAddr, forwarded: &[&str]) -> std::net::IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for entry in forwarded.iter().flat_map(|header| header.split(',')).rev() {
            let Ok(ip) = entry.trim().parse::<std::net::IpAddr>() else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }

    /// Behind a trusted load balancer, every part of the app (rate limits, analytics) sees the
    /// client's address where it reads the connection's (`ConnectInfo`): this puts it there.
    pub fn settle_client(&self, request: &mut Request) {
        use axum::extract::ConnectInfo;
        use std::net::SocketAddr;
        if self.0.is_empty() {
            return;
        }
        let Some(ConnectInfo(peer)) = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
        else {
            return;
        };
        let forwarded: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let client = self.client(peer.ip(), &forwarded);
        if client != peer.ip() {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
        }
    }
}

#[cfg(test)]
mod client_address_tests {
    use super::TrustedProxies;

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies(std::sync::Arc::new(
            crate::config::parse_proxies(list).unwrap(),
        ))
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let lb = proxies("10.0.0.0/8");
        let client =
            |peer: &str, header: &[&str]| lb.client(peer.parse().unwrap(), header).to_string();
        assert_eq!(client("10.1.2.3", &["198.51.100.7"]), "198.51.100.7");
        // A client cannot pass itself off as another by sending the header itself.
        assert_eq!(
            client("10.1.2.3", &["1.2.3.4, 198.51.100.7"]),
            "198.51.100.7"
        );
        // Through two of the shop's proxies.
        assert_eq!(
            client("10.1.2.3", &["198.51.100.7, 10.9.9.9"]),
            "198.51.100.7"
        );
        // From anyone else, the header is ignored.
        assert_eq!(client("203.0.113.5", &["198.51.100.7"]), "203.0.113.5");
        assert_eq!(client("10.1.2.3", &["garbage"]), "10.1.2.3");
        assert!(crate::config::parse_proxies("10.0.0.0/8, 192.0.2.7 ,").is_ok());
        assert_eq!(
            crate::config::parse_proxies("10.0.0.0/33"),
            Err("10.0.0.0/33".into())
        );
    }
}
