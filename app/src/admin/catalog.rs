//! Catalog management for staff: products (create, edit, publish, archive), variants and
//! prices, pictures (resized like imported ones), collections and their order, and CSV import
//! from the browser with progress and the CLI's per-line errors.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Router;
use serde::Deserialize;
use sqlx::{AnyConnection, Row};

use super::listed::ListedRouter;
use super::respond::{form_error, outcome};
use super::service::{audit_subject, editor_of, Admin, Audited, ProductPart};
use super::variant_grid::{check_variant, VariantForm};
use super::{Access, AdminError, CollectionEdit, ImportJob, PictureEdit, ProductEdit, VariantEdit};
use crate::catalog::media::MediaStore;
use crate::db::now_epoch;
use crate::money::{Currency, Money};
use crate::write_queue::JobFuture;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: axum::extract::FromRef<S>,
    MediaStore: axum::extract::FromRef<S>,
{
    listed_routes().into_router()
}

/// The catalog's staff routes, listed (see [`ListedRouter`]).
pub fn listed_routes<S>() -> ListedRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: axum::extract::FromRef<S>,
    MediaStore: axum::extract::FromRef<S>,
{
    ListedRouter::default()
        .post("/admin/products", create_product)
        .post("/admin/products/bulk", super::products::bulk_edit_form)
        .post("/admin/products/{product}", update_product)
        .post("/admin/products/{product}/variants", add_variant)
        .post("/admin/products/{product}/images", upload_image)
        .post(
            "/admin/products/{product}/images/order",
            super::pictures::reorder,
        )
        .post("/admin/images/{image}/remove", super::pictures::remove)
        .post(
            "/admin/products/{product}/variants/grid",
            super::variant_grid::save_grid,
        )
        .post(
            "/admin/products/{product}/variants/generate",
            super::variant_grid::generate,
        )
        .post(
            "/admin/variants/{variant}/remove",
            super::variant_grid::remove,
        )
        .post("/admin/variants/{variant}", update_variant)
        .post("/admin/collections", save_collection)
        .post("/admin/import", import_csv)
        // Pictures and catalogs are larger than forms: up to 25 MB.
        .map(|router| router.layer(axum::extract::DefaultBodyLimit::max(25 * 1024 * 1024)))
}

pub(super) fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 120
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

fn variant_edit_from_row(v: &sqlx::any::AnyRow) -> Result<VariantEdit, sqlx::Error> {
    let currency = Currency::parse(&v.try_get::<String, _>("currency")?)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let amount = |n: i64| Money::new(n, currency).plain_number();
    let mut options = Vec::new();
    for column in ["option1", "option2", "option3"] {
        options.extend(v.try_get::<Option<String>, _>(column)?);
    }
    Ok(VariantEdit {
        id: v.try_get("id")?,
        sku: v.try_get("sku")?,
        options,
        price: amount(v.try_get("price_amount")?),
        compare_at: v
            .try_get::<Option<i64>, _>("compare_at_amount")?
            .map(amount)
            .unwrap_or_default(),
        weight_grams: v.try_get("weight_grams")?,
        allow_backorder: v.try_get::<String, _>("backorder")? == "allow",
        threshold: v.try_get("low_stock_threshold")?,
        on_hand: v.try_get("on_hand")?,
        reserved: v.try_get("reserved")?,
        version: v.try_get("version")?,
        archived: v.try_get::<Option<i64>, _>("archived_at")?.is_some(),
    })
}

