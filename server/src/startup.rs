//! Builds the application from settings: database, router, and the server loop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::{ListenerExt, TapIo};
use axum::{extract::FromRef, middleware, routing::get, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::{TcpListener, TcpStream};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{CompressionLayer, CompressionLevel},
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    trace::TraceLayer,
};

use app::accounts::service::Accounts;
use app::admin::service::Admin;
use app::analytics::collector::Analytics;
use app::catalog::media::MediaStore;
use app::catalog::memory::CatalogMemory;
use app::checkout::service::Checkout;
use app::db::Db;
use app::payments::gateway::Gateway;
use app::payments::stripe_gateway::StripeGateway;
use app::{shell, App, SiteUrl};

use crate::assets::{self, CompressedAssets};
use crate::config::{PaymentSettings, Settings};
use crate::page_cache::{self, PageCache};
use crate::{health, http, mailer};

/// Everything a handler or server function may need; handlers take the parts they use.
///
/// One reference count: axum clones the state for every request a route answers, and a page's
/// route would otherwise copy every part (a dozen reference counts and the Leptos options' strings)
/// and drop them again, about 1.5% of a page served from the catalog's memory.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

/// The parts of [`AppState`], read through it (`state.db`) or taken by handlers (`State<Db>`).
pub struct AppParts {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub site_url: SiteUrl,
    pub media: MediaStore,
    pub page_cache: PageCache,
    pub catalog_memory: CatalogMemory,
    pub assets: CompressedAssets,
    pub checkout: Checkout,
    pub admin: Admin,
    pub accounts: Accounts,
    pub analytics: Analytics,
    pub trusted_proxies: http::TrustedProxies,
    /// `KASSA_DIRECT_PAGES`: the product and collection pages written in one pass, not
    /// rendered by Leptos.
    pub direct_pages: bool,
}

