//! A short-lived cache of whole storefront pages, in front of rendering and the database.
//!
//! Catalog pages are the same for every shopper (the cart lives in the browser), so a page
//! rendered once can serve every request for the next second or so. Prices, totals and stock
//! are still decided by the server at checkout.
//!
//! - **Fresh** for `ttl`, then **stale** for up to [`STALE_FOR`]: a stale page is served at once
//!   while one request renders it again in the background (stale-while-revalidate), so an
//!   expiry never makes shoppers wait.
//! - **One render per key** at a time (single flight): concurrent misses wait for the one render
//!   instead of each rendering the same page.
//! - **A few background renders at a time** ([`Inner::renewals`]): when more stale pages are
//!   asked for than the server renders, the others stay stale a little longer (at most
//!   [`STALE_FOR`]) rather than pile up.
//! - **A byte budget** ([`MAX_BYTES`]) with least-recently-used eviction: a crawl cannot exhaust
//!   memory, and the pages shoppers keep asking for stay.
//! - **Staff writes clear it** at once, here and, on Postgres, on every server of the database
//!   (a `NOTIFY` on [`CATALOG_CHANGED`]); a render begun before the change is not kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::catalog::memory::CatalogMemory;
use app::db::Db;
use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use tokio::sync::{OnceCell, Semaphore};

use crate::http::accepts_encoding;

/// The most the cached pages may weigh in all.
const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Pages larger than this are not worth keeping.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// How long after its freshness a page may still be served while it is rendered again.
const STALE_FOR: Duration = Duration::from_secs(30);
/// The announcement that the catalog changed, heard by every server on a Postgres database.
pub const CATALOG_CHANGED: &str = "kassa_catalog_changed";

#[derive(Clone)]
pub struct PageCache {
    /// Behind an `Arc`: the middleware's state is cloned for every request.
    inner: Option<Arc<Inner>>,
    /// The pages' data kept beneath the pages: forgotten with them, first.
    memory: CatalogMemory,
    /// Where staff changes are announced to the other servers.
    db: Option<Db>,
}

/// Where one render of a key leaves its page for everyone waiting on it (`None`: not kept).
type RenderSlot = Arc<OnceCell<Option<Arc<CachedPage>>>>;

struct Inner {
    /// Behind an `Arc`: a hit clones no headers but the response's.
    pages: Cache<String, Arc<CachedPage>>,
    fresh_for: Duration,
    /// The render under way for each key; everyone else asking for the key waits on it.
    renders: Mutex<HashMap<String, RenderSlot>>,
    /// Moves on at every clear: a page rendered from before is not stored after.
    generation: AtomicU64,
    /// Permits for the renders of stale pages in the background: two per core. Unbounded, a
    /// mix of 713 pages expiring every second had hundreds under way at once, each holding its
    /// rows and half-written page while waiting for a database connection: the server grew by
    /// 40 MB (`scripts/bench-scale.sh`, 100,000 products), and the renders took the cores from
    /// the requests.
    renewals: Arc<Semaphore>,
}

struct CachedPage {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// Whether `body` is LZ4-compressed, unpacked for each response: a page the compression
    /// layer left as it was (for a client that takes no compression: a crawler, a monitor, a
    /// load test; or too small to compress), 30–50 KB of HTML, weighs a fifth as much;
    /// unpacking it costs microseconds. Compressed pages are kept as the layer made them.
    packed: bool,
    rendered_at: Instant,
}

impl PageCache {
    /// `ttl` of zero turns the cache off. With a database, staff changes made here are
    /// announced on it; [`PageCache::forgetter`] is what hears the other servers' announcements.
    pub fn new(ttl: Duration, db: Option<&Db>) -> PageCache {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PageCache::with_renewals(ttl, db, 2 * cores)
    }

