//! `/admin/analytics`: a date range (with the period before to compare), the headline figures,
//! visitors and revenue per day, the funnel, products, searches, sources and discount codes.
//! Charts are SVG drawn here (no chart library, no JavaScript); every table downloads as CSV
//! from `/admin/analytics/export/{report}`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::pages::{failure, Flash};
use super::AdminError;
use crate::analytics::{
    DayReport, DiscountReport, Funnel, ProductReport, SearchReport, SourceReport, Summary,
};
use crate::components::when_loaded;
use crate::money::Money;

/// What the page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsPage {
    pub from: String,
    pub to: String,
    pub today: String,
    pub time_zone: String,
    pub summary: Summary,
    /// The same figures for the period just before, as long.
    pub previous: Summary,
    pub days: Vec<DayReport>,
    pub funnel: Funnel,
    pub products: Vec<ProductReport>,
    pub searches: Vec<SearchReport>,
    pub sources: Vec<SourceReport>,
    pub discounts: Vec<DiscountReport>,
}

/// The reports a CSV can be had of.
pub const EXPORTS: [&str; 7] = [
    "summary",
    "days",
    "funnel",
    "products",
    "searches",
    "sources",
    "discounts",
];

/// Every time zone the shop may choose (for the settings page).
pub fn time_zone_names() -> Vec<String> {
    #[cfg(feature = "ssr")]
    {
        crate::analytics::ShopClock::names()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Vec::new()
    }
}

#[server(endpoint = "admin/analytics", input = server_fn::codec::Json)]
pub async fn admin_analytics(from: String, to: String) -> Result<AnalyticsPage, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Analytics).await?;
            let db = admin.checkout().db().clone();
            let optional = |t: &str| (!t.trim().is_empty()).then(|| t.to_string());
            let (from, to) = (optional(&from), optional(&to));
            let scope =
                crate::admin::rest::analytics::scope(&admin, from.as_deref(), to.as_deref())
                    .await
                    .map_err(|e| AdminError::Invalid(e.said()))?;
            let previous = scope.previous();
            use crate::analytics::reports;
            Ok(AnalyticsPage {
                from: scope.range.from_text(),
                to: scope.range.to_text(),
                today: scope.clock.today(crate::db::now_epoch()).to_string(),
                time_zone: admin.settings().await?.time_zone,
                summary: reports::summary(&db, &scope).await?,
                previous: reports::summary(&db, &previous).await?,
                days: reports::days(&db, &scope).await?,
                funnel: reports::funnel(&db, &scope).await?,
                products: reports::products(&db, &scope).await?,
                searches: reports::searches(&db, &scope).await?,
                sources: reports::sources(&db, &scope).await?,
                discounts: reports::discounts(&db, &scope).await?,
            })
        }
        .await,
    )
}

/// "+12 %" or "−5 %" against the period before; "new" from nothing.
fn change(now: i64, before: i64) -> String {
    if before == 0 {
        return if now == 0 {
            "no change".into()
        } else {
            "new".into()
        };
    }
    let percent = (now - before) * 100 / before;
    match percent {
        0 => "no change".into(),
        p if p > 0 => format!("+{p} % vs before"),
        p => format!("−{} % vs before", -p),
    }
}

fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

/// How many days back from `today` a preset starts (`today` for 1).
fn preset(today: &str, days: i64) -> String {
    #[cfg(feature = "ssr")]
    {
        use jiff::ToSpan;
        if let Ok(day) = today.parse::<jiff::civil::Date>() {
            if let Ok(from) = day.checked_sub((days - 1).days()) {
                return format!("/admin/analytics?from={from}&to={today}");
            }
        }
    }
    let _ = days;
    format!("/admin/analytics?to={today}")
}

