//! Variants: prices, SKUs and options, and stock changes with their reason.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use utoipa::ToSchema;

use super::{
    audited, body, check_count, check_text, path_id, shop_currency, ApiError, Audited, Caller,
    ErrorBody, MoneyIn, Problems, MAX_QUANTITY,
};
use crate::admin::service::Admin;
use crate::admin::{Access, AdminError};
use crate::db::currency_of;
use crate::money::Money;

#[derive(Serialize, ToSchema)]
pub struct AdminVariant {
    id: i64,
    product_id: i64,
    sku: String,
    /// One value per option of the product, in order.
    options: Vec<String>,
    price: Money,
    compare_at: Option<Money>,
    weight_grams: i64,
    allow_backorder: bool,
    low_stock_threshold: i64,
    stock: Stock,
}

/// A variant's stock; `version` changes with every change, for optimistic concurrency.
#[derive(Serialize, ToSchema)]
pub struct Stock {
    on_hand: i64,
    /// Held for orders waiting for payment.
    reserved: i64,
    /// On hand less reserved (never below zero).
    available: i64,
    version: i64,
}

impl Stock {
    fn new(on_hand: i64, reserved: i64, version: i64) -> Stock {
        Stock {
            on_hand,
            reserved,
            available: (on_hand - reserved).max(0),
            version,
        }
    }
}

pub(super) async fn variant_out(admin: &Admin, id: i64) -> Result<AdminVariant, ApiError> {
    let v = sqlx::query(
        "SELECT id, product_id, sku, option1, option2, option3, price_amount, compare_at_amount, currency, \
         weight_grams, backorder, low_stock_threshold, on_hand, reserved, version FROM variants WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(admin.checkout().db().pool())
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Variant {id}")))?;
    let currency = currency_of(&v, "currency")?;
    let mut options = Vec::new();
    for column in ["option1", "option2", "option3"] {
        options.extend(v.try_get::<Option<String>, _>(column)?);
    }
    Ok(AdminVariant {
        id,
        product_id: v.try_get("product_id")?,
        sku: v.try_get("sku")?,
        options,
        price: Money::new(v.try_get("price_amount")?, currency),
        compare_at: v
            .try_get::<Option<i64>, _>("compare_at_amount")?
            .map(|a| Money::new(a, currency)),
        weight_grams: v.try_get("weight_grams")?,
        allow_backorder: v.try_get::<String, _>("backorder")? == "allow",
        low_stock_threshold: v.try_get("low_stock_threshold")?,
        stock: Stock::new(
            v.try_get("on_hand")?,
            v.try_get("reserved")?,
            v.try_get("version")?,
        ),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantChanges {
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    options: Option<Vec<String>>,
    #[serde(default)]
    price: Option<MoneyIn>,
    /// `{"amount": 0, …}` removes the compare-at price.
    #[serde(default)]
    compare_at: Option<MoneyIn>,
    #[serde(default)]
    weight_grams: Option<i64>,
    #[serde(default)]
    allow_backorder: Option<bool>,
    #[serde(default)]
    low_stock_threshold: Option<i64>,
    /// The `stock.version` last read: the change is refused (409) if someone changed the
    /// variant since. Without it, the change applies to whatever is current.
    #[serde(default)]
    version: Option<i64>,
}

#[utoipa::path(method(patch, post), path = "/api/v1/admin/variants/{variant}", tag = "admin", security(("bearer" = [])),
    params(("variant" = i64, Path, description = "The variant's id.")),
    request_body = VariantChanges,
    responses((status = 200, body = AdminVariant), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn update_variant(
    State(admin): State<Admin>,
    caller: Caller,
    Path(variant): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let changes: VariantChanges = body(request)?;
    let id = path_id(&variant, "Variant")?;
    let currency = shop_currency(&admin).await?;
    let pool = admin.checkout().db().pool();
    let row = sqlx::query(
        "SELECT product_id, sku, option1, option2, option3, price_amount, compare_at_amount, weight_grams, \
         backorder, low_stock_threshold, version FROM variants WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Variant {id}")))?;
    let product: i64 = row.try_get("product_id")?;
    let option_count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM product_options WHERE product_id = $1")
            .bind(product)
            .fetch_one(pool)
            .await?;
    let mut problems = Problems::default();
    let sku = match changes.sku {
        Some(s) => s.trim().to_string(),
        None => row.try_get("sku")?,
    };
    check_text(&mut problems, "sku", &sku, 1, 64);
    let options: Vec<Option<String>> = match &changes.options {
        Some(values) => {
            if values.len() as i64 != option_count {
                problems.add(
                    "options",
                    format!("give one value for each of the product's {option_count} option(s)"),
                );
            }
            for (j, value) in values.iter().enumerate() {
                check_text(&mut problems, &format!("options[{j}]"), value, 1, 100);
            }
            (0..3)
                .map(|i| values.get(i).map(|v| v.trim().to_string()))
                .collect()
        }
        None => ["option1", "option2", "option3"]
            .iter()
            .map(|c| row.try_get::<Option<String>, _>(*c))
            .collect::<Result<_, sqlx::Error>>()?,
    };
    let price = match &changes.price {
        Some(p) => p.check("price", currency, 0, &mut problems),
        None => row.try_get("price_amount")?,
    };
    let compare_at = match &changes.compare_at {
        Some(c) => Some(c.check("compare_at", currency, 0, &mut problems)).filter(|a| *a > 0),
        None => row.try_get::<Option<i64>, _>("compare_at_amount")?,
    };
    let weight = match check_count(&mut problems, "weight_grams", changes.weight_grams) {
        Some(weight) => weight,
        None => row.try_get("weight_grams")?,
    };
    let threshold = match check_count(
        &mut problems,
        "low_stock_threshold",
        changes.low_stock_threshold,
    ) {
        Some(threshold) => threshold,
        None => row.try_get("low_stock_threshold")?,
    };
    let backorder = match changes.allow_backorder {
        Some(true) => "allow".to_string(),
        Some(false) => "deny".to_string(),
        None => row.try_get("backorder")?,
    };
    problems.finish()?;
    let version = match changes.version {
        Some(version) => version,
        None => row.try_get("version")?,
    };
    audited(&admin, &account, "Variant edited", move |conn| {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE variants SET sku = $1, option1 = $2, option2 = $3, option3 = $4, price_amount = $5, compare_at_amount = $6, \
                 weight_grams = $7, backorder = $8, low_stock_threshold = $9, version = version + 1 WHERE id = $10 AND version = $11",
            )
            .bind(&sku)
            .bind(options[0].clone())
            .bind(options[1].clone())
            .bind(options[2].clone())
            .bind(price)
            .bind(compare_at)
            .bind(weight)
            .bind(&backorder)
            .bind(threshold)
            .bind(id)
            .bind(version)
            .execute(&mut *conn)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    ApiError::field("sku", format!("'{sku}' is already used"))
                }
                other => other.into(),
            })?;
            if done.rows_affected() != 1 {
                return Err(AdminError::Conflict(
                    "Someone changed this variant meanwhile; read it again, then send your change."
                        .into(),
                )
                .into());
            }
            crate::catalog::ssr::refresh_search_document(conn, product).await?;
            Ok(Audited {
                value: (),
                subject: format!("variant:{id}"),
                detail: format!("{sku} price {price}"),
            })
        })
    })
    .await?;
    Ok(Json(variant_out(&admin, id).await?).into_response())
}

