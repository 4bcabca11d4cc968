//! Settings, read from the environment (and a `.env` file, loaded by `main`).
//!
//! Every setting has a documented default; a bad value is reported as one line that names it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Settings {
    /// `KASSA_ADDR`: where the server listens.
    pub addr: SocketAddr,
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`; by default an SQLite file in the data dir.
    pub database_url: DatabaseUrl,
    /// `KASSA_DATA_DIR`: the SQLite file and uploads live here.
    pub data_dir: PathBuf,
    /// `KASSA_PUBLIC_URL`: the address shoppers use, for links in emails, sitemaps and feeds.
    pub public_url: String,
    /// `KASSA_SITE_ROOT`: the built site (WASM, JS, CSS, public files) from cargo-leptos.
    pub site_root: PathBuf,
    /// `KASSA_PAGE_CACHE_MS`: how long a rendered catalog page may be served again (0: never).
    pub page_cache_ttl: std::time::Duration,
    /// `KASSA_CATALOG_MEMORY_MB`: how much of the catalog pages' data (products, collection
    /// pages, search results) is kept in memory until the catalog changes (default 8; 0: none,
    /// every page is read from the database).
    pub catalog_memory_bytes: u64,
    /// `KASSA_PAYMENT_GATEWAY`: `test` (default, offline) or `stripe` (needs `STRIPE_SECRET_KEY`,
    /// `STRIPE_PUBLISHABLE_KEY`, `STRIPE_WEBHOOK_SECRET`; `STRIPE_API_BASE` for a local stub).
    pub payments: PaymentSettings,
    /// `KASSA_SMTP_URL` (`smtps://user:password@host`): emails in the outbox are sent when set.
    pub smtp_url: Option<Secret>,
    /// `KASSA_MAIL_FROM`: the sender of the shop's emails.
    pub mail_from: String,
    /// `KASSA_SECRET_KEY`: the key gift card codes are hashed with (at least 32 characters),
    /// kept out of the database; unset, a key made once is kept in the database.
    pub secret_key: Option<Secret>,
    /// `KASSA_NEWSLETTER_PER_MINUTE`: newsletter copies handed to the mail server per minute
    /// (default 120), to stay within the mail provider's limits.
    pub newsletter_per_minute: i64,
    /// `KASSA_TRUSTED_PROXIES`: the load balancers' addresses (CIDRs, comma-separated) whose
    /// `X-Forwarded-For` names the client; from anyone else the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `KASSA_DB_CONNECTIONS`: the most database connections this server opens (default: two
    /// per core, at least 4 and at most 16). With several servers on one Postgres, their sum
    /// must stay under the database's `max_connections`.
    pub db_connections: Option<u32>,
    /// `KASSA_DIRECT_PAGES`: `on` (default) writes the product and collection pages in one
    /// pass, `off` renders them through Leptos like every other page (slower; to compare).
    pub direct_pages: bool,
}

/// `10.0.0.0/8, 192.0.2.7` as networks (a bare address is its own /32 or /128); `Err` gives
/// back the entry that is neither.
pub fn parse_proxies(text: &str) -> Result<Vec<ipnet::IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| entry.to_string())
        })
        .collect()
}

#[derive(Clone, Debug)]
pub enum PaymentSettings {
    Test,
    Stripe(app::payments::stripe_gateway::StripeConfig),
}

/// A value that must never reach a log: `Debug` prints stars.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The database URL, which may carry a password: `Debug` shows it redacted.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&app::db::redact_url(&self.0))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

fn invalid(name: &'static str, value: &str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: app::db::redact_url(value),
        reason: reason.to_string(),
    }
}

