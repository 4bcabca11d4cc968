//! Catalog SQL. Every query here runs unchanged on SQLite and Postgres.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{CollectionSummary, Image, Product, ProductCard, Variant};
use crate::db::{now_epoch, Backend, Db, Sql};
use crate::money::{Currency, Money};

/// Units that can be sold now: never negative, even if reserved briefly exceeds on hand.
const AVAILABLE: &str = "CASE WHEN v.on_hand > v.reserved THEN v.on_hand - v.reserved ELSE 0 END";

fn money(amount: i64, currency: &str) -> Result<Money, sqlx::Error> {
    let currency = Currency::parse(currency).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Money::new(amount, currency))
}

/// What a card shows, in the order of `product_cards`' card array: slug, title, variant id, its
/// three option values, price, compare-at price, currency, whether it can be bought (1 or 0),
/// and the picture's url, alt, width, height, srcset and WebP srcset.
#[derive(serde::Deserialize)]
struct CardFields(
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// A product card from a row selected with `listing`'s card columns (its `card` array).
pub(crate) fn card_from_row(row: &AnyRow) -> Result<ProductCard, sqlx::Error> {
    let card: String = row.try_get("card")?;
    let decode = |e: Box<dyn std::error::Error + Send + Sync>| sqlx::Error::Decode(e);
    let CardFields(
        slug,
        title,
        variant_id,
        option1,
        option2,
        option3,
        price,
        compare_at,
        currency,
        buyable,
        url,
        alt,
        width,
        height,
        srcset,
        webp_srcset,
    ) = serde_json::from_str(&card).map_err(|e| decode(Box::new(e)))?;
    let image = match url {
        None => None,
        Some(url) => {
            let missing = |column: &str| decode(format!("a picture without {column}").into());
            Some(picture(
                url,
                alt.ok_or_else(|| missing("alt"))?,
                width.ok_or_else(|| missing("width"))?,
                height.ok_or_else(|| missing("height"))?,
                srcset,
                webp_srcset,
            ))
        }
    };
    Ok(ProductCard {
        slug,
        title,
        variant_id,
        variant_buyable: buyable == 1,
        variant_title: [option1, option2, option3]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / "),
        price: money(price, &currency)?,
        compare_at: compare_at.map(|a| money(a, &currency)).transpose()?,
        image,
    })
}

/// The picture in a row's `url`, `alt`, `width`, `height`, `srcset` and `webp_srcset` columns, if
/// it has one.
fn image_from_row(row: &AnyRow) -> Result<Option<Image>, sqlx::Error> {
    let Some(url) = row.try_get::<Option<String>, _>("url")? else {
        return Ok(None);
    };
    Ok(Some(picture(
        url,
        row.try_get("alt")?,
        row.try_get("width")?,
        row.try_get("height")?,
        row.try_get("srcset")?,
        row.try_get("webp_srcset")?,
    )))
}

/// A picture as stored: an empty `webp_srcset` means its WebP copies could not be made
/// (`media::add_missing_webp`), and none are offered.
fn picture(
    url: String,
    alt: String,
    width: i64,
    height: i64,
    srcset: Option<String>,
    webp_srcset: Option<String>,
) -> Image {
    Image {
        url,
        alt,
        width,
        height,
        srcset,
        webp_srcset: webp_srcset.filter(|set| !set.is_empty()),
    }
}

pub(crate) fn option_values(row: &AnyRow) -> Vec<String> {
    ["option1", "option2", "option3"]
        .iter()
        .filter_map(|column| row.try_get::<Option<String>, _>(*column).ok().flatten())
        .collect()
}

/// A product's option names (`part` 0, in order), pictures (1, in order) and tags (2,
/// alphabetical), as rows of its pictures' columns: an option name or a tag is in `url`.
const PRODUCT_PARTS: &str = "
    SELECT CAST(1 AS BIGINT) AS part, position, id, url, alt, width, height, srcset, webp_srcset
      FROM product_images WHERE product_id = $1
    UNION ALL
    SELECT CAST(0 AS BIGINT), position, CAST(0 AS BIGINT), name, NULL, NULL, NULL, NULL, NULL
      FROM product_options WHERE product_id = $1
    UNION ALL
    SELECT CAST(2 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), tag, NULL, NULL, NULL, NULL, NULL
      FROM product_tags WHERE product_id = $1
    ORDER BY part, position, id, url";

/// One active product with its variants and images: three statements whatever its size, on
/// the caller's connection (see [`Db::reader`]).
pub async fn product_by_slug(
    conn: &mut AnyConnection,
    slug: &str,
) -> Result<Option<Product>, sqlx::Error> {
    if !crate::input::is_storable(slug) {
        return Ok(None);
    }
    let Some(row) = sqlx::query(
        "SELECT p.id, p.slug, p.title, p.description_md, p.vendor, p.product_type, p.seo_title,
                p.seo_description, c.slug AS collection_slug, c.title AS collection_title
           FROM products p
           LEFT JOIN collections c ON c.id = (
                SELECT MIN(cp.collection_id) FROM collection_products cp WHERE cp.product_id = p.id)
          WHERE p.slug = $1 AND p.status = 'active'",
    )
    .bind(slug)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let product_id: i64 = row.try_get("id")?;

    let variant_sql = format!(
        "SELECT v.id, v.sku, v.option1, v.option2, v.option3, v.price_amount,
                v.compare_at_amount, v.currency, v.backorder, {AVAILABLE} AS available,
                (SELECT i.url FROM product_images i WHERE i.variant_id = v.id
                  ORDER BY i.position, i.id LIMIT 1) AS image_url
           FROM variants v WHERE v.product_id = $1 AND v.archived_at IS NULL
          ORDER BY v.position, v.id"
    );
    let variants = sqlx::query(&variant_sql)
        .bind(product_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|v| {
            let currency: String = v.try_get("currency")?;
            let compare_at: Option<i64> = v.try_get("compare_at_amount")?;
            let options = option_values(v);
            Ok(Variant {
                id: v.try_get("id")?,
                sku: v.try_get("sku")?,
                title: options.join(" / "),
                options,
                price: money(v.try_get("price_amount")?, &currency)?,
                compare_at: compare_at.map(|a| money(a, &currency)).transpose()?,
                available: v.try_get("available")?,
                backorder: v.try_get::<String, _>("backorder")? == "allow",
                image_url: v.try_get("image_url")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;

    // Option names, pictures and tags in one round trip: on Postgres each statement is a round
    // trip that costs both sides more than reading these few rows.
    let (mut option_names, mut images, mut tags) = (Vec::new(), Vec::new(), Vec::new());
    for part in sqlx::query(PRODUCT_PARTS)
        .bind(product_id)
        .fetch_all(&mut *conn)
        .await?
    {
        match part.try_get::<i64, _>("part")? {
            0 => option_names.push(part.try_get("url")?),
            1 => images.extend(image_from_row(&part)?),
            _ => tags.push(part.try_get("url")?),
        }
    }

    let description: String = row.try_get("description_md")?;
    let collection_slug: Option<String> = row.try_get("collection_slug")?;
    let collection_title: Option<String> = row.try_get("collection_title")?;
    Ok(Some(Product {
        url: String::new(),
        json_ld: String::new(),
        breadcrumbs_json_ld: String::new(),
        collection: collection_slug
            .zip(collection_title)
            .map(|(slug, title)| super::CollectionLink { slug, title }),
        slug: row.try_get("slug")?,
        title: row.try_get("title")?,
        description_html: super::markdown::render_markdown(&description),
        description,
        vendor: row.try_get("vendor")?,
        seo_title: row.try_get("seo_title")?,
        seo_description: row.try_get("seo_description")?,
        product_type: row.try_get("product_type")?,
        tags,
        option_names,
        variants,
        images,
        bought_together: Vec::new(),
        related: Vec::new(),
    }))
}

/// A product to be written to the catalog, already validated by its caller.
#[derive(Clone, Debug)]
pub struct NewProduct {
    pub slug: String,
    pub title: String,
    pub description_md: String,
    pub vendor: String,
    pub product_type: String,
    pub status: &'static str,
    pub tags: Vec<String>,
    pub option_names: Vec<String>,
    pub variants: Vec<NewVariant>,
    pub images: Vec<NewImage>,
}

#[derive(Clone, Debug)]
pub struct NewVariant {
    pub sku: String,
    pub options: Vec<String>,
    pub price: Money,
    pub compare_at: Option<Money>,
    pub weight_grams: i64,
    pub on_hand: i64,
    pub allow_backorder: bool,
}

#[derive(Clone, Debug)]
pub struct NewImage {
    pub url: String,
    pub alt: String,
    pub width: i64,
    pub height: i64,
    pub srcset: Option<String>,
    pub webp_srcset: Option<String>,
    /// Index into `NewProduct::variants` of the variant this picture shows.
    pub variant: Option<usize>,
}

/// Writes a product with its options, variants, images and tags inside the caller's transaction,
/// so a failure part-way leaves nothing behind. Returns the new product's id.
pub async fn insert_product(
    conn: &mut AnyConnection,
    product: &NewProduct,
    created_at: i64,
) -> Result<i64, sqlx::Error> {
    let product_id: i64 = sqlx::query_scalar(
        "INSERT INTO products (slug, title, description_md, vendor, product_type, status,
                               created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&product.slug)
    .bind(&product.title)
    .bind(&product.description_md)
    .bind(&product.vendor)
    .bind(&product.product_type)
    .bind(product.status)
    .bind(created_at)
    .fetch_one(&mut *conn)
    .await?;

    insert_product_parts(conn, product_id, product).await?;
    let variant_ids = insert_variants(conn, product_id, 0, &product.variants).await?;
    insert_images(conn, product_id, &product.images, &variant_ids).await?;
    refresh_search_document(conn, product_id).await?;
    Ok(product_id)
}

/// A product's tags and option names.
pub async fn insert_product_parts(
    conn: &mut AnyConnection,
    product_id: i64,
    product: &NewProduct,
) -> Result<(), sqlx::Error> {
    // One statement each, whatever their number: an import writes 100,000 products.
    if !product.tags.is_empty() {
        let rows = (0..product.tags.len())
            .map(|i| format!("($1, ${})", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO product_tags (product_id, tag) VALUES {rows}");
        let query = sqlx::query(&sql).bind(product_id);
        product
            .tags
            .iter()
            .fold(query, |query, tag| query.bind(tag))
            .execute(&mut *conn)
            .await?;
    }
    if !product.option_names.is_empty() {
        let rows = (0..product.option_names.len())
            .map(|i| format!("($1, {}, ${})", i + 1, i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO product_options (product_id, position, name) VALUES {rows}");
        let query = sqlx::query(&sql).bind(product_id);
        product
            .option_names
            .iter()
            .fold(query, |query, name| query.bind(name))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Variants of a product at positions from `first_position` on, in a statement per 50; their
/// ids in the order given.
pub async fn insert_variants(
    conn: &mut AnyConnection,
    product_id: i64,
    first_position: usize,
    variants: &[NewVariant],
) -> Result<Vec<i64>, sqlx::Error> {
    const PER_STATEMENT: usize = 50;
    let mut ids = Vec::with_capacity(variants.len());
    for (chunk_index, chunk) in variants.chunks(PER_STATEMENT).enumerate() {
        let rows = (0..chunk.len())
            .map(|i| {
                let b = 2 + i * 11;
                let p: Vec<String> = (b..b + 11).map(|n| format!("${n}")).collect();
                format!("($1, {})", p.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO variants (product_id, position, sku, option1, option2, option3,
                                   price_amount, compare_at_amount, currency, weight_grams,
                                   on_hand, backorder)
             VALUES {rows} RETURNING id, sku"
        );
        let mut query = sqlx::query(&sql).bind(product_id);
        for (i, variant) in chunk.iter().enumerate() {
            let option = |n: usize| variant.options.get(n).cloned();
            query = query
                .bind((first_position + chunk_index * PER_STATEMENT + i) as i64)
                .bind(&variant.sku)
                .bind(option(0))
                .bind(option(1))
                .bind(option(2))
                .bind(variant.price.amount)
                .bind(variant.compare_at.map(|m| m.amount))
                .bind(variant.price.currency.code().to_string())
                .bind(variant.weight_grams)
                .bind(variant.on_hand)
                .bind(if variant.allow_backorder {
                    "allow"
                } else {
                    "deny"
                });
        }
        // RETURNING's order is not promised: matched back by SKU, which is unique.
        let returned: Vec<(i64, String)> = query
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("sku")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        for variant in chunk {
            let id = returned
                .iter()
                .find(|(_, sku)| *sku == variant.sku)
                .map(|(id, _)| *id)
                .ok_or_else(|| sqlx::Error::RowNotFound)?;
            ids.push(id);
        }
    }
    Ok(ids)
}

/// One variant of a product, at `position`; its id.
pub async fn insert_variant(
    conn: &mut AnyConnection,
    product_id: i64,
    position: usize,
    variant: &NewVariant,
) -> Result<i64, sqlx::Error> {
    let ids = insert_variants(conn, product_id, position, std::slice::from_ref(variant)).await?;
    ids.first().copied().ok_or(sqlx::Error::RowNotFound)
}

/// A product's pictures, in order; `variant_ids` are the ids of its variants in the order
/// `NewImage::variant` indexes.
pub async fn insert_images(
    conn: &mut AnyConnection,
    product_id: i64,
    images: &[NewImage],
    variant_ids: &[i64],
) -> Result<(), sqlx::Error> {
    for (position, image) in images.iter().enumerate() {
        sqlx::query(
            "INSERT INTO product_images (product_id, variant_id, position, url, alt, width, height,
                                         srcset, webp_srcset)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(product_id)
        .bind(image.variant.and_then(|i| variant_ids.get(i).copied()))
        .bind(position as i64)
        .bind(&image.url)
        .bind(&image.alt)
        .bind(image.width)
        .bind(image.height)
        .bind(image.srcset.as_deref())
        .bind(image.webp_srcset.as_deref())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Rewrites a product's full-text search entry from its current title, description, tags and
/// SKUs. Call inside the transaction that changed any of them.
pub async fn refresh_search_document(
    conn: &mut AnyConnection,
    product_id: i64,
) -> Result<(), sqlx::Error> {
    refresh_search_documents(conn, &[product_id]).await
}

/// [`refresh_search_document`] for many products, a statement per thousand.
pub async fn refresh_search_documents(
    conn: &mut AnyConnection,
    product_ids: &[i64],
) -> Result<(), sqlx::Error> {
    let sql = match Backend::of(conn) {
        // REPLACE: FTS5 drops the product's old entry, if it has one, in the same statement.
        Backend::Sqlite => {
            "INSERT OR REPLACE INTO product_search (rowid, title, description, tags, skus)
             SELECT p.id, p.title, p.description_md,
                    COALESCE((SELECT group_concat(tag, ' ') FROM product_tags WHERE product_id = p.id), ''),
                    COALESCE((SELECT group_concat(sku, ' ') FROM variants WHERE product_id = p.id AND archived_at IS NULL), '')
               FROM products p WHERE p.id IN"
        }
        Backend::Postgres => {
            // The words of each field a relevance tier looks in have columns of their own:
            // see catalog::relevance and migration 0030. `OFFSET 0` keeps `w` a subquery
            // computed once a product: flattened, each use of its columns ran its
            // `to_tsvector` again (the title four times, the tags and SKUs three), and 200
            // products took 47 ms instead of 20 (at 100,000 products, 30 s of the import).
            "INSERT INTO product_search (product_id, document, title_words, label_words,
                                         untitled_words)
             SELECT p.id,
                    setweight(w.title, 'A') || setweight(w.tags, 'B') || setweight(w.skus, 'B')
                 || setweight(w.description, 'C'),
                    w.title, w.title || w.tags || w.skus,
                    ts_delete(w.tags || w.skus || w.description, tsvector_to_array(w.title))
               FROM products p CROSS JOIN LATERAL (SELECT
                    to_tsvector('simple', p.description_md) AS description,
                    to_tsvector('simple', p.title) AS title,
                    to_tsvector('simple', COALESCE((SELECT string_agg(tag, ' ') FROM product_tags WHERE product_id = p.id), '')) AS tags,
                    to_tsvector('simple', COALESCE((SELECT string_agg(regexp_replace(sku, '[^[:alnum:]]+', ' ', 'g'), ' ') FROM variants WHERE product_id = p.id AND archived_at IS NULL), '')) AS skus
                    OFFSET 0) w
              WHERE p.id IN"
        }
    };
    // Postgres writes the document over an existing one.
    let upsert = match Backend::of(conn) {
        Backend::Sqlite => "",
        Backend::Postgres => {
            " ON CONFLICT (product_id) DO UPDATE SET document = EXCLUDED.document,
                  title_words = EXCLUDED.title_words, label_words = EXCLUDED.label_words,
                  untitled_words = EXCLUDED.untitled_words"
        }
    };
    for chunk in product_ids.chunks(1000) {
        let mut statement = Sql::default();
        statement
            .push(sql)
            .push(" ")
            .bind_list(chunk.iter().copied())
            .push(upsert);
        // One product's statement is cached; a batch's text changes with its size.
        statement
            .query()
            .persistent(chunk.len() == 1)
            .execute(&mut *conn)
            .await?;
        // The title words first: on SQLite the words outside titles are the product's words
        // less those.
        refresh_title_words(conn, chunk).await?;
        if Backend::of(conn) == Backend::Sqlite {
            refresh_product_words(conn, chunk).await?;
        }
    }
    Ok(())
}

/// Rewrites the title words of `product_ids` in `product_title_words` (migrations: SQLite 0033,
/// Postgres 0032), split as each database's full-text index splits the title: on SQLite by
/// `product_search`'s tokenizer, through the scratch table of [`refresh_product_words`].
async fn refresh_title_words(
    conn: &mut AnyConnection,
    product_ids: &[i64],
) -> Result<(), sqlx::Error> {
    let backend = Backend::of(conn);
    let statements: &[&str] = match backend {
        Backend::Sqlite => &[
            "DELETE FROM product_title_words WHERE product_id IN ",
            "INSERT INTO product_words_scratch (rowid, text) SELECT id, title FROM products WHERE id IN ",
        ],
        Backend::Postgres => &[
            "DELETE FROM product_title_words WHERE product_id IN ",
            "INSERT INTO product_title_words (word, title, product_id)
             SELECT DISTINCT w, p.title, p.id
               FROM products p
                    CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('simple', p.title))) w
              WHERE p.id IN ",
        ],
    };
    for statement in statements {
        execute_for_products(conn, statement, product_ids).await?;
    }
    if backend == Backend::Sqlite {
        sqlx::query(
            "INSERT INTO product_title_words (word, title, product_id)
             SELECT DISTINCT t.term, p.title, t.doc
               FROM product_words_scratch_terms t JOIN products p ON p.id = t.doc",
        )
        .execute(&mut *conn)
        .await?;
        empty_words_scratch(conn).await?;
    }
    Ok(())
}

/// Runs `statement`, which ends in `IN `, for the list `product_ids`.
async fn execute_for_products(
    conn: &mut AnyConnection,
    statement: &str,
    product_ids: &[i64],
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::default();
    sql.push(statement).bind_list(product_ids.iter().copied());
    // One product's statement is cached; a batch's text changes with its size.
    sql.query()
        .persistent(product_ids.len() == 1)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Leaves `product_words_scratch` empty again, as it is between statements (migration 0032).
async fn empty_words_scratch(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO product_words_scratch (product_words_scratch) VALUES ('delete-all')")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Rewrites the words of `product_ids` in `product_words` (SQLite, see migration 0032) from
/// their documents in `product_search`, split by the same tokenizer in a scratch table left
/// empty again.
async fn refresh_product_words(
    conn: &mut AnyConnection,
    product_ids: &[i64],
) -> Result<(), sqlx::Error> {
    // The old words go, and the products' text goes into the scratch table to be split.
    for statement in [
        "DELETE FROM product_words WHERE product_id IN ",
        "INSERT INTO product_words_scratch (rowid, text)
         SELECT rowid, coalesce(title, '') || ' ' || coalesce(description, '') || ' '
                    || coalesce(tags, '') || ' ' || coalesce(skus, '')
           FROM product_search WHERE rowid IN ",
    ] {
        execute_for_products(conn, statement, product_ids).await?;
    }
    sqlx::query(
        "INSERT INTO product_words (product_id, words)
         SELECT doc, ' ' || group_concat(term, ' ') || ' '
           FROM (SELECT DISTINCT doc, term FROM product_words_scratch_terms)
          GROUP BY doc",
    )
    .execute(&mut *conn)
    .await?;
    // The words that are not in the title (migration 0034), from the title words just written.
    execute_for_products(
        conn,
        "DELETE FROM product_untitled_words WHERE rowid IN ",
        product_ids,
    )
    .await?;
    sqlx::query(
        "INSERT INTO product_untitled_words (rowid, words)
         SELECT doc, group_concat(term, ' ')
           FROM (SELECT DISTINCT doc, term FROM product_words_scratch_terms t
                  WHERE NOT EXISTS (SELECT 1 FROM product_title_words tw
                                     WHERE tw.product_id = t.doc AND tw.word = t.term))
          GROUP BY doc",
    )
    .execute(&mut *conn)
    .await?;
    empty_words_scratch(conn).await
}

/// A manual collection with its products in the given order.
pub async fn insert_collection(
    conn: &mut AnyConnection,
    slug: &str,
    title: &str,
    description_md: &str,
    featured: bool,
    product_ids: &[i64],
) -> Result<i64, sqlx::Error> {
    let now = now_epoch();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO collections (slug, title, description_md, featured, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(slug)
    .bind(title)
    .bind(description_md)
    .bind(i64::from(featured))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for (position, product_id) in product_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO collection_products (collection_id, product_id, position)
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(product_id)
        .bind(position as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

pub async fn count_products(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM products")
        .fetch_one(db.pool())
        .await
}

/// Collections in title order (only the featured ones if asked), each with the first picture
/// of its first product.
pub async fn collections(
    db: &Db,
    featured_only: bool,
) -> Result<Vec<CollectionSummary>, sqlx::Error> {
    let sql =
        format!("{COLLECTION_SELECT} WHERE ($1 = 0 OR c.featured = 1) ORDER BY c.title, c.id");
    let rows = sqlx::query(&sql)
        .bind(i64::from(featured_only))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(collection_from_row).collect()
}

/// The collection with this slug, and its id for the listing queries that follow.
pub async fn collection_by_slug(
    conn: &mut AnyConnection,
    slug: &str,
) -> Result<Option<(i64, CollectionSummary)>, sqlx::Error> {
    if !crate::input::is_storable(slug) {
        return Ok(None);
    }
    let sql = format!("{COLLECTION_SELECT} WHERE c.slug = $1");
    let row = sqlx::query(&sql)
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(|row| Ok((row.try_get("id")?, collection_from_row(row)?)))
        .transpose()
}

const COLLECTION_SELECT: &str = "
    SELECT c.id, c.slug, c.title, c.description_md, i.url, i.alt, i.width, i.height, i.srcset,
           i.webp_srcset
      FROM collections c
      LEFT JOIN product_images i ON i.id = (
           SELECT i2.id FROM collection_products cp
             JOIN products p ON p.id = cp.product_id AND p.status = 'active'
             JOIN product_images i2 ON i2.product_id = p.id
            WHERE cp.collection_id = c.id
            ORDER BY cp.position, i2.position, i2.id LIMIT 1)";

fn collection_from_row(row: &AnyRow) -> Result<CollectionSummary, sqlx::Error> {
    let description: String = row.try_get("description_md")?;
    Ok(CollectionSummary {
        slug: row.try_get("slug")?,
        title: row.try_get("title")?,
        description_html: super::markdown::render_markdown(&description),
        image: image_from_row(row)?,
    })
}

/// The currency a listing's price filter is typed in: the shop's, read (from the checkout's
/// cached rules) only when a price filter is set.
pub async fn price_currency(
    params: &super::query::ListingParams,
    checkout: Option<&crate::checkout::service::Checkout>,
) -> Result<Currency, crate::error::AppError> {
    if !params.needs_currency() {
        return Ok(Currency::EUR);
    }
    let checkout = checkout.ok_or(crate::error::AppError::Internal)?;
    Ok(checkout.rules().await?.currency)
}