    /// [`PageCache::new`] rendering at most `renewals` stale pages at a time in the background.
    fn with_renewals(ttl: Duration, db: Option<&Db>, renewals: usize) -> PageCache {
        if ttl.is_zero() {
            return PageCache {
                inner: None,
                memory: CatalogMemory::default(),
                db: db.cloned(),
            };
        }
        let pages = Cache::builder()
            .time_to_live(ttl + STALE_FOR)
            .max_capacity(MAX_BYTES)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|key: &String, page: &Arc<CachedPage>| {
                (key.len() + page.body.len() + 64 * page.headers.len())
                    .try_into()
                    .unwrap_or(u32::MAX)
            })
            .build();
        let inner = Arc::new(Inner {
            pages,
            fresh_for: ttl,
            renders: Mutex::default(),
            generation: AtomicU64::new(0),
            renewals: Arc::new(Semaphore::new(renewals)),
        });
        PageCache {
            inner: Some(inner),
            memory: CatalogMemory::default(),
            db: db.cloned(),
        }
    }

    /// Forgets `memory`'s page data too whenever the pages are cleared.
    pub fn remembering(mut self, memory: CatalogMemory) -> PageCache {
        self.memory = memory;
        self
    }

    /// Forget every page (and the page data beneath), after the catalog changed here.
    pub fn clear(&self) {
        self.memory.forget();
        if let Some(inner) = &self.inner {
            inner.clear();
        }
    }

    /// What clears this cache and its page data while they exist, without keeping them alive:
    /// for a listener of the other servers' announcements, which runs as long as the process.
    pub fn forgetter(&self) -> impl Fn() + Send + Sync + 'static {
        let forget_data = self.memory.forgetter();
        let pages = self.inner.as_ref().map(Arc::downgrade);
        move || {
            forget_data();
            if let Some(inner) = pages.as_ref().and_then(std::sync::Weak::upgrade) {
                inner.clear();
            }
        }
    }

    /// Forget every page here and on every other server of the database.
    async fn clear_everywhere(&self) {
        self.clear();
        if let Some(db) = &self.db {
            if let Err(error) = db.announce(CATALOG_CHANGED).await {
                tracing::warn!(%error, "could not tell the other servers that the catalog changed");
            }
        }
    }
}

impl Inner {
    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.pages.invalidate_all();
        // Renders under way started before the change: new requests start their own.
        self.renders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The render of `key` under way, or a new one.
    fn render_slot(&self, key: &str) -> (RenderSlot, bool) {
        let mut renders = self.renders.lock().unwrap_or_else(|e| e.into_inner());
        match renders.get(key) {
            Some(slot) => (slot.clone(), false),
            None => {
                let slot = Arc::new(OnceCell::new());
                renders.insert(key.to_string(), slot.clone());
                (slot, true)
            }
        }
    }

    fn finish_render(&self, key: &str, slot: &RenderSlot) {
        let mut renders = self.renders.lock().unwrap_or_else(|e| e.into_inner());
        if renders.get(key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            renders.remove(key);
        }
    }

    /// Renders the page with `request`, keeps it if it may be kept (and nothing changed in the
    /// catalog meanwhile), and returns it; `Err` gives back a response not to be kept.
    async fn render(
        &self,
        key: &str,
        request: Request,
        next: Next,
    ) -> Result<Arc<CachedPage>, Response> {
        let generation = self.generation.load(Ordering::SeqCst);
        let response = next.run(request).await;
        let keep = matches!(response.status(), StatusCode::OK | StatusCode::NOT_FOUND)
            && !response.headers().contains_key(header::SET_COOKIE);
        if !keep {
            return Err(response);
        }
        let (mut parts, body) = response.into_parts();
        // The id of the request that rendered it names no other request.
        parts.headers.remove("x-request-id");
        let body = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "page too large or failed while caching");
                return Err(Response::from_parts(parts, Body::empty()));
            }
        };
        parts.headers.insert(OUTCOME, HIT);
        let packed = !parts.headers.contains_key(header::CONTENT_ENCODING);
        let page = Arc::new(CachedPage {
            status: parts.status,
            headers: parts.headers,
            body: kept_body(&body, packed),
            packed,
            rendered_at: Instant::now(),
        });
        if self.generation.load(Ordering::SeqCst) == generation {
            self.pages.insert(key.to_string(), page.clone());
        }
        Ok(page)
    }
}

