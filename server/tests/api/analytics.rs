//! Analytics on both databases: synthetic traffic with known numbers gives exactly those
//! figures in every report; days follow the shop's time zone across a clock change and UTC
//! midnight; no anonymous answer sets a cookie; no table holds an address or a user agent;
//! `X-Forwarded-For` counts only from a trusted proxy.

use app::admin::Role;
use app::analytics::collector::{Event, Kind, Who};
use serde_json::{json, Value};

use crate::admin::account;
use crate::admin_api::{api, team};
use crate::checkout::{checkout, order_body, variant_with_stock};
use crate::helpers::{spawn_app_with, Backend, Options, TestApp};
use crate::on_both_databases;

on_both_databases!(
    synthetic_traffic_gives_exactly_its_numbers_in_every_report,
    days_are_the_shops_across_a_clock_change_and_utc_midnight,
    no_anonymous_answer_sets_a_cookie,
    no_table_holds_an_address_or_a_user_agent,
    forwarded_for_counts_only_from_a_trusted_proxy,
    bad_beacons_and_ranges_are_400_naming_the_field,
    two_servers_writing_the_same_visitors_keep_the_day_totals_exact,
);

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

async fn shop_behind_a_proxy(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            // Pages served from the cache count as well.
            page_cache_ms: 60_000,
            env: vec![("KASSA_TRUSTED_PROXIES", "127.0.0.1/32, ::1".to_string())],
            ..Options::default()
        },
    )
    .await
}

/// A browser at an address: the headers its requests carry through the shop's proxy.
#[derive(Clone, Copy)]
struct Browser {
    ip: &'static str,
    agent: &'static str,
    do_not_track: bool,
}

impl Browser {
    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("X-Forwarded-For", self.ip.to_string()),
            ("User-Agent", self.agent.to_string()),
        ];
        if self.do_not_track {
            headers.push(("DNT", "1".to_string()));
        }
        headers
    }

    async fn page(&self, app: &TestApp, path: &str, referrer: Option<&str>) -> reqwest::Response {
        let mut request = app.client.get(format!("{}{path}", app.address));
        for (name, value) in self.headers() {
            request = request.header(name, value);
        }
        if let Some(referrer) = referrer {
            request = request.header("Referer", referrer);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            !response.headers().contains_key("x-kassa-analytics-variant")
                && !response.headers().contains_key("x-kassa-analytics-results"),
            "the pages' notes for analytics never leave the server"
        );
        response
    }

    async fn beacon(&self, app: &TestApp, body: Value) {
        let mut request = app
            .client
            .post(format!("{}/api/v1/events", app.address))
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body(body.to_string());
        for (name, value) in self.headers() {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 204);
        assert!(!response.headers().contains_key("set-cookie"));
    }
}

