//! The product editor's variants as a grid: every row saved at once (each against the version
//! it showed), prices or stock set for all rows together, variants generated from option
//! values, and a variant deleted when nothing refers to it, archived otherwise.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sqlx::{AnyConnection, Row};

use serde::Deserialize;

use super::respond::{form_error, outcome};
use super::service::{audited_write, editor_of, Admin, Audited, ProductPart};
use super::{Access, AdminError};
use crate::db::{now_epoch, Backend};
use crate::inventory::{self, AdjustReason, Movement, StockMove, MAX_UNITS};
use crate::money::{Currency, Money};

/// The most variants a product may have, and so the most one generation makes.
pub const MAX_VARIANTS: usize = 100;

/// The options and their values as staff type them, one option per line ("Size: S, M, L"),
/// and every combination of them, in the order typed (the first option varies slowest).
pub mod combinations {
    use super::MAX_VARIANTS;

    /// Reads "Name: value, value" lines into (name, values); at most three options.
    pub fn parse(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
        let mut options: Vec<(String, Vec<String>)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((name, values)) = line.split_once(':') else {
                return Err(format!(
                    "options: line {} needs a name, a colon and values, such as Size: S, M, L",
                    index + 1
                ));
            };
            let name = name.trim().to_string();
            let mut seen: Vec<String> = Vec::new();
            for value in values.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                if value.chars().count() > 60 || value.contains('/') {
                    return Err(format!(
                        "options: '{}' is not a value (up to 60 characters, no '/')",
                        value.chars().take(20).collect::<String>()
                    ));
                }
                if !seen.iter().any(|s| s.eq_ignore_ascii_case(value)) {
                    seen.push(value.to_string());
                }
            }
            if name.is_empty() || name.chars().count() > 40 {
                return Err(format!(
                    "options: line {} needs a name of up to 40 characters",
                    index + 1
                ));
            }
            if seen.is_empty() {
                return Err(format!("options: give {name} at least one value"));
            }
            if options.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(format!("options: {name} is named twice"));
            }
            options.push((name, seen));
        }
        if options.is_empty() {
            return Err("options: give at least one option, such as Size: S, M, L".into());
        }
        if options.len() > 3 {
            return Err("options: a product has at most three options".into());
        }
        let count: usize = options.iter().map(|(_, v)| v.len()).product();
        if count > MAX_VARIANTS {
            return Err(format!(
                "options: that makes {count} variants; a product has at most {MAX_VARIANTS}"
            ));
        }
        Ok(options)
    }

    /// Every combination of the values, the first option varying slowest.
    pub fn all(options: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
        options.iter().fold(vec![vec![]], |combos, (_, values)| {
            combos
                .iter()
                .flat_map(|combo| {
                    values.iter().map(move |value| {
                        let mut next = combo.clone();
                        next.push(value.clone());
                        next
                    })
                })
                .collect()
        })
    }

    /// A SKU for a combination: the prefix and the values, upper-case letters and digits
    /// ("TEE", ["Navy", "XL"] → "TEE-NAVY-XL").
    pub fn sku(prefix: &str, values: &[String]) -> String {
        let clean = |text: &str| -> String {
            text.to_uppercase()
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '-' })
                .collect::<String>()
                .split('-')
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("-")
        };
        std::iter::once(clean(prefix))
            .chain(values.iter().map(|v| clean(v)))
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
            .chars()
            .take(64)
            .collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn options_are_read_line_by_line() {
            let options = parse("Size: S, M, L\n\nColour: Navy, navy, Forest\n").unwrap();
            assert_eq!(
                options,
                vec![
                    (
                        "Size".to_string(),
                        vec!["S".to_string(), "M".into(), "L".into()]
                    ),
                    (
                        "Colour".to_string(),
                        vec!["Navy".to_string(), "Forest".into()]
                    ),
                ]
            );
            for bad in [
                "",
                "Size S, M",
                "Size:",
                ": S",
                "A: 1\nB: 1\nC: 1\nD: 1",
                "Size: S\nsize: M",
                "Fit: a/b",
            ] {
                assert!(parse(bad).is_err(), "{bad:?}");
            }
            let big = "A: 1,2,3,4,5\nB: 1,2,3,4,5\nC: 1,2,3,4,5";
            assert!(parse(big).unwrap_err().contains("125 variants"));
        }

        #[test]
        fn combinations_vary_the_last_option_fastest() {
            let options = parse("Size: S, M\nColour: Navy, Forest").unwrap();
            let combos = all(&options);
            assert_eq!(
                combos,
                vec![
                    vec!["S".to_string(), "Navy".into()],
                    vec!["S".to_string(), "Forest".into()],
                    vec!["M".to_string(), "Navy".into()],
                    vec!["M".to_string(), "Forest".into()],
                ]
            );
            assert_eq!(sku("tee", &combos[1]), "TEE-S-FOREST");
            assert_eq!(
                sku("Ridge fleece", &["Extra large".into()]),
                "RIDGE-FLEECE-EXTRA-LARGE"
            );
        }
    }
}