impl AppState {
    /// The state for these settings over an open database.
    pub fn new(settings: &Settings, db: Db) -> AppState {
        let gateway = match &settings.payments {
            PaymentSettings::Test => Gateway::Test,
            PaymentSettings::Stripe(config) => {
                Gateway::Stripe(Box::new(StripeGateway::new(config)))
            }
        };
        let checkout = Checkout::new(db.clone(), gateway, settings.public_url.clone());
        checkout.set_newsletter_per_minute(settings.newsletter_per_minute);
        if let Some(key) = &settings.secret_key {
            checkout.use_secret_key(key.expose());
        }
        let admin = Admin::new(
            checkout.clone(),
            settings.public_url.starts_with("https://"),
        );
        let catalog_memory = CatalogMemory::new(settings.catalog_memory_bytes, Some(&db));
        let page_cache =
            PageCache::new(settings.page_cache_ttl, Some(&db)).remembering(catalog_memory.clone());
        // Staff changes made on the other servers of a Postgres database.
        db.listen(page_cache::CATALOG_CHANGED, page_cache.forgetter());
        let leptos_options = leptos_options(settings);
        let assets =
            CompressedAssets::spawn(&leptos_options.site_root, &leptos_options.site_pkg_dir);
        let accounts = Accounts::new(db.clone(), &settings.public_url);
        AppState(Arc::new(AppParts {
            analytics: checkout.analytics().clone(),
            trusted_proxies: http::TrustedProxies(Arc::new(settings.trusted_proxies.clone())),
            accounts,
            leptos_options,
            assets,
            checkout,
            admin,
            db,
            site_url: SiteUrl(settings.public_url.clone()),
            media: MediaStore::new(&settings.data_dir),
            page_cache,
            catalog_memory,
            direct_pages: settings.direct_pages,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// `State<Part>` for each part, as `#[derive(FromRef)]` gives a struct's fields.
macro_rules! parts_from_state {
    ($($field:ident: $part:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> $part {
                state.0.$field.clone()
            }
        })*
    };
}

parts_from_state! {
    leptos_options: LeptosOptions,
    db: Db,
    site_url: SiteUrl,
    media: MediaStore,
    page_cache: PageCache,
    catalog_memory: CatalogMemory,
    assets: CompressedAssets,
    checkout: Checkout,
    admin: Admin,
    accounts: Accounts,
    analytics: Analytics,
    trusted_proxies: http::TrustedProxies,
}

/// Connects to the configured database and brings its schema up to date.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    open_database_as(settings, false).await
}

/// [`open_database`] for a process that writes the catalog in bulk and nothing else (`kassa
/// import`): see `Db::connect_for_bulk_writes`.
pub async fn open_database_for_bulk_writes(settings: &Settings) -> anyhow::Result<Db> {
    open_database_as(settings, true).await
}

async fn open_database_as(settings: &Settings, bulk: bool) -> anyhow::Result<Db> {
    if settings.uses_sqlite() {
        settings.prepare_data_dir()?;
    }
    let url = settings.database_url.expose();
    let db = match bulk {
        false => Db::connect_with(url, settings.db_connections).await,
        true => Db::connect_for_bulk_writes(url, settings.db_connections).await,
    }
    .context("DATABASE_URL")?;
    db.migrate().await.context("database migrations")?;
    Ok(db)
}

pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    let hash_files = hash_file_exists();
    LeptosOptions::builder()
        .output_name("kassa")
        .site_root(settings.site_root().display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(settings.addr)
        .env(match std::env::var("LEPTOS_ENV").as_deref() {
            Ok("DEV") | Ok("dev") | Ok("development") => leptos::config::Env::DEV,
            _ => leptos::config::Env::PROD,
        })
        .hash_files(hash_files)
        .build()
}

/// cargo-leptos writes `hash.txt` next to the server binary when it builds hashed assets.
fn hash_file_exists() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|path| path.exists())
}

pub fn build_router(state: AppState) -> Router {
    app::remember_stylesheet(&state.leptos_options);
    app::remember_lazy_parts(&state.leptos_options);
    let mut routes = generate_route_list(App);
    let db = state.db.clone();
    let site_url = state.site_url.clone();
    let checkout = state.checkout.clone();
    let admin = state.admin.clone();
    let accounts = state.accounts.clone();
    let catalog_memory = state.catalog_memory.clone();
    let context = move || {
        provide_context(catalog_memory.clone());
        provide_context(db.clone());
        provide_context(site_url.clone());
        provide_context(checkout.clone());
        provide_context(admin.clone());
        provide_context(accounts.clone());
    };
    let guard_state = state.admin.clone();
    let own_origin = http::OwnOrigin::new(&state.site_url.0);
    let options = state.leptos_options.clone();
    let page_cache = state.page_cache.clone();
    let page_views = state.analytics.clone();
    let proxies = state.trusted_proxies.clone();

    let direct_pages = crate::direct_pages::Parts {
        db: state.db.clone(),
        memory: state.catalog_memory.clone(),
        site_url: state.site_url.clone(),
        options: state.leptos_options.clone(),
        checkout: state.checkout.clone(),
        off: !state.direct_pages,
    };
    let direct_pages = crate::direct_pages::take_routes(&mut routes, direct_pages, context.clone());
    let mut app = Router::new();
    for (path, route) in direct_pages {
        app = app.route(path, route);
    }
    let app = app
        .route("/healthz", get(health::healthz))
        .merge(app::catalog::api::routes())
        .route("/api/v1/openapi.json", get(app::openapi::serve))
        .merge(app::catalog::seo::routes())
        .merge(app::checkout::api::routes())
        .merge(app::accounts::api::routes())
        .merge(app::accounts::passkeys::routes())
        .merge(app::cart::account::routes())
        .merge(app::promotions::newsletter_http::routes())
        .merge(app::admin::api::routes())
        .merge(app::admin::catalog::routes())
        .merge(app::admin::tokens::routes())
        .merge(app::admin::rest::routes())
        .merge(app::admin::settings::routes())
        .merge(app::admin::discounts::ssr::routes())
        .merge(app::admin::newsletter::ssr::routes())
        .merge(app::admin::gift_cards::ssr::routes())
        .merge(app::admin::campaigns::ssr::routes())
        .merge(app::admin::support::ssr::routes())
        .merge(app::admin::returns::ssr::routes())
        .merge(app::support::http::routes())
        .merge(app::returns::http::routes())
        .merge(app::admin::privacy::routes())
        .merge(app::admin::security::routes())
        .merge(app::analytics::http::routes())
        .merge(app::admin::analytics::ssr::routes())
        .nest_service("/media", ServeDir::new(state.media.dir()))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(middleware::from_fn_with_state(
            guard_state,
            app::admin::api::guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.accounts.clone(),
            app::accounts::api::recognise,
        ))
        // Inside the cache headers, which it leaves to them; outside compression, which leaves
        // an answer already compressed as it is.
        .layer(middleware::from_fn_with_state(
            state.assets.clone(),
            assets::serve_compressed,
        ))
        .layer(middleware::from_fn(http::cache_headers))
        // Inside compression: it reads the page's nonce from the HTML.
        .layer(middleware::from_fn(http::page_security_policy))
        // Level 4 compresses HTML and the WASM well at a small fraction of the CPU of the maximum.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .with_state(state);

    // The layers every request passes, around the finished app. A middleware clones the service
    // beneath it for each request: the finished Router is one reference count, where the
    // layered routes would copy the whole state (options, checkout, admin) once per layer.
    // One stack, one `layer` call: each `Router::layer` boxes the service again, and every
    // request would pay for each box.
    let app = Router::new().fallback_service(app).layer(
        tower::ServiceBuilder::new()
            // Cross-site writes are refused before anything else of the app runs.
            .layer(middleware::from_fn_with_state(
                own_origin,
                http::refuse_cross_site_writes,
            ))
            // No route can serve an address holding NUL; nothing behind this sees one.
            .layer(middleware::from_fn(http::refuse_nul)),
    );
    // The page cache outermost: a cached page is answered before any other layer runs (it was
    // stored with the security headers those layers added when it was rendered), and outside
    // compression, so it is stored compressed, once per encoding. Hits are not traced: they
    // run no code worth a span.
    let front = Front(Arc::new(FrontParts {
        proxies,
        page_views,
        page_cache,
    }));
    Router::new()
        .fallback_service(around(app))
        .layer(middleware::from_fn_with_state(front, serve_front))
}

/// What the first layer needs, behind one reference count: a middleware's state and the
/// service beneath it are cloned for every request, and a hit of the page cache is cheap
/// enough (90,000 a second on two cores) that three layers' states, boxes and clones of one
/// another were a tenth of its time.
#[derive(Clone)]
struct Front(Arc<FrontParts>);

struct FrontParts {
    proxies: http::TrustedProxies,
    page_views: Analytics,
    page_cache: PageCache,
}

/// The client's address is settled before anything reads it; page views are counted outside
/// the page cache (its copies count too); then the cache answers, or the app renders.
async fn serve_front(
    axum::extract::State(front): axum::extract::State<Front>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    front.0.proxies.settle_client(&mut request);
    let view = app::analytics::http::PageView::of(&request);
    let mut response = front.0.page_cache.serve(request, next).await;
    if let Some(view) = view {
        view.record(&front.0.page_views, &mut response);
    }
    response
}

/// The layers every request passes first, around the app (or, in tests, any router): a
/// request id (`x-request-id`, kept from a proxy or made here, and sent back), tracing in a span
/// naming it, the security headers, and a 500 instead of a dropped connection when a handler
/// panics (logged with the request's id, and answered as JSON under `/api/`, a page elsewhere).
pub fn around(app: Router) -> Router {
    // Outermost first.
    app.layer(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(
                http::MakeRequestNumber::default(),
            ))
            .layer(TraceLayer::new_for_http().make_span_with(http::request_span))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn(http::security_headers))
            .layer(middleware::from_fn(http::answer_panics))
            .layer(CatchPanicLayer::custom(http::panic_response)),
    )
}

