//! The discounts pages: the list with each discount's status and uses, and one form to make or
//! change a discount, with the orders that used it. The forms post here; what they send is
//! turned into the admin API's JSON and saved by the API's own checks
//! (`rest::discounts::save_json`), so the page and integrations cannot disagree.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::pages::{failure, Flash};
use super::AdminError;
use crate::components::when_loaded;

/// A discount in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountRow {
    pub id: i64,
    pub title: String,
    /// Empty for an automatic discount.
    pub code: String,
    /// "10 % off the order", "€5.00 off each unit", "Free shipping", "Buy 2, get 1 free".
    pub does: String,
    pub status: String,
    pub times_used: u32,
    pub usage_limit: Option<u32>,
}

/// The form's fields as text, as the page fills them and as the browser posts them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscountForm {
    pub title: String,
    pub code: String,
    pub kind: String,
    pub percent: String,
    pub amount: String,
    pub products: String,
    pub collections: String,
    pub buy_quantity: String,
    pub buy_products: String,
    pub buy_collections: String,
    pub get_quantity: String,
    pub get_products: String,
    pub get_collections: String,
    pub get_percent: String,
    pub max_uses_per_order: String,
    pub countries: String,
    pub max_shipping_rate: String,
    pub minimum_subtotal: String,
    pub minimum_quantity: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    pub starts_at: String,
    pub ends_at: String,
    pub usage_limit: String,
    pub once_per_customer: Option<String>,
    pub first_order_only: Option<String>,
    pub combines_order: Option<String>,
    pub combines_product: Option<String>,
    pub combines_shipping: Option<String>,
}

/// An order that used a discount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountUseRow {
    pub order: String,
    pub email: String,
    pub amount: String,
    pub status: String,
    pub released: bool,
    pub at: String,
}

/// One discount for its page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiscountEditor {
    pub id: i64,
    pub form: DiscountForm,
    pub status: String,
    pub times_used: u32,
    pub uses: Vec<DiscountUseRow>,
    pub currency: String,
}

#[server(endpoint = "admin/discounts", input = server_fn::codec::Json)]
pub async fn admin_discounts() -> Result<Vec<DiscountRow>, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Staff).await?;
            ssr::rows(&admin).await
        }
        .await,
    )
}

#[server(endpoint = "admin/discount", input = server_fn::codec::Json)]
pub async fn admin_discount(id: i64) -> Result<DiscountEditor, AdminError> {
    super::with_status(
        async {
            let (admin, _) = super::require(super::Access::Staff).await?;
            ssr::editor(&admin, id).await
        }
        .await,
    )
}

