//! The product catalog: what the shop sells, as shoppers see it.

mod pages;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod markdown;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::{HomePage, ProductPage};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::money::Money;

/// A picture with the size the browser needs to reserve space before it loads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub url: String,
    pub alt: String,
    pub width: i64,
    pub height: i64,
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
    /// Units that can be bought now across all variants.
    pub available: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub slug: String,
    pub title: String,
    /// The Markdown source, as staff wrote it.
    pub description: String,
    /// The description rendered and sanitised on the server.
    pub description_html: String,
    pub vendor: String,
    pub product_type: String,
    pub tags: Vec<String>,
    pub option_names: Vec<String>,
    pub variants: Vec<Variant>,
    pub images: Vec<Image>,
}

impl Variant {
    pub fn can_buy(&self) -> bool {
        self.backorder || self.available > 0
    }
}

/// How many products the home page shows.
pub const HOME_PAGE_SIZE: i64 = 48;

#[server(endpoint = "catalog/featured-products")]
pub async fn featured_products() -> Result<Vec<ProductCard>, AppError> {
    let db = use_context::<crate::db::Db>().ok_or(AppError::Internal)?;
    Ok(ssr::newest_product_cards(&db, HOME_PAGE_SIZE).await?)
}

#[server(endpoint = "catalog/product")]
pub async fn product_by_slug(slug: String) -> Result<Product, AppError> {
    let db = use_context::<crate::db::Db>().ok_or(AppError::Internal)?;
    ssr::product_by_slug(&db, &slug)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("The product '{slug}'")))
}