/// Every `every`, for as long as the server runs: forgets stale sign-in data (shoppers' and
/// staff's), old removals of account carts, and the personal data of unpaid orders past the
/// retention setting; and gives pictures stored before WebP copies were made their copies (all of
/// them on the first round, one picture at a time on one core).
fn spawn_housekeeping(db: Db, media: MediaStore, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = app::db::now_epoch();
            if let Err(error) = app::accounts::service::forget_stale(&db, now).await {
                tracing::error!(%error, "forgetting stale sign-in data failed");
            }
            if let Err(error) = app::analytics::collector::forget_old(&db, now).await {
                tracing::error!(%error, "forgetting old analytics salts and events failed");
            }
            if let Err(error) = app::admin::auth::forget_old_failures(&db, now).await {
                tracing::error!(%error, "forgetting old failed staff sign-ins failed");
            }
            let now_ms = app::cart::now_ms();
            if let Err(error) = app::cart::account::forget_old_removals(&db, now_ms).await {
                tracing::error!(%error, "forgetting old removals from carts failed");
            }
            match app::privacy::forget_unpaid_orders(&db, now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(orders = n, "erased the shoppers' data of old unpaid orders")
                }
                Err(error) => tracing::error!(%error, "erasing old unpaid orders' data failed"),
            }
            let mut pictures = 0;
            loop {
                match app::catalog::media::add_missing_webp(&db, &media, 20).await {
                    Ok(0) => break,
                    Ok(n) => pictures += n,
                    Err(error) => {
                        tracing::error!(%error, "making WebP copies of older pictures failed");
                        break;
                    }
                }
            }
            if pictures > 0 {
                tracing::info!(pictures, "made WebP copies of pictures stored without them");
            }
        }
    })
}

/// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
pub async fn serve(settings: &Settings, db: Db) -> anyhow::Result<()> {
    let state = AppState::new(settings, db.clone());
    // The shop's name is in every page's header: read the rules before the first page.
    if let Err(error) = state.checkout.rules().await {
        tracing::warn!(%error, "could not read the shop's settings yet");
    }
    app::checkout::jobs::spawn(state.checkout.clone(), Duration::from_secs(30));
    spawn_housekeeping(db.clone(), state.media.clone(), Duration::from_secs(300));
    match &settings.smtp_url {
        Some(url) => {
            mailer::spawn(db.clone(), url.expose(), &settings.mail_from)?;
        }
        None => tracing::info!("KASSA_SMTP_URL is not set: emails wait in the outbox table"),
    }
    let analytics = state.analytics.clone();
    let router = build_router(state);
    let listener = listen(settings.addr)
        .await
        .with_context(|| format!("KASSA_ADDR={}: cannot listen", settings.addr))?;
    tracing::info!(
        address = %settings.addr,
        public_url = %settings.public_url,
        database = ?settings.database_url,
        "Kassa is serving on http://{}", settings.addr
    );
    println!("Kassa is running at http://{}", settings.addr);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server")?;
    if let Err(error) = analytics.flush().await {
        tracing::warn!(%error, "the last analytics events could not be written");
    }
    tracing::info!("shutting down: closing the database");
    tokio::time::timeout(Duration::from_secs(10), db.close())
        .await
        .ok();
    Ok(())
}

/// Listens on `address`; every connection it accepts sends each write at once (TCP_NODELAY).
/// Without it a response written in more than one piece (a file streamed from disk, a page
/// streamed as it renders) waits for the client's delayed ACK, up to 40 ms, before its last
/// small segment leaves: a 2 KB file took 44 ms on loopback.
pub async fn listen(
    address: std::net::SocketAddr,
) -> std::io::Result<TapIo<TcpListener, fn(&mut TcpStream)>> {
    let listener = TcpListener::bind(address).await?;
    Ok(listener.tap_io(send_at_once as fn(&mut TcpStream)))
}

fn send_at_once(connection: &mut TcpStream) {
    if let Err(error) = connection.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    #[tokio::test]
    async fn connections_send_each_write_at_once() {
        let mut listener = super::listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let address = listener.local_addr().unwrap();
        let (client, (accepted, _)) =
            tokio::join!(tokio::net::TcpStream::connect(address), listener.accept());
        client.unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
