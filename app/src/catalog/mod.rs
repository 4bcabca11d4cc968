//! The product catalog: what the shop sells, as shoppers see it.

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod bulk;
mod cards;
#[cfg(feature = "ssr")]
pub mod collection_document;
#[cfg(feature = "ssr")]
pub mod csv_io;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod listing;
#[cfg(feature = "ssr")]
pub mod markdown;
#[cfg(feature = "ssr")]
pub mod media;
#[cfg(feature = "ssr")]
pub mod memory;
mod pages;
#[cfg(feature = "ssr")]
pub mod product_document;
pub mod query;
#[cfg(feature = "ssr")]
pub(crate) mod relevance;
#[cfg(feature = "ssr")]
pub mod seo;
#[cfg(feature = "ssr")]
pub mod ssr;

mod browse;
mod buy_box;
pub mod variant_choice;

pub use browse::{CollectionPage, SearchPage};
pub use pages::{HomePage, ProductPage};

use leptos::prelude::*;
// Arguments travel as JSON: the WASM already carries a JSON codec for results.
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::money::Money;
use query::ProductList;

/// A picture with the size the browser needs to reserve space before it loads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Image {
    pub url: String,
    pub alt: String,
    pub width: i64,
    pub height: i64,
    /// Smaller copies for `srcset` ("url 320w, …"), for pictures from the media pipeline.
    pub srcset: Option<String>,
    /// The same widths as WebP, which the pages offer first; absent for pictures linked from
    /// elsewhere or stored before WebP copies were made.
    #[serde(default)]
    pub webp_srcset: Option<String>,
}

/// A product as it appears in a grid: enough to show it and put its default variant in the cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCard {
    pub slug: String,
    pub title: String,
    /// The cheapest variant that can be bought now, which "Add to cart" on a card adds.
    pub variant_id: i64,
    pub variant_buyable: bool,
    pub variant_title: String,
    pub price: Money,
    pub compare_at: Option<Money>,
    pub image: Option<Image>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Variant {
    pub id: i64,
    pub sku: String,
    /// The option values joined for people: "M / Forest".
    pub title: String,
    pub options: Vec<String>,
    pub price: Money,
    pub compare_at: Option<Money>,
    /// Units that can be bought now (on hand less reserved; unbounded when backorders are allowed).
    pub available: i64,
    pub backorder: bool,
    pub image_url: Option<String>,
}

/// A collection named in a link: its address is `/collections/{slug}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionLink {
    pub slug: String,
    pub title: String,
}

