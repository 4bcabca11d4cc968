//! The SQL behind collection pages, search and the product API: one query per page, whatever
//! the filters, built from parsed [`ProductQuery`] values only.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::query::{search_terms, Cursor, ProductList, ProductQuery, Sort};
use super::relevance::{self, full_text_query, push_tsquery};
use super::ssr::card_from_row;
use super::ProductCard;
use crate::db::{Backend, Sql};

/// A card's columns: the product's `id`, and `card`, everything its card shows in one JSON
/// array (read by `ssr::card_from_row`), kept up to date on write in `product_cards`
/// (migrations `product_cards`). Selected around a page of `catalog_listing` rows named `page`
/// (`product_id`) joined to their cards by [`CARD_JOIN`]: one row by its key per card.
///
/// One value, not 16 columns: sqlx copies each value a row brings back out of the database and
/// converts it for `AnyRow`. Packed, the home page (48 cards) took about 10% less of the
/// server's CPU, a collection page up to 9% (SQLite, one connection at a time).
const CARD_COLUMNS: &str = "pc.product_id AS id, pc.card";

/// See [`CARD_COLUMNS`].
const CARD_JOIN: &str = " JOIN product_cards pc ON pc.product_id = page.product_id";

/// How one sort orders rows and where the next page starts.
struct Order {
    /// The SQL expression of the sort key.
    key: &'static str,
    descending: bool,
    text_key: bool,
}

impl Order {
    fn direction(&self) -> &'static str {
        if self.descending {
            "DESC"
        } else {
            "ASC"
        }
    }

    /// ` ORDER BY` the sort key, then the product (the listing row `l`).
    fn listing_order_by(&self) -> String {
        let direction = self.direction();
        format!(
            " ORDER BY {} {direction}, l.product_id {direction}",
            self.key
        )
    }
}

/// The order of a page that is not a search by relevance.
fn order_for(query: &ProductQuery) -> Order {
    let (key, descending, text_key) = match query.sort {
        Sort::Featured if query.collection.is_some() => ("l.position", false, false),
        Sort::Featured | Sort::Newest => ("l.created_at", true, false),
        Sort::PriceAsc => ("l.min_price", false, false),
        Sort::PriceDesc => ("l.min_price", true, false),
        Sort::Name => ("l.title", false, true),
    };
    Order {
        key,
        descending,
        text_key,
    }
}

/// Only the products matching the search, whatever their rank (SQLite: Postgres's searches
/// sorted this way are [`postgres_search_in_order`]).
fn push_search_filter(sql: &mut Sql, fts: String) {
    sql.push(" AND l.product_id IN (SELECT rowid FROM product_search WHERE product_search MATCH ")
        .bind(fts)
        .push(")");
}

/// One page of products matching `query`. Unknown collection: `Ok(None)`.
pub async fn list_products(
    conn: &mut AnyConnection,
    query: &ProductQuery,
) -> Result<Option<ProductList>, ListError> {
    let collection_id = match &query.collection {
        Some(slug) => {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1")
                .bind(slug.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            let Some(id) = id else {
                return Ok(None);
            };
            id
        }
        // The whole catalog's rows.
        None => WHOLE_CATALOG,
    };
    list_products_in(conn, query, collection_id).await.map(Some)
}

/// Each option filter of `query` as the listing's facets spell it: every `name\u{1f}value` of
/// `facets` (see [`option_facets`]) equal to it without regard to case, nearly always one.
/// `None` when one of them is not among the facets: no product has it.
fn facet_keys(
    facets: &[(String, Vec<String>)],
    options: &[(String, String)],
) -> Option<Vec<Vec<String>>> {
    options
        .iter()
        .map(|(name, value)| {
            let (name, value) = (name.to_lowercase(), value.to_lowercase());
            let keys: Vec<String> = facets
                .iter()
                .filter(|(n, _)| n.to_lowercase() == name)
                .flat_map(|(n, values)| {
                    values
                        .iter()
                        .filter(|v| v.to_lowercase() == value)
                        .map(move |v| format!("{n}{FACET_SEPARATOR}{v}"))
                })
                .collect();
            (!keys.is_empty()).then_some(keys)
        })
        .collect()
}

/// Between an option's name and its value in `catalog_facets.facet` (`chr(31)` in the
/// migrations that fill it).
const FACET_SEPARATOR: char = '\u{1f}';

/// The `collection_id` of the whole catalog's rows in `catalog_listing` and `catalog_facets`.
pub const WHOLE_CATALOG: i64 = 0;

/// One page of products matching `query` among the listing rows of `collection_id`, for a caller
/// that already looked the collection up ([`WHOLE_CATALOG`] for all products); `query.collection`
/// is not read.
pub async fn list_products_in(
    conn: &mut AnyConnection,
    query: &ProductQuery,
    collection_id: i64,
) -> Result<ProductList, ListError> {
    // Read only when the page filters by option.
    let facets = match query.options.is_empty() {
        true => vec![],
        false => option_facets(conn, collection_id).await?,
    };
    list_products_among(conn, query, collection_id, &facets).await
}

/// [`list_products_in`] for a caller that has read the collection's [`option_facets`] already
/// (a collection page shows them), which the option filters are looked up among.
pub async fn list_products_among(
    conn: &mut AnyConnection,
    query: &ProductQuery,
    collection_id: i64,
    facets: &[(String, Vec<String>)],
) -> Result<ProductList, ListError> {
    let nothing = || ProductList {
        items: vec![],
        next_cursor: None,
    };
    let cursor = query
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()
        .map_err(ListError::BadCursor)?;
    // The option filters as stored, found among the collection's few values: each product is
    // then checked by one exact key of the facets' index, not by lower-casing each of its facet
    // rows (Colour:Forest reads ~20 products along the sort for each one it shows).
    let Some(option_keys) = facet_keys(facets, &query.options) else {
        return Ok(nothing());
    };
    let terms = match &query.text {
        Some(text) => {
            let terms = search_terms(text);
            if terms.is_empty() {
                return Ok(nothing());
            }
            Some(terms)
        }
        None => None,
    };
    match terms {
        Some(terms) if query.sort == Sort::Featured => {
            list_by_relevance(conn, query, &option_keys, collection_id, &terms, cursor).await
        }
        terms => {
            let order = order_for(query);
            let backend = Backend::of(conn);
            let filters = |sql: &mut Sql| push_filters(sql, backend, query, &option_keys);
            let search = terms.as_deref();
            list_in_order(conn, query, collection_id, &order, filters, search, cursor).await
        }
    }
}

/// Listing rows a search sorted by price, name or date reads along the sort looking for its
/// page in `product_words` (SQLite) or `product_search` (Postgres), before it asks the
/// full-text index instead.
const WORDS_WINDOW: i64 = 500;

/// Below this many matches, a SQLite search sorted by price, name or date looks each match up
/// in the listing and sorts them (about 1 µs a match) rather than reading the listing along the
/// sort until its page is found (7 ms for a SKU at 100,000 products).
const FEW_MATCHES: i64 = 1_000;

/// How a page that is not a search by relevance keeps only a search's matches.
enum Matching<'a> {
    /// Among the full-text index's matches: see [`push_search_filter`] (SQLite) and
    /// [`postgres_search_in_order`].
    FullText(String),
    /// The full-text index's matches (fewer than [`FEW_MATCHES`]), each looked up in the listing
    /// and sorted: reading the listing along the sort for them would read all of it. On
    /// Postgres, [`postgres_search_in_order`] without its window, which still reads the listing
    /// along the sort if the matches are many after all.
    MatchesFirst(String),
    /// By each product's words, looked up as the listing is read, up to the listing row `until`
    /// (all of it if `None`); `patterns` as [`relevance::word_patterns`].
    Words {
        patterns: &'a [String],
        until: Option<&'a Cursor>,
    },
}

