//! The public JSON API of the catalog, `/api/v1/…`, for headless storefronts and integrations.
//! It calls the same queries as the pages; only the shapes are its own, and they are a
//! contract: fields may be added, never renamed or removed within v1.

use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Serialize;
use sqlx::Row;

use super::listing::{list_products, list_products_in};
use super::query::{ListingParams, ProductQuery, Sort, MAX_PAGE_SIZE, PAGE_SIZE};
use super::ssr::{collection_by_slug, collections, product_by_slug};
use super::{CollectionSummary, Image, Product, ProductCard, Variant};
use crate::checkout::service::Checkout;
use crate::db::Db;
use crate::error::ErrorBody;
use crate::money::{Currency, Money};

/// Routes for the API, to be nested at the root of the server's router.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Db: axum::extract::FromRef<S>,
    Checkout: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/api/v1/products", get(list))
        .route("/api/v1/products/{slug}", get(show))
        .route("/api/v1/collections", get(list_collections))
        .route("/api/v1/collections/{slug}", get(show_collection))
}

/// An error as the API reports it: `{"error": {"status": 400, "message": "…"}}`.
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("{what} was not found"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error in the API");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "something went wrong on our side; please try again".into(),
        }
    }
}

impl From<super::listing::ListError> for ApiError {
    fn from(error: super::listing::ListError) -> Self {
        match error {
            super::listing::ListError::BadCursor(message) => ApiError::bad_request(message),
            super::listing::ListError::Database(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "status": self.status.as_u16(), "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiProductSummary {
    pub slug: String,
    pub title: String,
    pub url: String,
    /// The lowest price among the variants that can be bought.
    pub price: Money,
    pub compare_at: Option<Money>,
    pub image: Option<Image>,
    /// Units that can be bought now across all variants.
    pub available: i64,
    pub variants: Vec<Variant>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiProduct {
    pub slug: String,
    pub title: String,
    pub url: String,
    pub description: String,
    pub description_html: String,
    pub vendor: String,
    pub product_type: String,
    pub tags: Vec<String>,
    pub options: Vec<String>,
    pub variants: Vec<Variant>,
    pub images: Vec<Image>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiCollection {
    #[serde(flatten)]
    pub collection: CollectionSummary,
    pub url: String,
}

/// Reads `limit`, `cursor`, `q`, `sort`, price and option filters; rejects what it cannot use.
async fn parse_query(
    checkout: &Checkout,
    raw: Option<&str>,
    collection: Option<String>,
) -> Result<ProductQuery, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| ApiError::bad_request("the query string is not valid URL encoding"))?;
    let mut limit = PAGE_SIZE;
    let mut collection = collection;
    for (key, value) in &pairs {
        match key.as_str() {
            "limit" => {
                limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|l| (1..=MAX_PAGE_SIZE).contains(l))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "limit must be a whole number from 1 to {MAX_PAGE_SIZE}, not '{value}'"
                        ))
                    })?;
            }
            "collection" if collection.is_none() && !value.is_empty() => {
                collection = Some(value.clone())
            }
            _ => {}
        }
    }
    let listing = ListingParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // Price filters are typed in the shop's currency, read only when one is set.
    let currency = if listing.needs_currency() {
        checkout.rules().await?.currency
    } else {
        Currency::EUR
    };
    let mut query = listing
        .parse(collection, limit, currency)
        .map_err(ApiError::bad_request)?;
    if query.text.is_none() && query.collection.is_none() && query.sort == Sort::Featured {
        query.sort = Sort::Newest;
    }
    Ok(query)
}

/// Active products, one page at a time.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", operation_id = "listProducts",
    params(
        ("q" = Option<String>, Query, description = "Full-text search over title, description, tags and SKUs; results are ranked."),
        ("collection" = Option<String>, Query, description = "Only products in this collection (its slug)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."), ("limit" = Option<i64>, Query, description = "1 to 100; 24 if not given."), ("sort" = Option<String>, Query, description = "`featured`, `newest`, `price-asc`, `price-desc` or `name`."),
        ("min" = Option<String>, Query, description = "Lowest price in major units, such as 19.99."),
        ("max" = Option<String>, Query, description = "Highest price in major units."),
        ("option" = Option<Vec<String>>, Query, description = "An option value a variant must have, as Name:Value (repeatable)."),
        ("in_stock" = Option<String>, Query, description = "`1` or `true`: only what can be bought now."),
    ),
    responses((status = 200, body = ApiPage<ApiProductSummary>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list(
    State(db): State<Db>,
    State(checkout): State<Checkout>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ApiPage<ApiProductSummary>>, ApiError> {
    let query = parse_query(&checkout, raw.as_deref(), None).await?;
    let collection = query.collection.clone();
    let page = list_products(&mut *db.reader().await?, &query)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(&format!("collection '{}'", collection.unwrap_or_default()))
        })?;
    Ok(Json(ApiPage {
        items: summaries(&db, page.items).await?,
        next_cursor: page.next_cursor,
    }))
}

/// One active product with its variants and images.
#[utoipa::path(get, path = "/api/v1/products/{slug}", tag = "catalog", operation_id = "getProduct",
    params(("slug" = String, Path)),
    responses((status = 200, body = ApiProduct), (status = 404, body = ErrorBody)))]
