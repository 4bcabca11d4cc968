//! `spawn_app`: the same application `kassa serve` builds, on a random port and a fresh database.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use app::db::Db;
use app::inventory::{self, Movement, StockMove};
use kassa::{config::Settings, startup};
use sqlx::Connection;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per database for each listed `async fn name(Backend)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::helpers::within_time_limit(super::$name($crate::helpers::Backend::Sqlite)).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::helpers::within_time_limit(super::$name($crate::helpers::Backend::Postgres)).await
                }
            )*
        }
    };
}

/// No test takes more than a few seconds; one that hangs fails with a message instead of
/// holding the whole run until CI gives up.
pub async fn within_time_limit<F: std::future::Future<Output = ()>>(test: F) {
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(180);
    if tokio::time::timeout(LIMIT, test).await.is_err() {
        panic!("the test did not finish within {LIMIT:?}");
    }
}

pub struct TestApp {
    pub address: String,
    /// The database's URL, for a second server over the same data.
    pub database_url: String,
    pub db: Db,
    pub checkout: app::checkout::service::Checkout,
    pub client: reqwest::Client,
    /// Holds the temporary data directory for the test's lifetime.
    pub _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// POSTs JSON, with extra headers; the status and the JSON answer (`Null` if none).
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request failed");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// A page's HTML, which must answer 200.
    pub async fn html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// A page's HTML as a browser with the session `cookie` asks for it; must answer 200.
    pub async fn html_as(&self, path: &str, cookie: &str) -> String {
        let response = self
            .get_with(path, &[("Cookie", cookie), ("Accept", "text/html")])
            .await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(path, &[]).await
    }

    /// GETs with extra headers (`accept-encoding`, `accept`, …).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request failed")
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A new, empty database for one test; its URL.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("kassa.db").display()),
        Backend::Postgres => fresh_postgres_database().await,
    }
}

async fn fresh_postgres_database() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let admin_url = std::env::var("TEST_POSTGRES_URL").expect(
        "TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts a throwaway PostgreSQL, \
         or point it at a server where the user may create databases",
    );
    let name = format!(
        "kassa_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("cannot connect to TEST_POSTGRES_URL");
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("cannot create a test database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("TEST_POSTGRES_URL has no database name");
    format!("{base}/{name}")
}

pub struct Options {
    pub seed_demo: bool,
    pub page_cache_ms: u64,
    /// `KASSA_CATALOG_MEMORY_MB`: none unless a test is about it, like the page cache.
    pub catalog_memory_mb: u64,
    /// More settings, as environment variables (`KASSA_PAYMENT_GATEWAY`, …).
    pub env: Vec<(&'static str, String)>,
    /// Another server's database (its `database_url`) instead of a fresh one: several servers
    /// over one database, or a shop whose settings changed.
    pub database_url: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            seed_demo: true,
            page_cache_ms: 0,
            catalog_memory_mb: 0,
            env: Vec::new(),
            database_url: None,
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Options::default()).await
}

/// An app whose page cache keeps pages for a minute, as a busy shop would.
pub async fn spawn_app_with_page_cache(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            page_cache_ms: 60_000,
            ..Options::default()
        },
    )
    .await
}

/// An app over an empty database: schema, no catalog.
pub async fn spawn_empty_app(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            seed_demo: false,
            ..Options::default()
        },
    )
    .await
}

pub async fn spawn_app_with(backend: Backend, options: Options) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let database_url = match &options.database_url {
        Some(url) => url.clone(),
        None => fresh_database(backend, data_dir.path()).await,
    };
    let site_root = repo_root().join("public");
    let mut vars = vec![
        ("DATABASE_URL", database_url.clone()),
        ("KASSA_DATA_DIR", data_dir.path().display().to_string()),
        ("KASSA_ADDR", "127.0.0.1:0".to_string()),
        ("KASSA_SITE_ROOT", site_root.display().to_string()),
        // Tests change the database behind the server's back and expect to see it at once.
        ("KASSA_PAGE_CACHE_MS", options.page_cache_ms.to_string()),
        (
            "KASSA_CATALOG_MEMORY_MB",
            options.catalog_memory_mb.to_string(),
        ),
    ];
    vars.extend(options.env.iter().cloned());
    let settings = Settings::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("test settings");
    let db = startup::open_database(&settings)
        .await
        .expect("open database");
    if options.seed_demo {
        app::catalog::demo::seed_demo_catalog(&db)
            .await
            .expect("seed demo catalog");
    }
    // Listening as the shop does (`kassa serve`), on a free port.
    let listener = startup::listen(([127, 0, 0, 1], 0).into())
        .await
        .expect("bind");
    let address = format!(
        "http://{}",
        axum::serve::Listener::local_addr(&listener).unwrap()
    );
    let state = startup::AppState::new(&settings, db.clone());
    let checkout = state.checkout.clone();
    let router = startup::build_router(state);
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .expect("server");
    });
    TestApp {
        address,
        database_url,
        db,
        checkout,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A response that never ends fails the test, naming the address.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap(),
        _data_dir: data_dir,
    }
}

/// The slugs of a list answer's items, in order.
pub fn slugs_of(body: &serde_json::Value) -> Vec<&str> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap())
        .collect()
}

/// The items of a page's breadcrumbs, as HTML.
pub fn breadcrumbs_of(html: &str) -> Vec<String> {
    let start = html
        .find(r#"<nav aria-label="Breadcrumb" class="breadcrumbs"><ol>"#)
        .expect("breadcrumbs");
    let end = start + html[start..].find("</ol>").unwrap();
    // `<!>` marks where a list of items ends, for hydration; it is not an item.
    html[start..end]
        .replace("<!>", "")
        .split("<li>")
        .skip(1)
        .map(|item| format!("<li>{item}"))
        .collect()
}

/// The page's schema.org `BreadcrumbList`, as (name, address) in order of position.
pub fn breadcrumb_list_of(html: &str) -> Vec<(String, String)> {
    let json = html
        .split(r#"<script type="application/ld+json">"#)
        .skip(1)
        .map(|rest| rest.split("</script>").next().unwrap())
        .map(|text| serde_json::from_str::<serde_json::Value>(text).expect("valid JSON-LD"))
        .find(|json| json["@type"] == "BreadcrumbList")
        .expect("a BreadcrumbList");
    json["itemListElement"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(index, item)| {
            assert_eq!(item["position"], index + 1);
            (
                item["name"].as_str().unwrap().to_string(),
                item["item"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Moves stock as staff and sales do: through the inventory's one writer of stock.
pub async fn move_stock(app: &TestApp, variant_id: i64, movement: Movement, quantity: i64) {
    app.db
        .writes()
        .run(move |conn| {
            Box::pin(async move {
                let moves = [StockMove {
                    variant_id,
                    order_id: None,
                    movement,
                    quantity,
                    note: String::new(),
                    expected_version: None,
                }];
                inventory::apply(conn, &moves, 1).await.map(|_| ())
            })
        })
        .await
        .unwrap();
}

/// Rows of `table` that `source` (a view of what it should hold) lacks, and the reverse.
pub async fn differences(db: &Db, table: &str, source: &str, columns: &str) -> (i64, i64) {
    let count = |a: &str, b: &str| {
        format!(
            "SELECT COUNT(*) FROM (SELECT {columns} FROM {a} EXCEPT SELECT {columns} FROM {b}) d"
        )
    };
    let extra: i64 = sqlx::query_scalar(&count(table, source))
        .fetch_one(db.pool())
        .await
        .unwrap();
    let missing: i64 = sqlx::query_scalar(&count(source, table))
        .fetch_one(db.pool())
        .await
        .unwrap();
    (extra, missing)
}

/// Every card matches what its product's variants and pictures say (`product_card_source`).
pub async fn assert_cards_follow(app: &TestApp, after: &str) {
    assert_eq!(
        differences(
            &app.db,
            "product_cards",
            "product_card_source",
            "product_id, card"
        )
        .await,
        (0, 0),
        "cards out of date after {after}"
    );
}
