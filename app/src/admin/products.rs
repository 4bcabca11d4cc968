//! The product table as staff live in it: search, filters by status, collection and stock,
//! sorts, keyset pages however deep, and bulk changes to the rows they tick (publish, archive,
//! back to draft, add to or take out of a collection, change prices by a percentage).
//! The same list serves the admin API's `GET /api/v1/admin/products`.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sqlx::{AnyConnection, Row};

use super::respond::{outcome, return_to};
use super::service::{audited_write, Admin, Audited};
use super::{
    Access, AdminError, CollectionName, ProductFilter, ProductList, ProductListRow, PRODUCTS_PAGE,
};
use crate::db::{now_epoch, Backend, Sql};
use crate::money::{Currency, Money, PercentChange};

/// The most products one bulk change takes: a page of the table, several times over.
pub const MAX_BULK: usize = 500;

/// The order of the product table and the shape of its cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductSort {
    TitleAsc,
    TitleDesc,
    /// Recently edited first.
    Updated,
    Newest,
    /// By id: the admin API's stable default, so an integration can page while staff edit.
    Oldest,
}

impl ProductSort {
    pub fn parse(value: &str) -> Option<ProductSort> {
        Some(match value {
            "" | "title" => ProductSort::TitleAsc,
            "title-desc" => ProductSort::TitleDesc,
            "updated" => ProductSort::Updated,
            "newest" => ProductSort::Newest,
            "oldest" => ProductSort::Oldest,
            _ => return None,
        })
    }

    /// The cursor after `row`: its id, then the sort's own key where it has one.
    fn cursor_after(self, row: &ProductListRow) -> String {
        match self {
            ProductSort::TitleAsc | ProductSort::TitleDesc => format!("{}:{}", row.id, row.title),
            ProductSort::Updated => format!("{}:{}", row.id, row.updated_at),
            ProductSort::Newest | ProductSort::Oldest => row.id.to_string(),
        }
    }

    /// Adds the condition "after the cursor" and the `ORDER BY` to `sql`.
    fn page(self, sql: &mut Sql, cursor: &str) -> Result<(), AdminError> {
        let bad = || AdminError::Invalid("That page of the product list does not exist.".into());
        if !cursor.is_empty() {
            let (id, key) = cursor.split_once(':').unwrap_or((cursor, ""));
            let id: i64 = id.parse().map_err(|_| bad())?;
            match self {
                ProductSort::TitleAsc => {
                    sql.push(" AND (p.title > ").bind(key.to_string());
                    sql.push(" OR (p.title = ").bind(key.to_string());
                    sql.push(" AND p.id > ").bind(id).push("))");
                }
                ProductSort::TitleDesc => {
                    sql.push(" AND (p.title < ").bind(key.to_string());
                    sql.push(" OR (p.title = ").bind(key.to_string());
                    sql.push(" AND p.id < ").bind(id).push("))");
                }
                ProductSort::Updated => {
                    let at: i64 = key.parse().map_err(|_| bad())?;
                    sql.push(" AND (p.updated_at < ").bind(at);
                    sql.push(" OR (p.updated_at = ").bind(at);
                    sql.push(" AND p.id < ").bind(id).push("))");
                }
                ProductSort::Newest => {
                    sql.push(" AND p.id < ").bind(id);
                }
                ProductSort::Oldest => {
                    sql.push(" AND p.id > ").bind(id);
                }
            }
        }
        sql.push(match self {
            ProductSort::TitleAsc => " ORDER BY p.title, p.id",
            ProductSort::TitleDesc => " ORDER BY p.title DESC, p.id DESC",
            ProductSort::Updated => " ORDER BY p.updated_at DESC, p.id DESC",
            ProductSort::Newest => " ORDER BY p.id DESC",
            ProductSort::Oldest => " ORDER BY p.id",
        });
        Ok(())
    }
}

