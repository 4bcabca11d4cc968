//! First-party analytics with no cookie and nothing that names a person.
//!
//! - **Collecting**: the server records a page view for every storefront page it serves (the
//!   page cache's copies too), the islands send a few events with `navigator.sendBeacon` to
//!   `POST /api/v1/events`, and checkout records the order for the visitor whose request placed
//!   it. Events wait in memory and are written in batches ([`collector`]).
//! - **Visitors**: a keyed hash of (the day's random salt, the address cut to /24 or /48, the
//!   browser family). Salts are deleted two days after their day, so yesterday's key cannot be
//!   recomputed; no address or user agent is ever stored. `DNT: 1` and `Sec-GPC: 1` are counted
//!   without a key; known robots are not counted at all.
//! - **Days** are the shop's (its time zone setting): events are stored with the date they
//!   happened on there, and rolled up by day and hour in the same transaction, so reports read a
//!   few rows per day. A visitor is one per day, so visitors over a range are the sum of each
//!   day's (as in every cookieless analytics).
//! - **Money** comes from the orders and payments themselves ([`reports`]).
//!
//! This file holds the rules (plain functions with unit tests); `collector`, `reports` and
//! `http` the server's side; `browser` what the islands send.

#[cfg(feature = "hydrate")]
pub mod browser;
#[cfg(feature = "ssr")]
pub mod collector;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod reports;

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// The funnel's steps a visitor reached on a day, as bits of `analytics_visits.steps`.
pub const PRODUCT_VIEW: i64 = 1;
pub const ADD_TO_CART: i64 = 2;
pub const CHECKOUT_STARTED: i64 = 4;
pub const ORDER: i64 = 8;

/// Where the landing page's referrer and `utm_*` parameters are kept in the browser until
/// checkout, so an order knows its source without a tracking cookie.
pub const ATTRIBUTION_KEY: &str = "kassa.attribution.v1";

/// What brought a shopper: sent with the checkout (`attribution`), kept on the order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Attribution {
    /// The landing page's referrer (another site's address).
    #[serde(default)]
    pub referrer: Option<String>,
    #[serde(default)]
    pub utm_source: Option<String>,
    #[serde(default)]
    pub utm_medium: Option<String>,
    #[serde(default)]
    pub utm_campaign: Option<String>,
}

/// A traffic source as the reports group it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    pub source: String,
    pub medium: String,
    pub campaign: String,
}

impl Source {
    pub fn direct() -> Source {
        Source {
            source: "direct".into(),
            medium: "(none)".into(),
            campaign: String::new(),
        }
    }
}

/// Sites whose visitors arrive from a search, and from social networks: the medium a referrer
/// without `utm_medium` gets.
const SEARCH_ENGINES: [&str; 9] = [
    "google.",
    "bing.",
    "duckduckgo.",
    "yahoo.",
    "ecosia.",
    "baidu.",
    "yandex.",
    "qwant.",
    "startpage.",
];
const SOCIAL: [&str; 12] = [
    "facebook.",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "pinterest.",
    "reddit.",
    "tiktok.",
    "youtube.",
    "mastodon.",
    "threads.net",
];

/// A label from outside (a UTM parameter, a host): trimmed, lower case, printable, at most 100
/// characters; `None` when nothing is left.
pub fn clean_label(text: &str) -> Option<String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect::<String>()
        .to_lowercase();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// The host of an absolute `http(s)` address, lower case, without `www.`.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    (!host.is_empty()).then_some(host)
}

/// Where a visit came from: the `utm_*` parameters when there are, else the referrer's site
/// (a search engine, a social network or another site), else direct. `None` when the referrer
/// is the shop itself: a page of a visit already under way, not a landing.
pub fn classify(attribution: &Attribution, own_host: Option<&str>) -> Option<Source> {
    let referrer_host = attribution.referrer.as_deref().and_then(host_of);
    if let Some(source) = attribution.utm_source.as_deref().and_then(clean_label) {
        return Some(Source {
            source,
            medium: attribution
                .utm_medium
                .as_deref()
                .and_then(clean_label)
                .unwrap_or_else(|| "(none)".into()),
            campaign: attribution
                .utm_campaign
                .as_deref()
                .and_then(clean_label)
                .unwrap_or_default(),
        });
    }
    let Some(host) = referrer_host else {
        return Some(Source::direct());
    };
    let own = own_host.map(|h| {
        let h = h.split(':').next().unwrap_or(h).to_ascii_lowercase();
        h.strip_prefix("www.").unwrap_or(&h).to_string()
    });
    if own.as_deref() == Some(host.as_str()) {
        return None;
    }
    let medium = if SEARCH_ENGINES.iter().any(|s| host.contains(s)) {
        "search"
    } else if SOCIAL.iter().any(|s| host.contains(s)) {
        "social"
    } else {
        "referral"
    };
    Some(Source {
        source: clean_label(&host).unwrap_or_default(),
        medium: medium.into(),
        campaign: String::new(),
    })
}