/// A variant as its forms send it (one row of the grid, or the single-variant forms).
#[derive(Deserialize)]
pub(super) struct VariantForm {
    #[serde(default)]
    pub sku: String,
    #[serde(default)]
    pub options: String,
    pub price: String,
    #[serde(default)]
    pub compare_at: String,
    #[serde(default)]
    pub weight_grams: String,
    #[serde(default)]
    pub allow_backorder: Option<String>,
    #[serde(default)]
    pub threshold: String,
    #[serde(default)]
    pub version: Option<i64>,
}

pub(super) struct CheckedVariant {
    pub sku: String,
    pub options: Vec<String>,
    pub price: i64,
    pub compare_at: Option<i64>,
    pub weight: i64,
    pub backorder: &'static str,
    pub threshold: i64,
}

/// Checks a variant form; prices are typed in `currency`'s major units.
pub(super) fn check_variant(
    form: &VariantForm,
    currency: Currency,
) -> Result<CheckedVariant, AdminError> {
    let mut problems = Vec::new();
    let sku = form.sku.trim().to_string();
    if sku.is_empty() || sku.len() > 64 {
        problems.push("sku: enter a SKU of up to 64 characters".to_string());
    }
    let price = Money::parse(&form.price, currency)
        .map(|m| m.amount)
        .map_err(|e| problems.push(format!("price: {e}")))
        .ok();
    let compare_at = if form.compare_at.trim().is_empty() {
        None
    } else {
        Money::parse(&form.compare_at, currency)
            .map(|m| m.amount)
            .map_err(|e| problems.push(format!("compare_at: {e}")))
            .ok()
    };
    let number = |text: &str, field: &str, problems: &mut Vec<String>| -> i64 {
        if text.trim().is_empty() {
            return 0;
        }
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .unwrap_or_else(|| {
                problems.push(format!("{field}: enter a whole number of zero or more"));
                0
            })
    };
    let weight = number(&form.weight_grams, "weight_grams", &mut problems);
    let threshold = if form.threshold.trim().is_empty() {
        5
    } else {
        number(&form.threshold, "threshold", &mut problems)
    };
    let options: Vec<String> = form
        .options
        .split('/')
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .take(3)
        .collect();
    if !problems.is_empty() {
        return Err(AdminError::Invalid(format!(
            "Please correct: {}.",
            problems.join("; ")
        )));
    }
    Ok(CheckedVariant {
        sku,
        options,
        price: price.unwrap_or_default(),
        compare_at,
        weight,
        backorder: if form.allow_backorder.is_some() {
            "allow"
        } else {
            "deny"
        },
        threshold,
    })
}

