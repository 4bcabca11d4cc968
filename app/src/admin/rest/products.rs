//! Products: list, show, create with options and variants, edit, publish, archive.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

use super::{
    audited, body, check_count, check_text, path_id, query_pairs, rfc3339, shop_currency, ApiError,
    Audited, Caller, ErrorBody, MoneyIn, Problems, MAX_PRODUCTS_PER_PAGE, PRODUCTS_PER_PAGE,
};
use crate::admin::auth::Account;
use crate::admin::catalog::{save_product, valid_slug, ProductForm};
use crate::admin::products::ProductSort;
use crate::admin::service::Admin;
use crate::admin::{Access, AdminError, ProductFilter};
use crate::db::now_epoch;
use crate::inventory::{self, AdjustReason, Movement, StockError, StockMove};
use crate::money::Money;

use super::variants::{variant_out, AdminVariant};

#[derive(Clone, Copy, Debug, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Active,
    Archived,
}

impl ProductStatus {
    fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Active => "active",
            ProductStatus::Archived => "archived",
        }
    }
}

#[utoipa::path(get, path = "/api/v1/admin/products", tag = "admin", security(("bearer" = [])),
    params(
        ("q" = Option<String>, Query, description = "Part of the title, handle or a SKU."),
        ("status" = Option<String>, Query, description = "`draft`, `active` or `archived`."),
        ("collection" = Option<String>, Query, description = "A collection's handle: only its products."),
        ("stock" = Option<String>, Query, description = "`in` (some variant can be sold), `low` (some variant at or under its alert) or `out`."),
        ("sort" = Option<String>, Query, description = "`oldest` (by id, the default), `newest`, `title`, `title-desc` or `updated`."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page (of the same sort)."),
        ("limit" = Option<i64>, Query, description = "1 to 200; 50 if not given."),
    ),
    responses((status = 200, body = ProductList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_products(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let mut filter = ProductFilter {
        sort: "oldest".into(),
        ..ProductFilter::default()
    };
    let mut limit = PRODUCTS_PER_PAGE;
    for (key, value) in query_pairs(raw.as_deref())? {
        match key.as_str() {
            "q" => filter.q = value,
            "status" if !value.is_empty() => {
                if !matches!(value.as_str(), "draft" | "active" | "archived") {
                    return Err(ApiError::bad_request(
                        "status",
                        "use draft, active or archived",
                    ));
                }
                filter.status = value;
            }
            "collection" => filter.collection = value,
            "stock" if !value.is_empty() => {
                if !matches!(value.as_str(), "in" | "low" | "out") {
                    return Err(ApiError::bad_request("stock", "use in, low or out"));
                }
                filter.stock = value;
            }
            "sort" if !value.is_empty() => {
                if ProductSort::parse(&value).is_none() {
                    return Err(ApiError::bad_request(
                        "sort",
                        "use oldest, newest, title, title-desc or updated",
                    ));
                }
                filter.sort = value;
            }
            "cursor" => filter.cursor = value,
            "limit" => {
                limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|l| (1..=MAX_PRODUCTS_PER_PAGE).contains(l))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "limit",
                            format!("use a whole number from 1 to {MAX_PRODUCTS_PER_PAGE}"),
                        )
                    })?;
            }
            _ => {}
        }
    }
    let page = admin
        .products_page(&filter, limit)
        .await
        .map_err(|error| match error {
            AdminError::Invalid(_) => {
                ApiError::bad_request("cursor", "use the next_cursor of a previous page")
            }
            other => other.into(),
        })?;
    let items = page
        .rows
        .into_iter()
        .map(|r| ProductRow {
            id: r.id,
            slug: r.slug,
            title: r.title,
            status: r.status,
            variants: r.variants,
            on_hand: r.on_hand,
            available: r.available,
            price_from: r.prices.map(|(low, _)| low),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        })
        .collect();
    Ok(Json(ProductList {
        items,
        next_cursor: page.next_cursor,
    })
    .into_response())
}