/// The browser family a visitor key is made with, or `None` for a robot (a crawler, a
/// monitoring probe, a script, a headless browser): robots are not counted.
pub fn browser_family(user_agent: &str) -> Option<&'static str> {
    let ua = user_agent.to_ascii_lowercase();
    const ROBOTS: [&str; 24] = [
        "bot",
        "crawl",
        "spider",
        "slurp",
        "headless",
        "lighthouse",
        "curl/",
        "wget",
        "python",
        "go-http-client",
        "java/",
        "okhttp",
        "axios",
        "node-fetch",
        "undici",
        "libwww",
        "httpclient",
        "scrapy",
        "phantomjs",
        "pingdom",
        "uptime",
        "monitor",
        "preview",
        "facebookexternalhit",
    ];
    if ua.is_empty() || !ua.starts_with("mozilla/") || ROBOTS.iter().any(|r| ua.contains(r)) {
        return None;
    }
    Some(
        if ua.contains("edg/") || ua.contains("edga/") || ua.contains("edgios/") {
            "edge"
        } else if ua.contains("opr/") || ua.contains("opera") {
            "opera"
        } else if ua.contains("samsungbrowser") {
            "samsung"
        } else if ua.contains("firefox/") || ua.contains("fxios/") {
            "firefox"
        } else if ua.contains("chrome/") || ua.contains("crios/") || ua.contains("chromium/") {
            "chrome"
        } else if ua.contains("safari/") {
            "safari"
        } else {
            "other"
        },
    )
}

/// The address as much as the visitor key may use of it: its /24 (IPv4) or /48 (IPv6).
pub fn address_prefix(ip: std::net::IpAddr) -> String {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// Whether the request asks not to be tracked (`DNT: 1` or `Sec-GPC: 1`): counted, without a
/// visitor key.
pub fn asks_not_to_be_tracked(dnt: Option<&str>, gpc: Option<&str>) -> bool {
    dnt.is_some_and(|v| v.trim() == "1") || gpc.is_some_and(|v| v.trim() == "1")
}

/// A search as the reports group it: trimmed, lower case, spaces folded, at most 100
/// characters; `None` for an empty one.
pub fn normalise_query(query: &str) -> Option<String> {
    let words: Vec<&str> = query.split_whitespace().collect();
    let joined = words.join(" ");
    clean_label(&joined)
}

/// An event the islands send (`POST /api/v1/events`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BeaconKind {
    AddToCart,
    CheckoutStarted,
    SearchClick,
}

/// The body of `POST /api/v1/events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    #[serde(rename = "type")]
    pub kind: BeaconKind,
    /// The page it happened on (`/products/mug`).
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub variant_id: Option<i64>,
    /// The search a result was clicked from.
    #[serde(default)]
    pub query: Option<String>,
}

/// One step of the funnel: how many distinct visitors (one per day) reached it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FunnelStep {
    pub name: String,
    pub visitors: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Funnel {
    pub steps: Vec<FunnelStep>,
}