/// The fields of one grid row, `v{id}.{field}`, as the single-variant form has them.
fn row_form(
    pairs: &[(String, String)],
    id: i64,
    option_count: usize,
) -> (VariantForm, Vec<String>) {
    let prefix = format!("v{id}.");
    let get = |field: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.strip_prefix(&prefix) == Some(field))
            .map(|(_, v)| v.clone())
    };
    let options = (1..=option_count)
        .map(|n| {
            get(&format!("option{n}"))
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect();
    let form = VariantForm {
        sku: get("sku").unwrap_or_default(),
        options: String::new(),
        price: get("price").unwrap_or_default(),
        compare_at: get("compare_at").unwrap_or_default(),
        weight_grams: get("weight_grams").unwrap_or_default(),
        allow_backorder: get("allow_backorder"),
        threshold: get("threshold").unwrap_or_default(),
        version: get("version").and_then(|v| v.trim().parse().ok()),
    };
    (form, options)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// `POST /admin/products/{product}/variants/grid`: every row of the grid, checked together,
/// saved in one transaction; a row someone else changed meanwhile stops the save.
pub(super) async fn save_grid(
    State(admin): State<Admin>,
    Path(product): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let to = format!("/admin/products/{product}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(pairs) = form.map_err(form_error)?;
        let currency = admin.checkout().rules().await?.currency;
        let option_count: usize = field(&pairs, "option_count").parse().unwrap_or(0).min(3);
        let mut rows: Vec<(i64, i64, CheckedVariant)> = Vec::new();
        let mut problems = Vec::new();
        let all_price = field(&pairs, "all_price").trim().to_string();
        for (key, value) in &pairs {
            if key != "row" {
                continue;
            }
            let id: i64 = value.parse().map_err(|_| {
                AdminError::Invalid("The form is out of date; reload the page.".into())
            })?;
            let (mut row, options) = row_form(&pairs, id, option_count);
            if !all_price.is_empty() {
                row.price = all_price.clone();
            }
            let Some(version) = row.version else {
                return Err(AdminError::Invalid(
                    "The form is out of date; reload the page.".into(),
                ));
            };
            match check_variant(&row, currency) {
                Ok(mut checked) => {
                    checked.options = options;
                    rows.push((id, version, checked));
                }
                Err(error) => {
                    let text = error.to_string();
                    let text = text
                        .strip_prefix("Please correct: ")
                        .unwrap_or(&text)
                        .trim_end_matches('.');
                    problems.push(format!("{}: {text}", row.sku.trim()));
                }
            }
        }
        let all_stock = field(&pairs, "all_stock").trim();
        let stock: Option<i64> = if all_stock.is_empty() {
            None
        } else {
            match all_stock
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=MAX_UNITS).contains(n))
            {
                Some(n) => Some(n),
                None => {
                    problems.push(format!("stock: enter a whole number from 0 to {MAX_UNITS}"));
                    None
                }
            }
        };
        if !problems.is_empty() {
            return Err(AdminError::Invalid(format!(
                "Please correct: {}.",
                problems.join("; ")
            )));
        }
        let mut skus: Vec<&str> = rows.iter().map(|(_, _, v)| v.sku.as_str()).collect();
        skus.sort_unstable();
        if let Some(twice) = skus.windows(2).find(|w| w[0] == w[1]) {
            return Err(AdminError::Invalid(format!(
                "Please correct: sku: '{}' is in two rows.",
                twice[0]
            )));
        }
        let actor_email = account.email.clone();
        let backend = admin.db().backend();
        let changed = audited_write(&admin, &account, "Variants edited", move |conn| {
            Box::pin(async move {
                let changed = write_grid(conn, product, &rows, backend).await?;
                if let Some(count) = stock {
                    count_stock(conn, product, &rows, count, &actor_email).await?;
                }
                crate::catalog::ssr::refresh_search_document(conn, product).await?;
                Ok::<_, AdminError>(Audited {
                    value: changed,
                    subject: format!("product:{product}"),
                    detail: format!(
                        "{changed} variants{}",
                        stock.map(|n| format!(", stock {n}")).unwrap_or_default()
                    ),
                })
            })
        })
        .await?;
        Ok(match (changed, stock) {
            (0, None) => "Nothing to save: the variants are as they were.".to_string(),
            (n, None) => format!("{n} variant{} saved.", if n == 1 { "" } else { "s" }),
            (_, Some(n)) => format!("Variants saved; every variant now has {n} on hand."),
        })
    }
    .await;
    outcome(&headers, &to, result)
}

