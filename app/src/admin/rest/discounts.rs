//! Discounts: list, create, read, change (JSON merge patch), deactivate, and the orders that
//! used one. Products and collections are named by slug, as staff know them; the shop keeps
//! their ids, so a renamed product stays in its discounts.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::{
    audited, body, check_count, check_text, id_page, path_id, rfc3339, shop_currency, ApiError,
    Audited, Caller, ErrorBody, MoneyIn, Problems,
};
use crate::admin::auth::Account;
use crate::admin::service::Admin;
use crate::admin::{Access, AdminError};
use crate::db::{now_epoch, Sql};
use crate::money::{Currency, Money};
use crate::orders::order_number;
use crate::promotions::code_problem;
use crate::promotions::discounts::{self, Combines, Discount, Kind, Offer, Selection, Usage};
use crate::promotions::store::{self, Managed};
use crate::time::parse_rfc3339;

/// Products or collections one discount may name.
const MAX_TARGETS: usize = 1_000;

/// Products and collections, by slug.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    products: Vec<String>,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    collections: Vec<String>,
}

/// What the shopper buys to qualify for a buy-X-get-Y discount.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyIn {
    quantity: i64,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    products: Vec<String>,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    collections: Vec<String>,
}

/// What the shopper gets: `quantity` units of these at `percent` off (100: free).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetIn {
    quantity: i64,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    products: Vec<String>,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    collections: Vec<String>,
    #[serde(default)]
    percent: Option<f64>,
}

/// A discount as staff write it. Optional fields take `null` and absence alike.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountIn {
    title: String,
    /// The code shoppers type (letters, digits, `-`, `_`; case does not matter); `null`:
    /// automatic, applied whenever its conditions hold.
    #[serde(default)]
    code: Option<String>,
    /// `percentage`, `fixed_amount`, `free_shipping` or `buy_x_get_y`.
    kind: String,
    /// For `percentage`: 0.01 to 100.
    #[serde(default)]
    percent: Option<f64>,
    /// For `fixed_amount`: off the order, or off each unit of `applies_to`.
    #[serde(default)]
    amount: Option<MoneyIn>,
    /// For `percentage` and `fixed_amount`: only these products (and those in these
    /// collections); the whole order when absent.
    #[serde(default)]
    applies_to: Option<Targets>,
    #[serde(default)]
    buy: Option<BuyIn>,
    #[serde(default)]
    get: Option<GetIn>,
    /// For `buy_x_get_y`: how many times one order may use it.
    #[serde(default)]
    max_uses_per_order: Option<i64>,
    /// For `free_shipping`: only to these countries (ISO codes); everywhere when absent.
    #[serde(default)]
    countries: Option<Vec<String>>,
    /// For `free_shipping`: only for shipping rates up to this price.
    #[serde(default)]
    max_shipping_rate: Option<MoneyIn>,
    #[serde(default)]
    minimum_subtotal: Option<MoneyIn>,
    #[serde(default)]
    minimum_quantity: Option<i64>,
    /// RFC 3339.
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    /// Orders that may use it in all.
    #[serde(default)]
    usage_limit: Option<i64>,
    #[serde(default)]
    once_per_customer: Option<bool>,
    /// Only for customers (or emails) that have never ordered.
    #[serde(default)]
    first_order_only: Option<bool>,
    /// The classes of discount this one applies together with: `order`, `product`, `shipping`.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    combines_with: Vec<String>,
}

/// A discount as the API shows it: the fields it was written with, and where it stands.
#[derive(Serialize, ToSchema)]
pub struct DiscountOut {
    pub(crate) id: i64,
    #[serde(flatten)]
    fields: DiscountIn,
    /// Orders that hold a use (a failed or expired payment gives its use back).
    times_used: u32,
    /// `active`, `scheduled`, `expired`, `used_up` or `inactive`.
    status: &'static str,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DiscountList {
    items: Vec<DiscountOut>,
    next_cursor: Option<String>,
}

