//! A short-lived cache of whole storefront pages, in front of rendering and the database.
//!
//! Catalog pages are the same for every shopper (the cart lives in the browser), so a page
//! rendered once can serve every request for the next second or so: under load each page is
//! rendered about once per interval instead of once per request. Prices, totals and stock are
//! still decided by the server at checkout; a page is at most `ttl` behind the database.
//! Writes in this process (imports, staff edits in the admin) clear the cache at once; other
//! servers on the same database catch up within `ttl`.

use std::sync::Arc;
use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::Response,
};
use moka::future::Cache;

/// The most a cached page may weigh in all, so a crawl cannot exhaust memory.
const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Pages larger than this are not worth keeping.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

#[derive(Clone)]
pub struct PageCache {
    /// Behind an `Arc`: the middleware's state is cloned for every request, and cloning a moka
    /// cache itself takes several atomic operations.
    pages: Option<Arc<Cache<String, CachedPage>>>,
}

#[derive(Clone)]
struct CachedPage {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl PageCache {
    /// `ttl` of zero turns the cache off.
    pub fn new(ttl: Duration) -> PageCache {
        let pages = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .time_to_live(ttl)
                .max_capacity(MAX_BYTES)
                .weigher(|key: &String, page: &CachedPage| {
                    (key.len() + page.body.len()).try_into().unwrap_or(u32::MAX)
                })
                .build()
                .into()
        });
        PageCache { pages }
    }

    /// Forget every page, after the catalog changed.
    pub fn clear(&self) {
        if let Some(pages) = &self.pages {
            pages.invalidate_all();
        }
    }
}

/// Storefront pages anyone may see; never the cart, checkout, admin, API or assets.
fn is_cacheable_page(path: &str) -> bool {
    path == "/"
        || path == "/search"
        || path.starts_with("/collections/")
        || path.starts_with("/products/")
}

/// A change made by staff: any write to the admin's forms or server functions but signing in
/// and out.
fn is_staff_write(method: &Method, path: &str) -> bool {
    let reads = [Method::GET, Method::HEAD, Method::OPTIONS];
    !reads.contains(method)
        && (path.starts_with("/admin/")
            || path.starts_with("/api/admin/")
            || path.starts_with("/api/v1/admin/"))
        && !matches!(path, "/admin/sign-in" | "/admin/sign-out")
}

/// The encoding the compression layer will choose, so each variant is cached on its own.
fn negotiated_encoding(headers: &HeaderMap) -> &'static str {
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accepted.contains("br") {
        "br"
    } else if accepted.contains("gzip") {
        "gzip"
    } else {
        "identity"
    }
}

pub async fn serve_cached(
    State(cache): State<PageCache>,
    request: Request,
    next: Next,
) -> Response {
    let Some(pages) = &cache.pages else {
        return next.run(request).await;
    };
    let personal = request.headers().contains_key(header::COOKIE)
        || request.headers().contains_key(header::AUTHORIZATION);
    if request.method() != Method::GET || personal || !is_cacheable_page(request.uri().path()) {
        let staff_write = is_staff_write(request.method(), request.uri().path());
        let response = next.run(request).await;
        // A product, price, picture, collection or stock edit shows on the storefront at once.
        if staff_write && (response.status().is_success() || response.status().is_redirection()) {
            cache.clear();
        }
        return response;
    }
    let encoding = negotiated_encoding(request.headers());
    let key = format!("{encoding} {}", request.uri());
    if let Some(page) = pages.get(&key).await {
        return page.into_response("hit");
    }

    let mut request = request;
    request
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, HeaderValue::from_static(encoding));
    let response = next.run(request).await;
    let keep = matches!(response.status(), StatusCode::OK | StatusCode::NOT_FOUND)
        && !response.headers().contains_key(header::SET_COOKIE);
    if !keep {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(%error, "page too large or failed while caching");
            return Response::from_parts(parts, Body::empty());
        }
    };
    let page = CachedPage {
        status: parts.status,
        headers: parts.headers,
        body,
    };
    pages.insert(key, page.clone()).await;
    page.into_response("miss")
}

impl CachedPage {
    fn into_response(self, outcome: &'static str) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
            .headers_mut()
            .insert("x-kassa-cache", HeaderValue::from_static(outcome));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_catalog_pages_are_cached() {
        for path in ["/", "/search", "/collections/sale", "/products/mug"] {
            assert!(is_cacheable_page(path), "{path}");
        }
        for path in [
            "/cart",
            "/checkout",
            "/admin",
            "/api/v1/products",
            "/pkg/kassa.wasm",
            "/healthz",
        ] {
            assert!(!is_cacheable_page(path), "{path}");
        }
    }

    #[test]
    fn staff_writes_are_told_from_reads_and_from_shoppers() {
        assert!(is_staff_write(&Method::POST, "/admin/products/7"));
        assert!(is_staff_write(&Method::POST, "/api/admin/orders"));
        assert!(is_staff_write(&Method::PATCH, "/api/v1/admin/variants/3"));
        assert!(!is_staff_write(&Method::GET, "/admin/products/7"));
        assert!(!is_staff_write(&Method::POST, "/api/v1/checkout"));
        assert!(!is_staff_write(&Method::POST, "/administrator"));
        assert!(!is_staff_write(&Method::POST, "/admin/sign-in"));
    }

    #[test]
    fn each_encoding_is_its_own_entry() {
        let mut headers = HeaderMap::new();
        assert_eq!(negotiated_encoding(&headers), "identity");
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert_eq!(negotiated_encoding(&headers), "br");
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(negotiated_encoding(&headers), "gzip");
    }
}
