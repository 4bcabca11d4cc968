//! HTTP concerns shared by every route: caching of static files.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Built assets under `/pkg/` carry a content hash in their names when built for release, so
/// they can be cached for a year; other static files (images, favicon) for a day; pages are
/// revalidated on every visit because prices and stock change.
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

/// Security headers on every response. Pages set their own CSP (with their nonce) through
/// leptos; everything else gets the policy without one.
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

/// `kassa.9f3c2a1b.wasm` is hashed; `kassa.wasm` is not.
fn is_hashed_asset(path: &str) -> bool {
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
    use super::is_hashed_asset;

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