async fn report(app: &TestApp, token: &str, name: &str, range: &str) -> Value {
    let (status, body) = api(
        app,
        "GET",
        &format!("/api/v1/admin/analytics/{name}?{range}"),
        Some(token),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{name}: {body}");
    body
}

fn today_utc() -> String {
    app::analytics::ShopClock::named("UTC")
        .today(app::db::now_epoch())
        .to_string()
}

async fn synthetic_traffic_gives_exactly_its_numbers_in_every_report(backend: Backend) {
    let app = shop_behind_a_proxy(backend).await;
    let (_, owner, staff, _) = team(&app).await;
    let (variant, price) = variant_with_stock(&app, 0, 50).await;
    let (product, slug, title): (i64, String, String) = {
        let row: (i64, String, String) = sqlx::query_as(
            "SELECT p.id, p.slug, p.title FROM products p JOIN variants v ON v.product_id = p.id WHERE v.id = $1",
        )
        .bind(variant)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        row
    };
    let collection: String = sqlx::query_scalar("SELECT slug FROM collections ORDER BY id LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let word = title.split_whitespace().next().unwrap().to_lowercase();
    let product_page = format!("/products/{slug}");

    // A: from a Google search, views the product twice, adds it, checks out and orders.
    let a = Browser {
        ip: "198.51.100.5",
        agent: FIREFOX,
        do_not_track: false,
    };
    a.page(&app, "/", Some("https://www.google.com/")).await;
    a.page(&app, &product_page, Some(&format!("{}/", app.address)))
        .await;
    // The second time from the shop's search: a click of that search.
    a.page(
        &app,
        &product_page,
        Some(&format!("{}/search?q={word}", app.address)),
    )
    .await;
    a.beacon(
        &app,
        json!({"type": "add_to_cart", "path": product_page, "variant_id": variant}),
    )
    .await;
    a.beacon(
        &app,
        json!({"type": "checkout_started", "path": "/checkout"}),
    )
    .await;
    let mut body = order_body(&[(variant, 1)], "pm_card_visa");
    body["attribution"] = json!({"referrer": "https://www.google.com/"});
    let headers: Vec<(&str, String)> = a.headers();
    let mut with_key: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    with_key.push(("Idempotency-Key", "analytics-order-1"));
    let (status, placed) = app.post_json("/api/v1/checkout", &body, &with_key).await;
    assert_eq!(status, 201, "{placed}");
    // A retry of the same order is not a second one.
    let (status, _) = app.post_json("/api/v1/checkout", &body, &with_key).await;
    assert_eq!(status, 200);
    let total = placed["order"]["total"]["amount"].as_i64().unwrap();
    let number = placed["order"]["number"].as_str().unwrap().to_string();

    // B: from the newsletter (UTM), views the product and adds it; no order.
    let b = Browser {
        ip: "203.0.113.9",
        agent: CHROME,
        do_not_track: false,
    };
    b.page(
        &app,
        "/?utm_source=Newsletter&utm_medium=email&utm_campaign=winter",
        None,
    )
    .await;
    b.page(&app, &product_page, None).await;
    b.beacon(&app, json!({"type": "add_to_cart", "variant_id": variant}))
        .await;

    // C: direct, searches twice (once for nothing) and browses; a second device in the same
    // /24 with the same browser is the same visitor that day.
    let c = Browser {
        ip: "192.0.2.10",
        agent: CHROME,
        do_not_track: false,
    };
    c.page(&app, &format!("/search?q={}", word.to_uppercase()), None)
        .await;
    c.page(&app, "/search?q=zebra%20%20unicorn", None).await;
    c.page(&app, &format!("/collections/{collection}"), None)
        .await;
    let c_again = Browser {
        ip: "192.0.2.77",
        agent: CHROME,
        do_not_track: false,
    };
    c_again.page(&app, "/", None).await;

    // D asks not to be tracked: its pages count, it is nobody.
    let d = Browser {
        ip: "100.64.0.1",
        agent: FIREFOX,
        do_not_track: true,
    };
    d.page(&app, "/", None).await;
    d.page(&app, &product_page, None).await;

    // A robot counts for nothing.
    let robot = Browser {
        ip: "100.64.9.9",
        agent: "curl/8.5.0",
        do_not_track: false,
    };
    robot.page(&app, "/", None).await;
    robot.page(&app, &product_page, None).await;
    robot
        .beacon(&app, json!({"type": "add_to_cart", "variant_id": variant}))
        .await;

    // A refund of part of A's order, today.
    let (status, refund) = api(
        &app,
        "POST",
        &format!("/api/v1/admin/orders/{number}/refunds"),
        Some(&owner),
        Some(&json!({"amount": {"amount": 250, "currency": "EUR"}, "reason": "scratched"})),
        &[("Idempotency-Key", "analytics-refund")],
    )
    .await;
    assert_eq!(status, 201, "{refund}");

    let today = today_utc();
    let range = format!("from={today}&to={today}");
    // Staff without the analytics permission see nothing.
    let (status, _) = api(
        &app,
        "GET",
        &format!("/api/v1/admin/analytics/summary?{range}"),
        Some(&staff),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 403);

    let summary = report(&app, &owner, "summary", &range).await;
    assert_eq!(summary["visitors"], 3, "{summary}");
    assert_eq!(summary["sessions"], 3, "{summary}");
    assert_eq!(summary["returns"], 0, "{summary}");
    // A 3, B 2, C 4, D 2.
    assert_eq!(summary["page_views"], 11, "{summary}");
    assert_eq!(summary["orders"], 1);
    assert_eq!(
        summary["revenue"],
        json!({"amount": total, "currency": "EUR"})
    );
    assert_eq!(
        summary["refunds"],
        json!({"amount": 250, "currency": "EUR"})
    );
    assert_eq!(
        summary["net_revenue"],
        json!({"amount": total - 250, "currency": "EUR"})
    );
    assert_eq!(summary["aov"], json!({"amount": total, "currency": "EUR"}));
    assert_eq!(summary["returning_customer_rate"], 0.0);

    let funnel = report(&app, &owner, "funnel", &range).await;
    let steps: Vec<(String, i64)> = funnel["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["visitors"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("visit".to_string(), 3),
            ("product_view".to_string(), 2),
            ("add_to_cart".to_string(), 2),
            ("checkout_started".to_string(), 1),
            ("order".to_string(), 1),
        ]
    );

    let products = report(&app, &owner, "products", &range).await;
    let row = products["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == slug.as_str())
        .unwrap_or_else(|| panic!("{products}"));
    // A twice, B once, D once; A and B added it; A bought one.
    assert_eq!(row["product_id"], product);
    assert_eq!(row["views"], 4, "{row}");
    assert_eq!(row["add_to_carts"], 2, "{row}");
    assert_eq!(row["units"], 1, "{row}");
    assert_eq!(row["revenue"]["amount"], price, "{row}");
    assert_eq!(row["conversion"], 0.25, "{row}");

    let searches = report(&app, &owner, "searches", &range).await;
    let found: Vec<(String, i64, bool, i64)> = searches["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["query"].as_str().unwrap().to_string(),
                s["searches"].as_i64().unwrap(),
                s["results"].as_i64().unwrap() > 0,
                s["clicks"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{searches}");
    // A opened the product from that search.
    assert!(found.contains(&(word.clone(), 1, true, 1)), "{searches}");
    assert!(
        found.contains(&("zebra unicorn".to_string(), 1, false, 0)),
        "{searches}"
    );

    let sources = report(&app, &owner, "sources", &range).await;
    let mut rows: Vec<(String, String, String, i64, i64, i64)> = sources["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap().to_string(),
                s["medium"].as_str().unwrap().to_string(),
                s["campaign"].as_str().unwrap().to_string(),
                s["visitors"].as_i64().unwrap(),
                s["orders"].as_i64().unwrap(),
                s["revenue"]["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("direct".into(), "(none)".into(), String::new(), 1, 0, 0),
            (
                "google.com".into(),
                "search".into(),
                String::new(),
                1,
                1,
                total
            ),
            (
                "newsletter".into(),
                "email".into(),
                "winter".into(),
                1,
                0,
                0
            ),
        ],
        "{sources}"
    );

    let days = report(&app, &owner, "days", &range).await;
    assert_eq!(days["items"][0]["day"], today.as_str());
    assert_eq!(days["items"][0]["visitors"], 3);
    assert_eq!(days["items"][0]["orders"], 1);

    // The page and every CSV, for a staff member allowed to read analytics.
    account(&app, "analyst@shop.test", Role::Staff, false).await;
    sqlx::query("UPDATE accounts SET can_analytics = 1 WHERE email = 'analyst@shop.test'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let analyst = crate::admin::sign_in(&app, "analyst@shop.test", crate::admin::PASSWORD)
        .await
        .unwrap();
    let page = app
        .client
        .get(format!("{}/admin/analytics?{range}", app.address))
        .header("Cookie", &analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-testid=\"analytics-funnel\""), "{html}");
    assert!(html.contains("zebra unicorn"));
    for name in app::admin::analytics::EXPORTS {
        let csv = app
            .client
            .get(format!(
                "{}/admin/analytics/export/{name}?{range}",
                app.address
            ))
            .header("Cookie", &analyst)
            .send()
            .await
            .unwrap();
        assert_eq!(csv.status(), 200, "{name}");
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let text = csv.text().await.unwrap();
        assert!(
            text.lines().count() >= 2 || name == "discounts",
            "{name}: {text}"
        );
    }
    let funnel_csv = app
        .client
        .get(format!(
            "{}/admin/analytics/export/funnel?{range}",
            app.address
        ))
        .header("Cookie", &analyst)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        funnel_csv,
        "step,visitors\nvisit,3\nproduct_view,2\nadd_to_cart,2\ncheckout_started,1\norder,1\n"
    );
    let unknown = app
        .client
        .get(format!("{}/admin/analytics/export/passwords", app.address))
        .header("Cookie", &analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // Nothing kept names an address or a browser; a visitor key is 128 bits of hex.
    let visitors: Vec<String> = sqlx::query_scalar("SELECT visitor FROM analytics_visits")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(visitors.len(), 3);
    assert!(visitors
        .iter()
        .all(|v| v.len() == 32 && v.chars().all(|c| c.is_ascii_hexdigit())));
    let paths: Vec<Option<String>> = sqlx::query_scalar("SELECT path FROM analytics_events")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert!(paths
        .iter()
        .flatten()
        .all(|p| !p.contains("utm_") && !p.contains('?')));
}

/// Records `(at, address)` page views for distinct visitors and writes them.
async fn record(app: &TestApp, events: &[(i64, &str)]) {
    let analytics = app.checkout.analytics();
    for (at, ip) in events {
        analytics.record(Event::new(
            *at,
            Kind::PageView,
            Who::Visitor {
                address_prefix: ip.to_string(),
                family: "firefox",
            },
        ));
    }
    analytics.flush().await.unwrap();
}

async fn days_are_the_shops_across_a_clock_change_and_utc_midnight(backend: Backend) {
    let app = shop_behind_a_proxy(backend).await;
    let (_, owner, _, _) = team(&app).await;
    sqlx::query("UPDATE shop_settings SET time_zone = 'Europe/Berlin' WHERE id = 1")
        .execute(app.db.pool())
        .await
        .unwrap();
    // Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 2026-03-29: that day has 23 hours.
    let march_28_2230z = 1_774_737_000; // 23:30 on the 28th in Berlin
    let march_28_2330z = march_28_2230z + 3600; // 00:30 on the 29th
    let march_29_2130z = march_28_2230z + 23 * 3600; // 23:30 on the 29th (summer time)
    let march_29_2230z = march_29_2130z + 3600; // 00:30 on the 30th
    record(
        &app,
        &[
            (march_28_2230z, "10.0.1.0/24"),
            (march_28_2330z, "10.0.2.0/24"),
            (march_29_2130z, "10.0.3.0/24"),
            (march_29_2230z, "10.0.4.0/24"),
        ],
    )
    .await;
    let days = report(&app, &owner, "days", "from=2026-03-28&to=2026-03-30").await;
    let visitors: Vec<(String, i64)> = days["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_string(),
                d["visitors"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        visitors,
        [
            ("2026-03-28".to_string(), 1),
            ("2026-03-29".to_string(), 2),
            ("2026-03-30".to_string(), 1),
        ]
    );
    // A visitor back after more than 30 minutes starts a second visit (session), the same
    // visitor; back within 30 minutes, the same visit. Also across two batches.
    let morning = march_28_2230z - 12 * 3600;
    record(
        &app,
        &[(morning, "10.9.9.0/24"), (morning + 600, "10.9.9.0/24")],
    )
    .await;
    record(&app, &[(morning + 2 * 3600, "10.9.9.0/24")]).await;
    record(&app, &[(morning + 2 * 3600 + 900, "10.9.9.0/24")]).await;
    let day = report(&app, &owner, "summary", "from=2026-03-28&to=2026-03-28").await;
    assert_eq!(
        (day["visitors"].as_i64(), day["sessions"].as_i64()),
        (Some(2), Some(3)),
        "{day}"
    );
    // Hours are the shop's too: 00:30 and 23:30 on the short day.
    let hours: Vec<i64> = sqlx::query_scalar(
        "SELECT hour FROM analytics_hours WHERE day = '2026-03-29' ORDER BY hour",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(hours, [0, 23]);

    // An order paid at 00:30 Berlin time on the 30th (22:30 UTC on the 29th) is the 30th's.
    let (variant, _) = variant_with_stock(&app, 0, 5).await;
    let (status, placed) = checkout(
        &app,
        &order_body(&[(variant, 1)], "pm_card_visa"),
        "tz-order",
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    sqlx::query("UPDATE orders SET paid_at = $1, created_at = $1")
        .bind(march_29_2230z)
        .execute(app.db.pool())
        .await
        .unwrap();
    let orders_on = |day: &'static str| {
        let app = &app;
        let owner = owner.clone();
        async move {
            report(app, &owner, "summary", &format!("from={day}&to={day}")).await["orders"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(orders_on("2026-03-29").await, 0);
    assert_eq!(orders_on("2026-03-30").await, 1);
    // In a UTC shop the same order is the 29th's.
    sqlx::query("UPDATE shop_settings SET time_zone = 'UTC' WHERE id = 1")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(orders_on("2026-03-29").await, 1);
    assert_eq!(orders_on("2026-03-30").await, 0);
}

async fn no_anonymous_answer_sets_a_cookie(backend: Backend) {
    let app = shop_behind_a_proxy(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 5).await;
    let slug: String = sqlx::query_scalar(
        "SELECT p.slug FROM products p JOIN variants v ON v.product_id = p.id WHERE v.id = $1",
    )
    .bind(variant)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let collection: String = sqlx::query_scalar("SELECT slug FROM collections ORDER BY id LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let mut answers = Vec::new();
    for path in [
        "/".to_string(),
        format!("/collections/{collection}"),
        format!("/products/{slug}"),
        "/search?q=wool".into(),
        "/search?q=zzzz".into(),
        "/cart".into(),
        "/checkout".into(),
        "/contact".into(),
        "/newsletter".into(),
        "/account/sign-in".into(),
        "/sitemap.xml".into(),
        "/robots.txt".into(),
        "/no-such-page".into(),
        "/api/v1/products".into(),
        "/api/v1/openapi.json".into(),
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .header("User-Agent", FIREFOX)
            .send()
            .await
            .unwrap();
        answers.push((path, response.headers().clone()));
    }
    let posts = [
        ("/api/v1/events", json!({"type": "checkout_started"})),
        (
            "/api/v1/cart/quote",
            json!({"lines": [{"variant_id": variant, "quantity": 1}]}),
        ),
    ];
    for (path, body) in posts {
        let response = app
            .client
            .post(format!("{}{path}", app.address))
            .header("User-Agent", FIREFOX)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        answers.push((path.to_string(), response.headers().clone()));
    }
    let (status, placed) = checkout(
        &app,
        &order_body(&[(variant, 1)], "pm_card_visa"),
        "no-cookie",
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let order_page = app
        .client
        .get(format!(
            "{}/orders/{}",
            app.address,
            crate::checkout::token_of(&placed)
        ))
        .send()
        .await
        .unwrap();
    answers.push(("the order page".into(), order_page.headers().clone()));
    for (path, headers) in answers {
        assert!(
            !headers.contains_key("set-cookie"),
            "{path} set a cookie: {headers:?}"
        );
    }
}

async fn no_table_holds_an_address_or_a_user_agent(backend: Backend) {
    let app = shop_behind_a_proxy(backend).await;
    let columns: Vec<(String, String)> = match backend {
        Backend::Sqlite => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        ),
        Backend::Postgres => sqlx::query_as(
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema()",
        ),
    }
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert!(
        columns.len() > 100,
        "the schema was read: {}",
        columns.len()
    );
    let forbidden = |column: &str| {
        let c = column.to_ascii_lowercase();
        c == "ip"
            || c == "address"
            || c.ends_with("_ip")
            || c.starts_with("ip_")
            || c.contains("ip_address")
            || c.contains("remote_addr")
            || c.contains("user_agent")
            || c.contains("useragent")
    };
    let found: Vec<&(String, String)> = columns.iter().filter(|(_, c)| forbidden(c)).collect();
    assert!(
        found.is_empty(),
        "columns that could hold an address or a user agent: {found:?}"
    );
}

async fn forwarded_for_counts_only_from_a_trusted_proxy(backend: Backend) {
    // No trusted proxy: the header is the client's word and is ignored.
    let app = spawn_app_with(backend, Options::default()).await;
    let (_, owner, _, _) = team(&app).await;
    for ip in ["198.51.100.1", "198.51.100.2", "203.0.113.3"] {
        let response = app
            .client
            .get(format!("{}/", app.address))
            .header("User-Agent", FIREFOX)
            .header("X-Forwarded-For", ip)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let today = today_utc();
    let summary = report(&app, &owner, "summary", &format!("from={today}&to={today}")).await;
    // One visitor (the test's own address), three page views.
    assert_eq!(
        (summary["visitors"].as_i64(), summary["page_views"].as_i64()),
        (Some(1), Some(3))
    );
}

async fn bad_beacons_and_ranges_are_400_naming_the_field(backend: Backend) {
    let app = shop_behind_a_proxy(backend).await;
    let (_, owner, _, _) = team(&app).await;
    for (body, field) in [
        ("{\"type\": \"purchase\"}", "type"),
        (
            "{\"type\": \"add_to_cart\", \"path\": \"https://evil.example/\"}",
            "path",
        ),
        (
            "{\"type\": \"add_to_cart\", \"variant_id\": -3}",
            "variant_id",
        ),
        (
            "{\"type\": \"add_to_cart\", \"variant_id\": \"seven\"}",
            "variant_id",
        ),
        ("{\"type\": \"add_to_cart\", \"cookie\": 1}", "cookie"),
        ("not json", "body"),
        ("", "body"),
    ] {
        let response = app
            .client
            .post(format!("{}/api/v1/events", app.address))
            .header("User-Agent", FIREFOX)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let answer: Value = response.json().await.unwrap();
        crate::admin_api::assert_names(400, &answer, 400, field);
    }
    let big = format!(
        "{{\"type\": \"add_to_cart\", \"query\": \"{}\"}}",
        "x".repeat(4000)
    );
    let response = app
        .client
        .post(format!("{}/api/v1/events", app.address))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16() / 100, 4);
    for (range, field) in [
        ("from=2026-02-30", "from"),
        ("to=yesterday", "to"),
        ("from=2026-12-01&to=2026-11-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "to"),
        ("since=2026-01-01", "since"),
    ] {
        let (status, body) = api(
            &app,
            "GET",
            &format!("/api/v1/admin/analytics/summary?{range}"),
            Some(&owner),
            None,
            &[],
        )
        .await;
        crate::admin_api::assert_names(status, &body, 400, field);
    }
}

async fn two_servers_writing_the_same_visitors_keep_the_day_totals_exact(backend: Backend) {
    let app = shop_behind_a_proxy(backend).await;
    // A second server's collector on the same database (its own memory, the same salts).
    let other = app::analytics::collector::Analytics::new(app.db.clone());
    let mine = app.checkout.analytics().clone();
    let (variant, _) = variant_with_stock(&app, 0, 5).await;
    let start = app::db::now_epoch() - 3 * 3600;
    for round in 0..6i64 {
        for (n, collector) in [&mine, &other].into_iter().enumerate() {
            for visitor in 0..40i64 {
                let who = Who::Visitor {
                    address_prefix: format!("10.1.{visitor}.0/24"),
                    family: "chrome",
                };
                // Some visitors come back after a break (a new session), some step further.
                let at = start + round * 1200 + visitor * 7 + n as i64;
                let kind = match (visitor + round) % 4 {
                    0 => Kind::AddToCart,
                    1 if round > 2 => Kind::CheckoutStarted,
                    _ => Kind::PageView,
                };
                let mut event = Event::new(at, kind, who);
                if visitor % 3 == 0 {
                    event.variant_id = Some(variant);
                }
                collector.record(event);
            }
        }
        let (a, b) = tokio::join!(mine.flush(), other.flush());
        a.unwrap();
        b.unwrap();
    }
    let totals: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, visitors, sessions, product_views, add_to_carts, checkouts FROM analytics_days ORDER BY day",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let from_visits: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, COUNT(*), CAST(SUM(sessions) AS BIGINT), \
         CAST(SUM(CASE WHEN (steps & 1) <> 0 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN (steps & 2) <> 0 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN (steps & 4) <> 0 THEN 1 ELSE 0 END) AS BIGINT) \
         FROM analytics_visits GROUP BY day ORDER BY day",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(totals, from_visits);
    let visitors: i64 = totals.iter().map(|t| t.1).sum();
    assert!(visitors >= 40, "{totals:?}");
    // 20-minute rounds: nobody was away 30 minutes, so one session each per day.
    assert_eq!(totals.iter().map(|t| t.2).sum::<i64>(), visitors);
}