/// An order that used a discount.
#[derive(Serialize, ToSchema)]
pub struct DiscountUse {
    order: String,
    email: String,
    /// What the discount took from this order.
    amount: Money,
    order_status: String,
    /// The order's payment failed or expired: its use was given back.
    released: bool,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DiscountUses {
    items: Vec<DiscountUse>,
    next_cursor: Option<String>,
}

/// Slugs by id, for products and collections.
#[derive(Default)]
struct Names {
    products: Vec<(i64, String)>,
    collections: Vec<(i64, String)>,
}

impl Names {
    async fn of(admin: &Admin, offers: &[&Offer]) -> Result<Names, ApiError> {
        let mut products = Vec::new();
        let mut collections = Vec::new();
        for offer in offers {
            for selection in offer.discount.kind.selections() {
                products.extend(selection.products.iter().copied());
                collections.extend(selection.collections.iter().copied());
            }
        }
        let pool = admin.checkout().db().pool();
        let mut names = Names::default();
        for (table, ids, out) in [
            ("products", products, &mut names.products),
            ("collections", collections, &mut names.collections),
        ] {
            if ids.is_empty() {
                continue;
            }
            let mut sql = Sql::default();
            sql.push(&format!("SELECT id, slug FROM {table} WHERE id IN "))
                .bind_list(ids);
            for row in sql.query().fetch_all(pool).await? {
                out.push((row.try_get("id")?, row.try_get("slug")?));
            }
        }
        Ok(names)
    }