/// A page in the order of a sort key: at most limit + 1 rows of `catalog_listing`, read along
/// the index of the sort.
///
/// A SQLite search sorted this way chooses by what it finds (times at 100,000 products, the
/// listing's statement alone):
/// - a search of plain words first reads the next [`WORDS_WINDOW`] listing rows and each
///   product's words, by id ([`Matching::Words`]). A word common enough to cost much finds its
///   page there: "merino" 0.25 ms instead of 1.4, a word of every product 0.02 instead of 20;
/// - otherwise it counts the full-text index's matches up to [`FEW_MATCHES`] (not first: a
///   common prefix such as "in" is 6 ms to count). Fewer are each looked up in the listing
///   and sorted ([`Matching::MatchesFirst`]);
/// - more (a word in a few per cent of the products, a tight filter, a word the tokenizer
///   changes) are found first and the listing is read along the sort ([`Matching::FullText`],
///   as before).
///
/// Whole pages, 16 connections: a SKU sorted by price 258 -> 945 req/s, "merino" 798 -> 1,440;
/// a word in 4% of the products, which reads the window in vain, 1,190 -> 850.
async fn list_in_order(
    conn: &mut AnyConnection,
    query: &ProductQuery,
    collection_id: i64,
    order: &Order,
    filters: impl Fn(&mut Sql),
    search: Option<&[String]>,
    cursor: Option<Cursor>,
) -> Result<ProductList, ListError> {
    let backend = Backend::of(conn);
    let page = InOrder {
        query,
        collection_id,
        order,
        filters,
        cursor: cursor.as_ref(),
    };
    let fts = search.map(|terms| full_text_query(backend, terms));
    if let (Some(fts), Some(terms)) = (&fts, search) {
        if let Some(found) = title_order_page(conn, &page, terms, fts).await? {
            return Ok(found);
        }
    }
    if let (Backend::Sqlite, Some(fts), Some(terms)) = (backend, &fts, search) {
        // A code (a SKU, a model number) is nearly always rare, and its count is cheap (its
        // prefix begins few words): counted first, the window is not read in vain. A SKU sorted
        // by price at 100,000 products read 500 rows of it for nothing, 0.87 ms of 1.04.
        let counted_first = looks_like_a_code(terms);
        if counted_first && has_few_matches(conn, fts).await? {
            let matching = Matching::MatchesFirst(fts.clone());
            return page_in_order(conn, &page, Some(matching)).await;
        }
        if let Some(patterns) = relevance::word_patterns(terms) {
            let until = window_end(conn, collection_id, order, page.cursor).await?;
            let matching = Matching::Words {
                patterns: &patterns,
                until: until.as_ref(),
            };
            let found = page_in_order(conn, &page, Some(matching)).await?;
            // Exact when the page and one more were found, or the window reached the end.
            if found.next_cursor.is_some() || until.is_none() {
                return Ok(found);
            }
        }
        if !counted_first && has_few_matches(conn, fts).await? {
            let matching = Matching::MatchesFirst(fts.clone());
            return page_in_order(conn, &page, Some(matching)).await;
        }
    }
    // The same for a code on Postgres, whose statement counts the matches itself: its window
    // of listing rows, each looked up in the full-text table, was 3.5 ms of a SKU's 4.2 at
    // 100,000 products, all in vain.
    if let (Backend::Postgres, Some(fts), Some(terms)) = (backend, &fts, search) {
        if looks_like_a_code(terms) {
            let matching = Matching::MatchesFirst(fts.clone());
            return page_in_order(conn, &page, Some(matching)).await;
        }
    }
    page_in_order(conn, &page, fts.map(Matching::FullText)).await
}

/// Whether a search's matched words include one of three characters or more with a digit in
/// it, as SKUs and model numbers have ("p90007", "x200"). Short ones ("p9") are left out: as a
/// prefix they begin thousands of words, whose matches cost milliseconds to count.
fn looks_like_a_code(terms: &[String]) -> bool {
    relevance::matched_words(terms)
        .iter()
        .any(|(word, _)| word.chars().count() >= 3 && word.chars().any(|c| c.is_ascii_digit()))
}

/// The most title words a search's word may be the beginning of for [`title_order_page`]: one
/// ordered read of `product_title_words` each.
const TITLE_WORDS_READ: usize = 8;

/// The word of a search that [`title_order_page`] reads the titles for, its longest matched
/// word, and every matched word's [`relevance::word_patterns`]: if every matched word is a
/// prefix of plain ASCII letters and digits (which both full-text indexes keep as they are:
/// `product_title_words` holds the index's own words).
fn title_anchor(terms: &[String]) -> Option<(&str, Vec<String>)> {
    let patterns = relevance::word_patterns(terms)?;
    let words = relevance::matched_words(terms);
    if !words.iter().all(|(_, prefix)| *prefix) {
        return None;
    }
    let anchor = words.into_iter().map(|(w, _)| w).max_by_key(|w| w.len())?;
    Some((anchor, patterns))
}