#[component]
pub fn AdminDiscountsPage() -> impl IntoView {
    view! {
        <Title text="Discounts"/>
        <Flash/>
        <div class="admin-heading">
            <h1>"Discounts"</h1>
            <span>
                <a class="button" href="/admin/gift-cards">"Gift cards"</a>" "
                <a class="button primary" href="/admin/discounts/new">"New discount"</a>
            </span>
        </div>
        <p class="hint">"A code is typed by the shopper at the cart or checkout; an automatic discount applies by itself whenever its conditions hold. Product discounts apply first, then order discounts on what remains, then shipping."</p>
        {when_loaded(async move {
            match admin_discounts().await {
                Ok(rows) if rows.is_empty() => view! { <p>"No discounts yet."</p> }.into_any(),
                Ok(rows) => view! {
                    <table class="admin-table" data-testid="discounts-table">
                        <thead><tr>
                            <th scope="col">"Discount"</th><th scope="col">"Code"</th><th scope="col">"What it does"</th>
                            <th scope="col">"Status"</th><th scope="col">"Used"</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| view! {
                                <tr data-testid="discount-row">
                                    <td><a href=format!("/admin/discounts/{}", row.id)>{row.title}</a></td>
                                    <td>{if row.code.is_empty() { view! { <em>"automatic"</em> }.into_any() } else { view! { <code>{row.code}</code> }.into_any() }}</td>
                                    <td>{row.does}</td>
                                    <td><span class=format!("badge status-{}", row.status)>{row.status.replace('_', " ")}</span></td>
                                    <td>{match row.usage_limit {
                                        Some(limit) => format!("{} of {limit}", row.times_used),
                                        None => row.times_used.to_string(),
                                    }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

#[component]
pub fn AdminDiscountPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.read_untracked().get("discount").unwrap_or_default();
    if id == "new" {
        return view! {
            <Title text="New discount"/>
            <Flash/>
            <p><a href="/admin/discounts">"← Discounts"</a></p>
            <h1>"New discount"</h1>
            <DiscountFields action="/admin/discounts".to_string() form=DiscountForm {
                kind: "percentage".into(),
                get_percent: "100".into(),
                combines_shipping: Some("on".into()),
                ..DiscountForm::default()
            } currency=String::new()/>
        }
        .into_any();
    }
    let id = id.parse::<i64>().unwrap_or(0);
    view! {
        <Title text="Discount"/>
        <Flash/>
        <p><a href="/admin/discounts">"← Discounts"</a></p>
        {when_loaded(async move {
            match admin_discount(id).await {
                Ok(editor) => view! { <Editor editor/> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
    .into_any()
}

#[component]
fn Editor(editor: DiscountEditor) -> impl IntoView {
    let action = format!("/admin/discounts/{}", editor.id);
    let deactivate = format!("/admin/discounts/{}/deactivate", editor.id);
    view! {
        <h1>{editor.form.title.clone()}</h1>
        <p data-testid="discount-status">
            <span class=format!("badge status-{}", editor.status)>{editor.status.replace('_', " ")}</span>
            {format!(" · used by {} order(s)", editor.times_used)}
        </p>
        <DiscountFields action form=editor.form currency=editor.currency/>
        {(editor.status != "inactive").then(|| view! {
            <form method="post" action=deactivate class="inline">
                <button type="submit" data-confirm="Turn this discount off for good? Orders that used it keep it.">"Deactivate"</button>
            </form>
        })}
        <h2>"Orders that used it"</h2>
        {if editor.uses.is_empty() {
            view! { <p>"None yet."</p> }.into_any()
        } else {
            view! {
                <table class="admin-table" data-testid="discount-uses">
                    <thead><tr><th scope="col">"Order"</th><th scope="col">"Email"</th><th scope="col">"Took"</th><th scope="col">"Status"</th><th scope="col">"Placed"</th></tr></thead>
                    <tbody>
                        {editor.uses.into_iter().map(|u| view! {
                            <tr>
                                <td><a href=format!("/admin/orders/{}", u.order)>{format!("#{}", u.order)}</a></td>
                                <td>{u.email}</td>
                                <td>{u.amount}</td>
                                <td>{if u.released { format!("{} (use given back)", u.status) } else { u.status }}</td>
                                <td>{u.at}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

/// Every field of a discount; those of other kinds are ignored when saving.
#[component]
fn DiscountFields(action: String, form: DiscountForm, currency: String) -> impl IntoView {
    let money_hint = if currency.is_empty() {
        "In the shop's currency, such as 5.00.".to_string()
    } else {
        format!("In {currency}, such as 5.00.")
    };
    let kind = form.kind.clone();
    let text = |id: &'static str, label: &'static str, value: String, hint: &'static str| {
        view! {
            <label for=id>{label}</label>
            <input id=id name=id value=value aria-describedby=(!hint.is_empty()).then(|| format!("{id}-hint"))/>
            {(!hint.is_empty()).then(|| view! { <p class="hint" id=format!("{id}-hint")>{hint}</p> })}
        }
    };
    let check = |name: &'static str, label: &'static str, on: bool| {
        view! { <label class="checkbox"><input type="checkbox" name=name checked=on/>{format!(" {label}")}</label> }
    };
    view! {
        <form method="post" action=action class="stacked discount-form" data-testid="discount-form">
            {text("title", "Title (shoppers see it)", form.title, "")}
            {text("code", "Code", form.code, "Letters, digits, - and _; case does not matter. Empty: automatic.")}
            <label for="kind">"Kind"</label>
            <select id="kind" name="kind">
                {[("percentage", "Percentage off"), ("fixed_amount", "Fixed amount off"), ("free_shipping", "Free shipping"), ("buy_x_get_y", "Buy X, get Y")]
                    .into_iter().map(|(value, label)| view! { <option value=value selected=kind == value>{label}</option> }).collect_view()}
            </select>
            <fieldset>
                <legend>"Percentage or amount off"</legend>
                {text("percent", "Percent", form.percent, "For a percentage: 0.01 to 100.")}
                <label for="amount">"Amount"</label>
                <input id="amount" name="amount" value=form.amount inputmode="decimal" aria-describedby="amount-hint"/>
                <p class="hint" id="amount-hint">{format!("{money_hint} Off the order, or off each unit of the products below.")}</p>
                {text("products", "Only these products (slugs, comma-separated)", form.products, "Empty with no collections: the whole order.")}
                {text("collections", "Only products in these collections (slugs)", form.collections, "")}
            </fieldset>
            <fieldset>
                <legend>"Buy X, get Y"</legend>
                {text("buy_quantity", "Buy this many", form.buy_quantity, "")}
                {text("buy_products", "of these products (slugs)", form.buy_products, "")}
                {text("buy_collections", "or of these collections (slugs)", form.buy_collections, "")}
                {text("get_quantity", "Get this many", form.get_quantity, "The cheapest qualifying units.")}
                {text("get_products", "of these products (slugs)", form.get_products, "")}
                {text("get_collections", "or of these collections (slugs)", form.get_collections, "")}
                {text("get_percent", "at this percent off", form.get_percent, "100: free.")}
                {text("max_uses_per_order", "At most this many times per order", form.max_uses_per_order, "")}
            </fieldset>
            <fieldset>
                <legend>"Free shipping"</legend>
                {text("countries", "Only to these countries (ISO codes, comma-separated)", form.countries, "Empty: everywhere.")}
                {text("max_shipping_rate", "Only for rates up to", form.max_shipping_rate, "")}
            </fieldset>
            <fieldset>
                <legend>"Conditions"</legend>
                {text("minimum_subtotal", "Minimum subtotal", form.minimum_subtotal, "")}
                {text("minimum_quantity", "Minimum number of items", form.minimum_quantity, "")}
                <label for="starts_at">"Starts (UTC)"</label>
                <input id="starts_at" name="starts_at" type="datetime-local" value=form.starts_at/>
                <label for="ends_at">"Ends (UTC)"</label>
                <input id="ends_at" name="ends_at" type="datetime-local" value=form.ends_at/>
                {text("usage_limit", "Orders that may use it in all", form.usage_limit, "Empty: no limit. A failed or expired payment gives its use back.")}
                {check("once_per_customer", "Once per customer (account, or email for guests)", form.once_per_customer.is_some())}
                {check("first_order_only", "Only for a first order", form.first_order_only.is_some())}
            </fieldset>
            <fieldset>
                <legend>"Combines with"</legend>
                {check("combines_product", "Product discounts", form.combines_product.is_some())}
                {check("combines_order", "Order discounts", form.combines_order.is_some())}
                {check("combines_shipping", "Shipping discounts", form.combines_shipping.is_some())}
            </fieldset>
            <button type="submit" class="primary">"Save discount"</button>
        </form>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What the pages read, and the form routes.

    use axum::extract::rejection::FormRejection;
    use axum::extract::{Form, Path, State};
    use axum::http::HeaderMap;
    use axum::response::Response;
    use serde_json::{json, Map, Value};

    use super::{DiscountEditor, DiscountForm, DiscountRow, DiscountUseRow};
    use crate::admin::listed::ListedRouter;
    use crate::admin::respond::{form_error, outcome};
    use crate::admin::rest::discounts::{deactivate, one_out, save_json};
    use crate::admin::service::Admin;
    use crate::admin::{Access, AdminError};
    use crate::db::now_epoch;
    use crate::money::{Currency, Money};
    use crate::orders::order_number;
    use crate::promotions::discounts::{self, Kind};
    use crate::promotions::store;
    use crate::time::format_time;

    pub fn listed_routes<S>() -> ListedRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        ListedRouter::default()
            .post("/admin/discounts", create)
            .post("/admin/discounts/{discount}", update)
            .post("/admin/discounts/{discount}/deactivate", turn_off)
    }

    pub fn routes<S>() -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
        Admin: axum::extract::FromRef<S>,
    {
        listed_routes().into_router()
    }

    fn money(amount: i64, currency: Currency) -> String {
        Money::new(amount, currency).to_string()
    }

    fn percent(bp: u32) -> String {
        match bp % 100 {
            0 => format!("{} %", bp / 100),
            cents => format!("{}.{cents:02} %", bp / 100),
        }
    }

    /// What a discount does, in a few words.
    pub fn does(kind: &Kind, currency: Currency) -> String {
        match kind {
            Kind::OrderPercent { percent_bp } => format!("{} off the order", percent(*percent_bp)),
            Kind::ProductPercent { percent_bp, .. } => {
                format!("{} off chosen products", percent(*percent_bp))
            }
            Kind::OrderAmount { amount } => format!("{} off the order", money(*amount, currency)),
            Kind::ProductAmount { amount, .. } => {
                format!("{} off each chosen unit", money(*amount, currency))
            }
            Kind::FreeShipping { .. } => "Free shipping".into(),
            Kind::BuyXGetY {
                buy_quantity,
                get_quantity,
                percent_bp,
                ..
            } => {
                if *percent_bp >= 10_000 {
                    format!("Buy {buy_quantity}, get {get_quantity} free")
                } else {
                    format!(
                        "Buy {buy_quantity}, get {get_quantity} at {} off",
                        percent(*percent_bp)
                    )
                }
            }
        }
    }

    pub async fn rows(admin: &Admin) -> Result<Vec<DiscountRow>, AdminError> {
        let currency = admin.checkout().rules().await?.currency;
        let now = now_epoch();
        Ok(store::list(admin.checkout().db().pool(), None, 500)
            .await?
            .into_iter()
            .map(|m| DiscountRow {
                id: m.offer.discount.id,
                title: m.offer.discount.title.clone(),
                code: m.offer.discount.code.clone().unwrap_or_default(),
                does: does(&m.offer.discount.kind, currency),
                status: discounts::status(&m.offer.usage, now).to_string(),
                times_used: m.offer.usage.times_used,
                usage_limit: m.offer.usage.usage_limit,
            })
            .collect())
    }

    /// The API's answer as the form's text fields.
    fn form_of(out: &Value) -> DiscountForm {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let list = |v: &Value| {
            v.as_array()
                .map(|items| items.iter().map(text).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        let amount = |v: &Value| match (
            v["amount"].as_i64(),
            v["currency"].as_str().map(Currency::parse),
        ) {
            (Some(amount), Some(Ok(currency))) => Money::new(amount, currency).plain_number(),
            _ => String::new(),
        };
        // RFC 3339 UTC to the browser's datetime-local, minutes.
        let time = |v: &Value| {
            v.as_str()
                .map(|t| t[..16.min(t.len())].to_string())
                .unwrap_or_default()
        };
        let flag = |v: &Value| v.as_bool().unwrap_or(false).then(|| "on".to_string());
        let combines = |class: &str| {
            out["combines_with"]
                .as_array()
                .is_some_and(|c| c.iter().any(|x| x == class))
                .then(|| "on".to_string())
        };
        DiscountForm {
            title: text(&out["title"]),
            code: text(&out["code"]),
            kind: text(&out["kind"]),
            percent: text(&out["percent"]),
            amount: amount(&out["amount"]),
            products: list(&out["applies_to"]["products"]),
            collections: list(&out["applies_to"]["collections"]),
            buy_quantity: text(&out["buy"]["quantity"]),
            buy_products: list(&out["buy"]["products"]),
            buy_collections: list(&out["buy"]["collections"]),
            get_quantity: text(&out["get"]["quantity"]),
            get_products: list(&out["get"]["products"]),
            get_collections: list(&out["get"]["collections"]),
            get_percent: text(&out["get"]["percent"]),
            max_uses_per_order: text(&out["max_uses_per_order"]),
            countries: list(&out["countries"]),
            max_shipping_rate: amount(&out["max_shipping_rate"]),
            minimum_subtotal: amount(&out["minimum_subtotal"]),
            minimum_quantity: text(&out["minimum_quantity"]),
            starts_at: time(&out["starts_at"]),
            ends_at: time(&out["ends_at"]),
            usage_limit: text(&out["usage_limit"]),
            once_per_customer: flag(&out["once_per_customer"]),
            first_order_only: flag(&out["first_order_only"]),
            combines_order: combines("order"),
            combines_product: combines("product"),
            combines_shipping: combines("shipping"),
        }
    }

    pub async fn editor(admin: &Admin, id: i64) -> Result<DiscountEditor, AdminError> {
        let out = one_out(admin, id)
            .await
            .map_err(|e| AdminError::NotFound(e.said()))?;
        let value = serde_json::to_value(&out).map_err(|_| AdminError::Internal)?;
        let currency = admin.checkout().rules().await?.currency;
        let pool = admin.checkout().db().pool();
        let uses = store::uses(pool, id, None, 200)
            .await?
            .into_iter()
            .map(|u| DiscountUseRow {
                order: order_number(u.order_id),
                email: u.email,
                amount: Currency::parse(&u.currency)
                    .map(|c| money(u.amount, c))
                    .unwrap_or_default(),
                status: u.status.replace('_', " "),
                released: u.released,
                at: format_time(u.created_at),
            })
            .collect();
        Ok(DiscountEditor {
            id,
            form: form_of(&value),
            status: value["status"].as_str().unwrap_or_default().to_string(),
            times_used: value["times_used"].as_u64().unwrap_or(0) as u32,
            uses,
            currency: currency.code().to_string(),
        })
    }

    /// The form as the API's JSON: empty fields absent, amounts typed as people write them
    /// turned into minor units, the kind's own fields only.
    pub fn json_of(form: &DiscountForm, currency: Currency) -> Result<Value, AdminError> {
        let mut out = Map::new();
        let mut problems: Vec<String> = Vec::new();
        let trimmed = |s: &str| s.trim().to_string();
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        };
        let number = |field: &str, s: &str, problems: &mut Vec<String>| -> Option<Value> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            match s.parse::<f64>() {
                Ok(n) if n.fract() == 0.0 && n.abs() < 1e15 => Some(json!(n as i64)),
                Ok(n) if n.is_finite() => Some(json!(n)),
                _ => {
                    problems.push(format!("{field}: enter a number"));
                    None
                }
            }
        };
        let money = |field: &str, s: &str, problems: &mut Vec<String>| -> Option<Value> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            match Money::parse(s, currency) {
                Ok(m) => Some(json!({"amount": m.amount, "currency": currency.code()})),
                Err(e) => {
                    problems.push(format!("{field}: {e}"));
                    None
                }
            }
        };
        out.insert("title".into(), json!(trimmed(&form.title)));
        let code = trimmed(&form.code);
        out.insert(
            "code".into(),
            if code.is_empty() {
                Value::Null
            } else {
                json!(code)
            },
        );
        let kind = trimmed(&form.kind);
        out.insert("kind".into(), json!(kind));
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                out.insert(key.into(), value);
            }
        };
        match kind.as_str() {
            "percentage" | "fixed_amount" => {
                if kind == "percentage" {
                    put("percent", number("percent", &form.percent, &mut problems));
                } else {
                    put("amount", money("amount", &form.amount, &mut problems));
                }
                let (products, collections) = (list(&form.products), list(&form.collections));
                if !products.is_empty() || !collections.is_empty() {
                    put(
                        "applies_to",
                        Some(json!({"products": products, "collections": collections})),
                    );
                }
            }
            "free_shipping" => {
                let countries = list(&form.countries);
                if !countries.is_empty() {
                    put("countries", Some(json!(countries)));
                }
                put(
                    "max_shipping_rate",
                    money("max_shipping_rate", &form.max_shipping_rate, &mut problems),
                );
            }
            "buy_x_get_y" => {
                put(
                    "buy",
                    Some(json!({
                        "quantity": number("buy_quantity", &form.buy_quantity, &mut problems).unwrap_or(json!(0)),
                        "products": list(&form.buy_products),
                        "collections": list(&form.buy_collections),
                    })),
                );
                let mut get = json!({
                    "quantity": number("get_quantity", &form.get_quantity, &mut problems).unwrap_or(json!(0)),
                    "products": list(&form.get_products),
                    "collections": list(&form.get_collections),
                });
                if let Some(p) = number("get_percent", &form.get_percent, &mut problems) {
                    get["percent"] = p;
                }
                put("get", Some(get));
                put(
                    "max_uses_per_order",
                    number(
                        "max_uses_per_order",
                        &form.max_uses_per_order,
                        &mut problems,
                    ),
                );
            }
            _ => {}
        }
        put(
            "minimum_subtotal",
            money("minimum_subtotal", &form.minimum_subtotal, &mut problems),
        );
        put(
            "minimum_quantity",
            number("minimum_quantity", &form.minimum_quantity, &mut problems),
        );
        put(
            "usage_limit",
            number("usage_limit", &form.usage_limit, &mut problems),
        );
        // The page says the times are UTC; the browser sends minutes without a zone.
        let time = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| {
                json!(if s.len() == 16 {
                    format!("{s}:00Z")
                } else {
                    s.to_string()
                })
            })
        };
        put("starts_at", time(&form.starts_at));
        put("ends_at", time(&form.ends_at));
        put(
            "once_per_customer",
            Some(json!(form.once_per_customer.is_some())),
        );
        put(
            "first_order_only",
            Some(json!(form.first_order_only.is_some())),
        );
        let combines: Vec<&str> = [
            ("order", &form.combines_order),
            ("product", &form.combines_product),
            ("shipping", &form.combines_shipping),
        ]
        .iter()
        .filter(|(_, on)| on.is_some())
        .map(|(class, _)| *class)
        .collect();
        put("combines_with", Some(json!(combines)));
        if !problems.is_empty() {
            return Err(AdminError::Invalid(format!(
                "Please correct: {}.",
                problems.join("; ")
            )));
        }
        Ok(Value::Object(out))
    }

    async fn save(
        admin: &Admin,
        headers: &HeaderMap,
        id: Option<i64>,
        form: Result<Form<DiscountForm>, FormRejection>,
    ) -> Result<i64, AdminError> {
        let account = admin.authorize(headers, Access::Staff).await?;
        let Form(form) = form.map_err(form_error)?;
        let currency = admin.checkout().rules().await?.currency;
        let value = json_of(&form, currency)?;
        save_json(admin, &account, id, value)
            .await
            .map_err(|e| AdminError::Invalid(e.said()))
    }

    async fn create(
        State(admin): State<Admin>,
        headers: HeaderMap,
        form: Result<Form<DiscountForm>, FormRejection>,
    ) -> Response {
        match save(&admin, &headers, None, form).await {
            Ok(id) => outcome(
                &headers,
                &format!("/admin/discounts/{id}"),
                Ok("Discount saved.".into()),
            ),
            Err(error) => outcome(&headers, "/admin/discounts/new", Err(error)),
        }
    }

    async fn update(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
        form: Result<Form<DiscountForm>, FormRejection>,
    ) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let page = format!("/admin/discounts/{id}");
        let result = save(&admin, &headers, Some(id), form).await;
        outcome(&headers, &page, result.map(|_| "Discount saved.".into()))
    }

    async fn turn_off(
        State(admin): State<Admin>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        let id = id.parse::<i64>().unwrap_or(0);
        let result = async {
            let account = admin.authorize(&headers, Access::Staff).await?;
            deactivate(&admin, &account, id)
                .await
                .map_err(|e| AdminError::Invalid(e.said()))?;
            Ok("Discount deactivated: no new order takes it.".to_string())
        }
        .await;
        outcome(&headers, &format!("/admin/discounts/{id}"), result)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_form_becomes_the_apis_json_with_the_kinds_fields_only() {
            let form = DiscountForm {
                title: " Summer ".into(),
                code: "".into(),
                kind: "fixed_amount".into(),
                amount: "5.50".into(),
                percent: "10".into(),
                products: "mug, , cap".into(),
                starts_at: "2026-12-24T18:00".into(),
                once_per_customer: Some("on".into()),
                combines_shipping: Some("on".into()),
                ..DiscountForm::default()
            };
            let json = json_of(&form, Currency::EUR).unwrap();
            assert_eq!(json["title"], "Summer");
            assert!(json["code"].is_null(), "empty: automatic");
            assert_eq!(json["amount"], json!({"amount": 550, "currency": "EUR"}));
            assert!(json.get("percent").is_none(), "not this kind's");
            assert_eq!(json["applies_to"]["products"], json!(["mug", "cap"]));
            assert_eq!(json["starts_at"], "2026-12-24T18:00:00Z");
            assert_eq!(json["once_per_customer"], true);
            assert_eq!(json["combines_with"], json!(["shipping"]));
            let bad = DiscountForm {
                kind: "fixed_amount".into(),
                amount: "five".into(),
                ..DiscountForm::default()
            };
            assert!(json_of(&bad, Currency::EUR).is_err());
        }

        #[test]
        fn a_discount_says_what_it_does() {
            assert_eq!(
                does(&Kind::OrderPercent { percent_bp: 1250 }, Currency::EUR),
                "12.50 % off the order"
            );
            assert_eq!(
                does(&Kind::OrderAmount { amount: 500 }, Currency::EUR),
                "€5.00 off the order"
            );
        }
    }
}