    fn slugs(list: &[(i64, String)], ids: &[i64]) -> Vec<String> {
        ids.iter()
            .filter_map(|id| list.iter().find(|(i, _)| i == id).map(|(_, s)| s.clone()))
            .collect()
    }
}

fn percent_of(bp: u32) -> f64 {
    f64::from(bp) / 100.0
}

fn money_in(amount: i64, currency: Currency) -> MoneyIn {
    MoneyIn {
        amount,
        currency: currency.code().to_string(),
    }
}

/// A stored discount in the API's words.
fn discount_out(managed: &Managed, names: &Names, currency: Currency, now: i64) -> DiscountOut {
    let Offer { discount, usage } = &managed.offer;
    let products = |ids: &[i64]| Names::slugs(&names.products, ids);
    let collections = |ids: &[i64]| Names::slugs(&names.collections, ids);
    let targets = |on: &Selection| {
        (!on.is_everything()).then(|| Targets {
            products: products(&on.products),
            collections: collections(&on.collections),
        })
    };
    let mut fields = DiscountIn {
        title: discount.title.clone(),
        code: discount.code.clone(),
        kind: discount.kind.name().to_string(),
        percent: None,
        amount: None,
        applies_to: None,
        buy: None,
        get: None,
        max_uses_per_order: None,
        countries: None,
        max_shipping_rate: None,
        minimum_subtotal: discount.minimum_subtotal.map(|m| money_in(m, currency)),
        minimum_quantity: discount.minimum_quantity.map(i64::from),
        starts_at: usage.starts_at.map(rfc3339),
        ends_at: usage.ends_at.map(rfc3339),
        usage_limit: usage.usage_limit.map(i64::from),
        once_per_customer: Some(usage.once_per_customer),
        first_order_only: Some(usage.first_order_only),
        combines_with: [
            ("order", discount.combines.order),
            ("product", discount.combines.product),
            ("shipping", discount.combines.shipping),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_string())
        .collect(),
    };
    match &discount.kind {
        Kind::ProductPercent { percent_bp, on } => {
            fields.percent = Some(percent_of(*percent_bp));
            fields.applies_to = targets(on);
        }
        Kind::OrderPercent { percent_bp } => fields.percent = Some(percent_of(*percent_bp)),
        Kind::ProductAmount { amount, on } => {
            fields.amount = Some(money_in(*amount, currency));
            fields.applies_to = targets(on);
        }
        Kind::OrderAmount { amount } => fields.amount = Some(money_in(*amount, currency)),
        Kind::FreeShipping {
            countries,
            max_rate,
        } => {
            fields.countries = (!countries.is_empty()).then(|| countries.clone());
            fields.max_shipping_rate = max_rate.map(|m| money_in(m, currency));
        }
        Kind::BuyXGetY {
            buy,
            buy_quantity,
            get,
            get_quantity,
            percent_bp,
            max_uses,
        } => {
            fields.buy = Some(BuyIn {
                quantity: i64::from(*buy_quantity),
                products: products(&buy.products),
                collections: collections(&buy.collections),
            });
            fields.get = Some(GetIn {
                quantity: i64::from(*get_quantity),
                products: products(&get.products),
                collections: collections(&get.collections),
                percent: Some(percent_of(*percent_bp)),
            });
            fields.max_uses_per_order = max_uses.map(i64::from);
        }
    }
    DiscountOut {
        id: discount.id,
        fields,
        times_used: usage.times_used,
        status: discounts::status(usage, now),
        created_at: rfc3339(managed.created_at),
        updated_at: rfc3339(managed.updated_at),
    }
}

pub(crate) async fn one_out(admin: &Admin, id: i64) -> Result<DiscountOut, ApiError> {
    let managed = store::by_id(admin.checkout().db().pool(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Discount {id}")))?;
    let names = Names::of(admin, &[&managed.offer]).await?;
    let currency = shop_currency(admin).await?;
    Ok(discount_out(&managed, &names, currency, now_epoch()))
}

/// A percentage as basis points: 0.01 to 100, at most two decimals.
fn percent_bp(field: &str, percent: Option<f64>, problems: &mut Problems) -> u32 {
    let Some(percent) = percent else {
        problems.add(field, "enter a percentage from 0.01 to 100");
        return 0;
    };
    let bp = (percent * 100.0).round();
    if !percent.is_finite()
        || !(1.0..=10_000.0).contains(&bp)
        || (percent * 100.0 - bp).abs() > 1e-6
    {
        problems.add(
            field,
            "enter a percentage from 0.01 to 100, with at most two decimals",
        );
        return 0;
    }
    bp as u32
}

fn positive_count(field: &str, value: i64, problems: &mut Problems) -> u32 {
    match u32::try_from(value) {
        Ok(n) if (1..=1_000_000).contains(&n) => n,
        _ => {
            problems.add(field, "enter a whole number from 1 to 1,000,000");
            0
        }
    }
}

/// Slugs to ids; an unknown one is named by its path (`applies_to.products[2]`).
async fn resolve(
    conn: &mut AnyConnection,
    table: &str,
    field: &str,
    slugs: &[String],
    problems: &mut Problems,
) -> Result<Vec<i64>, ApiError> {
    if slugs.len() > MAX_TARGETS {
        problems.add(field, format!("name at most {MAX_TARGETS}"));
        return Ok(Vec::new());
    }
    let mut ids = Vec::with_capacity(slugs.len());
    for (i, slug) in slugs.iter().enumerate() {
        let id: Option<i64> =
            sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE slug = $1"))
                .bind(slug.trim())
                .fetch_optional(&mut *conn)
                .await?;
        match id {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => problems.add(
                format!("{field}[{i}]"),
                format!("there is no {} '{slug}'", &table[..table.len() - 1]),
            ),
        }
    }
    Ok(ids)
}

async fn selection(
    conn: &mut AnyConnection,
    field: &str,
    products: &[String],
    collections: &[String],
    problems: &mut Problems,
) -> Result<Selection, ApiError> {
    Ok(Selection {
        products: resolve(
            conn,
            "products",
            &format!("{field}.products"),
            products,
            problems,
        )
        .await?,
        collections: resolve(
            conn,
            "collections",
            &format!("{field}.collections"),
            collections,
            problems,
        )
        .await?,
    })
}

/// Checks a discount as written and turns it into the engine's terms; every problem is
/// reported at once, named by its path. `id` is the discount being changed (its own code is
/// not a clash).
async fn parse(
    conn: &mut AnyConnection,
    input: &DiscountIn,
    id: Option<i64>,
    currency: Currency,
) -> Result<Offer, ApiError> {
    let mut problems = Problems::default();
    check_text(&mut problems, "title", &input.title, 1, 200);
    let code = input
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    if let Some(code) = &code {
        if let Some(problem) = code_problem(code) {
            problems.add(
                "code",
                problem.replace("A code", "a code").trim_end_matches('.'),
            );
        } else if let Some(holder) = store::holder_of_code(conn, code).await? {
            if Some(holder) != id {
                problems.add("code", format!("discount {holder} already has this code"));
            }
        }
    }
    let money =
        |field: &str, m: &MoneyIn, problems: &mut Problems| m.check(field, currency, 1, problems);
    let targets = input.applies_to.clone().unwrap_or_default();
    let on = selection(
        conn,
        "applies_to",
        &targets.products,
        &targets.collections,
        &mut problems,
    )
    .await?;
    let kind = match input.kind.as_str() {
        "percentage" => {
            let percent_bp = percent_bp("percent", input.percent, &mut problems);
            if on.is_everything() {
                Kind::OrderPercent { percent_bp }
            } else {
                Kind::ProductPercent { percent_bp, on }
            }
        }
        "fixed_amount" => {
            let amount = match &input.amount {
                Some(m) => money("amount", m, &mut problems),
                None => {
                    problems.add("amount", "enter the amount off, as {amount, currency}");
                    0
                }
            };
            if on.is_everything() {
                Kind::OrderAmount { amount }
            } else {
                Kind::ProductAmount { amount, on }
            }
        }
        "free_shipping" => {
            let countries: Vec<String> = input
                .countries
                .clone()
                .unwrap_or_default()
                .iter()
                .map(|c| c.trim().to_ascii_uppercase())
                .collect();
            for (i, c) in countries.iter().enumerate() {
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    problems.add(
                        format!("countries[{i}]"),
                        "use a two-letter ISO country code",
                    );
                }
            }
            Kind::FreeShipping {
                countries,
                max_rate: input
                    .max_shipping_rate
                    .as_ref()
                    .map(|m| money("max_shipping_rate", m, &mut problems)),
            }
        }
        "buy_x_get_y" => {
            let (buy, buy_quantity) = match &input.buy {
                Some(b) => (
                    selection(conn, "buy", &b.products, &b.collections, &mut problems).await?,
                    positive_count("buy.quantity", b.quantity, &mut problems),
                ),
                None => {
                    problems.add(
                        "buy",
                        "say what the shopper buys: {quantity, products, collections}",
                    );
                    (Selection::default(), 0)
                }
            };
            let (get, get_quantity, percent_bp) = match &input.get {
                Some(g) => (
                    selection(conn, "get", &g.products, &g.collections, &mut problems).await?,
                    positive_count("get.quantity", g.quantity, &mut problems),
                    percent_bp(
                        "get.percent",
                        Some(g.percent.unwrap_or(100.0)),
                        &mut problems,
                    ),
                ),
                None => {
                    problems.add(
                        "get",
                        "say what the shopper gets: {quantity, products, collections, percent}",
                    );
                    (Selection::default(), 0, 0)
                }
            };
            Kind::BuyXGetY {
                buy,
                buy_quantity,
                get,
                get_quantity,
                percent_bp,
                max_uses: input
                    .max_uses_per_order
                    .map(|n| positive_count("max_uses_per_order", n, &mut problems)),
            }
        }
        other => {
            problems.add(
                "kind",
                format!("'{other}' is not a kind; use percentage, fixed_amount, free_shipping or buy_x_get_y"),
            );
            Kind::OrderAmount { amount: 0 }
        }
    };
    // Fields that belong to another kind are refused rather than silently ignored.
    let stray: &[(&str, bool)] = &[
        (
            "percent",
            input.percent.is_some() && input.kind != "percentage",
        ),
        (
            "amount",
            input.amount.is_some() && input.kind != "fixed_amount",
        ),
        (
            "applies_to",
            input.applies_to.is_some()
                && !matches!(input.kind.as_str(), "percentage" | "fixed_amount"),
        ),
        ("buy", input.buy.is_some() && input.kind != "buy_x_get_y"),
        ("get", input.get.is_some() && input.kind != "buy_x_get_y"),
        (
            "max_uses_per_order",
            input.max_uses_per_order.is_some() && input.kind != "buy_x_get_y",
        ),
        (
            "countries",
            input.countries.is_some() && input.kind != "free_shipping",
        ),
        (
            "max_shipping_rate",
            input.max_shipping_rate.is_some() && input.kind != "free_shipping",
        ),
    ];
    for (field, wrong) in stray {
        if *wrong {
            problems.add(
                *field,
                format!("does not apply to a {} discount", input.kind),
            );
        }
    }
    let time = |field: &str, text: &Option<String>, problems: &mut Problems| {
        text.as_deref().and_then(|t| {
            let parsed = parse_rfc3339(t);
            if parsed.is_none() {
                problems.add(field, "use RFC 3339, such as 2026-12-24T18:00:00Z");
            }
            parsed
        })
    };
    let starts_at = time("starts_at", &input.starts_at, &mut problems);
    let ends_at = time("ends_at", &input.ends_at, &mut problems);
    if let (Some(start), Some(end)) = (starts_at, ends_at) {
        if end <= start {
            problems.add("ends_at", "must be after starts_at");
        }
    }
    let minimum_subtotal = input
        .minimum_subtotal
        .as_ref()
        .map(|m| money("minimum_subtotal", m, &mut problems));
    let minimum_quantity = input
        .minimum_quantity
        .map(|n| positive_count("minimum_quantity", n, &mut problems));
    let usage_limit = check_count(&mut problems, "usage_limit", input.usage_limit)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let mut combines = Combines::default();
    for (i, class) in input.combines_with.iter().enumerate() {
        match class.as_str() {
            "order" => combines.order = true,
            "product" => combines.product = true,
            "shipping" => combines.shipping = true,
            other => problems.add(
                format!("combines_with[{i}]"),
                format!("'{other}' is not a class; use order, product or shipping"),
            ),
        }
    }
    problems.finish()?;
    Ok(Offer {
        discount: Discount {
            id: id.unwrap_or(0),
            title: input.title.trim().to_string(),
            code,
            kind,
            combines,
            minimum_subtotal,
            minimum_quantity,
        },
        usage: Usage {
            starts_at,
            ends_at,
            active: true,
            usage_limit,
            times_used: 0,
            once_per_customer: input.once_per_customer.unwrap_or(false),
            used_by_customer: false,
            first_order_only: input.first_order_only.unwrap_or(false),
            has_ordered: false,
        },
    })
}

/// Saves a discount written in the API's JSON, new (`id` None) or over discount `id`: the
/// admin's form sends it this way too, so there is one set of checks.
pub(crate) async fn save_json(
    admin: &Admin,
    account: &Account,
    id: Option<i64>,
    value: Value,
) -> Result<i64, ApiError> {
    let input: DiscountIn = body(Ok(Json(value)))?;
    let currency = shop_currency(admin).await?;
    let action = if id.is_some() {
        "Discount changed"
    } else {
        "Discount created"
    };
    let saved = audited(admin, account, action, move |conn| {
        Box::pin(async move {
            let offer = parse(conn, &input, id, currency).await?;
            let saved = store::save(conn, id, &offer, now_epoch())
                .await?
                .ok_or_else(|| ApiError::not_found(&format!("Discount {}", id.unwrap_or(0))))?;
            Ok(Audited {
                value: saved,
                subject: format!("discount:{saved}"),
                detail: offer.discount.title.clone(),
            })
        })
    })
    .await?;
    admin.checkout().forget_rules().await;
    Ok(saved)
}

/// Turns discount `id` off (see [`deactivate_discount`]).
pub(crate) async fn deactivate(admin: &Admin, account: &Account, id: i64) -> Result<(), ApiError> {
    audited(admin, account, "Discount deactivated", move |conn| {
        Box::pin(async move {
            if !store::deactivate(conn, id, now_epoch()).await? {
                return Err(ApiError::not_found(&format!("Discount {id}")));
            }
            Ok(Audited {
                value: (),
                subject: format!("discount:{id}"),
                detail: String::new(),
            })
        })
    })
    .await?;
    admin.checkout().forget_rules().await;
    Ok(())
}

/// `?cursor=` and `?limit=` of a keyset list.

#[utoipa::path(get, path = "/api/v1/admin/discounts", tag = "admin", security(("bearer" = [])),
    params(
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor."),
        ("limit" = Option<i64>, Query, description = "1 to 200; 50 by default."),
    ),
    responses((status = 200, body = DiscountList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_discounts(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let (before, limit) = id_page(raw.as_deref())?;
    let mut managed = store::list(admin.checkout().db().pool(), before, limit + 1).await?;
    let more = managed.len() as i64 > limit;
    managed.truncate(limit as usize);
    let offers: Vec<&Offer> = managed.iter().map(|m| &m.offer).collect();
    let names = Names::of(&admin, &offers).await?;
    let currency = shop_currency(&admin).await?;
    let now = now_epoch();
    Ok(Json(DiscountList {
        next_cursor: more
            .then(|| managed.last().map(|m| m.offer.discount.id.to_string()))
            .flatten(),
        items: managed
            .iter()
            .map(|m| discount_out(m, &names, currency, now))
            .collect(),
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/discounts/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The discount's id.")),
    responses((status = 200, body = DiscountOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_discount(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let id = path_id(&id, "Discount")?;
    Ok(Json(one_out(&admin, id).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/discounts", tag = "admin", security(("bearer" = [])),
    request_body = DiscountIn,
    responses((status = 201, body = DiscountOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_discount(
    State(admin): State<Admin>,
    caller: Caller,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: DiscountIn = body(request)?;
    let value = serde_json::to_value(&input).map_err(|_| ApiError::from(AdminError::Internal))?;
    let id = save_json(&admin, &account, None, value).await?;
    Ok((StatusCode::CREATED, Json(one_out(&admin, id).await?)).into_response())
}

/// Applies an RFC 7396 merge patch: `null` removes a field, an object merges, anything else
/// replaces.
fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(&key);
                } else {
                    merge(target.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

/// Changes a discount: send only what changes (`null` clears an optional field). The whole
/// result is checked as a new discount would be; its uses so far stay.
#[utoipa::path(method(patch, post), path = "/api/v1/admin/discounts/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The discount's id.")),
    request_body(content = Object, description = "A JSON merge patch (RFC 7396) of the discount's fields."),
    responses((status = 200, body = DiscountOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn update_discount(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&id, "Discount")?;
    // Checked as a body first: malformed JSON is a 400, a non-object a 422.
    let patch: serde_json::Map<String, Value> = body(request)?;
    let current = one_out(&admin, id).await?;
    let mut merged = serde_json::to_value(&current.fields)
        .map_err(|_| ApiError::from(crate::admin::AdminError::Internal))?;
    // A change of kind starts from the kind's own fields, not the old kind's.
    if patch
        .get("kind")
        .is_some_and(|k| k.as_str() != Some(current.fields.kind.as_str()))
    {
        if let Value::Object(map) = &mut merged {
            for field in [
                "percent",
                "amount",
                "applies_to",
                "buy",
                "get",
                "max_uses_per_order",
                "countries",
                "max_shipping_rate",
            ] {
                map.remove(field);
            }
        }
    }
    merge(&mut merged, Value::Object(patch));
    if let Value::Object(map) = &mut merged {
        map.retain(|_, v| !v.is_null());
    }
    save_json(&admin, &account, Some(id), merged).await?;
    Ok(Json(one_out(&admin, id).await?).into_response())
}

/// Turns a discount off: no new order takes it; orders that used it keep it.
#[utoipa::path(post, path = "/api/v1/admin/discounts/{id}/deactivate", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The discount's id.")),
    responses((status = 200, body = DiscountOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn deactivate_discount(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&id, "Discount")?;
    deactivate(&admin, &account, id).await?;
    Ok(Json(one_out(&admin, id).await?).into_response())
}

/// The orders that used a discount, newest first.
#[utoipa::path(get, path = "/api/v1/admin/discounts/{id}/orders", tag = "admin", security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The discount's id."),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor."),
        ("limit" = Option<i64>, Query, description = "1 to 200; 50 by default."),
    ),
    responses((status = 200, body = DiscountUses), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn discount_orders(
    State(admin): State<Admin>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let id = path_id(&id, "Discount")?;
    let (before, limit) = id_page(raw.as_deref())?;
    let pool = admin.checkout().db().pool();
    store::by_id(pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("Discount {id}")))?;
    let mut uses = store::uses(pool, id, before, limit + 1).await?;
    let more = uses.len() as i64 > limit;
    uses.truncate(limit as usize);
    let mut items = Vec::with_capacity(uses.len());
    for u in &uses {
        let currency = Currency::parse(&u.currency)
            .map_err(|_| crate::db::decode_error("currency", &u.currency))?;
        items.push(DiscountUse {
            order: order_number(u.order_id),
            email: u.email.clone(),
            amount: Money::new(u.amount, currency),
            order_status: u.status.clone(),
            released: u.released,
            created_at: rfc3339(u.created_at),
        });
    }
    Ok(Json(DiscountUses {
        next_cursor: more
            .then(|| uses.last().map(|u| u.order_id.to_string()))
            .flatten(),
        items,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_replaces_merges_and_removes() {
        let mut target = serde_json::json!({"title": "A", "ends_at": "x", "get": {"quantity": 1, "percent": 50.0}});
        merge(
            &mut target,
            serde_json::json!({"title": "B", "ends_at": null, "get": {"percent": 100.0}}),
        );
        assert_eq!(
            target,
            serde_json::json!({"title": "B", "get": {"quantity": 1, "percent": 100.0}})
        );
    }

    #[test]
    fn percentages_take_two_decimals_at_most() {
        let mut problems = Problems::default();
        assert_eq!(percent_bp("p", Some(12.5), &mut problems), 1250);
        assert_eq!(percent_bp("p", Some(100.0), &mut problems), 10_000);
        assert!(problems.0.is_empty());
        percent_bp("p", Some(0.001), &mut problems);
        percent_bp("p", Some(100.5), &mut problems);
        percent_bp("p", Some(f64::NAN), &mut problems);
        percent_bp("p", None, &mut problems);
        assert_eq!(problems.0.len(), 4);
    }
}