/// ` AND` the words `column` (of `product_words`) hold every one of `patterns`
/// ([`relevance::word_patterns`]).
fn push_word_patterns(sql: &mut Sql, column: &str, patterns: &[String]) {
    for pattern in patterns {
        sql.push(" AND instr(")
            .push(column)
            .push(", ")
            .bind(pattern.clone())
            .push(") > 0");
    }
}

/// ` AND` the listing row `l`'s product matches the Postgres full-text query `fts`, looked up
/// by its id (`OFFSET 0` keeps it a lookup per row).
fn push_document_match(sql: &mut Sql, fts: &str) {
    sql.push(
        " AND EXISTS (SELECT 1 FROM product_search s WHERE s.product_id = l.product_id
                         AND s.document @@ ",
    );
    push_tsquery(sql, fts);
    sql.push(" OFFSET 0)");
}

/// The full-text query of the products with a word beginning with `anchor` that is not in their
/// title: of `untitled_words` (Postgres) or `product_untitled_words` (SQLite).
fn outside_titles_query(backend: Backend, anchor: &str) -> String {
    match backend {
        Backend::Sqlite => format!("\"{anchor}\"*"),
        Backend::Postgres => format!("{anchor}:*"),
    }
}

/// ` SELECT` the ids (`product_id`) of the products with a word beginning with the anchor that
/// is not in their title (`outside`, as [`outside_titles_query`]) and that match the whole
/// search: `fts` on Postgres, each of `patterns` ([`relevance::word_patterns`]) in
/// `product_words` on SQLite. A product with "merino" in its description and "merinos" in its
/// title is among them though its title has the anchor too: it is then read twice, and the page
/// keeps it once.
fn push_outside_matches(
    sql: &mut Sql,
    backend: Backend,
    outside: &str,
    fts: &str,
    patterns: &[String],
) {
    match backend {
        Backend::Sqlite => {
            sql.push(
                "SELECT pw.product_id FROM product_untitled_words CROSS JOIN product_words pw
                  WHERE product_untitled_words MATCH ",
            )
            .bind(outside.to_string())
            .push(" AND pw.product_id = product_untitled_words.rowid");
            push_word_patterns(sql, "pw.words", patterns);
        }
        // The few products with the anchor outside their title first (`OFFSET 0`), then
        // their documents: not both indexes, whose "merino" is 8,000 products.
        Backend::Postgres => {
            sql.push(
                "SELECT product_id FROM (SELECT product_id, document FROM product_search
                                          WHERE untitled_words @@ ",
            );
            push_tsquery(sql, outside);
            sql.push(" OFFSET 0) s WHERE document @@ ");
            push_tsquery(sql, fts);
        }
    }
}

/// A search sorted by name, read from `product_title_words` in title order: each match's row
/// there, for the search's longest word ([`title_anchor`]), is where the page finds it, and
/// the search's other words are checked row by row. The products with that word only outside
/// their title are not in that table: when there are none, or fewer than [`FEW_MATCHES`],
/// they are looked up in the listing and sorted in; more, and this is `None` (the listing is
/// read along the title as before). So is a word that begins more than [`TITLE_WORDS_READ`]
/// title words.
///
/// At 100,000 products "merino" by name read 3,758 listing rows to show 24 (Postgres 20 ms,
/// SQLite 2–3 ms); here it reads 26.
async fn title_order_page(
    conn: &mut AnyConnection,
    page: &InOrder<'_, impl Fn(&mut Sql)>,
    terms: &[String],
    fts: &str,
) -> Result<Option<ProductList>, ListError> {
    let InOrder {
        query,
        collection_id,
        order,
        filters,
        cursor,
    } = page;
    if !order.text_key || order.descending {
        return Ok(None);
    }
    let Some((anchor, patterns)) = title_anchor(terms) else {
        return Ok(None);
    };
    let backend = Backend::of(conn);
    // Every statement here is written so that its way through the tables does not depend on
    // its words. Left to choose, Postgres planned the count and the page for their words on
    // every run (0.3–0.45 ms a page at 100,000 products, `pg_stat_statements`).
    let mut planned = crate::db::planned_once(conn).await?;
    let conn: &mut AnyConnection = &mut planned;
    // The matches with the anchor outside their title: none, or few enough to look each up
    // in the listing and sort them (as `Matching::MatchesFirst`), or the tiers read the listing.
    let outside = outside_titles_query(backend, anchor);
    let mut count = Sql::default();
    count.push("SELECT COUNT(*) AS n FROM (");
    push_outside_matches(&mut count, backend, &outside, fts, &patterns);
    count.push(&format!(" LIMIT {FEW_MATCHES}) m"));
    let outside_count: i64 = count.query().fetch_one(&mut *conn).await?.try_get("n")?;
    if outside_count >= FEW_MATCHES {
        return Ok(None);
    }
    // The title words beginning with the anchor (one index probe each), and one more if there
    // are more than are read.
    let begins = |sql: &mut Sql| {
        match backend {
            Backend::Sqlite => sql
                .push("substr(w.word, 1, ")
                .bind(anchor.len() as i64)
                .push(") = ")
                .bind(anchor.to_string()),
            Backend::Postgres => sql
                .push("starts_with(w.word, ")
                .bind(anchor.to_string())
                .push(")"),
        };
    };
    let mut sql = Sql::default();
    sql.push(
        "WITH RECURSIVE w(word, n) AS (
             SELECT (SELECT MIN(word) FROM product_title_words WHERE word >= ",
    )
    .bind(anchor.to_string())
    .push(
        "), 1
             UNION ALL
             SELECT (SELECT MIN(t.word) FROM product_title_words t WHERE t.word > w.word), w.n + 1
               FROM w WHERE ",
    );
    begins(&mut sql);
    sql.push(&format!(
        " AND w.n <= {TITLE_WORDS_READ}) SELECT word FROM w WHERE "
    ));
    begins(&mut sql);
    let words = sql
        .query()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get("word"))
        .collect::<Result<Vec<String>, _>>()?;
    if words.len() > TITLE_WORDS_READ {
        return Ok(None);
    }
    if words.is_empty() && outside_count == 0 {
        // No title has the word, and no product has it elsewhere: nothing matches.
        return Ok(Some(ProductList {
            items: vec![],
            next_cursor: None,
        }));
    }
    // The other words, checked on each row read: every word, if the anchor is not the only one.
    let others = patterns.len() > 1;
    let page_rows = query.limit + 1;
    let mut sql = Sql::default();
    sql.push("SELECT DISTINCT id, sort_key FROM (");
    for (n, word) in words.iter().enumerate() {
        if n > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push(
            "SELECT * FROM (SELECT tw.product_id AS id, tw.title AS sort_key
               FROM product_title_words tw CROSS JOIN catalog_listing l
              WHERE tw.word = ",
        )
        .bind(word.clone())
        .push(" AND l.collection_id = ")
        .bind(*collection_id)
        .push(" AND l.product_id = tw.product_id");
        if let Some(cursor) = cursor {
            let Cursor::Text { key, id } = cursor else {
                return Err(another_order());
            };
            sql.push(" AND tw.title >= ")
                .bind(key.clone())
                .push(" AND (tw.title > ")
                .bind(key.clone())
                .push(" OR tw.product_id > ")
                .bind(*id)
                .push(")");
        }
        match (backend, others) {
            (Backend::Sqlite, true) => {
                sql.push(" AND (SELECT 1 FROM product_words pw WHERE pw.product_id = l.product_id");
                push_word_patterns(&mut sql, "pw.words", &patterns);
                sql.push(") = 1");
            }
            (Backend::Postgres, true) => push_document_match(&mut sql, fts),
            (_, false) => {}
        }
        filters(&mut sql);
        sql.push(" ORDER BY tw.title, tw.product_id LIMIT ")
            .bind(page_rows)
            .push(") t");
    }
    if outside_count > 0 {
        if !words.is_empty() {
            sql.push(" UNION ALL ");
        }
        let listing_row = match backend {
            Backend::Sqlite => " CROSS JOIN catalog_listing l WHERE l.collection_id = ",
            // Each match's own listing row (a join could hash the whole listing).
            Backend::Postgres => {
                " CROSS JOIN LATERAL (SELECT * FROM catalog_listing l
                                      WHERE l.product_id = m.product_id
                                        AND l.collection_id = "
            }
        };
        sql.push("SELECT * FROM (SELECT l.product_id AS id, l.title AS sort_key FROM (");
        push_outside_matches(&mut sql, backend, &outside, fts, &patterns);
        sql.push(") m").push(listing_row).bind(*collection_id);
        match backend {
            Backend::Sqlite => sql.push(" AND l.product_id = m.product_id"),
            Backend::Postgres => sql.push(" OFFSET 0) l WHERE TRUE"),
        };
        if let Some(cursor) = cursor {
            push_past(&mut sql, order, cursor)?;
        }
        filters(&mut sql);
        sql.push(" ORDER BY l.title, l.product_id LIMIT ")
            .bind(page_rows)
            .push(") t");
    }
    sql.push(") page ORDER BY sort_key, id LIMIT ")
        .bind(page_rows);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let (rows, next_cursor) = page_end(&rows, query.limit, order)?;
    let items = cards_of_ids(conn, *collection_id, rows).await?;
    Ok(Some(ProductList { items, next_cursor }))
}