pub async fn collections(admin: &Admin) -> Result<Vec<CollectionEdit>, AdminError> {
    let pool = admin.checkout().db().pool();
    let rows = sqlx::query("SELECT id, slug, title FROM collections ORDER BY title")
        .fetch_all(pool)
        .await?;
    let members = sqlx::query(
        "SELECT cp.collection_id, p.slug FROM collection_products cp JOIN products p ON p.id = cp.product_id \
         ORDER BY cp.collection_id, cp.position",
    )
    .fetch_all(pool)
    .await?;
    let mut memberships: Vec<(i64, String)> = Vec::with_capacity(members.len());
    for m in &members {
        memberships.push((m.try_get("collection_id")?, m.try_get("slug")?));
    }
    let mut collections = Vec::with_capacity(rows.len());
    for c in &rows {
        let id: i64 = c.try_get("id")?;
        collections.push(CollectionEdit {
            slug: c.try_get("slug")?,
            title: c.try_get("title")?,
            handles: memberships
                .iter()
                .filter(|(collection, _)| *collection == id)
                .map(|(_, slug)| slug.clone())
                .collect(),
        });
    }
    Ok(collections)
}

pub async fn product(admin: &Admin, id: i64) -> Result<ProductEdit, AdminError> {
    let pool = admin.checkout().db().pool();
    let p = sqlx::query(
        "SELECT id, title, slug, description_md, vendor, product_type, status, seo_title, seo_description, \
         final_sale FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| AdminError::NotFound(format!("Product {id}")))?;
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
    let variants = sqlx::query(
        "SELECT id, sku, option1, option2, option3, price_amount, compare_at_amount, currency, weight_grams, backorder, \
         low_stock_threshold, on_hand, reserved, version, archived_at FROM variants WHERE product_id = $1 ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(variant_edit_from_row)
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let images = sqlx::query(
        "SELECT id, url, alt FROM product_images WHERE product_id = $1 ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|i| {
        Ok(PictureEdit {
            id: i.try_get("id")?,
            url: i.try_get("url")?,
            alt: i.try_get("alt")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(ProductEdit {
        id,
        title: p.try_get("title")?,
        slug: p.try_get("slug")?,
        description_md: p.try_get("description_md")?,
        vendor: p.try_get("vendor")?,
        product_type: p.try_get("product_type")?,
        status: p.try_get("status")?,
        seo_title: p
            .try_get::<Option<String>, _>("seo_title")?
            .unwrap_or_default(),
        seo_description: p
            .try_get::<Option<String>, _>("seo_description")?
            .unwrap_or_default(),
        tags: tags.join(", "),
        final_sale: p.try_get::<i64, _>("final_sale")? != 0,
        option_names: options,
        variants,
        images,
    })
}

/// Also built by the JSON API from a product and its changes (see `rest.rs`).
#[derive(Deserialize)]
pub(super) struct ProductForm {
    title: String,
    slug: String,
    #[serde(default)]
    description_md: String,
    #[serde(default)]
    vendor: String,
    #[serde(default)]
    product_type: String,
    #[serde(default = "draft")]
    status: String,
    #[serde(default)]
    seo_title: String,
    #[serde(default)]
    seo_description: String,
    #[serde(default)]
    tags: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    final_sale: Option<String>,
}

fn draft() -> String {
    "draft".into()
}

/// Checks a product form; every problem at once, as `field: message`.
fn check_product(form: &ProductForm) -> Result<(), AdminError> {
    let mut problems = Vec::new();
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        problems.push("title: enter a title of up to 200 characters".to_string());
    }
    if !valid_slug(form.slug.trim()) {
        problems.push(
            "slug: use lower-case letters, digits and hyphens (for example linen-shirt)".into(),
        );
    }
    if !matches!(form.status.as_str(), "draft" | "active" | "archived") {
        problems.push("status: choose draft, active or archived".into());
    }
    if form.description_md.len() > 50_000 {
        problems.push("description_md: keep the description under 50,000 characters".into());
    }
    if form.seo_description.chars().count() > 320 {
        problems.push("seo_description: keep it under 320 characters".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "Please correct: {}.",
            problems.join("; ")
        )))
    }
}

/// Creates (`id` None) or updates a product from a checked form, in the caller's transaction.
async fn write_product(
    tx: &mut AnyConnection,
    id: Option<i64>,
    form: &ProductForm,
) -> Result<i64, AdminError> {
    let now = now_epoch();
    let slug = form.slug.trim();
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some_and(|t| Some(t) != id) {
        return Err(AdminError::Invalid(format!(
            "Please correct: slug: '{slug}' is already used by another product."
        )));
    }
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let id = match id {
        Some(id) => {
            let done = sqlx::query(
                "UPDATE products SET title = $1, slug = $2, description_md = $3, vendor = $4, product_type = $5, \
                 status = $6, seo_title = $7, seo_description = $8, updated_at = $9, final_sale = $11 WHERE id = $10",
            )
            .bind(form.title.trim())
            .bind(slug)
            .bind(&form.description_md)
            .bind(form.vendor.trim())
            .bind(form.product_type.trim())
            .bind(&form.status)
            .bind(opt(&form.seo_title))
            .bind(opt(&form.seo_description))
            .bind(now)
            .bind(id)
            .bind(i64::from(form.final_sale.is_some()))
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(AdminError::NotFound(format!("Product {id}")));
            }
            id
        }
        None => sqlx::query_scalar(
            "INSERT INTO products (slug, title, description_md, vendor, product_type, status, seo_title, seo_description, \
             created_at, updated_at, final_sale) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id",
        )
        .bind(slug)
        .bind(form.title.trim())
        .bind(&form.description_md)
        .bind(form.vendor.trim())
        .bind(form.product_type.trim())
        .bind(&form.status)
        .bind(opt(&form.seo_title))
        .bind(opt(&form.seo_description))
        .bind(now)
        .bind(i64::from(form.final_sale.is_some()))
        .fetch_one(&mut *tx)
        .await?,
    };
    sqlx::query("DELETE FROM product_tags WHERE product_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut tags: Vec<String> = form
        .tags
        .split(',')
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    for tag in tags {
        sqlx::query("INSERT INTO product_tags (product_id, tag) VALUES ($1, $2)")
            .bind(id)
            .bind(tag)
            .execute(&mut *tx)
            .await?;
    }
    crate::catalog::ssr::refresh_search_document(tx, id).await?;
    Ok(id)
}

/// A catalog edit and its audit entry: one transaction, through the shop's writer.
async fn audited_write<T, F>(
    admin: &Admin,
    account: &super::auth::Account,
    action: &'static str,
    job: F,
) -> Result<T, AdminError>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> JobFuture<'c, Result<Audited<T>, AdminError>>
        + Send
        + 'static,
{
    super::service::audited_write(admin, account, action, job).await
}

async fn audited(
    admin: &Admin,
    account: &super::auth::Account,
    action: &str,
    subject: String,
    detail: String,
) -> Result<(), AdminError> {
    let actor = account.clone();
    let action = action.to_string();
    admin
        .checkout()
        .writes()
        .run(move |conn| -> JobFuture<'_, Result<(), AdminError>> {
            Box::pin(async move { audit_subject(conn, &actor, &action, &subject, &detail).await })
        })
        .await
}

async fn create_product(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<ProductForm>, FormRejection>,
) -> Response {
    let mut to = "/admin/products/new".to_string();
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(form) = form.map_err(form_error)?;
        check_product(&form)?;
        let id = audited_write(&admin, &account, "Product created", move |conn| {
            Box::pin(async move {
                let id = write_product(conn, None, &form).await?;
                Ok(Audited {
                    value: id,
                    subject: format!("product:{id}"),
                    detail: form.title.clone(),
                })
            })
        })
        .await?;
        to = format!("/admin/products/{id}");
        Ok("Product created.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

/// Saves a product's fields as the edit page does (checked, with the search document and the
/// audit entry, in one transaction): the JSON API's edits come through here too.
pub(super) async fn save_product(
    admin: &Admin,
    account: &super::auth::Account,
    id: i64,
    form: ProductForm,
) -> Result<(), AdminError> {
    check_product(&form)?;
    audited_write(admin, account, "Product edited", move |conn| {
        Box::pin(async move {
            write_product(conn, Some(id), &form).await?;
            Ok(Audited {
                value: (),
                subject: format!("product:{id}"),
                detail: format!("status {}", form.status),
            })
        })
    })
    .await
}

async fn update_product(
    State(admin): State<Admin>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<ProductForm>, FormRejection>,
) -> Response {
    let to = format!("/admin/products/{id}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(form) = form.map_err(form_error)?;
        save_product(&admin, &account, id, form).await?;
        Ok("Saved.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

async fn add_variant(
    State(admin): State<Admin>,
    Path(product): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<VariantForm>, FormRejection>,
) -> Response {
    let to = format!("/admin/products/{product}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(form) = form.map_err(form_error)?;
        let currency = admin.checkout().rules().await?.currency;
        let v = check_variant(&form, currency)?;
        audited_write(&admin, &account, "Variant added", move |tx| Box::pin(async move {
        let inserted = sqlx::query(
            "INSERT INTO variants (product_id, position, sku, option1, option2, option3, price_amount, compare_at_amount, \
             currency, weight_grams, on_hand, backorder, low_stock_threshold) \
             VALUES ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM variants WHERE product_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11) \
             ON CONFLICT (sku) DO NOTHING RETURNING id",
        )
        .bind(product)
        .bind(&v.sku)
        .bind(v.options.first().cloned())
        .bind(v.options.get(1).cloned())
        .bind(v.options.get(2).cloned())
        .bind(v.price)
        .bind(v.compare_at)
        .bind(currency.code())
        .bind(v.weight)
        .bind(v.backorder)
        .bind(v.threshold)
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            return Err(AdminError::Invalid(format!("Please correct: sku: '{}' is already used.", v.sku)));
        }
        crate::catalog::ssr::refresh_search_document(tx, product).await?;
        Ok(Audited { value: (), subject: format!("product:{product}"), detail: v.sku.clone() })
        })).await?;
        Ok("Variant added.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

async fn update_variant(
    State(admin): State<Admin>,
    Path(variant): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<VariantForm>, FormRejection>,
) -> Response {
    let (product, to) = editor_of(&admin, ProductPart::Variant, variant).await;
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(form) = form.map_err(form_error)?;
        let v = check_variant(&form, admin.checkout().rules().await?.currency)?;
        let version = form.version.ok_or_else(|| AdminError::Invalid("The form is out of date; reload the page.".into()))?;
        audited_write(&admin, &account, "Variant edited", move |tx| Box::pin(async move {
        let done = sqlx::query(
            "UPDATE variants SET sku = $1, option1 = $2, option2 = $3, option3 = $4, price_amount = $5, compare_at_amount = $6, \
             weight_grams = $7, backorder = $8, low_stock_threshold = $9, version = version + 1 WHERE id = $10 AND version = $11",
        )
        .bind(&v.sku)
        .bind(v.options.first().cloned())
        .bind(v.options.get(1).cloned())
        .bind(v.options.get(2).cloned())
        .bind(v.price)
        .bind(v.compare_at)
        .bind(v.weight)
        .bind(v.backorder)
        .bind(v.threshold)
        .bind(variant)
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AdminError::Invalid(format!("Please correct: sku: '{}' is already used.", v.sku))
            }
            other => AdminError::from(other),
        })?;
        if done.rows_affected() != 1 {
            return Err(AdminError::Conflict(
                "Someone changed this variant meanwhile; reload to see their change, then edit again.".into(),
            ));
        }
        if let Some(product) = product {
            crate::catalog::ssr::refresh_search_document(tx, product).await?;
        }
        Ok(Audited { value: (), subject: format!("variant:{variant}"), detail: format!("{} price {}", v.sku, v.price) })
        })).await?;
        Ok("Variant saved.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

async fn upload_image(
    State(admin): State<Admin>,
    State(media): State<MediaStore>,
    Path(product): Path<i64>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let to = format!("/admin/products/{product}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let mut multipart = multipart.map_err(|e| AdminError::Invalid(e.body_text()))?;
        let (mut bytes, mut alt) = (None, String::new());
        while let Some(field) = multipart.next_field().await.map_err(|e| AdminError::Invalid(e.body_text()))? {
            match field.name() {
                Some("picture") => bytes = Some(field.bytes().await.map_err(|e| AdminError::Invalid(e.body_text()))?),
                Some("alt") => alt = field.text().await.unwrap_or_default(),
                _ => {}
            }
        }
        let bytes = bytes.filter(|b| !b.is_empty()).ok_or_else(|| AdminError::Invalid("Choose a picture to upload.".into()))?;
        let stored = tokio::task::spawn_blocking(move || media.store(&bytes))
            .await
            .map_err(|_| AdminError::Internal)?
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        audited_write(&admin, &account, "Picture added", move |conn| Box::pin(async move {
        sqlx::query(
            "INSERT INTO product_images (product_id, position, url, alt, width, height, srcset, webp_srcset) \
             VALUES ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM product_images WHERE product_id = $1), $2, $3, $4, $5, $6, $7)",
        )
        .bind(product)
        .bind(&stored.url)
        .bind(alt.trim())
        .bind(stored.width)
        .bind(stored.height)
        .bind(&stored.srcset)
        .bind(&stored.webp_srcset)
        .execute(&mut *conn)
        .await?;
        Ok(Audited { value: (), subject: format!("product:{product}"), detail: stored.url })
        })).await?;
        Ok("Picture added.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

#[derive(Deserialize)]
struct CollectionForm {
    title: String,
    slug: String,
    /// Product handles, one per line, in the order shown.
    #[serde(default)]
    products: String,
    /// `delete` deletes the collection (its products stay).
    #[serde(default)]
    intent: String,
}

async fn save_collection(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<CollectionForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(form) = form.map_err(form_error)?;
        let slug = form.slug.trim();
        if form.intent == "delete" {
            let slug = slug.to_string();
            let title = form.title.trim().to_string();
            audited_write(&admin, &account, "Collection deleted", move |tx| {
                Box::pin(async move {
                    let id: i64 = sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1")
                        .bind(&slug)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| AdminError::NotFound(format!("Collection '{slug}'")))?;
                    // Its members first: the shop's listing follows them out through its triggers.
                    sqlx::query("DELETE FROM collection_products WHERE collection_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM collections WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    Ok(Audited { value: (), subject: format!("collection:{id}"), detail: slug })
                })
            })
            .await?;
            return Ok(format!("Collection '{title}' deleted; its products stay in the shop."));
        }
        if !valid_slug(slug) || form.title.trim().is_empty() {
            return Err(AdminError::Invalid("Please correct: title and slug (lower-case letters, digits, hyphens) are required.".into()));
        }
        let slug = slug.to_string();
        let title = form.title.trim().to_string();
        let handles: Vec<String> = form.products.lines().map(str::trim).filter(|h| !h.is_empty()).map(String::from).collect();
        let count = audited_write(&admin, &account, "Collection saved", move |tx| Box::pin(async move {
        let mut ids = Vec::new();
        for handle in &handles {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
                .bind(handle)
                .fetch_optional(&mut *tx)
                .await?;
            match id {
                Some(id) if !ids.contains(&id) => ids.push(id),
                Some(_) => {}
                None => return Err(AdminError::Invalid(format!("Please correct: products: no product has the handle '{handle}'."))),
            }
        }
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1")
            .bind(&slug)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match existing {
            Some(id) => {
                sqlx::query("UPDATE collections SET title = $1, updated_at = $2 WHERE id = $3")
                    .bind(&title)
                    .bind(now_epoch())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM collection_products WHERE collection_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                for (position, product) in ids.iter().enumerate() {
                    sqlx::query("INSERT INTO collection_products (collection_id, product_id, position) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(product)
                        .bind(position as i64)
                        .execute(&mut *tx)
                        .await?;
                }
                id
            }
            None => crate::catalog::ssr::insert_collection(tx, &slug, &title, "", false, &ids).await?,
        };
        Ok(Audited { value: ids.len(), subject: format!("collection:{id}"), detail: format!("{} products", ids.len()) })
        })).await?;
        Ok(format!("Collection '{}' saved with {count} products.", form.title.trim()))
    }
    .await;
    outcome(&headers, "/admin/collections", result)
}

/// Takes a CSV upload, checks it like `kassa import` (all lines, all problems), then imports
/// it in the background; the job's page shows progress.
async fn import_csv(
    State(admin): State<Admin>,
    State(media): State<MediaStore>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let mut to = "/admin/import".to_string();
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let mut multipart = multipart.map_err(|e| AdminError::Invalid(e.body_text()))?;
        let (mut bytes, mut replace) = (None, false);
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| AdminError::Invalid(e.body_text()))?
        {
            match field.name() {
                Some("file") => {
                    bytes = Some(
                        field
                            .bytes()
                            .await
                            .map_err(|e| AdminError::Invalid(e.body_text()))?,
                    )
                }
                Some("replace") => replace = true,
                _ => {}
            }
        }
        let bytes = bytes
            .filter(|b| !b.is_empty())
            .ok_or_else(|| AdminError::Invalid("Choose a CSV file.".into()))?;
        let currency = admin.checkout().rules().await?.currency;
        // Picture file names cannot refer to the uploader's disk: only addresses work here.
        let base = std::env::temp_dir().join("kassa-browser-import-has-no-files");
        let checked = crate::catalog::csv_io::check_import(
            admin.checkout().db(),
            &bytes[..],
            &base,
            currency,
            &media,
            replace,
        )
        .await
        .map_err(|error| match error {
            crate::catalog::csv_io::ImportError::Invalid(errors) => AdminError::Invalid(
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            other => {
                tracing::error!(error = %other, "checking an uploaded import failed");
                AdminError::Internal
            }
        })?;
        let id = crate::checkout::service::random_token();
        let total = checked.products();
        admin
            .import_jobs()
            .0
            .lock()
            .map_err(|_| AdminError::Internal)?
            .insert(
                id.clone(),
                ImportJob {
                    id: id.clone(),
                    total: total as u32,
                    done: 0,
                    finished: false,
                    errors: Vec::new(),
                    imported: 0,
                },
            );
        let jobs = admin.import_jobs().clone();
        let (job, db) = (id.clone(), admin.checkout().db().clone());
        let auditor = admin.clone();
        tokio::spawn(async move {
            let progress_jobs = jobs.clone();
            let progress_id = job.clone();
            let result =
                crate::catalog::csv_io::write_import(&db, &bytes[..], &checked, move |done| {
                    progress_jobs.update(&progress_id, |j| j.done = done as u32)
                })
                .await;
            let (imported, errors) = match result {
                Ok(n) => (n as u32, Vec::new()),
                Err(crate::catalog::csv_io::ImportError::Invalid(errors)) => {
                    (0, errors.iter().map(|e| e.to_string()).collect())
                }
                Err(partial @ crate::catalog::csv_io::ImportError::Partial { written, .. }) => {
                    (written as u32, vec![partial.to_string()])
                }
                Err(other) => (0, vec![other.to_string()]),
            };
            jobs.update(&job, |j| {
                j.finished = true;
                j.imported = imported;
                j.errors = errors;
            });
            let _ = audited(
                &auditor,
                &account,
                "Products imported",
                format!("import:{job}"),
                format!("{imported} products"),
            )
            .await;
        });
        to = format!("/admin/import/{id}");
        Ok(format!("Importing {total} products…"))
    }
    .await;
    outcome(&headers, &to, result)
}