/// What the cache keeps of a page's body: LZ4-packed or as it is, in an allocation of exactly
/// its length, so the byte budget weighs what is held. LZ4 writes into room for the worst case
/// (the whole page and more) and a `Bytes` made of a vector keeps all of its room: a packed
/// page held as much as the page unpacked, about five times what the budget counted. (Not what
/// grew the server under the mix: that was the background renders, see [`Inner::renewals`].)
/// A compressed body may be a slice of a larger buffer.
fn kept_body(body: &Bytes, packed: bool) -> Bytes {
    match packed {
        true => lz4_flex::compress_prepend_size(body)
            .into_boxed_slice()
            .into(),
        false => Bytes::copy_from_slice(body),
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
    if accepts_encoding(headers, "br") {
        "br"
    } else if accepts_encoding(headers, "gzip") {
        "gzip"
    } else {
        "identity"
    }
}

impl PageCache {
    /// Answers `request` from the cache, or renders it with `next` (and keeps it if it may).
    pub async fn serve(&self, request: Request, next: Next) -> Response {
        let personal = request.headers().contains_key(header::COOKIE)
            || request.headers().contains_key(header::AUTHORIZATION);
        let cacheable =
            request.method() == Method::GET && !personal && is_cacheable_page(request.uri().path());
        let inner = match &self.inner {
            Some(inner) if cacheable => inner,
            // Not kept (or the cache is off): passed on, and a staff edit that succeeds clears what
            // is kept (the catalog's memory too, when pages are not kept), so a product, price,
            // picture, collection or stock edit shows on the storefront at once.
            _ => {
                let staff_write = is_staff_write(request.method(), request.uri().path());
                let response = next.run(request).await;
                if staff_write
                    && (response.status().is_success() || response.status().is_redirection())
                {
                    self.clear_everywhere().await;
                }
                return response;
            }
        };
        let encoding = negotiated_encoding(request.headers());
        let key = format!("{encoding} {}", request.uri());
        let cached = inner.pages.get(&key);
        if let Some(page) = &cached {
            if page.rendered_at.elapsed() < inner.fresh_for {
                return page.to_response(HIT);
            }
        }
        // What is rendered is what the key names, whatever else the request accepted.
        let mut request = request;
        request
            .headers_mut()
            .insert(header::ACCEPT_ENCODING, HeaderValue::from_static(encoding));
        let (slot, new_render) = inner.render_slot(&key);
        if let Some(stale) = cached {
            // Served as it is; one request renders it again behind it, unless the server already
            // renders as many as it may: then a later request tries again.
            if new_render {
                match inner.renewals.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let inner = inner.clone();
                        tokio::spawn(async move {
                            let rendered = inner.render(&key, request, next).await.ok();
                            let _ = slot.set(rendered);
                            inner.finish_render(&key, &slot);
                            drop(permit);
                        });
                    }
                    Err(_) => inner.finish_render(&key, &slot),
                }
            }
            return stale.to_response(HeaderValue::from_static("stale"));
        }

        // A miss: the first request renders, the others wait for its page. If the one rendering
        // goes away (its shopper left), the next in line renders.
        let mut own = Some((request, next));
        let mut refused = None;
        let shared = slot
            .get_or_init(|| async {
                // Only one initialiser runs, and only once.
                let (request, next) = own.take()?;
                match inner.render(&key, request, next).await {
                    Ok(page) => Some(page),
                    Err(response) => {
                        refused = Some(response);
                        None
                    }
                }
            })
            .await
            .clone();
        inner.finish_render(&key, &slot);
        if let Some(response) = refused {
            return response;
        }
        match (shared, own) {
            (Some(page), _) => page.to_response(HeaderValue::from_static("miss")),
            // The page rendered for the others could not be kept (an error, a cookie): this
            // request renders its own.
            (None, Some((request, next))) => next.run(request).await,
            // Cannot happen: a render that keeps nothing hands its response back above.
            (None, None) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
}

/// Says how a page was answered: `hit`, `stale` or `miss`.
const OUTCOME: &str = "x-kassa-cache";
const HIT: HeaderValue = HeaderValue::from_static("hit");

impl CachedPage {
    fn to_response(&self, outcome: HeaderValue) -> Response {
        let body = match self.packed {
            false => self.body.clone(),
            true => match lz4_flex::decompress_size_prepended(&self.body) {
                Ok(body) => body.into(),
                // Written by `render` above: cannot happen.
                Err(error) => {
                    tracing::error!(%error, "a cached page does not unpack");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            },
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        // Replaces the value stored with the page: the map keeps its size (no rehash).
        response.headers_mut().insert(OUTCOME, outcome);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{middleware, routing::get, Router};
    use std::sync::atomic::AtomicUsize;
    use tower::ServiceExt;

    use axum::extract::State;

    /// [`PageCache::serve`] as a middleware of its own (the server calls it from its first
    /// layer, with the page views around it).
    async fn serve_cached(
        State(cache): State<PageCache>,
        request: Request,
        next: Next,
    ) -> Response {
        cache.serve(request, next).await
    }

    #[test]
    fn a_kept_page_holds_no_more_memory_than_its_length() {
        let page: String = (0..2_000).map(|n| format!("<li>{n}</li>")).collect();
        let held = |body: Bytes| {
            let len = body.len();
            let capacity = body.try_into_mut().expect("the only reference").capacity();
            (len, capacity)
        };
        let (len, capacity) = held(kept_body(&Bytes::from(page.clone()), true));
        assert!(len < page.len() / 2, "packed: {len} of {}", page.len());
        assert_eq!(capacity, len);
        // A slice of a larger buffer, as a compression layer's chunk may be.
        let mut buffer = Vec::with_capacity(64 * 1024);
        buffer.extend_from_slice(page.as_bytes());
        let (len, capacity) = held(kept_body(&Bytes::from(buffer).slice(..1_000), false));
        assert_eq!((len, capacity), (1_000, 1_000));
        assert_eq!(
            lz4_flex::decompress_size_prepended(&kept_body(&Bytes::from(page.clone()), true))
                .unwrap(),
            page.as_bytes()
        );
    }

    /// A shop whose product page takes `render_ms` to render and counts its renders.
    fn shop(cache: &PageCache, render_ms: u64) -> (Router, Arc<AtomicUsize>) {
        let renders = Arc::new(AtomicUsize::new(0));
        let counter = renders.clone();
        let router = Router::new()
            .route(
                "/products/{slug}",
                get(move || {
                    let counter = counter.clone();
                    async move {
                        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                        tokio::time::sleep(Duration::from_millis(render_ms)).await;
                        format!("render {n}")
                    }
                }),
            )
            .layer(middleware::from_fn_with_state(cache.clone(), serve_cached));
        (router, renders)
    }

    /// The outcome (`x-kassa-cache`) and body of a GET.
    async fn fetch(router: &Router, path: &str) -> (String, String) {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let outcome = response
            .headers()
            .get("x-kassa-cache")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (outcome, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn concurrent_misses_wait_for_one_render() {
        let cache = PageCache::new(Duration::from_secs(10), None);
        let (router, renders) = shop(&cache, 100);
        let requests = (0..20).map(|_| fetch(&router, "/products/mug"));
        let pages = futures::future::join_all(requests).await;
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert!(pages
            .iter()
            .all(|(outcome, body)| outcome == "miss" && body == "render 1"));
        assert_eq!(fetch(&router, "/products/mug").await.0, "hit");
    }

    #[tokio::test]
    async fn an_expired_page_is_served_stale_while_one_request_renders_it_again() {
        let cache = PageCache::new(Duration::from_millis(200), None);
        let (router, renders) = shop(&cache, 300);
        assert_eq!(fetch(&router, "/products/mug").await.0, "miss");
        tokio::time::sleep(Duration::from_millis(250)).await;
        let started = Instant::now();
        let stale =
            futures::future::join_all((0..10).map(|_| fetch(&router, "/products/mug"))).await;
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "nobody waited for the render"
        );
        assert!(stale
            .iter()
            .all(|(outcome, body)| outcome == "stale" && body == "render 1"));
        // The one render behind them replaces the page.
        let deadline = Instant::now() + Duration::from_secs(5);
        let (outcome, body) = loop {
            let (outcome, body) = fetch(&router, "/products/mug").await;
            if body != "render 1" || Instant::now() > deadline {
                break (outcome, body);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!((outcome.as_str(), body.as_str()), ("hit", "render 2"));
        assert_eq!(
            renders.load(Ordering::SeqCst),
            2,
            "one render in the background"
        );
    }

    #[tokio::test]
    async fn stale_pages_are_rendered_again_a_few_at_a_time() {
        let cache = PageCache::with_renewals(Duration::from_millis(100), None, 2);
        let (router, renders) = shop(&cache, 300);
        let paths: Vec<String> = (0..6).map(|n| format!("/products/p-{n}")).collect();
        for path in &paths {
            assert_eq!(fetch(&router, path).await.0, "miss");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        // Six stale pages asked for at once: two renders start, the other four wait.
        for path in &paths {
            assert_eq!(fetch(&router, path).await.0, "stale");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(renders.load(Ordering::SeqCst), 6 + 2);
        // Once those are done, the next requests for the others start theirs.
        tokio::time::sleep(Duration::from_millis(400)).await;
        for path in &paths[2..] {
            fetch(&router, path).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(renders.load(Ordering::SeqCst), 6 + 4);
    }

    #[tokio::test]
    async fn a_page_rendered_across_a_clear_is_not_kept() {
        let cache = PageCache::new(Duration::from_secs(10), None);
        let (router, renders) = shop(&cache, 100);
        let during = tokio::spawn({
            let router = router.clone();
            async move { fetch(&router, "/products/mug").await }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        cache.clear();
        assert_eq!(during.await.unwrap().0, "miss");
        assert_eq!(fetch(&router, "/products/mug").await.0, "miss");
        assert_eq!(renders.load(Ordering::SeqCst), 2);
        assert_eq!(fetch(&router, "/products/mug").await.0, "hit");
    }

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

    #[tokio::test]
    async fn pages_without_compression_are_kept_packed_and_served_whole() {
        let cache = PageCache::new(Duration::from_secs(10), None);
        let html: String = (0..2_000)
            .map(|n| format!("<li class=\"card\">Product {n}</li>"))
            .collect();
        let page = html.clone();
        let router = Router::new()
            .route("/collections/all", get(move || async move { page.clone() }))
            .layer(middleware::from_fn_with_state(cache.clone(), serve_cached));
        assert_eq!(
            fetch(&router, "/collections/all").await,
            ("miss".into(), html.clone())
        );
        assert_eq!(
            fetch(&router, "/collections/all").await,
            ("hit".into(), html.clone())
        );
        let inner = cache.inner.as_ref().unwrap();
        let kept = inner.pages.get("identity /collections/all").unwrap();
        assert!(
            kept.packed && kept.body.len() * 4 < html.len(),
            "{}",
            kept.body.len()
        );
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