/// What every statement of one page of [`list_in_order`] is asked with.
struct InOrder<'a, F> {
    query: &'a ProductQuery,
    collection_id: i64,
    order: &'a Order,
    filters: F,
    cursor: Option<&'a Cursor>,
}

/// Whether SQLite's full-text index has fewer than [`FEW_MATCHES`] matches of `fts` (counted no
/// further).
async fn has_few_matches(conn: &mut AnyConnection, fts: &str) -> Result<bool, sqlx::Error> {
    let counted: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM product_search WHERE product_search MATCH $1
                                LIMIT {FEW_MATCHES})"
    ))
    .bind(fts)
    .fetch_one(&mut *conn)
    .await?;
    Ok(counted < FEW_MATCHES)
}

/// Where the next [`WORDS_WINDOW`] rows of the listing after `cursor` end, filters aside (one
/// covering index read); `None` if fewer are left.
async fn window_end(
    conn: &mut AnyConnection,
    collection_id: i64,
    order: &Order,
    cursor: Option<&Cursor>,
) -> Result<Option<Cursor>, ListError> {
    let mut sql = Sql::default();
    sql.push("SELECT l.product_id AS id, ")
        .push(order.key)
        .push(" AS sort_key FROM catalog_listing l WHERE l.collection_id = ")
        .bind(collection_id);
    if let Some(cursor) = cursor {
        push_past(&mut sql, order, cursor)?;
    }
    sql.push(&order.listing_order_by())
        .push(&format!(" LIMIT 1 OFFSET {}", WORDS_WINDOW - 1));
    let row = sql.query().fetch_optional(&mut *conn).await?;
    Ok(row.map(|row| cursor_after(&row, order)).transpose()?)
}

/// ` AND` the listing row `l` comes after `cursor` in `order`.
fn push_past(sql: &mut Sql, order: &Order, cursor: &Cursor) -> Result<(), ListError> {
    let op = if order.descending { "<" } else { ">" };
    push_position(sql, order, cursor, op, op)
}

/// ` AND` the listing row `l` is `until` or comes before it in `order`. The sort key's bound is
/// written on its own too, so that SQLite ends its walk along the index there.
fn push_up_to(sql: &mut Sql, order: &Order, until: &Cursor) -> Result<(), ListError> {
    let (op, or_equal) = if order.descending {
        (">", ">=")
    } else {
        ("<", "<=")
    };
    sql.push(" AND ")
        .push(order.key)
        .push(" ")
        .push(or_equal)
        .push(" ");
    match until {
        Cursor::Int { key, .. } if !order.text_key => sql.bind(*key),
        Cursor::Text { key, .. } if order.text_key => sql.bind(key.clone()),
        _ => return Err(another_order()),
    };
    push_position(sql, order, until, op, or_equal)
}