#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockReason {
    Received,
    Returned,
    Damaged,
    Lost,
    Correction,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockChange {
    /// Units to add (positive) or take away (negative).
    delta: i64,
    /// `received`/`returned` add, `damaged`/`lost` take away, `correction` (the default) either.
    #[serde(default)]
    reason: Option<StockReason>,
    #[serde(default)]
    note: Option<String>,
    /// As for variants: refused (409) if the stock changed since; current if absent.
    #[serde(default)]
    version: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/admin/variants/{variant}/stock", tag = "admin", security(("bearer" = [])),
    params(("variant" = i64, Path, description = "The variant's id.")),
    request_body = StockChange,
    responses((status = 200, body = Stock), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, description = "Unusable input, or a delta that would leave less than is reserved", body = ErrorBody)))]
pub(super) async fn adjust_stock(
    State(admin): State<Admin>,
    caller: Caller,
    Path(variant): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let change: StockChange = body(request)?;
    let id = path_id(&variant, "Variant")?;
    let mut problems = Problems::default();
    if !(-MAX_QUANTITY..=MAX_QUANTITY).contains(&change.delta) || change.delta == 0 {
        problems.add(
            "delta",
            format!("enter a whole number from -{MAX_QUANTITY} to {MAX_QUANTITY}, not zero"),
        );
    }
    let reason = change.reason.unwrap_or(StockReason::Correction);
    // The admin's stock form takes a reason and a quantity of zero or more.
    let (reason, quantity) = match reason {
        StockReason::Received | StockReason::Returned if change.delta < 0 => {
            problems.add(
                "delta",
                "received and returned stock is added: use a positive delta",
            );
            ("", 0)
        }
        StockReason::Damaged | StockReason::Lost if change.delta > 0 => {
            problems.add(
                "delta",
                "damaged and lost stock is taken away: use a negative delta",
            );
            ("", 0)
        }
        StockReason::Received => ("received", change.delta),
        StockReason::Returned => ("returned", change.delta),
        StockReason::Damaged => ("damaged", -change.delta),
        StockReason::Lost => ("lost", -change.delta),
        StockReason::Correction => ("correction", change.delta),
    };
    let note = change.note.unwrap_or_default();
    check_text(&mut problems, "note", &note, 0, 500);
    problems.finish()?;
    let version = match change.version {
        Some(version) => version,
        None => admin.variant_stock(id).await?.version,
    };
    admin
        .adjust_stock(&account, id, reason, quantity, &note, version)
        .await
        .map_err(|e| ApiError::from(e).on("delta"))?;
    let stock = admin.variant_stock(id).await?;
    Ok(Json(Stock::new(stock.on_hand, stock.reserved, stock.version)).into_response())
}