/// Updates the rows that differ from what is stored; the count of those changed.
async fn write_grid(
    conn: &mut AnyConnection,
    product: i64,
    rows: &[(i64, i64, CheckedVariant)],
    backend: Backend,
) -> Result<usize, AdminError> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let mut changed = 0;
    for (id, version, v) in rows {
        let stored = sqlx::query(&format!(
            "SELECT sku, option1, option2, option3, price_amount, compare_at_amount, weight_grams, backorder, \
             low_stock_threshold, version FROM variants WHERE id = $1 AND product_id = $2{lock}"
        ))
        .bind(id)
        .bind(product)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AdminError::Conflict("A variant was deleted meanwhile; reload the page.".into()))?;
        let option = |n: usize| v.options.get(n).cloned().filter(|o| !o.is_empty());
        let same = stored.try_get::<String, _>("sku")? == v.sku
            && stored.try_get::<Option<String>, _>("option1")? == option(0)
            && stored.try_get::<Option<String>, _>("option2")? == option(1)
            && stored.try_get::<Option<String>, _>("option3")? == option(2)
            && stored.try_get::<i64, _>("price_amount")? == v.price
            && stored.try_get::<Option<i64>, _>("compare_at_amount")? == v.compare_at
            && stored.try_get::<i64, _>("weight_grams")? == v.weight
            && stored.try_get::<String, _>("backorder")? == v.backorder
            && stored.try_get::<i64, _>("low_stock_threshold")? == v.threshold;
        if same {
            continue;
        }
        if stored.try_get::<i64, _>("version")? != *version {
            return Err(AdminError::Conflict(format!(
                "Someone changed {} meanwhile; reload to see their change, then edit again.",
                v.sku
            )));
        }
        sqlx::query(
            "UPDATE variants SET sku = $1, option1 = $2, option2 = $3, option3 = $4, price_amount = $5, \
             compare_at_amount = $6, weight_grams = $7, backorder = $8, low_stock_threshold = $9, \
             version = version + 1 WHERE id = $10",
        )
        .bind(&v.sku)
        .bind(option(0))
        .bind(option(1))
        .bind(option(2))
        .bind(v.price)
        .bind(v.compare_at)
        .bind(v.weight)
        .bind(v.backorder)
        .bind(v.threshold)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AdminError::Invalid(format!("Please correct: sku: '{}' is already used.", v.sku))
            }
            other => other.into(),
        })?;
        changed += 1;
    }
    Ok(changed)
}

/// Sets every row's stock on hand to `count`: a "counted" movement each, in the ledger.
async fn count_stock(
    conn: &mut AnyConnection,
    product: i64,
    rows: &[(i64, i64, CheckedVariant)],
    count: i64,
    actor: &str,
) -> Result<(), AdminError> {
    let mut moves = Vec::new();
    for (id, _, v) in rows {
        let (on_hand, reserved): (i64, i64) = sqlx::query_as(
            "SELECT on_hand, reserved FROM variants WHERE id = $1 AND product_id = $2",
        )
        .bind(id)
        .bind(product)
        .fetch_one(&mut *conn)
        .await?;
        if count < reserved {
            return Err(AdminError::Invalid(format!(
                "Please correct: stock: {} has {reserved} reserved for orders.",
                v.sku
            )));
        }
        if count != on_hand {
            moves.push(StockMove {
                variant_id: *id,
                order_id: None,
                movement: Movement::Adjust(AdjustReason::Counted),
                quantity: count - on_hand,
                note: format!("set for every variant ({actor})"),
                expected_version: None,
            });
        }
    }
    moves.sort_by_key(|m| m.variant_id);
    inventory::apply(conn, &moves, now_epoch())
        .await
        .map_err(|_| {
            AdminError::Conflict("The stock changed meanwhile; review it and try again.".into())
        })?;
    Ok(())
}