pub(crate) async fn show(
    State(db): State<Db>,
    Path(slug): Path<String>,
) -> Result<Json<ApiProduct>, ApiError> {
    let product = product_by_slug(&mut *db.reader().await?, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("product '{slug}'")))?;
    Ok(Json(api_product(product)))
}

/// All collections.
#[utoipa::path(get, path = "/api/v1/collections", tag = "catalog", operation_id = "listCollections",
    responses((status = 200, body = ApiPage<ApiCollection>)))]
pub(crate) async fn list_collections(
    State(db): State<Db>,
) -> Result<Json<ApiPage<ApiCollection>>, ApiError> {
    let items = collections(&db, false)
        .await?
        .into_iter()
        .map(|collection| ApiCollection {
            url: format!("/collections/{}", collection.slug),
            collection,
        })
        .collect();
    Ok(Json(ApiPage {
        items,
        next_cursor: None,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiCollectionWithProducts {
    #[serde(flatten)]
    collection: ApiCollection,
    products: ApiPage<ApiProductSummary>,
}

/// One collection with a page of its products, in the collection's order.
#[utoipa::path(get, path = "/api/v1/collections/{slug}", tag = "catalog", operation_id = "getCollection",
    params(("slug" = String, Path), ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page."), ("limit" = Option<i64>, Query, description = "1 to 100; 24 if not given."), ("sort" = Option<String>, Query, description = "`featured`, `newest`, `price-asc`, `price-desc` or `name`.")),
    responses((status = 200, body = ApiCollectionWithProducts), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn show_collection(
    State(db): State<Db>,
    State(checkout): State<Checkout>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ApiCollectionWithProducts>, ApiError> {
    let not_found = || ApiError::not_found(&format!("collection '{slug}'"));
    let query = parse_query(&checkout, raw.as_deref(), Some(slug.clone())).await?;
    let mut conn = db.reader().await?;
    let (id, collection) = collection_by_slug(&mut conn, &slug)
        .await?
        .ok_or_else(not_found)?;
    let page = list_products_in(&mut conn, &query, id).await?;
    // Back to the pool before `summaries` takes one: requests each holding one while waiting
    // for another could take the whole pool.
    drop(conn);
    Ok(Json(ApiCollectionWithProducts {
        collection: ApiCollection {
            url: format!("/collections/{}", collection.slug),
            collection,
        },
        products: ApiPage {
            items: summaries(&db, page.items).await?,
            next_cursor: page.next_cursor,
        },
    }))
}

fn api_product(product: Product) -> ApiProduct {
    ApiProduct {
        url: format!("/products/{}", product.slug),
        slug: product.slug,
        title: product.title,
        description: product.description,
        description_html: product.description_html,
        vendor: product.vendor,
        product_type: product.product_type,
        tags: product.tags,
        options: product.option_names,
        variants: product.variants,
        images: product.images,
    }
}

/// Cards with their variants, loaded for the whole page in one query (no query per product).
async fn summaries(db: &Db, cards: Vec<ProductCard>) -> Result<Vec<ApiProductSummary>, ApiError> {
    if cards.is_empty() {
        return Ok(vec![]);
    }
    let placeholders: Vec<String> = (1..=cards.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT p.slug, v.id, v.sku, v.option1, v.option2, v.option3, v.price_amount,
                v.compare_at_amount, v.currency, v.backorder,
                CASE WHEN v.on_hand > v.reserved THEN v.on_hand - v.reserved ELSE 0 END AS available
           FROM variants v JOIN products p ON p.id = v.product_id
          WHERE p.slug IN ({}) AND v.archived_at IS NULL
          ORDER BY v.product_id, v.position, v.id",
        placeholders.join(", ")
    );
    let rows = cards
        .iter()
        .fold(sqlx::query(&sql), |q, card| q.bind(card.slug.as_str()))
        .fetch_all(db.pool())
        .await?;
    let mut variants: Vec<(String, Variant)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let currency = Currency::parse(&row.try_get::<String, _>("currency")?)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let options = super::ssr::option_values(row);
        variants.push((
            row.try_get("slug")?,
            Variant {
                id: row.try_get("id")?,
                sku: row.try_get("sku")?,
                title: options.join(" / "),
                options,
                price: Money::new(row.try_get("price_amount")?, currency),
                compare_at: row
                    .try_get::<Option<i64>, _>("compare_at_amount")?
                    .map(|a| Money::new(a, currency)),
                available: row.try_get("available")?,
                backorder: row.try_get::<String, _>("backorder")? == "allow",
                image_url: None,
            },
        ));
    }
    Ok(cards
        .into_iter()
        .map(|card| {
            let mine = variants.iter().position(|(slug, _)| *slug == card.slug);
            let mut own = Vec::new();
            if let Some(start) = mine {
                while start < variants.len() && variants[start].0 == card.slug {
                    own.push(variants.remove(start).1);
                }
            }
            ApiProductSummary {
                // Units that can be bought now across its live variants, as each says.
                available: own.iter().map(|v| v.available).sum(),
                url: format!("/products/{}", card.slug),
                slug: card.slug,
                title: card.title,
                price: card.price,
                compare_at: card.compare_at,
                image: card.image,
                variants: own,
            }
        })
        .collect())
}