/// The headline figures of a date range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Summary {
    pub visitors: i64,
    /// Visits: a visitor's events with no gap of 30 minutes (a visitor has one or more a day).
    pub sessions: i64,
    pub page_views: i64,
    /// Return requests made in the range.
    pub returns: i64,
    /// Orders paid in the range.
    pub orders: i64,
    /// What those orders came to (after discounts, with shipping and tax).
    pub revenue: Money,
    /// Before discounts: revenue + discounts.
    pub gross: Money,
    pub discounts: Money,
    /// Money given back in the range, whenever its order was placed.
    pub refunds: Money,
    pub net_revenue: Money,
    /// Revenue per order (rounded down); zero without orders.
    pub aov: Money,
    /// The share of the range's orders whose email had paid an order before (0 to 1).
    pub returning_customer_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductReport {
    pub product_id: i64,
    pub slug: String,
    pub title: String,
    pub views: i64,
    pub add_to_carts: i64,
    pub units: i64,
    pub revenue: Money,
    /// Orders with the product per view (0 to 1); 0 without views.
    pub conversion: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchReport {
    pub query: String,
    pub searches: i64,
    /// Results the latest of these searches found (0: nothing).
    pub results: i64,
    /// Results opened from these searches (a product page reached from the search page).
    #[serde(default)]
    pub clicks: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SourceReport {
    pub source: String,
    pub medium: String,
    pub campaign: String,
    pub visitors: i64,
    pub orders: i64,
    pub revenue: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiscountReport {
    pub code: String,
    pub title: String,
    pub orders: i64,
    pub discount: Money,
    pub revenue: Money,
}

/// One day of the range, for the charts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DayReport {
    /// `YYYY-MM-DD` in the shop's time zone.
    pub day: String,
    pub visitors: i64,
    pub page_views: i64,
    pub orders: i64,
    pub revenue: Money,
    pub refunds: Money,
}

/// The figure as a share with four decimals (`0.3333`), for rates that are not money.
pub fn ratio(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        return 0.0;
    }
    ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0
}

#[cfg(feature = "ssr")]
pub use dates::{DateRange, RangeError, ShopClock};

/// Days in the shop's time zone.
#[cfg(feature = "ssr")]
mod dates {
    use jiff::civil::Date;
    use jiff::tz::TimeZone;
    use jiff::{Timestamp, ToSpan};

    /// The longest range a report covers.
    pub const MAX_DAYS: i64 = 731;

    /// The shop's time zone, which its days are counted in.
    #[derive(Clone, Debug)]
    pub struct ShopClock {
        zone: TimeZone,
    }

    impl ShopClock {
        /// The zone named (`Europe/Berlin`); UTC for a name the database does not know.
        pub fn named(name: &str) -> ShopClock {
            ShopClock {
                zone: TimeZone::get(name).unwrap_or(TimeZone::UTC),
            }
        }

        /// Whether `name` is a time zone the shop may use.
        pub fn is_known(name: &str) -> bool {
            !name.is_empty() && name.len() <= 64 && TimeZone::get(name).is_ok()
        }

        /// Every time zone name, for the settings page.
        pub fn names() -> Vec<String> {
            let mut names: Vec<String> = jiff::tz::db()
                .available()
                .map(|n| n.to_string())
                .filter(|n| n.contains('/') || n == "UTC")
                .collect();
            names.sort();
            names
        }

        /// The shop's date and hour (0–23) at Unix second `at`.
        pub fn day_and_hour(&self, at: i64) -> (String, i64) {
            let zoned = Timestamp::from_second(at)
                .unwrap_or(Timestamp::UNIX_EPOCH)
                .to_zoned(self.zone.clone());
            (zoned.date().to_string(), i64::from(zoned.hour()))
        }

        pub fn today(&self, now: i64) -> Date {
            Timestamp::from_second(now)
                .unwrap_or(Timestamp::UNIX_EPOCH)
                .to_zoned(self.zone.clone())
                .date()
        }

        /// The Unix second the shop's `day` begins (its first instant, also on a day whose
        /// midnight a clock change skips).
        pub fn start_of(&self, day: Date) -> i64 {
            day.to_zoned(self.zone.clone())
                .map(|z| z.timestamp().as_second())
                .unwrap_or(0)
        }

        /// `[start, end)` of the range in Unix seconds: from the first day's start to the
        /// start of the day after the last (23 or 25 hours long on a clock change).
        pub fn bounds(&self, range: &DateRange) -> (i64, i64) {
            (
                self.start_of(range.from),
                self.start_of(range.to.tomorrow().unwrap_or(range.to)),
            )
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum RangeError {
        #[error("{field}: a date as YYYY-MM-DD, such as 2026-12-01")]
        NotADate { field: &'static str },
        #[error("to: the range ends before it starts")]
        Backwards,
        #[error("to: a range covers at most {MAX_DAYS} days")]
        TooLong,
    }

    impl RangeError {
        pub fn field(&self) -> &'static str {
            match self {
                RangeError::NotADate { field } => field,
                _ => "to",
            }
        }
    }

    /// Days from `from` to `to`, both included, in the shop's time zone.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct DateRange {
        pub from: Date,
        pub to: Date,
    }

    impl DateRange {
        /// From the query's `from` and `to`; a missing one is the last 30 days to `today`.
        pub fn parse(
            from: Option<&str>,
            to: Option<&str>,
            today: Date,
        ) -> Result<DateRange, RangeError> {
            let date = |text: Option<&str>, field| -> Result<Option<Date>, RangeError> {
                match text.map(str::trim).filter(|t| !t.is_empty()) {
                    None => Ok(None),
                    Some(t) if t.len() == 10 => t
                        .parse::<Date>()
                        .map(Some)
                        .map_err(|_| RangeError::NotADate { field }),
                    Some(_) => Err(RangeError::NotADate { field }),
                }
            };
            let to = date(to, "to")?.unwrap_or(today);
            let from = match date(from, "from")? {
                Some(from) => from,
                None => to.checked_sub(29.days()).unwrap_or(to),
            };
            let range = DateRange { from, to };
            if to < from {
                return Err(RangeError::Backwards);
            }
            if range.days() > MAX_DAYS {
                return Err(RangeError::TooLong);
            }
            Ok(range)
        }

        /// How many days it covers.
        pub fn days(&self) -> i64 {
            i64::from((self.to - self.from).get_days()) + 1
        }

        /// The range of the same length just before this one, to compare with.
        pub fn previous(&self) -> DateRange {
            let to = self.from.yesterday().unwrap_or(self.from);
            let from = to.checked_sub((self.days() - 1).days()).unwrap_or(to);
            DateRange { from, to }
        }

        /// Each day, in order, as `YYYY-MM-DD`.
        pub fn each_day(&self) -> Vec<String> {
            let mut days = Vec::new();
            let mut day = self.from;
            while day <= self.to {
                days.push(day.to_string());
                match day.tomorrow() {
                    Ok(next) => day = next,
                    Err(_) => break,
                }
            }
            days
        }

        pub fn from_text(&self) -> String {
            self.from.to_string()
        }

        pub fn to_text(&self) -> String {
            self.to.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    #[test]
    fn browsers_are_told_apart_and_robots_are_not_counted() {
        assert_eq!(browser_family(CHROME), Some("chrome"));
        assert_eq!(
            browser_family(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
            ),
            Some("firefox")
        );
        assert_eq!(
            browser_family("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"),
            Some("safari")
        );
        assert_eq!(
            browser_family("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0"),
            Some("edge")
        );
        for robot in [
            "",
            "curl/8.5.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari/537.36",
            "python-requests/2.31",
            "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 Chrome-Lighthouse",
            "wrk",
        ] {
            assert_eq!(browser_family(robot), None, "{robot}");
        }
    }

    #[test]
    fn addresses_are_cut_before_they_are_used() {
        assert_eq!(
            address_prefix("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            address_prefix("2001:db8:abcd:12:1:2:3:4".parse().unwrap()),
            "2001:db8:abcd::/48"
        );
        assert_eq!(
            address_prefix("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn sources_come_from_utm_then_the_referrer_then_direct() {
        let utm = Attribution {
            referrer: Some("https://www.google.com/".into()),
            utm_source: Some(" Newsletter ".into()),
            utm_medium: Some("Email".into()),
            utm_campaign: Some("Winter-Sale".into()),
        };
        assert_eq!(
            classify(&utm, Some("shop.example")),
            Some(Source {
                source: "newsletter".into(),
                medium: "email".into(),
                campaign: "winter-sale".into()
            })
        );
        let search = Attribution {
            referrer: Some("https://www.google.com/search?q=mug".into()),
            ..Default::default()
        };
        assert_eq!(classify(&search, None).unwrap().medium, "search");
        assert_eq!(classify(&search, None).unwrap().source, "google.com");
        let social = Attribution {
            referrer: Some("https://t.co/abc".into()),
            ..Default::default()
        };
        assert_eq!(classify(&social, None).unwrap().medium, "social");
        let blog = Attribution {
            referrer: Some("http://blog.example:8080/post".into()),
            ..Default::default()
        };
        assert_eq!(
            classify(&blog, None),
            Some(Source {
                source: "blog.example".into(),
                medium: "referral".into(),
                campaign: String::new()
            })
        );
        assert_eq!(
            classify(&Attribution::default(), None),
            Some(Source::direct())
        );
        let own = Attribution {
            referrer: Some("https://www.shop.example/collections/mugs".into()),
            ..Default::default()
        };
        assert_eq!(classify(&own, Some("shop.example:443")), None);
        let garbage = Attribution {
            referrer: Some("javascript:alert(1)".into()),
            utm_source: Some("\u{0}\u{7}  ".into()),
            ..Default::default()
        };
        assert_eq!(classify(&garbage, None), Some(Source::direct()));
    }

    #[test]
    fn labels_are_short_printable_and_lower_case() {
        assert_eq!(clean_label(&"A".repeat(300)).unwrap().len(), 100);
        assert_eq!(clean_label("Line\nBreak"), Some("linebreak".into()));
        assert_eq!(
            normalise_query("  Merino   WOOL "),
            Some("merino wool".into())
        );
        assert_eq!(normalise_query("   "), None);
    }

    #[test]
    fn do_not_track_and_global_privacy_control_are_honoured() {
        assert!(asks_not_to_be_tracked(Some("1"), None));
        assert!(asks_not_to_be_tracked(None, Some("1")));
        assert!(!asks_not_to_be_tracked(Some("0"), None));
        assert!(!asks_not_to_be_tracked(None, None));
    }

    #[test]
    fn rates_have_four_decimals_and_no_division_by_zero() {
        assert_eq!(ratio(1, 3), 0.3333);
        assert_eq!(ratio(2, 3), 0.6667);
        assert_eq!(ratio(5, 0), 0.0);
    }

    #[cfg(feature = "ssr")]
    mod days {
        use super::super::*;

        fn date(text: &str) -> jiff::civil::Date {
            text.parse().unwrap()
        }

        #[test]
        fn the_shops_day_starts_at_its_own_midnight() {
            let berlin = ShopClock::named("Europe/Berlin");
            // 2026-01-15 23:30 UTC is already the 16th in Berlin (UTC+1).
            let at = 1_768_519_800;
            assert_eq!(berlin.day_and_hour(at), ("2026-01-16".into(), 0));
            assert_eq!(
                ShopClock::named("UTC").day_and_hour(at),
                ("2026-01-15".into(), 23)
            );
        }

        #[test]
        fn a_day_with_a_clock_change_has_23_or_25_hours() {
            let berlin = ShopClock::named("Europe/Berlin");
            let spring = DateRange {
                from: date("2026-03-29"),
                to: date("2026-03-29"),
            };
            let (start, end) = berlin.bounds(&spring);
            assert_eq!(end - start, 23 * 3600);
            let autumn = DateRange {
                from: date("2026-10-25"),
                to: date("2026-10-25"),
            };
            let (start, end) = berlin.bounds(&autumn);
            assert_eq!(end - start, 25 * 3600);
            // The autumn day starts at 22:00 UTC the day before (midnight in summer time).
            assert_eq!(start % 86_400, 22 * 3600);
        }

        #[test]
        fn ranges_parse_with_their_field_named() {
            let today = date("2026-12-04");
            let default = DateRange::parse(None, None, today).unwrap();
            assert_eq!(default.days(), 30);
            assert_eq!(default.to, today);
            assert_eq!(
                DateRange::parse(Some("2026-13-01"), None, today),
                Err(RangeError::NotADate { field: "from" })
            );
            assert_eq!(
                DateRange::parse(Some("2026-12-01"), Some("2026-11-01"), today),
                Err(RangeError::Backwards)
            );
            assert_eq!(
                DateRange::parse(Some("2020-01-01"), Some("2026-01-01"), today),
                Err(RangeError::TooLong)
            );
            assert_eq!(
                DateRange::parse(Some("2026-12-01T00:00"), None, today)
                    .unwrap_err()
                    .field(),
                "from"
            );
            let week = DateRange::parse(Some("2026-11-08"), Some("2026-11-14"), today).unwrap();
            assert_eq!(week.days(), 7);
            let before = week.previous();
            assert_eq!(
                (before.from_text(), before.to_text()),
                ("2026-11-01".into(), "2026-11-07".into())
            );
            assert_eq!(week.each_day().len(), 7);
        }

        #[test]
        fn unknown_zones_are_refused_and_read_as_utc() {
            assert!(ShopClock::is_known("America/New_York"));
            assert!(!ShopClock::is_known("Mars/Olympus"));
            assert!(ShopClock::names().contains(&"Europe/Berlin".to_string()));
        }
    }
}
