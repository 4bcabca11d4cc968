//! New products written many at a time, for imports: a few statements per table for a whole
//! batch instead of a dozen per product.
//!
//! On SQLite every statement is a round trip to the writer's thread, which cost more than the
//! writing itself (an import of 20,000 products spent a third of its time switching threads).
//! The listing's triggers still keep `catalog_listing`, `catalog_facets` and `product_cards` up
//! to date; the tables are written in the order that gives them the least to redo (memberships
//! and options before variants, so each product's listing rows are written when its variants
//! arrive). On SQLite the batch's products are set aside from the triggers on `variants` and
//! `product_images` while their rows go in, and listed afterwards, once each
//! ([`list_deferred_products`]).

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::ssr::{refresh_search_documents, NewProduct};
pub use crate::db::insert_rows;
use crate::db::{Arg, Backend};

/// A product to write, with what an import says of it beside the product itself.
pub struct BulkProduct<'a> {
    pub product: &'a NewProduct,
    pub created_at: i64,
    pub collections: &'a [String],
    pub seo_title: Option<&'a str>,
    pub seo_description: Option<&'a str>,
}

/// Writes products none of whose handles or SKUs the shop has yet, with their tags, options,
/// collections (created from their handles when missing), variants and pictures, inside the
/// caller's transaction. Returns their ids, in order.
pub async fn insert_products(
    conn: &mut AnyConnection,
    products: &[BulkProduct<'_>],
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    if products.is_empty() {
        return Ok(Vec::new());
    }
    let mut values: Vec<Arg> = Vec::with_capacity(products.len() * 10);
    for p in products {
        values.extend([
            p.product.slug.as_str().into(),
            p.product.title.as_str().into(),
            p.product.description_md.as_str().into(),
            p.product.vendor.as_str().into(),
            p.product.product_type.as_str().into(),
            p.product.status.into(),
            p.seo_title.into(),
            p.seo_description.into(),
            Arg::Int(p.created_at),
            Arg::Int(p.created_at),
        ]);
    }
    let returned = insert_rows(
        conn,
        "INSERT INTO products (slug, title, description_md, vendor, product_type, status, \
         seo_title, seo_description, created_at, updated_at)",
        10,
        &values,
        "RETURNING id, slug",
    )
    .await?;
    let ids = match_returned(&returned, products.iter().map(|p| p.product.slug.as_str()))?;

    let mut values: Vec<Arg> = Vec::new();
    for (p, &id) in products.iter().zip(&ids) {
        for tag in &p.product.tags {
            values.extend([Arg::Int(id), tag.as_str().into()]);
        }
    }
    insert_rows(
        conn,
        "INSERT INTO product_tags (product_id, tag)",
        2,
        &values,
        "",
    )
    .await?;

    let mut values: Vec<Arg> = Vec::new();
    for (p, &id) in products.iter().zip(&ids) {
        for (i, name) in p.product.option_names.iter().enumerate() {
            values.extend([Arg::Int(id), Arg::Int(i as i64 + 1), name.as_str().into()]);
        }
    }
    insert_rows(
        conn,
        "INSERT INTO product_options (product_id, position, name)",
        3,
        &values,
        "",
    )
    .await?;

    add_to_collections(conn, products, &ids, now).await?;

    // Postgres's triggers list an insert's products once per statement already.
    let deferred = Backend::of(conn) == Backend::Sqlite;
    if deferred {
        let values: Vec<Arg> = ids.iter().map(|&id| Arg::Int(id)).collect();
        insert_rows(
            conn,
            "INSERT INTO catalog_listing_deferred (product_id)",
            1,
            &values,
            "",
        )
        .await?;
    }

    let mut values: Vec<Arg> = Vec::new();
    for (p, &id) in products.iter().zip(&ids) {
        for (position, v) in p.product.variants.iter().enumerate() {
            let option = |n: usize| Arg::from(v.options.get(n).map(String::as_str));
            values.extend([
                Arg::Int(id),
                Arg::Int(position as i64),
                v.sku.as_str().into(),
                option(0),
                option(1),
                option(2),
                Arg::Int(v.price.amount),
                Arg::MaybeInt(v.compare_at.map(|m| m.amount)),
                v.price.currency.code().into(),
                Arg::Int(v.weight_grams),
                Arg::Int(v.on_hand),
                Arg::from(if v.allow_backorder { "allow" } else { "deny" }),
            ]);
        }
    }
    let returned = insert_rows(
        conn,
        "INSERT INTO variants (product_id, position, sku, option1, option2, option3, \
         price_amount, compare_at_amount, currency, weight_grams, on_hand, backorder)",
        12,
        &values,
        "RETURNING id, sku",
    )
    .await?;
    let variant_ids = match_returned(
        &returned,
        products
            .iter()
            .flat_map(|p| p.product.variants.iter().map(|v| v.sku.as_str())),
    )?;

    let mut values: Vec<Arg> = Vec::new();
    let mut variant_ids_left = &variant_ids[..];
    for (p, &id) in products.iter().zip(&ids) {
        let (own, rest) = variant_ids_left.split_at(p.product.variants.len());
        variant_ids_left = rest;
        for (position, image) in p.product.images.iter().enumerate() {
            values.extend([
                Arg::Int(id),
                Arg::MaybeInt(image.variant.and_then(|i| own.get(i).copied())),
                Arg::Int(position as i64),
                image.url.as_str().into(),
                image.alt.as_str().into(),
                Arg::Int(image.width),
                Arg::Int(image.height),
                image.srcset.as_deref().into(),
                image.webp_srcset.as_deref().into(),
            ]);
        }
    }
    insert_rows(
        conn,
        "INSERT INTO product_images (product_id, variant_id, position, url, alt, width, height, \
         srcset, webp_srcset)",
        9,
        &values,
        "",
    )
    .await?;
    // After the pictures, which the cards show.
    if deferred {
        list_deferred_products(conn).await?;
    }

    refresh_search_documents(conn, &ids).await?;
    Ok(ids)
}

/// Writes the listing rows (with their facets' bits), facets and cards (migration 0036) of the
/// products in `catalog_listing_deferred` (SQLite, migration 0031), whose triggers skipped them,
/// and empties it: what the triggers on `variants` and `product_images` write, once per product
/// instead of again for each of its variants (which made an import of four sizes a product a
/// third slower). The test `a_large_import_lists_every_product_as_its_variants_say` compares
/// the result with the views `catalog_listing_source`, `catalog_facets_source`,
/// `catalog_facet_bits_source` and `product_card_source`.
async fn list_deferred_products(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    // The batch's new option values numbered first (`catalog_facet_bits`, migration 0035), so
    // that each listing row is written with its facets' bits rather than rewritten for them.
    sqlx::query(
        "INSERT OR IGNORE INTO catalog_facet_bits (facet)
         SELECT DISTINCT facet FROM product_facet_values
          WHERE product_id IN (SELECT product_id FROM catalog_listing_deferred)
          ORDER BY facet",
    )
    .execute(&mut *conn)
    .await?;
    // The figures are the view `product_figures`'s, for these products only: SQLite works the
    // view out for every product of the shop when it is joined or filtered by a list.
    sqlx::query(
        "INSERT INTO catalog_listing (collection_id, product_id, position, created_at, title, \
                                      min_price, buyable, facet_bits)
         WITH figures AS (
             SELECT product_id, MIN(price_amount) AS min_price,
                    MAX(CASE WHEN on_hand > reserved OR backorder = 'allow' THEN 1 ELSE 0 END) AS buyable
               FROM variants
              WHERE archived_at IS NULL
                AND product_id IN (SELECT product_id FROM catalog_listing_deferred)
              GROUP BY product_id),
         bits AS (
             SELECT pf.product_id, SUM(DISTINCT m.mask) AS facet_bits
               FROM product_facet_values pf JOIN catalog_facet_masks m ON m.facet = pf.facet
              WHERE pf.product_id IN (SELECT product_id FROM catalog_listing_deferred)
              GROUP BY pf.product_id)
         SELECT 0, p.id, 0, p.created_at, p.title, f.min_price, f.buyable, IFNULL(b.facet_bits, 0)
           FROM figures f JOIN products p ON p.id = f.product_id
           LEFT JOIN bits b ON b.product_id = p.id
          WHERE p.status = 'active'
         UNION ALL
         SELECT cp.collection_id, p.id, cp.position, p.created_at, p.title, f.min_price, f.buyable,
                IFNULL(b.facet_bits, 0)
           FROM figures f JOIN products p ON p.id = f.product_id
           JOIN collection_products cp ON cp.product_id = p.id
           LEFT JOIN bits b ON b.product_id = p.id
          WHERE p.status = 'active'
          ORDER BY 1, 2",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
         SELECT collection_id, facet, product_id FROM catalog_facets_source
          WHERE product_id IN (SELECT product_id FROM catalog_listing_deferred)",
    )
    .execute(&mut *conn)
    .await?;
    // New products: no card to replace. The view by the products' keys (it has no GROUP BY).
    sqlx::query(
        "INSERT INTO product_cards (product_id, card)
         SELECT product_id, card FROM product_card_source
          WHERE product_id IN (SELECT product_id FROM catalog_listing_deferred)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM catalog_listing_deferred")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The ids of rows returned as `(id, key)`, in the order of `keys` (RETURNING promises none).
fn match_returned<'k>(
    returned: &[AnyRow],
    keys: impl Iterator<Item = &'k str>,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut by_key = HashMap::with_capacity(returned.len());
    for row in returned {
        by_key.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
    }
    keys.map(|key| by_key.get(key).copied().ok_or(sqlx::Error::RowNotFound))
        .collect()
}

/// Adds each product at the end of its collections, in the order given.
async fn add_to_collections(
    conn: &mut AnyConnection,
    products: &[BulkProduct<'_>],
    ids: &[i64],
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut slugs: Vec<&str> = products
        .iter()
        .flat_map(|p| p.collections.iter().map(String::as_str))
        .collect();
    slugs.sort_unstable();
    slugs.dedup();
    if slugs.is_empty() {
        return Ok(());
    }
    let collections = collection_ids(conn, &slugs, now).await?;
    let mut next_position: HashMap<i64, i64> = HashMap::new();
    for &id in collections.values() {
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(position) FROM collection_products WHERE collection_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        next_position.insert(id, last.map_or(0, |p| p + 1));
    }
    let mut values: Vec<Arg> = Vec::new();
    for (p, &product_id) in products.iter().zip(ids) {
        for slug in p.collections {
            let collection_id = collections[slug.as_str()];
            let position = next_position.entry(collection_id).or_default();
            values.extend([
                Arg::Int(collection_id),
                Arg::Int(product_id),
                Arg::Int(*position),
            ]);
            *position += 1;
        }
    }
    insert_rows(
        conn,
        "INSERT INTO collection_products (collection_id, product_id, position)",
        3,
        &values,
        "",
    )
    .await?;
    Ok(())
}

/// The ids of the collections with these handles, creating (titled from its handle) each that
/// does not exist.
pub async fn collection_ids<'s>(
    conn: &mut AnyConnection,
    slugs: &[&'s str],
    now: i64,
) -> Result<HashMap<&'s str, i64>, sqlx::Error> {
    let mut ids = HashMap::with_capacity(slugs.len());
    for &slug in slugs {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&mut *conn)
            .await?;
        let id = match found {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO collections (slug, title, created_at, updated_at) \
                     VALUES ($1, $2, $3, $3) RETURNING id",
                )
                .bind(slug)
                .bind(title_from_handle(slug))
                .bind(now)
                .fetch_one(&mut *conn)
                .await?
            }
        };
        ids.insert(slug, id);
    }
    Ok(ids)
}

/// "summer-sale" → "Summer Sale".
fn title_from_handle(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_is_titled_from_its_handle() {
        assert_eq!(title_from_handle("summer-sale"), "Summer Sale");
        assert_eq!(title_from_handle("line-c"), "Line C");
        assert_eq!(title_from_handle("x"), "X");
    }
}