/// `POST /admin/products/{product}/variants/generate`: the combinations of the options typed
/// that the product does not have yet, each with a SKU from the prefix and the price given.
pub(super) async fn generate(
    State(admin): State<Admin>,
    Path(product): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let to = format!("/admin/products/{product}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(pairs) = form.map_err(form_error)?;
        let currency = admin.checkout().rules().await?.currency;
        let mut problems = Vec::new();
        let options = combinations::parse(field(&pairs, "options"))
            .map_err(|e| problems.push(e))
            .ok();
        let price = Money::parse(field(&pairs, "price"), currency)
            .map(|m| m.amount)
            .map_err(|e| problems.push(format!("price: {e}")))
            .ok();
        if !problems.is_empty() {
            return Err(AdminError::Invalid(format!(
                "Please correct: {}.",
                problems.join("; ")
            )));
        }
        let (options, price) = (options.unwrap_or_default(), price.unwrap_or_default());
        let prefix = field(&pairs, "sku_prefix").trim().to_string();
        let made = audited_write(&admin, &account, "Variants generated", move |conn| {
            Box::pin(async move {
                let made = generate_in(conn, product, &options, &prefix, price, currency).await?;
                crate::catalog::ssr::refresh_search_document(conn, product).await?;
                Ok::<_, AdminError>(Audited {
                    value: made,
                    subject: format!("product:{product}"),
                    detail: format!("{made} variants"),
                })
            })
        })
        .await?;
        Ok(match made {
            0 => "Every combination exists already.".to_string(),
            1 => "1 variant added.".to_string(),
            n => format!("{n} variants added."),
        })
    }
    .await;
    outcome(&headers, &to, result)
}

async fn generate_in(
    conn: &mut AnyConnection,
    product: i64,
    options: &[(String, Vec<String>)],
    prefix: &str,
    price: i64,
    currency: Currency,
) -> Result<usize, AdminError> {
    let slug: String = sqlx::query_scalar("SELECT slug FROM products WHERE id = $1")
        .bind(product)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("Product {product}")))?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM product_options WHERE product_id = $1 ORDER BY position",
    )
    .bind(product)
    .fetch_all(&mut *conn)
    .await?;
    let wanted: Vec<String> = options.iter().map(|(n, _)| n.clone()).collect();
    let live = sqlx::query(
        "SELECT id, option1, option2, option3 FROM variants WHERE product_id = $1 AND archived_at IS NULL ORDER BY position, id",
    )
    .bind(product)
    .fetch_all(&mut *conn)
    .await?;
    let mut existing: Vec<(i64, Vec<String>)> = Vec::new();
    for v in &live {
        let mut values = Vec::new();
        for column in ["option1", "option2", "option3"] {
            values.extend(v.try_get::<Option<String>, _>(column)?);
        }
        existing.push((v.try_get("id")?, values));
    }
    if names.is_empty() {
        // A product without options: its one plain variant, if it has one, becomes the first
        // combination; with more it is not clear which is which.
        if existing.len() > 1 || existing.iter().any(|(_, values)| !values.is_empty()) {
            return Err(AdminError::Invalid(
                "Please correct: options: this product's variants have no options to match; give them values in the grid first.".into(),
            ));
        }
        for (position, name) in wanted.iter().enumerate() {
            sqlx::query(
                "INSERT INTO product_options (product_id, position, name) VALUES ($1, $2, $3)",
            )
            .bind(product)
            .bind(position as i64 + 1)
            .bind(name)
            .execute(&mut *conn)
            .await?;
        }
    } else if !names
        .iter()
        .map(|n| n.to_lowercase())
        .eq(wanted.iter().map(|n| n.to_lowercase()))
    {
        return Err(AdminError::Invalid(format!(
            "Please correct: options: this product's options are {}; give their values in that order.",
            names.join(", ")
        )));
    }
    let combos = combinations::all(options);
    let same = |a: &[String], b: &[String]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
    };
    let mut to_make: Vec<&Vec<String>> = combos
        .iter()
        .filter(|c| !existing.iter().any(|(_, e)| same(e, c)))
        .collect();
    if let [(plain, values)] = existing.as_slice() {
        if values.is_empty() && names.is_empty() {
            let first = to_make.remove(0);
            sqlx::query("UPDATE variants SET option1 = $1, option2 = $2, option3 = $3, version = version + 1 WHERE id = $4")
                .bind(first.first().cloned())
                .bind(first.get(1).cloned())
                .bind(first.get(2).cloned())
                .bind(plain)
                .execute(&mut *conn)
                .await?;
        }
    }
    let all_variants: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM variants WHERE product_id = $1 AND archived_at IS NULL",
    )
    .bind(product)
    .fetch_one(&mut *conn)
    .await?;
    if all_variants as usize + to_make.len() > MAX_VARIANTS {
        return Err(AdminError::Invalid(format!(
            "Please correct: options: that would give the product more than {MAX_VARIANTS} variants."
        )));
    }
    let prefix = if prefix.is_empty() {
        slug.as_str()
    } else {
        prefix
    };
    for values in &to_make {
        let mut sku = combinations::sku(prefix, values);
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM variants WHERE sku = $1")
            .bind(&sku)
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_some() {
            sku = format!("{}-{product}", sku.chars().take(50).collect::<String>());
        }
        sqlx::query(
            "INSERT INTO variants (product_id, position, sku, option1, option2, option3, price_amount, currency, on_hand) \
             VALUES ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM variants WHERE product_id = $1), $2, $3, $4, $5, $6, $7, 0)",
        )
        .bind(product)
        .bind(&sku)
        .bind(values.first().cloned())
        .bind(values.get(1).cloned())
        .bind(values.get(2).cloned())
        .bind(price)
        .bind(currency.code())
        .execute(&mut *conn)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AdminError::Invalid(format!("Please correct: sku: '{sku}' is already used; give another prefix."))
            }
            other => other.into(),
        })?;
    }
    Ok(to_make.len())
}