impl CollectionLink {
    /// The collection as a breadcrumb: its title and its page's path.
    pub fn crumb(&self) -> (String, String) {
        (self.title.clone(), format!("/collections/{}", self.slug))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub slug: String,
    /// The absolute canonical address of the product page.
    pub url: String,
    /// schema.org `Product` with its offers, for search engines (JSON, safe inside `<script>`).
    pub json_ld: String,
    /// The collection the breadcrumbs lead back to: the first the product joined, if any.
    pub collection: Option<CollectionLink>,
    /// schema.org `BreadcrumbList` of the breadcrumbs (JSON, safe inside `<script>`).
    pub breadcrumbs_json_ld: String,
    pub title: String,
    /// The Markdown source, as staff wrote it.
    pub description: String,
    /// The description rendered and sanitised on the server.
    pub description_html: String,
    pub vendor: String,
    /// What search engines show instead of the title and the description's first line.
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub product_type: String,
    pub tags: Vec<String>,
    pub option_names: Vec<String>,
    pub variants: Vec<Variant>,
    pub images: Vec<Image>,
    /// Products often bought with this one (in paid orders), in stock; the product page only.
    #[serde(default)]
    pub bought_together: Vec<ProductCard>,
    /// Products sharing its collections or tags, in stock; the product page only.
    #[serde(default)]
    pub related: Vec<ProductCard>,
}

impl Variant {
    pub fn can_buy(&self) -> bool {
        self.backorder || self.available > 0
    }
}

/// The first of every page's breadcrumbs, leading to `/`. Not "Home", which a shop may well
/// have as a collection (the demo does).
pub const BREADCRUMB_HOME: &str = "Shop";

/// How many products the home page shows.
pub const HOME_PAGE_SIZE: i64 = 48;

#[server(endpoint = "catalog/featured-products", input = Json)]
pub async fn featured_products() -> Result<Vec<ProductCard>, AppError> {
    let db = use_context::<crate::db::Db>().ok_or(AppError::Internal)?;
    let query = query::ProductQuery {
        sort: query::Sort::Newest,
        limit: HOME_PAGE_SIZE,
        ..Default::default()
    };
    let read = async {
        let list = listing::list_products(&mut *db.reader().await?, &query)
            .await?
            .ok_or(AppError::Internal)?;
        Ok(list.items)
    };
    remembered()
        .remember("featured products".into(), read)
        .await
}

/// The catalog pages' data this server keeps (nothing kept where none was provided).
#[cfg(feature = "ssr")]
fn remembered() -> memory::CatalogMemory {
    use_context::<memory::CatalogMemory>().unwrap_or_default()
}

/// How long the products bought together are kept: they follow the orders, not the catalog.
#[cfg(feature = "ssr")]
const BOUGHT_TOGETHER_KEPT_FOR: std::time::Duration = std::time::Duration::from_secs(300);

#[server(endpoint = "catalog/product", input = Json)]
pub async fn product_by_slug(slug: String) -> Result<Product, AppError> {
    let db = use_context::<crate::db::Db>().ok_or(AppError::Internal)?;
    let base = use_context::<crate::SiteUrl>()
        .map(|s| s.0)
        .unwrap_or_default();
    load_product(&db, &remembered(), &base, &slug).await
}

/// The product page's product by its slug, with its recommendations, from the catalog's memory
/// if it is there; `base` is the shop's address (`SiteUrl`).
#[cfg(feature = "ssr")]
pub async fn load_product(
    db: &crate::db::Db,
    memory: &memory::CatalogMemory,
    base: &str,
    slug: &str,
) -> Result<Product, AppError> {
    let mut reader = crate::db::PageReader::new(db);
    let read = async {
        let mut product = ssr::product_by_slug(reader.conn().await?, slug)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("The product '{slug}'")))?;
        product.url = format!("{base}/products/{}", product.slug);
        product.json_ld = seo::product_json_ld(&product, base);
        let trail: Vec<_> = product
            .collection
            .iter()
            .map(CollectionLink::crumb)
            .collect();
        let here = (product.title.clone(), format!("/products/{}", product.slug));
        product.breadcrumbs_json_ld = seo::breadcrumbs_json_ld(base, &trail, here);
        Ok::<_, AppError>(product)
    };
    let mut product = memory.remember(format!("product {slug}"), read).await?;
    let recommendations =
        async { Ok::<_, AppError>(listing::recommendations(reader.conn().await?, slug).await?) };
    (product.bought_together, product.related) = memory
        .remember_for(
            format!("recommendations {slug}"),
            BOUGHT_TOGETHER_KEPT_FOR,
            recommendations,
        )
        .await?;
    Ok(product)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CollectionSummary {
    pub slug: String,
    pub title: String,
    pub description_html: String,
    pub image: Option<Image>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionPageData {
    pub collection: CollectionSummary,
    /// The absolute canonical address of the collection's first page.
    pub url: String,
    /// schema.org `BreadcrumbList` of the breadcrumbs (JSON, safe inside `<script>`).
    pub breadcrumbs_json_ld: String,
    /// Option names with the values found in this collection, for its filters.
    pub facets: Vec<(String, Vec<String>)>,
    pub products: ProductList,
}

#[server(endpoint = "catalog/featured-collections", input = Json)]
pub async fn featured_collections() -> Result<Vec<CollectionSummary>, AppError> {
    let db = use_context::<crate::db::Db>().ok_or(AppError::Internal)?;
    let read = async { Ok::<_, AppError>(ssr::collections(&db, true).await?) };
    remembered()
        .remember("featured collections".into(), read)
        .await
}

/// `query` is the page address's query string (`min=10&option=Size:M&…`): passed whole, so the
/// server function's signature stays stable as filters are added.
#[server(endpoint = "catalog/collection", input = Json)]
pub async fn collection_page(slug: String, query: String) -> Result<CollectionPageData, AppError> {
    let db = use_context::<crate::db::Db>().ok_or(AppError::Internal)?;
    let base = use_context::<crate::SiteUrl>()
        .map(|s| s.0)
        .unwrap_or_default();
    let checkout = use_context::<crate::checkout::service::Checkout>();
    load_collection_page(&db, &remembered(), checkout, &base, slug, query).await
}

/// A collection's page, from the catalog's memory if it is there; `base` is the shop's address
/// (`SiteUrl`), `checkout` gives the shop's currency to a price filter.
#[cfg(feature = "ssr")]
pub async fn load_collection_page(
    db: &crate::db::Db,
    memory: &memory::CatalogMemory,
    checkout: Option<crate::checkout::service::Checkout>,
    base: &str,
    slug: String,
    query: String,
) -> Result<CollectionPageData, AppError> {
    let key = format!("collection {slug}?{query}");
    let read = read_collection_page(db.clone(), checkout, base.to_string(), slug, query);
    memory.remember(key, read).await
}

#[cfg(feature = "ssr")]
async fn read_collection_page(
    db: crate::db::Db,
    checkout: Option<crate::checkout::service::Checkout>,
    base: String,
    slug: String,
    query: String,
) -> Result<CollectionPageData, AppError> {
    let params = query::ListingParams::from_query_string(&query).map_err(AppError::BadRequest)?;
    let query = params
        .parse(
            Some(slug.clone()),
            query::PAGE_SIZE,
            ssr::price_currency(&params, checkout.as_ref()).await?,
        )
        .map_err(AppError::BadRequest)?;
    let not_found = || AppError::NotFound(format!("The collection '{slug}'"));
    let mut conn = db.reader().await?;
    let (id, collection) = ssr::collection_by_slug(&mut conn, &slug)
        .await?
        .ok_or_else(not_found)?;
    let facets = listing::option_facets(&mut conn, id).await?;
    let products = listing::list_products_among(&mut conn, &query, id, &facets).await?;
    let url = format!("{base}/collections/{slug}");
    let here = (collection.title.clone(), format!("/collections/{slug}"));
    let breadcrumbs_json_ld = seo::breadcrumbs_json_ld(&base, &[], here);
    Ok(CollectionPageData {
        collection,
        url,
        breadcrumbs_json_ld,
        facets,
        products,
    })
}

#[server(endpoint = "catalog/search", input = Json)]
pub async fn search_products(query: String) -> Result<ProductList, AppError> {
    let db = use_context::<crate::db::Db>().ok_or(AppError::Internal)?;
    let key = format!("search {query}");
    remembered().remember(key, read_search(db, query)).await
}

#[cfg(feature = "ssr")]
async fn read_search(db: crate::db::Db, query: String) -> Result<ProductList, AppError> {
    let params = query::ListingParams::from_query_string(&query).map_err(AppError::BadRequest)?;
    if params.q.is_none() {
        return Ok(ProductList {
            items: vec![],
            next_cursor: None,
        });
    }
    let query = params
        .parse(
            None,
            query::PAGE_SIZE,
            ssr::price_currency(&params, use_context().as_ref()).await?,
        )
        .map_err(AppError::BadRequest)?;
    Ok(listing::list_products(&mut *db.reader().await?, &query)
        .await?
        .unwrap_or(ProductList {
            items: vec![],
            next_cursor: None,
        }))
}