/// The condition on a product's live variants for a stock level of the table.
fn stock_condition(level: &str) -> Result<&'static str, AdminError> {
    Ok(match level {
        "" => "",
        "in" => " AND EXISTS (SELECT 1 FROM variants s WHERE s.product_id = p.id AND s.archived_at IS NULL AND s.on_hand > s.reserved)",
        "out" => " AND NOT EXISTS (SELECT 1 FROM variants s WHERE s.product_id = p.id AND s.archived_at IS NULL AND s.on_hand > s.reserved)",
        "low" => " AND EXISTS (SELECT 1 FROM variants s WHERE s.product_id = p.id AND s.archived_at IS NULL \
                   AND s.on_hand - s.reserved <= s.low_stock_threshold)",
        _ => {
            return Err(AdminError::Invalid(
                "Choose a stock level: in stock, low stock or out of stock.".into(),
            ))
        }
    })
}

impl Admin {
    /// One page of the product table. Each condition is on the product's own row or an indexed
    /// look-up of its variants, and the figures are computed for the page's rows only, so a
    /// page costs the same at 100 products and at 100,000.
    pub async fn products(&self, filter: &ProductFilter) -> Result<ProductList, AdminError> {
        self.products_page(filter, PRODUCTS_PAGE).await
    }

    pub async fn products_page(
        &self,
        filter: &ProductFilter,
        limit: i64,
    ) -> Result<ProductList, AdminError> {
        let sort = ProductSort::parse(&filter.sort).ok_or_else(|| {
            AdminError::Invalid(format!("'{}' is not a sort of this list.", filter.sort))
        })?;
        let mut sql = Sql::default();
        sql.push(
            "SELECT p.id, p.title, p.slug, p.status, p.created_at, p.updated_at, \
             (SELECT COUNT(*) FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL) AS variants, \
             (SELECT CAST(COALESCE(SUM(v.on_hand), 0) AS BIGINT) FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL) AS on_hand, \
             (SELECT CAST(COALESCE(SUM(v.on_hand - v.reserved), 0) AS BIGINT) FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL) AS available, \
             (SELECT MIN(v.price_amount) FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL) AS min_price, \
             (SELECT MAX(v.price_amount) FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL) AS max_price, \
             (SELECT MIN(v.currency) FROM variants v WHERE v.product_id = p.id) AS currency, \
             (SELECT i.url FROM product_images i WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1) AS picture \
             FROM products p WHERE 1 = 1",
        );
        let q = filter.q.trim();
        if !q.is_empty() {
            // The shop's full-text index (title, tags, SKUs, description): every word as a
            // prefix, read from the index rather than by testing every product; and the handle
            // as typed.
            let terms = crate::catalog::query::search_terms(q);
            let backend = self.db().backend();
            sql.push(" AND (p.slug = ").bind(q.to_lowercase());
            if !terms.is_empty() {
                let fts = crate::catalog::relevance::full_text_query(backend, &terms);
                match backend {
                    Backend::Sqlite => sql
                        .push(" OR p.id IN (SELECT rowid FROM product_search WHERE product_search MATCH ")
                        .bind(fts)
                        .push(")"),
                    Backend::Postgres => {
                        sql.push(" OR p.id IN (SELECT product_id FROM product_search WHERE document @@ ");
                        crate::catalog::relevance::push_tsquery(&mut sql, &fts);
                        sql.push(")")
                    }
                };
            }
            sql.push(")");
        }
        if !filter.status.is_empty() {
            if !matches!(filter.status.as_str(), "draft" | "active" | "archived") {
                return Err(AdminError::Invalid(
                    "Choose a status: draft, active or archived.".into(),
                ));
            }
            sql.push(" AND p.status = ").bind(filter.status.clone());
        }
        if !filter.collection.is_empty() {
            // The collection's id first: then each product is one look-up in the members' key.
            let collection: Option<i64> =
                sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1")
                    .bind(&filter.collection)
                    .fetch_optional(self.db().pool())
                    .await?;
            sql.push(" AND EXISTS (SELECT 1 FROM collection_products cp WHERE cp.collection_id = ")
                .bind(collection.unwrap_or(-1))
                .push(" AND cp.product_id = p.id)");
        }
        sql.push(stock_condition(&filter.stock)?);
        sort.page(&mut sql, &filter.cursor)?;
        sql.push(" LIMIT ").bind(limit + 1);
        let pool = self.db().pool();
        let rows = sql.query().fetch_all(pool).await?;
        let mut list = Vec::with_capacity(rows.len());
        for r in &rows {
            let currency = r
                .try_get::<Option<String>, _>("currency")?
                .and_then(|c| Currency::parse(&c).ok());
            let prices = match (
                currency,
                r.try_get::<Option<i64>, _>("min_price")?,
                r.try_get::<Option<i64>, _>("max_price")?,
            ) {
                (Some(currency), Some(low), Some(high)) => {
                    Some((Money::new(low, currency), Money::new(high, currency)))
                }
                _ => None,
            };
            list.push(ProductListRow {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                slug: r.try_get("slug")?,
                status: r.try_get("status")?,
                variants: r.try_get("variants")?,
                on_hand: r.try_get("on_hand")?,
                available: r.try_get("available")?,
                prices,
                picture: r.try_get("picture")?,
                updated_at: r.try_get("updated_at")?,
                created_at: r.try_get("created_at")?,
            });
        }
        let next_cursor = (list.len() as i64 > limit).then(|| {
            list.truncate(limit as usize);
            list.last()
                .map(|r| sort.cursor_after(r))
                .unwrap_or_default()
        });
        let collections = sqlx::query("SELECT slug, title FROM collections ORDER BY title, id")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|c| {
                Ok(CollectionName {
                    slug: c.try_get("slug")?,
                    title: c.try_get("title")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(ProductList {
            rows: list,
            next_cursor,
            collections,
        })
    }

    /// Applies one change to many products, all or none, with one audit entry.
    pub async fn bulk_edit(
        &self,
        account: &super::auth::Account,
        products: Vec<i64>,
        change: BulkChange,
    ) -> Result<usize, AdminError> {
        if products.is_empty() {
            return Err(AdminError::Invalid(
                "Tick the products to change first.".into(),
            ));
        }
        if products.len() > MAX_BULK {
            return Err(AdminError::Invalid(format!(
                "Change at most {MAX_BULK} products at once."
            )));
        }
        let action = change.audit_action();
        audited_write(self, account, action, move |conn| {
            Box::pin(async move {
                let found = existing(conn, &products).await?;
                if found.len() != products.len() {
                    return Err(AdminError::Conflict(
                        "Some of these products were deleted meanwhile; reload the list.".into(),
                    ));
                }
                let detail = apply(conn, &products, &change).await?;
                Ok(Audited {
                    value: products.len(),
                    subject: format!("products:{}", products.len()),
                    detail,
                })
            })
        })
        .await
    }
}

/// What a bulk change does to each ticked product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkChange {
    /// Publish, archive or set back to draft.
    Status(&'static str),
    AddToCollection(String),
    RemoveFromCollection(String),
    /// Every live variant's price, by a percentage.
    Price(PercentChange),
}

impl BulkChange {
    /// The change a form asks for: its `action`, with `collection` or `percent` where needed.
    pub fn from_form(
        action: &str,
        collection: &str,
        percent: &str,
    ) -> Result<BulkChange, AdminError> {
        let collection = collection.trim();
        let need_collection = || {
            if collection.is_empty() {
                Err(AdminError::Invalid("Choose a collection.".into()))
            } else {
                Ok(collection.to_string())
            }
        };
        Ok(match action {
            "publish" => BulkChange::Status("active"),
            "archive" => BulkChange::Status("archived"),
            "draft" => BulkChange::Status("draft"),
            "add-to-collection" => BulkChange::AddToCollection(need_collection()?),
            "remove-from-collection" => BulkChange::RemoveFromCollection(need_collection()?),
            "price" => {
                BulkChange::Price(PercentChange::parse(percent).map_err(AdminError::Invalid)?)
            }
            "" => {
                return Err(AdminError::Invalid(
                    "Choose what to do with the ticked products.".into(),
                ))
            }
            other => {
                return Err(AdminError::Invalid(format!(
                    "'{}' is not a bulk action.",
                    other.chars().take(40).collect::<String>()
                )))
            }
        })
    }

    fn audit_action(&self) -> &'static str {
        match self {
            BulkChange::Status("active") => "Products published",
            BulkChange::Status("archived") => "Products archived",
            BulkChange::Status(_) => "Products set to draft",
            BulkChange::AddToCollection(_) => "Products added to a collection",
            BulkChange::RemoveFromCollection(_) => "Products taken out of a collection",
            BulkChange::Price(_) => "Prices changed",
        }
    }

    /// What staff read after the change.
    pub fn notice(&self, count: usize) -> String {
        let products = if count == 1 { "product" } else { "products" };
        match self {
            BulkChange::Status("active") => format!("{count} {products} published."),
            BulkChange::Status("archived") => format!("{count} {products} archived."),
            BulkChange::Status(_) => format!("{count} {products} set to draft."),
            BulkChange::AddToCollection(c) => format!("{count} {products} in collection '{c}'."),
            BulkChange::RemoveFromCollection(c) => {
                format!("{count} {products} taken out of collection '{c}'.")
            }
            BulkChange::Price(_) => format!("Prices of {count} {products} changed."),
        }
    }
}

async fn existing(conn: &mut AnyConnection, products: &[i64]) -> Result<Vec<i64>, AdminError> {
    let mut sql = Sql::default();
    sql.push("SELECT id FROM products WHERE id IN ")
        .bind_list(products.iter().copied());
    Ok(sql
        .query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?)
}

async fn collection_id(conn: &mut AnyConnection, slug: &str) -> Result<i64, AdminError> {
    sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AdminError::Invalid(format!("There is no collection '{slug}'.")))
}

/// Writes `change` for `products`; the catalog's listing follows through its triggers.
async fn apply(
    conn: &mut AnyConnection,
    products: &[i64],
    change: &BulkChange,
) -> Result<String, AdminError> {
    let now = now_epoch();
    match change {
        BulkChange::Status(status) => {
            let mut sql = Sql::default();
            sql.push("UPDATE products SET status = ")
                .bind(status.to_string())
                .push(", updated_at = ")
                .bind(now)
                .push(" WHERE id IN ")
                .bind_list(products.iter().copied());
            sql.query().execute(&mut *conn).await?;
            Ok(format!("status {status}"))
        }
        BulkChange::AddToCollection(slug) => {
            let collection = collection_id(conn, slug).await?;
            let mut position: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(MAX(position), -1) AS BIGINT) FROM collection_products WHERE collection_id = $1",
            )
            .bind(collection)
            .fetch_one(&mut *conn)
            .await?;
            // At the end of the collection, in the order ticked; those already in it stay put.
            for product in products {
                let present: Option<i64> = sqlx::query_scalar(
                    "SELECT product_id FROM collection_products WHERE collection_id = $1 AND product_id = $2",
                )
                .bind(collection)
                .bind(product)
                .fetch_optional(&mut *conn)
                .await?;
                if present.is_none() {
                    position += 1;
                    sqlx::query(
                        "INSERT INTO collection_products (collection_id, product_id, position) VALUES ($1, $2, $3)",
                    )
                    .bind(collection)
                    .bind(product)
                    .bind(position)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            touch_collection(conn, collection, now).await?;
            Ok(format!("added to {slug}"))
        }
        BulkChange::RemoveFromCollection(slug) => {
            let collection = collection_id(conn, slug).await?;
            let mut sql = Sql::default();
            sql.push("DELETE FROM collection_products WHERE collection_id = ")
                .bind(collection)
                .push(" AND product_id IN ")
                .bind_list(products.iter().copied());
            sql.query().execute(&mut *conn).await?;
            touch_collection(conn, collection, now).await?;
            Ok(format!("taken out of {slug}"))
        }
        BulkChange::Price(change) => {
            let mut sql = Sql::default();
            sql.push("SELECT id, price_amount, currency FROM variants WHERE archived_at IS NULL AND product_id IN ")
                .bind_list(products.iter().copied())
                .push(" ORDER BY id");
            let variants = sql.query().fetch_all(&mut *conn).await?;
            for v in &variants {
                let id: i64 = v.try_get("id")?;
                let currency = Currency::parse(&v.try_get::<String, _>("currency")?)
                    .map_err(|_| AdminError::Internal)?;
                let price = Money::new(v.try_get("price_amount")?, currency);
                let changed = change.apply(price).ok_or_else(|| {
                    AdminError::Invalid(format!("That would make the price of {price} too large."))
                })?;
                sqlx::query(
                    "UPDATE variants SET price_amount = $1, version = version + 1 WHERE id = $2",
                )
                .bind(changed.amount)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            let mut sql = Sql::default();
            sql.push("UPDATE products SET updated_at = ")
                .bind(now)
                .push(" WHERE id IN ")
                .bind_list(products.iter().copied());
            sql.query().execute(&mut *conn).await?;
            Ok(format!("{} variants", variants.len()))
        }
    }
}

async fn touch_collection(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), AdminError> {
    sqlx::query("UPDATE collections SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `POST /admin/products/bulk` (routed with the catalog's): the table's bulk form: the ticked `product` ids (repeated), the `action` with its
/// `collection` or `percent`, and `back`, the filtered page to return to.
pub(super) async fn bulk_edit_form(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = form.map(|Form(pairs)| pairs);
    let field = |name: &str| {
        pairs.as_ref().ok().and_then(|pairs| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        })
    };
    let to = field("back")
        .and_then(|back| return_to(back, "/admin/products"))
        .unwrap_or("/admin/products")
        .to_string();
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let pairs = match &pairs {
            Ok(pairs) => pairs,
            Err(rejection) => return Err(AdminError::Invalid(rejection.body_text())),
        };
        let mut products = Vec::new();
        for (key, value) in pairs {
            if key == "product" {
                let id = value.trim().parse::<i64>().map_err(|_| {
                    AdminError::Invalid(format!(
                        "'{}' is not a product.",
                        value.chars().take(20).collect::<String>()
                    ))
                })?;
                if !products.contains(&id) {
                    products.push(id);
                }
            }
        }
        let change = BulkChange::from_form(
            field("action").unwrap_or_default(),
            field("collection").unwrap_or_default(),
            field("percent").unwrap_or_default(),
        )?;
        let count = admin.bulk_edit(&account, products, change.clone()).await?;
        Ok(change.notice(count))
    }
    .await;
    outcome(&headers, &to, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, title: &str, updated_at: i64) -> ProductListRow {
        ProductListRow {
            id,
            title: title.into(),
            slug: String::new(),
            status: "active".into(),
            variants: 0,
            on_hand: 0,
            available: 0,
            prices: None,
            picture: None,
            updated_at,
            created_at: 0,
        }
    }

    #[test]
    fn a_cursor_carries_the_sort_key_and_reads_back() {
        let r = row(42, "Linen: the shirt", 1_700_000_000);
        let title = ProductSort::TitleAsc.cursor_after(&r);
        assert_eq!(title, "42:Linen: the shirt");
        let mut sql = Sql::default();
        ProductSort::TitleAsc.page(&mut sql, &title).unwrap();
        assert!(sql.text.contains("p.title > $1"), "{}", sql.text);
        assert!(matches!(&sql.args[0], crate::db::Arg::Text(t) if t == "Linen: the shirt"));
        assert!(matches!(sql.args[2], crate::db::Arg::Int(42)));
        let mut sql = Sql::default();
        ProductSort::Updated
            .page(&mut sql, &ProductSort::Updated.cursor_after(&r))
            .unwrap();
        assert!(sql.text.ends_with("ORDER BY p.updated_at DESC, p.id DESC"));
        assert_eq!(ProductSort::Oldest.cursor_after(&r), "42");
    }

    #[test]
    fn a_made_up_cursor_or_sort_is_refused() {
        for cursor in ["x", "x:1", ":", "12:soon"] {
            let mut sql = Sql::default();
            let sort = if cursor.contains("soon") {
                ProductSort::Updated
            } else {
                ProductSort::Newest
            };
            assert!(sort.page(&mut sql, cursor).is_err(), "{cursor}");
        }
        assert_eq!(ProductSort::parse(""), Some(ProductSort::TitleAsc));
        assert_eq!(ProductSort::parse("price"), None);
        assert!(stock_condition("some").is_err());
    }

    #[test]
    fn a_bulk_form_names_one_change() {
        assert_eq!(
            BulkChange::from_form("publish", "", ""),
            Ok(BulkChange::Status("active"))
        );
        assert_eq!(
            BulkChange::from_form("add-to-collection", " summer ", ""),
            Ok(BulkChange::AddToCollection("summer".into()))
        );
        assert!(BulkChange::from_form("add-to-collection", "", "").is_err());
        assert!(BulkChange::from_form("price", "", "ten").is_err());
        assert!(BulkChange::from_form("", "", "").is_err());
        assert!(BulkChange::from_form("delete", "", "").is_err());
        assert_eq!(
            BulkChange::Status("archived").notice(1),
            "1 product archived."
        );
    }
}