/// `POST /admin/variants/{variant}/remove`: deleted if no order and no stock movement refers
/// to it, archived otherwise (out of the shop, its history whole); `intent=restore` brings an
/// archived one back.
pub(super) async fn remove(
    State(admin): State<Admin>,
    Path(variant): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (product, to) = editor_of(&admin, ProductPart::Variant, variant).await;
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(pairs) = form.map_err(form_error)?;
        let restore = field(&pairs, "intent") == "restore";
        let product = product.ok_or_else(|| AdminError::NotFound(format!("Variant {variant}")))?;
        let outcome = audited_write(&admin, &account, "Variant removed", move |conn| {
            Box::pin(async move {
                let sku: String = sqlx::query_scalar("SELECT sku FROM variants WHERE id = $1")
                    .bind(variant)
                    .fetch_one(&mut *conn)
                    .await?;
                let message = if restore {
                    sqlx::query("UPDATE variants SET archived_at = NULL, version = version + 1 WHERE id = $1")
                        .bind(variant)
                        .execute(&mut *conn)
                        .await?;
                    format!("{sku} is back in the shop.")
                } else {
                    let references: i64 = sqlx::query_scalar(
                        "SELECT (SELECT COUNT(*) FROM order_lines WHERE variant_id = $1) \
                              + (SELECT COUNT(*) FROM stock_ledger WHERE variant_id = $1)",
                    )
                    .bind(variant)
                    .fetch_one(&mut *conn)
                    .await?;
                    if references > 0 {
                        sqlx::query("UPDATE variants SET archived_at = $1, version = version + 1 WHERE id = $2 AND archived_at IS NULL")
                            .bind(now_epoch())
                            .bind(variant)
                            .execute(&mut *conn)
                            .await?;
                        format!("{sku} was archived: orders or stock history refer to it.")
                    } else {
                        sqlx::query("DELETE FROM variants WHERE id = $1")
                            .bind(variant)
                            .execute(&mut *conn)
                            .await?;
                        format!("{sku} was deleted.")
                    }
                };
                crate::catalog::ssr::refresh_search_document(conn, product).await?;
                Ok::<_, AdminError>(Audited { value: message.clone(), subject: format!("variant:{variant}"), detail: message })
            })
        })
        .await?;
        Ok(outcome)
    }
    .await;
    outcome(&headers, &to, result)
}