/// ` AND (key op cursor's key OR (key = cursor's key AND l.product_id id_op cursor's id))`.
fn push_position(
    sql: &mut Sql,
    order: &Order,
    cursor: &Cursor,
    op: &str,
    id_op: &str,
) -> Result<(), ListError> {
    sql.push(" AND (")
        .push(order.key)
        .push(" ")
        .push(op)
        .push(" ");
    let id = match cursor {
        Cursor::Int { key, id } if !order.text_key => {
            sql.bind(*key);
            sql.push(" OR (").push(order.key).push(" = ").bind(*key);
            *id
        }
        Cursor::Text { key, id } if order.text_key => {
            sql.bind(key.clone());
            sql.push(" OR (")
                .push(order.key)
                .push(" = ")
                .bind(key.clone());
            *id
        }
        _ => return Err(another_order()),
    };
    sql.push(" AND l.product_id ")
        .push(id_op)
        .push(" ")
        .bind(id)
        .push("))");
    Ok(())
}

/// One statement of [`list_in_order`] (two for a Postgres search: see there).
async fn page_in_order(
    conn: &mut AnyConnection,
    page: &InOrder<'_, impl Fn(&mut Sql)>,
    matching: Option<Matching<'_>>,
) -> Result<ProductList, ListError> {
    let InOrder {
        query,
        collection_id,
        order,
        filters,
        cursor,
    } = page;
    let collection_id = *collection_id;
    // Read before `matching` is used up below; see the LIMIT.
    let limit_as_parameter = matching.is_some()
        || query.min_price.is_some()
        || query.max_price.is_some()
        || !query.options.is_empty();
    let backend = Backend::of(conn);
    // A Postgres search sorted this way is a statement of its own returning the page's ids
    // ([`postgres_search_in_order`]), and their cards come from a second one
    // ([`cards_in_order`]). The split was made when Postgres planned the search for its words
    // on every run: with the cards' joins in it, planning took about 1.1 ms of each page, and
    // split, 100,000 products served 6–13% more price-sorted searches a second. Postgres now
    // keeps one plan of each after five runs (`pg_stat_statements`: 24 plans for 9,411 calls
    // of each); whether one statement would serve faster now has not been measured.
    let postgres_search = match (backend, &matching) {
        (Backend::Postgres, Some(Matching::FullText(fts))) => Some((fts, WORDS_WINDOW)),
        (Backend::Postgres, Some(Matching::MatchesFirst(fts))) => Some((fts, 0)),
        _ => None,
    };
    let (sql, products_first) = if let Some((fts, window)) = postgres_search {
        (postgres_search_in_order(page, fts, window)?, true)
    } else {
        let mut sql = Sql::default();
        sql.push("SELECT ")
            .push(CARD_COLUMNS)
            .push(", page.sort_key FROM (SELECT l.product_id, l.min_price, ");
        sql.push(order.key).push(" AS sort_key FROM ");
        // CROSS JOIN keeps the order of the tables as written: the listing first, read along
        // the sort, and each row's words looked up; or the matches first, each looked up in
        // the listing.
        match &matching {
            Some(Matching::Words { .. }) => {
                sql.push("catalog_listing l CROSS JOIN product_words w");
            }
            Some(Matching::MatchesFirst(fts)) => {
                sql.push(
                    "(SELECT rowid AS product_id FROM product_search WHERE product_search MATCH ",
                )
                .bind(fts.clone())
                .push(") m CROSS JOIN catalog_listing l");
            }
            _ => {
                sql.push("catalog_listing l");
            }
        }
        // The whole catalog written as a number on Postgres: unfiltered, its first page (the home
        // page's newest products) is then a statement without parameters, which Postgres plans
        // once per connection. Bound, it planned it again on every run (0.65 ms, more than running
        // it), its estimates for the whole catalog and for "any collection" being far apart.
        // SQLite plans every statement anyway (and served price-sorted searches 8% slower so).
        match (backend, collection_id) {
            (Backend::Postgres, WHOLE_CATALOG) => {
                sql.push(&format!(" WHERE l.collection_id = {WHOLE_CATALOG}"))
            }
            (_, id) => sql.push(" WHERE l.collection_id = ").bind(id),
        };
        match matching {
            // The matches are found once and the listing is read in the sort's order (matching
            // per row would search once per row).
            Some(Matching::FullText(fts)) => push_search_filter(&mut sql, fts),
            Some(Matching::MatchesFirst(_)) => {
                sql.push(" AND l.product_id = m.product_id");
            }
            Some(Matching::Words { patterns, until }) => {
                sql.push(" AND w.product_id = l.product_id");
                push_word_patterns(&mut sql, "w.words", patterns);
                if let Some(until) = until {
                    push_up_to(&mut sql, order, until)?;
                }
            }
            None => {}
        }
        filters(&mut sql);
        if let Some(cursor) = cursor {
            push_past(&mut sql, order, cursor)?;
        }

        sql.push(&order.listing_order_by());
        // One more than asked tells whether there is a next page. Without a search, price or
        // option filter it is written as a number (2 to 101), not bound: Postgres costs a prepared
        // statement's unknown LIMIT as a tenth of the rows, found its one plan dearer than
        // planning for the values, and planned every page again (0.4–0.5 ms of each collection
        // and home page at 100,000 products). With one of those filters it stays bound: planned
        // for 25 rows, Postgres guesses the filter keeps a few in a thousand and reads the
        // collection another way (Size:M 51 ms instead of 0.6), where the plan it keeps for any
        // LIMIT reads along the sort's index.
        let limit = query.limit + 1;
        match limit_as_parameter {
            true => sql.push(" LIMIT ").bind(limit),
            false => sql.push(&format!(" LIMIT {limit}")),
        };
        let direction = order.direction();
        sql.push(") page").push(CARD_JOIN).push(&format!(
            " ORDER BY page.sort_key {direction}, page.product_id {direction}"
        ));
        (sql, false)
    };
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let (rows, next_cursor) = page_end(&rows, query.limit, order)?;
    let items = match products_first {
        true => cards_of_ids(conn, collection_id, rows).await?,
        false => rows
            .iter()
            .map(card_from_row)
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(ProductList { items, next_cursor })
}

/// The ids and sort keys of a Postgres search's page sorted by price, name or date, in one
/// statement that chooses by what it finds, as SQLite's tiers do ([`list_in_order`]), each
/// branch run only if the one before found too little:
/// - the next `window` listing rows along the sort's index ([`WORDS_WINDOW`], none for a
///   code), each looked up in the full-text table (`OFFSET 0` keeps that a lookup per row);
///   when they hold the whole page, it is the page: "merino" (8% of the products) sorted by
///   price reads about 240 rows;
/// - the full-text index's matches, when fewer than [`FEW_MATCHES`]: each looked up in the
///   listing by its key and sorted (a SKU, a rare word). A `LATERAL` lookup, not a join: after
///   five runs Postgres keeps one plan for any words, which guessed 500 matches and hashed the
///   whole listing to join them (a SKU sorted by price: 98 pages a second at 100,000
///   products, p99 198 ms);
/// - otherwise the listing along the sort, each row looked up in the full-text table, until
///   the page is full (a common word far from the start of the sort: "merino" by name).
///
/// Left to plan for the words, Postgres read the listing along the sort for a word it did not
/// know (its guess: one product in 200), which for a SKU or a word of no product meant every
/// row: 260–430 ms a page at 100,000 products.
fn postgres_search_in_order<F: Fn(&mut Sql)>(
    page: &InOrder<'_, F>,
    fts: &str,
    window: i64,
) -> Result<Sql, ListError> {
    let InOrder {
        query,
        collection_id,
        order,
        filters,
        cursor,
    } = page;
    let page_rows = query.limit + 1;
    let order_by = order.listing_order_by();
    let key = order.key;
    let matches = |sql: &mut Sql| push_document_match(sql, fts);
    // The page's filters and, past the cursor, its place: the last conditions on `l` of the
    // second and third branches.
    let filtered_past_cursor = |sql: &mut Sql| -> Result<(), ListError> {
        filters(sql);
        match cursor {
            Some(cursor) => push_past(sql, order, cursor),
            None => Ok(()),
        }
    };
    let mut sql = Sql::default();
    sql.push(&format!(
        "WITH win AS MATERIALIZED (SELECT l.product_id AS id, {key} AS sort_key
           FROM (SELECT * FROM catalog_listing l WHERE l.collection_id = "
    ))
    .bind(*collection_id);
    if let Some(cursor) = cursor {
        push_past(&mut sql, order, cursor)?;
    }
    sql.push(&order_by)
        .push(&format!(" LIMIT {window}) l WHERE TRUE"));
    matches(&mut sql);
    filters(&mut sql);
    sql.push(&order_by)
        .push(&format!(" LIMIT {page_rows}),"))
        .push(
            " few AS MATERIALIZED (SELECT product_id FROM product_search
                                    WHERE document @@ ",
        );
    push_tsquery(&mut sql, fts);
    sql.push(&format!(
        " LIMIT {FEW_MATCHES})
             SELECT id, sort_key FROM win WHERE (SELECT COUNT(*) FROM win) = {page_rows}
             UNION ALL
             (SELECT m.id, m.sort_key
                FROM few CROSS JOIN LATERAL (SELECT l.product_id AS id, {key} AS sort_key
                                               FROM catalog_listing l
                                              WHERE l.product_id = few.product_id
                                                AND l.collection_id = "
    ))
    .bind(*collection_id);
    filtered_past_cursor(&mut sql)?;
    let direction = order.direction();
    sql.push(&format!(
        " OFFSET 0) m
               WHERE (SELECT COUNT(*) FROM win) < {page_rows}
                 AND (SELECT COUNT(*) FROM few) < {FEW_MATCHES}
               ORDER BY m.sort_key {direction}, m.id {direction} LIMIT {page_rows})
             UNION ALL
             (SELECT l.product_id AS id, {key} AS sort_key FROM catalog_listing l
               WHERE (SELECT COUNT(*) FROM win) < {page_rows}
                 AND (SELECT COUNT(*) FROM few) >= {FEW_MATCHES} AND l.collection_id = "
    ))
    .bind(*collection_id);
    matches(&mut sql);
    filtered_past_cursor(&mut sql)?;
    sql.push(&order_by)
        .push(&format!(" LIMIT {page_rows})"))
        .push(&format!(" ORDER BY sort_key {direction}, id {direction}"));
    Ok(sql)
}

fn another_order() -> ListError {
    ListError::BadCursor("cursor belongs to another sort order".into())
}

/// The page's price, stock and option filters on the listing row `l`, the options as
/// [`facet_keys`].
fn push_filters(
    sql: &mut Sql,
    backend: Backend,
    query: &ProductQuery,
    option_keys: &[Vec<String>],
) {
    // Unless the page is sorted by price, the price bounds are checked on rows read along the
    // sort's index: `+` keeps the planner from reading the price range first and sorting it
    // (a third of a 5,000-product collection for "20 to 60").
    let price = match query.sort {
        Sort::PriceAsc | Sort::PriceDesc => "l.min_price",
        _ => "+l.min_price",
    };
    if let Some(min) = query.min_price {
        sql.push(" AND ").push(price).push(" >= ").bind(min);
    }
    if let Some(max) = query.max_price {
        sql.push(" AND ").push(price).push(" <= ").bind(max);
    }
    if query.in_stock_only {
        // Literally `buyable = 1`: the partial indexes for "in stock" are chosen on it.
        sql.push(" AND l.buyable = 1");
    }
    for keys in option_keys {
        // SQLite: first the row's facet bits, in the sort's index (migration 0035), against
        // the option's, worked out once a statement. Only rows whose bits say yes are looked up
        // below: Colour:Forest, 1 product in 10, read 200 rows of a 100,000-product catalog
        // for its page and its statement went from 260 to 195 µs. A bit may be shared by
        // several values, never missing.
        if backend == Backend::Sqlite {
            sql.push(
                " AND (l.facet_bits & (SELECT SUM(DISTINCT mask) FROM catalog_facet_masks
                                        WHERE facet IN ",
            )
            .bind_list(keys.iter().cloned())
            .push(")) <> 0");
        }
        // One key of the product's facets, whichever its variants. A scalar subquery: by the
        // product's index, row by row along the sort, never by joining the collection's
        // facets (Postgres turns an EXISTS into a join over all of them; SQLite walked them
        // once per product).
        sql.push(
            " AND (SELECT 1 FROM catalog_facets f
                    WHERE f.product_id = l.product_id AND f.collection_id = l.collection_id
                      AND f.facet IN ",
        )
        .bind_list(keys.iter().cloned())
        .push(" LIMIT 1) = 1");
    }
}

/// A page of a search by relevance (see [`relevance`]): the tiers' matches read in turn, from
/// the cursor's place, until the page and one more are found, then their cards. The cursor is
/// the last card's tier and product.
async fn list_by_relevance(
    conn: &mut AnyConnection,
    query: &ProductQuery,
    option_keys: &[Vec<String>],
    collection_id: i64,
    terms: &[String],
    cursor: Option<Cursor>,
) -> Result<ProductList, ListError> {
    let (from_tier, after) = match cursor {
        None => (0, None),
        Some(Cursor::Int { key, id }) if relevance::is_tier(key) && id > 0 => (key, Some(id)),
        Some(_) => return Err(another_order()),
    };
    let backend = Backend::of(conn);
    let mut found = relevance::page(
        conn,
        terms,
        collection_id,
        (from_tier, after),
        query.limit + 1,
        |sql| push_filters(sql, backend, query, option_keys),
    )
    .await?;
    let has_more = found.len() as i64 > query.limit;
    found.truncate(query.limit as usize);
    if found.is_empty() {
        return Ok(ProductList {
            items: vec![],
            next_cursor: None,
        });
    }

    let ids: Vec<i64> = found.iter().map(|(_, id)| *id).collect();
    let cards = cards_in_order(conn, collection_id, &ids).await?;
    let next_cursor = match (has_more, found.last()) {
        (true, Some(&(tier, id))) => Some(Cursor::Int { key: tier, id }.encode()),
        _ => None,
    };
    Ok(ProductList {
        items: cards,
        next_cursor,
    })
}

/// A page's rows out of the `limit` + 1 read in `order` (the one more tells there is a next
/// page), and the cursor after them if there is.
fn page_end<'r>(
    rows: &'r [AnyRow],
    limit: i64,
    order: &Order,
) -> Result<(&'r [AnyRow], Option<String>), sqlx::Error> {
    let page = &rows[..rows.len().min(limit as usize)];
    let next_cursor = match (rows.len() as i64 > limit, page.last()) {
        (true, Some(last)) => Some(cursor_after(last, order)?.encode()),
        _ => None,
    };
    Ok((page, next_cursor))
}

/// [`cards_in_order`] of rows that name their products as `id`.
async fn cards_of_ids(
    conn: &mut AnyConnection,
    collection_id: i64,
    rows: &[AnyRow],
) -> Result<Vec<ProductCard>, sqlx::Error> {
    let ids = rows
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<Vec<i64>, _>>()?;
    cards_in_order(conn, collection_id, &ids).await
}

/// The cards of the products `ids` listed in `collection_id`, in the order of `ids` (a product
/// changed since it was found is left out).
async fn cards_in_order(
    conn: &mut AnyConnection,
    collection_id: i64,
    ids: &[i64],
) -> Result<Vec<ProductCard>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::default();
    sql.push("SELECT ")
        .push(CARD_COLUMNS)
        .push(
            // `+`: each product's rows by the product index. SQLite otherwise read the whole
            // collection along a covering index to find 24 products (10 ms at 100,000).
            " FROM (SELECT l.product_id, l.min_price FROM catalog_listing l
                     WHERE +l.collection_id = ",
        )
        .bind(collection_id)
        .push(" AND l.product_id IN ")
        .bind_list(ids.iter().copied())
        .push(") page")
        .push(CARD_JOIN);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    // In the order found (a product changed since its tier was read is left out).
    let mut placed = rows
        .iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok((ids.iter().position(|f| *f == id), card_from_row(row)?))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    placed.sort_by_key(|(place, _)| *place);
    Ok(placed.into_iter().map(|(_, card)| card).collect())
}

fn cursor_after(row: &AnyRow, order: &Order) -> Result<Cursor, sqlx::Error> {
    let id: i64 = row.try_get("id")?;
    Ok(if order.text_key {
        Cursor::Text {
            key: row.try_get("sort_key")?,
            id,
        }
    } else {
        Cursor::Int {
            key: row.try_get("sort_key")?,
            id,
        }
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}")]
    BadCursor(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<ListError> for crate::error::AppError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::BadCursor(message) => crate::error::AppError::BadRequest(message),
            ListError::Database(e) => e.into(),
        }
    }
}

/// The option values that occur among a collection's active products, for its filters:
/// `[("Colour", ["Black", …]), ("Size", ["S", …])]`. Read from `catalog_facets` one distinct
/// value at a time (each an index seek: a loose index scan), so the cost follows the number of
/// values, not of products.
pub async fn option_facets(
    conn: &mut AnyConnection,
    collection_id: i64,
) -> Result<Vec<(String, Vec<String>)>, sqlx::Error> {
    let facets: Vec<Option<String>> = sqlx::query_scalar(
        "WITH RECURSIVE f(facet) AS (
             SELECT MIN(facet) FROM catalog_facets WHERE collection_id = $1
             UNION ALL
             SELECT (SELECT MIN(n.facet) FROM catalog_facets n
                      WHERE n.collection_id = $1 AND n.facet > f.facet)
               FROM f WHERE f.facet IS NOT NULL)
         SELECT facet FROM f WHERE facet IS NOT NULL",
    )
    .bind(collection_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for facet in facets.into_iter().flatten() {
        let Some((name, value)) = facet.split_once(FACET_SEPARATOR) else {
            continue;
        };
        match grouped.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => values.push(value.to_string()),
            None => grouped.push((name.to_string(), vec![value.to_string()])),
        }
    }
    grouped.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, values) in &mut grouped {
        values.sort_by(|a, b| size_rank(a).cmp(&size_rank(b)).then_with(|| a.cmp(b)));
    }
    Ok(grouped)
}