/// `text` as a whole number in `range` (spaces around it allowed), or the error that names the
/// setting and the range.
fn whole_number<T>(
    name: &'static str,
    text: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    text.trim()
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            invalid(
                name,
                text,
                format!(
                    "expected a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
pub const DEFAULT_PAGE_CACHE_MS: u64 = 1000;
pub const DEFAULT_CATALOG_MEMORY_MB: u64 = 8;

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds settings from any source of variables, so tests need not touch the process
    /// environment.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        // cargo-leptos sets LEPTOS_SITE_ADDR / LEPTOS_SITE_ROOT when it runs the server.
        let addr_value = var("KASSA_ADDR")
            .or_else(|| var("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| DEFAULT_ADDR.to_string());
        let addr: SocketAddr = addr_value.parse().map_err(|_| {
            invalid(
                "KASSA_ADDR",
                &addr_value,
                "expected an address and port such as 127.0.0.1:3000",
            )
        })?;

        let data_dir =
            PathBuf::from(var("KASSA_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.into()));

        let database_url = match var("DATABASE_URL") {
            Some(url) => {
                app::db::Backend::from_url(&url).map_err(|e| invalid("DATABASE_URL", &url, e))?;
                url
            }
            None => format!("sqlite://{}", data_dir.join("kassa.db").display()),
        };

        let public_url = match var("KASSA_PUBLIC_URL") {
            Some(url) => {
                let ok = (url.starts_with("http://") || url.starts_with("https://"))
                    && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
                if !ok {
                    return Err(invalid(
                        "KASSA_PUBLIC_URL",
                        &url,
                        "expected an absolute http(s) URL such as https://shop.example.com",
                    ));
                }
                url.trim_end_matches('/').to_string()
            }
            None => format!("http://{addr}"),
        };

        let site_root = PathBuf::from(
            var("KASSA_SITE_ROOT")
                .or_else(|| var("LEPTOS_SITE_ROOT"))
                .unwrap_or_else(|| DEFAULT_SITE_ROOT.into()),
        );

        let cache_value =
            var("KASSA_PAGE_CACHE_MS").unwrap_or_else(|| DEFAULT_PAGE_CACHE_MS.to_string());
        let page_cache_ttl = cache_value
            .parse::<u64>()
            .ok()
            .filter(|ms| *ms <= 3_600_000)
            .map(std::time::Duration::from_millis)
            .ok_or_else(|| {
                invalid(
                    "KASSA_PAGE_CACHE_MS",
                    &cache_value,
                    "expected milliseconds from 0 to 3600000",
                )
            })?;

        let payments = match var("KASSA_PAYMENT_GATEWAY").as_deref().unwrap_or("test") {
            "test" => PaymentSettings::Test,
            "stripe" => {
                let required = |name: &'static str| {
                    var(name).ok_or_else(|| {
                        invalid(name, "", "required when KASSA_PAYMENT_GATEWAY=stripe")
                    })
                };
                PaymentSettings::Stripe(app::payments::stripe_gateway::StripeConfig {
                    secret_key: required("STRIPE_SECRET_KEY")?,
                    publishable_key: required("STRIPE_PUBLISHABLE_KEY")?,
                    webhook_secret: required("STRIPE_WEBHOOK_SECRET")?,
                    api_base: match var("STRIPE_API_BASE") {
                        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                            Some(url)
                        }
                        Some(url) => {
                            return Err(invalid(
                                "STRIPE_API_BASE",
                                &url,
                                "expected an http(s) URL such as http://127.0.0.1:12111/",
                            ))
                        }
                        None => None,
                    },
                })
            }
            other => {
                return Err(invalid(
                    "KASSA_PAYMENT_GATEWAY",
                    other,
                    "expected 'test' or 'stripe'",
                ))
            }
        };

        let smtp_url = match var("KASSA_SMTP_URL") {
            Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                Some(Secret(url))
            }
            Some(url) => {
                return Err(invalid(
                    "KASSA_SMTP_URL",
                    &url,
                    "expected smtp://… or smtps://user:password@host",
                ))
            }
            None => None,
        };
        let mail_from = var("KASSA_MAIL_FROM").unwrap_or_else(|| "Kassa <shop@localhost>".into());
        let secret_key = match var("KASSA_SECRET_KEY") {
            Some(key) if key.chars().count() < 32 => {
                return Err(ConfigError::Invalid {
                    name: "KASSA_SECRET_KEY",
                    value: "***".into(),
                    reason: "use at least 32 random characters (`openssl rand -hex 32`)".into(),
                })
            }
            other => other.map(Secret),
        };

        let rate = var("KASSA_NEWSLETTER_PER_MINUTE")
            .unwrap_or_else(|| app::promotions::campaigns::DEFAULT_PER_MINUTE.to_string());
        let newsletter_per_minute =
            whole_number("KASSA_NEWSLETTER_PER_MINUTE", &rate, 1..=100_000)?;

        let proxies = var("KASSA_TRUSTED_PROXIES").unwrap_or_default();
        let trusted_proxies = parse_proxies(&proxies).map_err(|entry| {
            invalid(
                "KASSA_TRUSTED_PROXIES",
                &entry,
                "expected addresses or CIDRs separated by commas, such as 10.0.0.0/8, 192.0.2.7",
            )
        })?;

        let catalog_memory_bytes = var("KASSA_CATALOG_MEMORY_MB")
            .map(|text| whole_number("KASSA_CATALOG_MEMORY_MB", &text, 0..=4096))
            .transpose()?
            .unwrap_or(DEFAULT_CATALOG_MEMORY_MB)
            * 1024
            * 1024;

        let db_connections = var("KASSA_DB_CONNECTIONS")
            .map(|text| whole_number("KASSA_DB_CONNECTIONS", &text, 1..=1000))
            .transpose()?;

        let direct_pages = match var("KASSA_DIRECT_PAGES").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(invalid(
                    "KASSA_DIRECT_PAGES",
                    other,
                    "expected 'on' or 'off'",
                ))
            }
        };

        Ok(Settings {
            direct_pages,
            db_connections,
            trusted_proxies,
            newsletter_per_minute,
            addr,
            page_cache_ttl,
            catalog_memory_bytes,
            payments,
            smtp_url,
            mail_from,
            secret_key,
            database_url: DatabaseUrl(database_url),
            data_dir,
            public_url,
            site_root,
        })
    }

    /// Creates the data directory if needed and proves it is writable, so a misconfigured
    /// deployment fails at start rather than on the first upload or write.
    pub fn prepare_data_dir(&self) -> Result<(), ConfigError> {
        let shown = self.data_dir.display().to_string();
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| invalid("KASSA_DATA_DIR", &shown, format!("cannot create it: {e}")))?;
        let probe = self.data_dir.join(".kassa-write-test");
        std::fs::write(&probe, b"ok")
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|e| invalid("KASSA_DATA_DIR", &shown, format!("not writable: {e}")))?;
        Ok(())
    }

    pub fn uses_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }

    pub fn site_root(&self) -> &Path {
        &self.site_root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_connection_limit_is_a_positive_number() {
        assert_eq!(settings(&[]).unwrap().db_connections, None);
        let s = settings(&[("KASSA_DB_CONNECTIONS", " 12 ")]).unwrap();
        assert_eq!(s.db_connections, Some(12));
        for bad in ["0", "many", "-3", "5000"] {
            let error = settings(&[("KASSA_DB_CONNECTIONS", bad)])
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("KASSA_DB_CONNECTIONS="), "{error}");
        }
    }

    #[test]
    fn pages_are_written_directly_unless_turned_off() {
        assert!(settings(&[]).unwrap().direct_pages);
        assert!(
            settings(&[("KASSA_DIRECT_PAGES", "on")])
                .unwrap()
                .direct_pages
        );
        assert!(
            !settings(&[("KASSA_DIRECT_PAGES", "off")])
                .unwrap()
                .direct_pages
        );
        let error = settings(&[("KASSA_DIRECT_PAGES", "maud")])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("KASSA_DIRECT_PAGES="), "{error}");
    }

    #[test]
    fn defaults_need_no_configuration() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.database_url.expose(), "sqlite://./data/kassa.db");
        assert_eq!(s.public_url, "http://127.0.0.1:3000");
        assert_eq!(s.site_root, PathBuf::from("target/site"));
        assert_eq!(s.page_cache_ttl, std::time::Duration::from_secs(1));
    }

    #[test]
    fn a_bad_cache_time_names_the_setting() {
        let error = settings(&[("KASSA_PAGE_CACHE_MS", "soon")])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("KASSA_PAGE_CACHE_MS="), "{error}");
        let s = settings(&[("KASSA_PAGE_CACHE_MS", "0")]).unwrap();
        assert!(s.page_cache_ttl.is_zero());
    }

    #[test]
    fn the_catalog_memory_is_set_in_megabytes() {
        assert_eq!(settings(&[]).unwrap().catalog_memory_bytes, 8 << 20);
        let s = settings(&[("KASSA_CATALOG_MEMORY_MB", "0")]).unwrap();
        assert_eq!(s.catalog_memory_bytes, 0);
        let error = settings(&[("KASSA_CATALOG_MEMORY_MB", "lots")])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("KASSA_CATALOG_MEMORY_MB="), "{error}");
    }

    #[test]
    fn a_bad_address_names_the_setting() {
        let error = settings(&[("KASSA_ADDR", "localhost")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("KASSA_ADDR=\"localhost\" is not valid"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_database_url_names_the_setting_and_hides_the_password() {
        let error = settings(&[("DATABASE_URL", "mysql://root:hunter2@db/shop")])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("DATABASE_URL="), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn the_public_url_must_be_absolute() {
        assert!(settings(&[("KASSA_PUBLIC_URL", "shop.example.com")]).is_err());
        let s = settings(&[("KASSA_PUBLIC_URL", "https://shop.example.com/")]).unwrap();
        assert_eq!(s.public_url, "https://shop.example.com");
    }

    #[test]
    fn the_data_dir_moves_the_default_database() {
        let s = settings(&[("KASSA_DATA_DIR", "/var/lib/kassa")]).unwrap();
        assert_eq!(s.database_url.expose(), "sqlite:///var/lib/kassa/kassa.db");
    }

    #[test]
    fn stripe_needs_its_keys_and_never_shows_them() {
        let error = settings(&[("KASSA_PAYMENT_GATEWAY", "stripe")])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("STRIPE_SECRET_KEY="), "{error}");
        let s = settings(&[
            ("KASSA_PAYMENT_GATEWAY", "stripe"),
            ("STRIPE_SECRET_KEY", "sk_test_hidden"),
            ("STRIPE_PUBLISHABLE_KEY", "pk_test_1"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_hidden"),
            ("KASSA_SMTP_URL", "smtps://shop:mailpass@mail.example"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        for secret in ["sk_test_hidden", "whsec_hidden", "mailpass"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(settings(&[("KASSA_PAYMENT_GATEWAY", "paypal")]).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_database_password() {
        let s = settings(&[("DATABASE_URL", "postgres://kassa:s3cret@db/kassa")]).unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