#[component]
pub fn AdminAnalyticsPage() -> impl IntoView {
    let query = use_query_map().read_untracked();
    let from = query.get("from").unwrap_or_default();
    let to = query.get("to").unwrap_or_default();
    view! {
        <Title text="Analytics"/>
        <Flash/>
        <h1>"Analytics"</h1>
        {when_loaded(async move {
            match admin_analytics(from, to).await {
                Ok(page) => view! { <Reports page/> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
fn Reports(page: AnalyticsPage) -> impl IntoView {
    let AnalyticsPage {
        from,
        to,
        today,
        time_zone,
        summary,
        previous,
        days,
        funnel,
        products,
        searches,
        sources,
        discounts,
    } = page;
    let range = format!("from={from}&to={to}");
    let csv = move |report: &str| format!("/admin/analytics/export/{report}?{range}");
    let money_card = |label: &'static str, now: Money, before: Money| {
        view! {
            <div class="period">
                <h2>{label}</h2>
                <p class="figure">{now.to_string()}</p>
                <p class="hint">{change(now.amount, before.amount)}</p>
            </div>
        }
    };
    let count_card = |label: &'static str, now: i64, before: i64| {
        view! {
            <div class="period">
                <h2>{label}</h2>
                <p class="figure">{now.to_string()}</p>
                <p class="hint">{change(now, before)}</p>
            </div>
        }
    };
    let no_results: Vec<SearchReport> = searches
        .iter()
        .filter(|s| s.results == 0)
        .cloned()
        .collect();
    view! {
        <form method="get" action="/admin/analytics" class="inline-fields" data-testid="analytics-range">
            <label>"From " <input type="date" name="from" value=from.clone()/></label>
            <label>"To " <input type="date" name="to" value=to.clone()/></label>
            <button type="submit">"Show"</button>
        </form>
        <nav class="tabs" aria-label="Date ranges">
            <a href=preset(&today, 1)>"Today"</a>
            <a href=preset(&today, 7)>"7 days"</a>
            <a href=preset(&today, 30)>"30 days"</a>
            <a href=preset(&today, 90)>"90 days"</a>
        </nav>
        <p class="hint">{format!("{from} to {to}, days in {time_zone}; compared with the {} days before. No cookies: a visitor is counted once a day.", days.len())}</p>
        <section class="periods" data-testid="analytics-summary">
            {count_card("Visitors", summary.visitors, previous.visitors)}
            {count_card("Visits", summary.sessions, previous.sessions)}
            {count_card("Page views", summary.page_views, previous.page_views)}
            {count_card("Orders", summary.orders, previous.orders)}
            {money_card("Revenue", summary.revenue, previous.revenue)}
            {money_card("Discounts", summary.discounts, previous.discounts)}
            {money_card("Refunds", summary.refunds, previous.refunds)}
            {count_card("Return requests", summary.returns, previous.returns)}
            {money_card("Net revenue", summary.net_revenue, previous.net_revenue)}
            {money_card("Average order", summary.aov, previous.aov)}
            <div class="period">
                <h2>"Returning customers"</h2>
                <p class="figure">{percent(summary.returning_customer_rate)}</p>
                <p class="hint">{format!("{} before", percent(previous.returning_customer_rate))}</p>
            </div>
        </section>
        <p><a href=csv("summary") download>"Download the summary (CSV)"</a></p>
        <figure class="chart">
            {day_chart(&days, "Visitors per day", |d| d.visitors)}
            <figcaption>"Visitors per day"</figcaption>
        </figure>
        <figure class="chart">
            {day_chart(&days, "Net revenue per day", |d| d.revenue.amount - d.refunds.amount)}
            <figcaption>"Net revenue per day " <a href=csv("days") download>"(CSV)"</a></figcaption>
        </figure>
        <h2 id="funnel">"Funnel"</h2>
        <FunnelTable funnel/>
        <p><a href=csv("funnel") download>"Download the funnel (CSV)"</a></p>
        <h2 id="products">"Products"</h2>
        <ScrollTable label="Products" testid="analytics-products">
            <thead><tr><th scope="col">"Product"</th><th scope="col">"Views"</th><th scope="col">"Added to cart"</th>
                <th scope="col">"Units sold"</th><th scope="col">"Revenue"</th><th scope="col">"Conversion"</th></tr></thead>
            <tbody>
                {products.into_iter().take(20).map(|p| view! {
                    <tr>
                        <td><a href=format!("/admin/products/{}", p.product_id)>{p.title.clone()}</a></td>
                        <td>{p.views}</td><td>{p.add_to_carts}</td><td>{p.units}</td>
                        <td>{p.revenue.to_string()}</td><td>{percent(p.conversion)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </ScrollTable>
        <p><a href=csv("products") download>"Download every product (CSV)"</a></p>
        <h2 id="searches">"Searches"</h2>
        <SearchTable rows=searches.into_iter().take(20).collect() testid="analytics-searches" label="Searches"/>
        <h3>"Searches that found nothing"</h3>
        {if no_results.is_empty() {
            view! { <p>"None: every search found something."</p> }.into_any()
        } else {
            view! { <SearchTable rows=no_results.into_iter().take(20).collect() testid="analytics-no-results" label="Searches that found nothing"/> }.into_any()
        }}
        <p><a href=csv("searches") download>"Download every search (CSV)"</a></p>
        <h2 id="sources">"Traffic sources"</h2>
        <ScrollTable label="Traffic sources" testid="analytics-sources">
            <thead><tr><th scope="col">"Source"</th><th scope="col">"Medium"</th><th scope="col">"Campaign"</th>
                <th scope="col">"Visitors"</th><th scope="col">"Orders"</th><th scope="col">"Revenue"</th></tr></thead>
            <tbody>
                {sources.into_iter().take(50).map(|s| view! {
                    <tr><td>{s.source.clone()}</td><td>{s.medium.clone()}</td><td>{s.campaign.clone()}</td>
                        <td>{s.visitors}</td><td>{s.orders}</td><td>{s.revenue.to_string()}</td></tr>
                }).collect_view()}
            </tbody>
        </ScrollTable>
        <p><a href=csv("sources") download>"Download the sources (CSV)"</a></p>
        <h2 id="discounts">"Discount codes"</h2>
        {if discounts.is_empty() {
            view! { <p>"No order in this range used a discount."</p> }.into_any()
        } else {
            view! {
                <ScrollTable label="Discount codes" testid="analytics-discounts">
                    <thead><tr><th scope="col">"Code"</th><th scope="col">"Discount"</th><th scope="col">"Orders"</th>
                        <th scope="col">"Taken off"</th><th scope="col">"Revenue"</th></tr></thead>
                    <tbody>
                        {discounts.into_iter().map(|d| view! {
                            <tr><td>{if d.code.is_empty() { "(automatic)".to_string() } else { d.code.clone() }}</td>
                                <td>{d.title.clone()}</td><td>{d.orders}</td>
                                <td>{d.discount.to_string()}</td><td>{d.revenue.to_string()}</td></tr>
                        }).collect_view()}
                    </tbody>
                </ScrollTable>
            }.into_any()
        }}
        <p><a href=csv("discounts") download>"Download the discount codes (CSV)"</a></p>
    }
}

/// A report's table in a named region that scrolls sideways on a phone instead of widening the
/// page; focusable, so a keyboard can scroll it too.
#[component]
fn ScrollTable(label: &'static str, testid: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="table-scroll" role="region" aria-label=label tabindex="0">
            <table class="admin-table" data-testid=testid>{children()}</table>
        </div>
    }
}

#[component]
fn FunnelTable(funnel: Funnel) -> impl IntoView {
    let first = funnel.steps.first().map(|s| s.visitors).unwrap_or(0);
    let label = |name: &str| match name {
        "visit" => "Visited",
        "product_view" => "Viewed a product",
        "add_to_cart" => "Added to cart",
        "checkout_started" => "Started checkout",
        "order" => "Ordered",
        _ => "Other",
    };
    let mut before = None::<i64>;
    let rows = funnel
        .steps
        .iter()
        .map(|step| {
            let from_previous = before
                .map(|b| percent(crate::analytics::ratio(step.visitors, b)))
                .unwrap_or_default();
            before = Some(step.visitors);
            let width = if first > 0 { step.visitors * 200 / first } else { 0 };
            view! {
                <tr data-step=step.name.clone()>
                    <th scope="row">{label(&step.name)}</th>
                    <td class="funnel-count">{step.visitors}</td>
                    <td>{from_previous}</td>
                    <td>{percent(crate::analytics::ratio(step.visitors, first))}</td>
                    <td><svg viewBox="0 0 200 12" width="200" height="12" aria-hidden="true" class="funnel-bar"><rect x="0" y="0" width=width height="12"/></svg></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <ScrollTable label="Funnel" testid="analytics-funnel">
            <thead><tr><th scope="col">"Step"</th><th scope="col">"Visitors"</th><th scope="col">"Of the step before"</th>
                <th scope="col">"Of all visitors"</th><th scope="col"><span class="visually-hidden">"Bar"</span></th></tr></thead>
            <tbody>{rows}</tbody>
        </ScrollTable>
    }
}

#[component]
fn SearchTable(
    rows: Vec<SearchReport>,
    testid: &'static str,
    label: &'static str,
) -> impl IntoView {
    view! {
        <ScrollTable label testid>
            <thead><tr><th scope="col">"Search"</th><th scope="col">"Times"</th><th scope="col">"Results"</th><th scope="col">"Results opened"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|s| view! {
                    <tr><td>{s.query.clone()}</td><td>{s.searches}</td><td>{s.results}</td><td>{s.clicks}</td></tr>
                }).collect_view()}
            </tbody>
        </ScrollTable>
    }
}

/// A bar per day, scaled to the best day, with each day's figure in its title.
fn day_chart(
    days: &[DayReport],
    label: &'static str,
    figure: fn(&DayReport) -> i64,
) -> impl IntoView {
    let values: Vec<i64> = days.iter().map(figure).collect();
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let width = (days.len() as i64 * 10).max(10);
    let bars = days
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (day, value))| {
            let height = (value.max(&0) * 100 / max).max(if *value > 0 { 2 } else { 0 });
            view! { <rect x=i as i64 * 10 y=100 - height width=8 height=height><title>{format!("{}: {value}", day.day)}</title></rect> }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {width} 100") role="img" aria-label=label class="revenue-chart" preserveAspectRatio="none">
            {bars}
        </svg>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use axum::extract::{Path, RawQuery, State};
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};

    use crate::admin::listed::ListedRouter;
    use crate::admin::service::Admin;
    use crate::admin::{Access, AdminError};
    use crate::analytics::reports;

    pub fn listed_routes<S>() -> ListedRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        ListedRouter::default().get("/admin/analytics/export/{report}", export)
    }

    pub fn routes<S>() -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        listed_routes().into_router()
    }

    /// A cell as a spreadsheet will not run it: text starting like a formula gets a `'`.
    pub fn cell(text: &str) -> String {
        if text.parse::<f64>().is_ok() {
            return text.to_string();
        }
        match text.chars().next() {
            Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
            _ => text.to_string(),
        }
    }

    fn amount(money: crate::money::Money) -> String {
        crate::money::Money::new(money.amount, money.currency)
            .to_string()
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
            .collect()
    }

    async fn export(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(report): Path<String>,
        RawQuery(raw): RawQuery,
    ) -> Response {
        if !super::EXPORTS.contains(&report.as_str()) {
            return AdminError::NotFound("This report".into()).into_response();
        }
        let result = async {
            admin.authorize(&headers, Access::Analytics).await?;
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
            let get = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            let scope = crate::admin::rest::analytics::scope(&admin, get("from"), get("to"))
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            let db = admin.checkout().db();
            let mut rows: Vec<Vec<String>> = Vec::new();
            match report.as_str() {
                "summary" => {
                    let s = reports::summary(db, &scope).await?;
                    rows.push(
                        [
                            "visitors",
                            "sessions",
                            "page_views",
                            "returns",
                            "orders",
                            "revenue",
                            "gross",
                            "discounts",
                            "refunds",
                            "net_revenue",
                            "aov",
                            "returning_customer_rate",
                            "currency",
                        ]
                        .map(String::from)
                        .to_vec(),
                    );
                    rows.push(vec![
                        s.visitors.to_string(),
                        s.sessions.to_string(),
                        s.page_views.to_string(),
                        s.returns.to_string(),
                        s.orders.to_string(),
                        amount(s.revenue),
                        amount(s.gross),
                        amount(s.discounts),
                        amount(s.refunds),
                        amount(s.net_revenue),
                        amount(s.aov),
                        s.returning_customer_rate.to_string(),
                        scope.currency.code().to_string(),
                    ]);
                }
                "days" => {
                    rows.push(
                        [
                            "day",
                            "visitors",
                            "page_views",
                            "orders",
                            "revenue",
                            "refunds",
                        ]
                        .map(String::from)
                        .to_vec(),
                    );
                    for d in reports::days(db, &scope).await? {
                        rows.push(vec![
                            d.day,
                            d.visitors.to_string(),
                            d.page_views.to_string(),
                            d.orders.to_string(),
                            amount(d.revenue),
                            amount(d.refunds),
                        ]);
                    }
                }
                "funnel" => {
                    rows.push(["step", "visitors"].map(String::from).to_vec());
                    for step in reports::funnel(db, &scope).await?.steps {
                        rows.push(vec![step.name, step.visitors.to_string()]);
                    }
                }
                "products" => {
                    rows.push(
                        [
                            "slug",
                            "title",
                            "views",
                            "add_to_carts",
                            "units",
                            "revenue",
                            "conversion",
                        ]
                        .map(String::from)
                        .to_vec(),
                    );
                    for p in reports::products(db, &scope).await? {
                        rows.push(vec![
                            p.slug,
                            p.title,
                            p.views.to_string(),
                            p.add_to_carts.to_string(),
                            p.units.to_string(),
                            amount(p.revenue),
                            p.conversion.to_string(),
                        ]);
                    }
                }
                "searches" => {
                    rows.push(
                        ["query", "searches", "results", "clicks"]
                            .map(String::from)
                            .to_vec(),
                    );
                    for s in reports::searches(db, &scope).await? {
                        rows.push(vec![
                            s.query,
                            s.searches.to_string(),
                            s.results.to_string(),
                            s.clicks.to_string(),
                        ]);
                    }
                }
                "sources" => {
                    rows.push(
                        [
                            "source", "medium", "campaign", "visitors", "orders", "revenue",
                        ]
                        .map(String::from)
                        .to_vec(),
                    );
                    for s in reports::sources(db, &scope).await? {
                        rows.push(vec![
                            s.source,
                            s.medium,
                            s.campaign,
                            s.visitors.to_string(),
                            s.orders.to_string(),
                            amount(s.revenue),
                        ]);
                    }
                }
                _ => {
                    rows.push(
                        ["code", "title", "orders", "discount", "revenue"]
                            .map(String::from)
                            .to_vec(),
                    );
                    for d in reports::discounts(db, &scope).await? {
                        rows.push(vec![
                            d.code,
                            d.title,
                            d.orders.to_string(),
                            amount(d.discount),
                            amount(d.revenue),
                        ]);
                    }
                }
            }
            let mut csv = csv::Writer::from_writer(Vec::new());
            for row in rows {
                csv.write_record(row.iter().map(|c| cell(c)))
                    .map_err(|_| AdminError::Internal)?;
            }
            let bytes = csv.into_inner().map_err(|_| AdminError::Internal)?;
            Ok::<_, AdminError>((bytes, scope.range.from_text(), scope.range.to_text()))
        }
        .await;
        match result {
            Ok((bytes, from, to)) => {
                crate::admin::respond::csv_download(bytes, &format!("{report}-{from}-{to}.csv"))
            }
            Err(error) => error.into_response(),
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn cells_that_look_like_formulas_are_not_run() {
            assert_eq!(super::cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
            assert_eq!(super::cell("-2+3"), "'-2+3");
            assert_eq!(super::cell("merino"), "merino");
        }
    }
}