/// A product in the list.
#[derive(Serialize, ToSchema)]
pub struct ProductRow {
    id: i64,
    slug: String,
    title: String,
    /// `draft`, `active` or `archived`.
    status: String,
    /// How many variants it has.
    variants: i64,
    /// Units on hand over its live variants.
    on_hand: i64,
    /// On hand less what orders have reserved, over its live variants.
    available: i64,
    /// The lowest price of its live variants; `null` without any.
    price_from: Option<Money>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProductList {
    items: Vec<ProductRow>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

/// A product as staff edit it: every field, variants with their stock.
#[derive(Serialize, ToSchema)]
pub struct AdminProduct {
    id: i64,
    slug: String,
    title: String,
    /// Markdown.
    description: String,
    vendor: String,
    product_type: String,
    /// `draft`, `active` or `archived`.
    status: String,
    seo_title: Option<String>,
    seo_description: Option<String>,
    tags: Vec<String>,
    /// Sold as final: never returnable.
    final_sale: bool,
    /// Option names ("Size", "Colour"), at most three.
    options: Vec<String>,
    variants: Vec<AdminVariant>,
    images: Vec<ProductImage>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProductImage {
    url: String,
    alt: String,
}

async fn product_out(admin: &Admin, id: i64) -> Result<AdminProduct, ApiError> {
    let pool = admin.checkout().db().pool();
    let p = sqlx::query(
        "SELECT id, slug, title, description_md, vendor, product_type, status, seo_title, seo_description, \
         final_sale, created_at, updated_at FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Product {id}")))?;
    let tags: Vec<String> =
        sqlx::query_scalar("SELECT tag FROM product_tags WHERE product_id = $1 ORDER BY tag")
            .bind(id)
            .fetch_all(pool)
            .await?;
    let options: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM product_options WHERE product_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let variant_ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM variants WHERE product_id = $1 ORDER BY position, id")
            .bind(id)
            .fetch_all(pool)
            .await?;
    let mut variants = Vec::with_capacity(variant_ids.len());
    for variant in variant_ids {
        variants.push(variant_out(admin, variant).await?);
    }
    let images = sqlx::query(
        "SELECT url, alt FROM product_images WHERE product_id = $1 ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|i| {
        Ok(ProductImage {
            url: i.try_get("url")?,
            alt: i.try_get("alt")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(AdminProduct {
        id,
        slug: p.try_get("slug")?,
        title: p.try_get("title")?,
        description: p.try_get("description_md")?,
        vendor: p.try_get("vendor")?,
        product_type: p.try_get("product_type")?,
        status: p.try_get("status")?,
        seo_title: p.try_get("seo_title")?,
        seo_description: p.try_get("seo_description")?,
        tags,
        final_sale: p.try_get::<i64, _>("final_sale")? != 0,
        options,
        variants,
        images,
        created_at: rfc3339(p.try_get("created_at")?),
        updated_at: rfc3339(p.try_get("updated_at")?),
    })
}

#[utoipa::path(get, path = "/api/v1/admin/products/{product}", tag = "admin", security(("bearer" = [])),
    params(("product" = i64, Path, description = "The product's id.")),
    responses((status = 200, body = AdminProduct), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_product(
    State(admin): State<Admin>,
    caller: Caller,
    Path(product): Path<String>,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let id = path_id(&product, "Product")?;
    Ok(Json(product_out(&admin, id).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductIn {
    slug: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    status: Option<ProductStatus>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    seo_title: Option<String>,
    #[serde(default)]
    seo_description: Option<String>,
    #[serde(default)]
    options: Option<Vec<String>>,
    #[serde(default)]
    variants: Option<Vec<NewVariantIn>>,
    /// Sold as final: never returnable.
    #[serde(default)]
    final_sale: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariantIn {
    sku: String,
    #[serde(default)]
    options: Option<Vec<String>>,
    price: MoneyIn,
    #[serde(default)]
    compare_at: Option<MoneyIn>,
    /// On hand to start with.
    #[serde(default)]
    stock: Option<i64>,
    #[serde(default)]
    weight_grams: Option<i64>,
    #[serde(default)]
    allow_backorder: Option<bool>,
    #[serde(default)]
    low_stock_threshold: Option<i64>,
}

/// The catalog page's rules for a product's own fields (`catalog::check_product`).
fn check_product_fields(
    problems: &mut Problems,
    title: &str,
    slug: &str,
    description: &str,
    seo_description: &str,
) {
    check_text(problems, "title", title, 1, 200);
    if !valid_slug(slug.trim()) {
        problems.add(
            "slug",
            "use lower-case letters, digits and hyphens (for example linen-shirt)",
        );
    }
    if description.len() > 50_000 {
        problems.add(
            "description",
            "keep the description under 50,000 characters",
        );
    }
    if seo_description.chars().count() > 320 {
        problems.add("seo_description", "keep it under 320 characters");
    }
}

fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = tags
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

#[utoipa::path(post, path = "/api/v1/admin/products", tag = "admin", security(("bearer" = [])),
    request_body = NewProductIn,
    responses((status = 201, body = AdminProduct), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_product(
    State(admin): State<Admin>,
    caller: Caller,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: NewProductIn = body(request)?;
    let currency = shop_currency(&admin).await?;
    let mut problems = Problems::default();
    let description = input.description.clone().unwrap_or_default();
    check_product_fields(
        &mut problems,
        &input.title,
        &input.slug,
        &description,
        input.seo_description.as_deref().unwrap_or_default(),
    );
    let tags = input.tags.as_deref().map(clean_tags).unwrap_or_default();
    if tags.len() > 50 || tags.iter().any(|t| t.chars().count() > 100) {
        problems.add("tags", "up to 50 tags of up to 100 characters each");
    }
    let options: Vec<String> = input
        .options
        .unwrap_or_default()
        .iter()
        .map(|o| o.trim().to_string())
        .collect();
    if options.len() > 3 {
        problems.add("options", "a product has at most three options");
    }
    for (i, option) in options.iter().enumerate() {
        check_text(&mut problems, &format!("options[{i}]"), option, 1, 100);
        if options[..i].contains(option) {
            problems.add(format!("options[{i}]"), "each option name once");
        }
    }
    let variants_in = input.variants.unwrap_or_default();
    if variants_in.len() > 100 {
        problems.add("variants", "a product has at most 100 variants");
    }
    let mut variants = Vec::with_capacity(variants_in.len());
    let mut thresholds = Vec::with_capacity(variants_in.len());
    let mut initial = Vec::with_capacity(variants_in.len());
    for (i, v) in variants_in.iter().enumerate() {
        let at = |f: &str| format!("variants[{i}].{f}");
        let sku = v.sku.trim().to_string();
        check_text(&mut problems, &at("sku"), &sku, 1, 64);
        if variants_in[..i].iter().any(|o| o.sku.trim() == sku) {
            problems.add(
                at("sku"),
                format!("'{sku}' is used by another variant in this request"),
            );
        }
        let values: Vec<String> = v
            .options
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|o| o.trim().to_string())
            .collect();
        if values.len() != options.len() {
            problems.add(
                at("options"),
                format!(
                    "give one value for each of the product's {} option(s)",
                    options.len()
                ),
            );
        }
        for (j, value) in values.iter().enumerate() {
            check_text(
                &mut problems,
                &format!("variants[{i}].options[{j}]"),
                value,
                1,
                100,
            );
        }
        let price = v.price.check(&at("price"), currency, 0, &mut problems);
        let compare_at = v
            .compare_at
            .as_ref()
            .map(|c| c.check(&at("compare_at"), currency, 0, &mut problems));
        initial.push(check_count(&mut problems, &at("stock"), v.stock).unwrap_or(0));
        let weight = check_count(&mut problems, &at("weight_grams"), v.weight_grams).unwrap_or(0);
        thresholds.push(check_count(
            &mut problems,
            &at("low_stock_threshold"),
            v.low_stock_threshold,
        ));
        variants.push(crate::catalog::ssr::NewVariant {
            sku,
            options: values,
            price: Money::new(price, currency),
            compare_at: compare_at.map(|a| Money::new(a, currency)),
            weight_grams: weight,
            // Stock never appears without its ledger line: the variant starts empty and its
            // initial stock is received through `inventory` below, like any other.
            on_hand: 0,
            allow_backorder: v.allow_backorder.unwrap_or(false),
        });
    }
    problems.finish()?;

    let slug = input.slug.trim().to_string();
    let status = input.status.unwrap_or(ProductStatus::Draft);
    let new = crate::catalog::ssr::NewProduct {
        slug,
        title: input.title.trim().to_string(),
        description_md: description,
        vendor: input.vendor.unwrap_or_default().trim().to_string(),
        product_type: input.product_type.unwrap_or_default().trim().to_string(),
        status: status.as_str(),
        tags,
        option_names: options,
        variants,
        images: Vec::new(),
    };
    let opt = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let (seo_title, seo_description) = (opt(input.seo_title), opt(input.seo_description));
    let final_sale = input.final_sale.unwrap_or(false);
    let note = format!("initial stock ({})", account.actor());
    let id = audited(&admin, &account, "Product created", move |conn| {
        Box::pin(async move {
            let mut taken = Problems::default();
            let slug_taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
                    .bind(&new.slug)
                    .fetch_optional(&mut *conn)
                    .await?;
            if slug_taken.is_some() {
                taken.add(
                    "slug",
                    format!("'{}' is already used by another product", new.slug),
                );
            }
            for (i, v) in new.variants.iter().enumerate() {
                let sku_taken: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM variants WHERE sku = $1")
                        .bind(&v.sku)
                        .fetch_optional(&mut *conn)
                        .await?;
                if sku_taken.is_some() {
                    taken.add(
                        format!("variants[{i}].sku"),
                        format!("'{}' is already used", v.sku),
                    );
                }
            }
            taken.finish()?;
            let now = now_epoch();
            let id = crate::catalog::ssr::insert_product(conn, &new, now)
                .await
                .map_err(|e| match e {
                    // Someone took the slug or a SKU since the check above.
                    sqlx::Error::Database(db) if db.is_unique_violation() => {
                        ApiError::field("slug", "the slug or a SKU was taken meanwhile; try again")
                    }
                    other => other.into(),
                })?;
            sqlx::query("UPDATE products SET seo_title = $1, seo_description = $2, final_sale = $4 WHERE id = $3")
                .bind(seo_title)
                .bind(seo_description)
                .bind(id)
                .bind(i64::from(final_sale))
                .execute(&mut *conn)
                .await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM variants WHERE product_id = $1 ORDER BY position, id",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            let mut moves = Vec::new();
            for ((variant, threshold), stock) in ids.iter().zip(&thresholds).zip(&initial) {
                if let Some(threshold) = threshold {
                    sqlx::query("UPDATE variants SET low_stock_threshold = $1 WHERE id = $2")
                        .bind(threshold)
                        .bind(variant)
                        .execute(&mut *conn)
                        .await?;
                }
                if *stock > 0 {
                    moves.push(StockMove {
                        variant_id: *variant,
                        order_id: None,
                        movement: Movement::Adjust(AdjustReason::Received),
                        quantity: *stock,
                        note: note.clone(),
                        expected_version: None,
                    });
                }
            }
            inventory::apply(conn, &moves, now)
                .await
                .map_err(|e| match e {
                    StockError::Database(error) => ApiError::from(error),
                    // Checked above: at most MAX_QUANTITY units onto an empty new variant.
                    other => {
                        tracing::error!(error = %other, "initial stock of a new product refused");
                        AdminError::Internal.into()
                    }
                })?;
            Ok(Audited {
                value: id,
                subject: format!("product:{id}"),
                detail: new.title.clone(),
            })
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(product_out(&admin, id).await?)).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ProductChanges {
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    status: Option<ProductStatus>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    seo_title: Option<String>,
    #[serde(default)]
    seo_description: Option<String>,
    /// Sold as final: never returnable.
    #[serde(default)]
    final_sale: Option<bool>,
}

/// Applies changes through the catalog page's own save (`write_product`): same rules, same
/// search document, same audit entry.
async fn change_product(
    admin: &Admin,
    account: &Account,
    id: i64,
    changes: ProductChanges,
) -> Result<AdminProduct, ApiError> {
    let current = crate::admin::catalog::product(admin, id).await?;
    let tags = match &changes.tags {
        Some(tags) => clean_tags(tags).join(", "),
        None => current.tags,
    };
    let status = changes
        .status
        .map(|s| s.as_str().to_string())
        .unwrap_or(current.status);
    let form = json!({
        "title": changes.title.unwrap_or(current.title),
        "slug": changes.slug.map(|s| s.trim().to_string()).unwrap_or(current.slug),
        "description_md": changes.description.unwrap_or(current.description_md),
        "vendor": changes.vendor.unwrap_or(current.vendor),
        "product_type": changes.product_type.unwrap_or(current.product_type),
        "status": status,
        "seo_title": changes.seo_title.unwrap_or(current.seo_title),
        "seo_description": changes.seo_description.unwrap_or(current.seo_description),
        "tags": tags,
        "final_sale": changes.final_sale.unwrap_or(current.final_sale).then_some("on"),
    });
    let form: ProductForm = serde_json::from_value(form).map_err(|_| AdminError::Internal)?;
    save_product(admin, account, id, form).await?;
    product_out(admin, id).await
}

#[utoipa::path(method(patch, post), path = "/api/v1/admin/products/{product}", tag = "admin", security(("bearer" = [])),
    params(("product" = i64, Path, description = "The product's id.")),
    request_body = ProductChanges,
    responses((status = 200, body = AdminProduct), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn update_product(
    State(admin): State<Admin>,
    caller: Caller,
    Path(product): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let changes: ProductChanges = body(request)?;
    let id = path_id(&product, "Product")?;
    Ok(Json(change_product(&admin, &account, id, changes).await?).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/products/{product}/publish", tag = "admin", security(("bearer" = [])),
    params(("product" = i64, Path, description = "The product's id.")),
    responses((status = 200, body = AdminProduct), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn publish(
    State(admin): State<Admin>,
    caller: Caller,
    Path(product): Path<String>,
) -> Result<Response, ApiError> {
    set_status(admin, caller, product, ProductStatus::Active).await
}

#[utoipa::path(post, path = "/api/v1/admin/products/{product}/archive", tag = "admin", security(("bearer" = [])),
    params(("product" = i64, Path, description = "The product's id.")),
    responses((status = 200, body = AdminProduct), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn archive(
    State(admin): State<Admin>,
    caller: Caller,
    Path(product): Path<String>,
) -> Result<Response, ApiError> {
    set_status(admin, caller, product, ProductStatus::Archived).await
}

async fn set_status(
    admin: Admin,
    caller: Caller,
    product: String,
    status: ProductStatus,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let id = path_id(&product, "Product")?;
    let changes = ProductChanges {
        status: Some(status),
        ..ProductChanges::default()
    };
    Ok(Json(change_product(&admin, &account, id, changes).await?).into_response())
}
