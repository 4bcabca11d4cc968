//! HTTP concerns shared by every route: caching of static files.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

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
    fn recognises_content_hashed_file_names() {
        assert!(is_hashed_asset("/pkg/kassa.gkvSEifAkBGQjxCFNHyRxQ.wasm"));
        assert!(is_hashed_asset("/pkg/kassa.-t78OmUVrGMfFCwWBUnAKg.css"));
        assert!(!is_hashed_asset("/pkg/kassa.wasm"));
        assert!(!is_hashed_asset("/pkg/kassa_bg.wasm"));
    }
}