/// Clothing sizes read best in size order, not alphabetically.
fn size_rank(value: &str) -> usize {
    ["XXS", "XS", "S", "M", "L", "XL", "XXL"]
        .iter()
        .position(|s| *s == value)
        .unwrap_or(usize::MAX)
}

/// Cards in each row of recommendations on a product page.
pub const RECOMMENDED: usize = 4;
/// Neighbours read on either side of the product in each collection and in its first tag.
const NEIGHBOURS: i64 = 12;

/// What a product page recommends: products often bought with it (in its last 500 paid orders,
/// the most often first), then its neighbours in its collections and in its first tag, those
/// sharing most of its tags first; each product once, in stock only. One statement whose cost
/// is bounded whatever the catalog's size: every source is read by an index range of a few
/// rows (a product's orders, ±12 places of a collection, 12 products either side in a tag).
pub async fn recommendations(
    conn: &mut AnyConnection,
    slug: &str,
) -> Result<(Vec<ProductCard>, Vec<ProductCard>), sqlx::Error> {
    // Whether a candidate can be bought (an active product with a live variant that can) is
    // asked inside `page`, of its row in the whole catalog's listing, one index probe: asked
    // in the outer WHERE, SQLite walks every active product by the status index and joins the
    // candidates to each (110 ms instead of 2 ms at 20,000 products). Each row is ranked
    // within its reason, so only the cards shown (at most RECOMMENDED of each) are read: when
    // cards were worked out from their variants and pictures, that took 0.92 -> 0.62 ms at
    // 100,000 products on Postgres (`pgbench`), and a product with more than 24 often bought
    // with it showed no related. The tags a candidate shares are counted by a join with
    // `my_tags`: as `tag IN (SELECT tag FROM my_tags)`, Postgres sorted the product's tags
    // again for each of the ~48 candidates (0.44 -> 0.39 ms a statement, `pgbench`).
    let sql = format!(
        "WITH me AS (SELECT id FROM products WHERE slug = $1),
         my_tags AS (SELECT tag FROM product_tags WHERE product_id = (SELECT id FROM me)),
         mine AS (
             SELECT ol.order_id FROM order_lines ol
               JOIN variants v ON v.id = ol.variant_id
               JOIN orders o ON o.id = ol.order_id
              WHERE v.product_id = (SELECT id FROM me) AND o.status = 'paid'
              ORDER BY ol.order_id DESC LIMIT 500),
         candidates AS (
             SELECT v.product_id, 0 AS reason, COUNT(DISTINCT ol.order_id) AS score
               FROM order_lines ol JOIN variants v ON v.id = ol.variant_id
              WHERE ol.order_id IN (SELECT order_id FROM mine)
              GROUP BY v.product_id
             UNION ALL
             SELECT cp.product_id, 1 AS reason, 0 AS score
               FROM collection_products m
               JOIN collection_products cp ON cp.collection_id = m.collection_id
                AND cp.position BETWEEN m.position - {NEIGHBOURS} AND m.position + {NEIGHBOURS}
              WHERE m.product_id = (SELECT id FROM me)
             UNION ALL
             SELECT * FROM (SELECT t.product_id, 1 AS reason, 0 AS score FROM product_tags t
                             WHERE t.tag = (SELECT MIN(tag) FROM my_tags) AND t.product_id < (SELECT id FROM me)
                             ORDER BY t.product_id DESC LIMIT {NEIGHBOURS}) below
             UNION ALL
             SELECT * FROM (SELECT t.product_id, 1 AS reason, 0 AS score FROM product_tags t
                             WHERE t.tag = (SELECT MIN(tag) FROM my_tags) AND t.product_id > (SELECT id FROM me)
                             ORDER BY t.product_id LIMIT {NEIGHBOURS}) above)
         SELECT {CARD_COLUMNS}, page.reason FROM (
             SELECT product_id, reason, score, 0 AS min_price FROM (
                 SELECT scored.*, ROW_NUMBER() OVER (
                            PARTITION BY reason ORDER BY score DESC, product_id) AS place
                   FROM (
                     SELECT c.product_id, MIN(c.reason) AS reason,
                            CAST(SUM(c.score) AS BIGINT) * 100
                              + (SELECT COUNT(*) FROM product_tags x JOIN my_tags y ON y.tag = x.tag
                                  WHERE x.product_id = c.product_id) AS score
                       FROM candidates c WHERE c.product_id <> (SELECT id FROM me)
                        AND EXISTS (SELECT 1 FROM catalog_listing l
                                     WHERE l.collection_id = {WHOLE_CATALOG} AND l.product_id = c.product_id
                                       AND l.buyable = 1)
                      GROUP BY c.product_id) scored) ranked
              WHERE place <= {RECOMMENDED}
         ) page{CARD_JOIN}
          ORDER BY page.reason, page.score DESC, page.product_id"
    );
    let rows = sqlx::query(&sql).bind(slug).fetch_all(conn).await?;
    let (mut together, mut related) = (Vec::new(), Vec::new());
    for row in &rows {
        let row_list = if row.try_get::<i64, _>("reason")? == 0 {
            &mut together
        } else {
            &mut related
        };
        row_list.push(card_from_row(row)?);
    }
    Ok((together, related))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facets() -> Vec<(String, Vec<String>)> {
        vec![
            ("Colour".into(), vec!["Forest".into(), "Navy".into()]),
            ("Size".into(), vec!["M".into(), "XL".into()]),
            // Another product's spelling of the same option.
            ("size".into(), vec!["m".into()]),
        ]
    }

    fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn words_with_digits_look_like_codes_unless_short() {
        let terms = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert!(looks_like_a_code(&terms(&["p90007", "m"])));
        assert!(looks_like_a_code(&terms(&["merino", "x200"])));
        assert!(!looks_like_a_code(&terms(&["merino"])));
        assert!(!looks_like_a_code(&terms(&["p9"])));
        assert!(!looks_like_a_code(&terms(&["merino", "42"])));
    }

    #[test]
    fn option_filters_are_spelled_as_the_facets_without_regard_to_case() {
        assert_eq!(
            facet_keys(&facets(), &options(&[("colour", "FOREST")])),
            Some(vec![vec!["Colour\u{1f}Forest".to_string()]])
        );
        assert_eq!(
            facet_keys(&facets(), &options(&[("SIZE", "m"), ("Colour", "Navy")])),
            Some(vec![
                vec!["Size\u{1f}M".to_string(), "size\u{1f}m".to_string()],
                vec!["Colour\u{1f}Navy".to_string()],
            ])
        );
        assert_eq!(facet_keys(&facets(), &[]), Some(vec![]));
    }

    #[test]
    fn an_option_no_product_has_matches_nothing() {
        assert_eq!(facet_keys(&facets(), &options(&[("Colour", "Rose")])), None);
        assert_eq!(
            facet_keys(&facets(), &options(&[("Size", "M"), ("Fit", "Slim")])),
            None
        );
        assert_eq!(facet_keys(&[], &options(&[("Size", "M")])), None);
    }
}
