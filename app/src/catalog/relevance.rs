//! Search by relevance that ranks only what it returns. A match's rank is its tier, the place
//! its words were found (a SKU typed whole, every word in the title, every word in the title,
//! tags or SKUs, anywhere at all), then the most recently added first. Each tier is a
//! full-text query the index answers in product order, so a page reads the matches it shows
//! and stops: its cost follows the page, not the number of matches (a score such as bm25 has
//! to be computed for every match before the first can be shown).

use sqlx::{AnyConnection, Row};

use crate::db::{Backend, Sql};

/// A relevance tier; lower ranks first. The number is part of the page cursor.
pub(crate) type Tier = i64;

/// The best tier: the search is a whole SKU ("P1007-M" is the words `p1007 m` side by side
/// among the product's SKUs). Tried only when a word has a digit: a SKU nearly always has
/// one, and this tier is an extra query for every search that tries it.
const SKU: Tier = 0;
/// Every word in the title.
const TITLE: Tier = 1;
/// Every word in the title, tags or SKUs, not all in the title.
const LABELS: Tier = 2;
/// Every word somewhere (the description too): every other match.
const ANYWHERE: Tier = 3;

/// Whether `tier` names a tier; a cursor naming another was not made by a relevance page.
pub(crate) fn is_tier(tier: Tier) -> bool {
    (SKU..=ANYWHERE).contains(&tier)
}

/// The words a match must hold, each `(word, as a prefix)`: every word a prefix, and single
/// letters beside longer words left out ("P1007-M", "t shirt"). Alone, single letters match
/// as words: as a prefix, "m" is every word beginning with m in the whole catalog, and as a
/// word still most of a clothing shop's SKUs.
pub(crate) fn matched_words(terms: &[String]) -> Vec<(&str, bool)> {
    let long = |t: &str| t.chars().nth(1).is_some();
    let any_long = terms.iter().any(|t| long(t));
    terms
        .iter()
        .filter(|t| !any_long || long(t))
        .map(|t| (t.as_str(), long(t)))
        .collect()
}

/// Every matched word of `terms`, in the dialect's full-text syntax.
pub(crate) fn full_text_query(backend: Backend, terms: &[String]) -> String {
    let words = matched_words(terms);
    let (each, join): (fn(&str, bool) -> String, &str) = match backend {
        Backend::Sqlite => (
            |w, prefix| match prefix {
                true => format!("\"{w}\"*"),
                false => format!("\"{w}\""),
            },
            " AND ",
        ),
        Backend::Postgres => (
            |w, prefix| match prefix {
                true => format!("{w}:*"),
                false => w.to_string(),
            },
            " & ",
        ),
    };
    words
        .iter()
        .map(|(w, prefix)| each(w, *prefix))
        .collect::<Vec<_>>()
        .join(join)
}

/// What `product_words.words` (SQLite, migration 0032) must hold for a product to match
/// [`full_text_query`]: for each matched word, ` word` for a prefix or ` word ` for a whole word.
/// `None` unless every word is plain ASCII letters and digits, which the index's tokenizer
/// keeps as they are: other words it may change ("crème" is "creme"), so those searches ask
/// the index itself.
pub(crate) fn word_patterns(terms: &[String]) -> Option<Vec<String>> {
    matched_words(terms)
        .into_iter()
        .map(|(word, prefix)| {
            word.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                .then(|| match prefix {
                    true => format!(" {word}"),
                    false => format!(" {word} "),
                })
        })
        .collect()
}

/// Every word, exactly and side by side: a whole SKU.
fn whole_sku(backend: Backend, terms: &[String]) -> String {
    match backend {
        Backend::Sqlite => format!("{{skus}} : \"{}\"", terms.join(" ")),
        Backend::Postgres => terms.join(" <-> "),
    }
}

/// The matches of one tier, in the dialect's terms.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Matches {
    /// An FTS5 query: column filters and NOT.
    Fts5(String),
    /// Words that must (`true`) or must not be in a column of Postgres's `product_search`.
    /// Each field has its own column rather than a weight in one document: the planner
    /// estimates how many products a query matches from a column's statistics, which know
    /// nothing of weights, and chooses between reading products newest first and the GIN
    /// index by that (see migration 0030).
    Columns(Vec<(&'static str, String, bool)>),
}

/// The tiers a search is ranked in, best first, each with its matches (none of which are in
/// an earlier tier). `terms` are `query::search_terms`, not empty.
pub(crate) fn tiers(backend: Backend, terms: &[String]) -> Vec<(Tier, Matches)> {
    let words = full_text_query(backend, terms);
    // A SKU nearly always has a digit; the tier costs a query for every search that tries it.
    let sku = terms
        .iter()
        .any(|t| t.chars().any(|c| c.is_ascii_digit()))
        .then(|| whole_sku(backend, terms));
    let mut tiers = Vec::with_capacity(4);
    match backend {
        Backend::Sqlite => {
            let title = format!("{{title}} : ({words})");
            let labels = format!("{{title tags skus}} : ({words})");
            // `first` without the matches of `others`.
            let without = |first: &str, others: &[&String]| {
                others.iter().fold(first.to_string(), |all, other| {
                    format!("({all}) NOT ({other})")
                })
            };
            let not_sku: Vec<&String> = sku.iter().collect();
            if let Some(sku) = &sku {
                tiers.push((SKU, Matches::Fts5(sku.clone())));
            }
            tiers.push((TITLE, Matches::Fts5(without(&title, &not_sku))));
            let before: Vec<&String> = [&title].into_iter().chain(not_sku).collect();
            tiers.push((LABELS, Matches::Fts5(without(&labels, &before))));
            // A whole SKU's words are among the labels too.
            tiers.push((ANYWHERE, Matches::Fts5(without(&words, &[&labels]))));
        }
        Backend::Postgres => {
            let not_sku: Vec<(&str, String, bool)> = sku
                .iter()
                .map(|sku| ("label_words", sku.clone(), false))
                .collect();
            if let Some(sku) = &sku {
                tiers.push((
                    SKU,
                    Matches::Columns(vec![("label_words", sku.clone(), true)]),
                ));
            }
            let with = |first: Vec<(&'static str, String, bool)>| {
                Matches::Columns(first.into_iter().chain(not_sku.iter().cloned()).collect())
            };
            tiers.push((TITLE, with(vec![("title_words", words.clone(), true)])));
            tiers.push((
                LABELS,
                with(vec![
                    ("label_words", words.clone(), true),
                    ("title_words", words.clone(), false),
                ]),
            ));
            tiers.push((
                ANYWHERE,
                Matches::Columns(vec![
                    ("document", words.clone(), true),
                    ("label_words", words, false),
                ]),
            ));
        }
    }
    tiers
}

/// How many of the most recently added products Postgres reads in order before it asks the
/// GIN index for the rest of a tier's matches: see [`page`].
const RECENT: i64 = 500;

/// The next `limit` matches of a search by relevance among the listing rows of
/// `collection_id`, each with its tier: the tiers' matches in turn from `from_tier` on (after
/// the product `after` in that tier), each tier's the most recently added first. `filters`
/// pushes the page's conditions on the listing row `l`.
///
/// SQLite's FTS5 reads its index in product order: each tier's query stops at the `limit`-th
/// match that passes the filters, and the tiers are asked in turn until the page is full.
///
/// Postgres's GIN index finds matches in no order, and the planner cannot tell a word in every
/// title from one in none (a word missing from its statistics is guessed at 0.5% of products;
/// reading all products newest first then takes 70–120 ms at 100,000). So each tier reads the
/// newest [`RECENT`] products in order, which fills the page when the words are common; only
/// when they do not does the index find the older matches (as many rows as the words match,
/// at most), sorted for the page; a whole SKU, one product or a few, is only the index's to
/// find. Every part of every tier is one branch of a single
/// `UNION ALL` under the page's `LIMIT`: Postgres runs the branches in turn and stops at the
/// page's last row, so a rare word (a SKU) costs one statement instead of two per tier.
pub(crate) async fn page(
    conn: &mut AnyConnection,
    terms: &[String],
    collection_id: i64,
    (from_tier, after): (Tier, Option<i64>),
    limit: i64,
    filters: impl Fn(&mut Sql),
) -> Result<Vec<(Tier, i64)>, sqlx::Error> {
    let backend = Backend::of(conn);
    let tiers = tiers(backend, terms)
        .into_iter()
        .filter(|(tier, _)| *tier >= from_tier);
    let mut found: Vec<(Tier, i64)> = Vec::with_capacity(limit as usize);
    match backend {
        Backend::Sqlite => {
            for (tier, matches) in tiers {
                // SQLite's tiers are all FTS5 queries.
                let Matches::Fts5(query) = matches else {
                    continue;
                };
                let after = after.filter(|_| tier == from_tier);
                let sql = fts5_tier(
                    &query,
                    collection_id,
                    after,
                    limit - found.len() as i64,
                    &filters,
                );
                for row in sql.query().fetch_all(&mut *conn).await? {
                    found.push((tier, row.try_get(0)?));
                }
                if found.len() as i64 == limit {
                    break;
                }
            }
        }
        Backend::Postgres => {
            let mut sql = Sql::default();
            sql.push("SELECT tier, product_id FROM (");
            let mut first = true;
            for (tier, matches) in tiers {
                // Postgres's tiers are all column conditions.
                let Matches::Columns(conditions) = matches else {
                    continue;
                };
                let after = after.filter(|_| tier == from_tier);
                // A whole SKU is one product or a few: the index finds them among all the
                // products at once, where reading the newest first would check RECENT rows
                // for nothing on every search with a digit.
                let parts: &[Part] = match tier {
                    SKU => &[Part::All],
                    _ => &[Part::Newest, Part::Older],
                };
                for part in parts {
                    if !first {
                        sql.push(" UNION ALL ");
                    }
                    first = false;
                    columns_tier(
                        &mut sql,
                        tier,
                        &conditions,
                        *part,
                        collection_id,
                        after,
                        limit,
                        &filters,
                    );
                }
            }
            // Without ORDER BY: the branches come out in the order written (an Append run
            // child by child, never in parallel: see `POSTGRES_SETTINGS`), and the LIMIT
            // stops it at the page's last row; an ORDER BY would run every branch.
            sql.push(") found LIMIT ").bind(limit);
            // Planned once and kept, without its words: every branch's way through the tables
            // is fixed by how it is written (see `columns_tier`), so the plan kept is the one
            // Postgres would make for any words. Left to choose, Postgres planned it for its
            // words on every run, which cost more than running it (1.5 ms planning + 0.35 ms
            // for "merino" at 100,000 products).
            let mut conn = crate::db::planned_once(conn).await?;
            for row in sql.query().fetch_all(&mut *conn).await? {
                found.push((row.try_get(0)?, row.try_get(1)?));
            }
        }
    }
    Ok(found)
}

/// One SQLite tier's next `limit` matches.
fn fts5_tier(
    query: &str,
    collection_id: i64,
    after: Option<i64>,
    limit: i64,
    filters: &impl Fn(&mut Sql),
) -> Sql {
    // CROSS JOIN keeps the index outermost: probing it for each listing row would run the
    // whole prefix search once per product.
    let mut sql = Sql::default();
    sql.push(
        "SELECT product_search.rowid AS product_id FROM product_search
          CROSS JOIN catalog_listing l
            ON l.collection_id = ",
    )
    .bind(collection_id)
    .push(" AND l.product_id = product_search.rowid WHERE product_search MATCH ")
    .bind(query.to_string());
    if let Some(after) = after {
        sql.push(" AND product_search.rowid < ").bind(after);
    }
    filters(&mut sql);
    sql.push(" ORDER BY product_search.rowid DESC LIMIT ")
        .bind(limit);
    sql
}

/// A Postgres full-text query `query`, parsed once per statement: in a scalar subquery (an
/// InitPlan). Written as a call on a parameter, a prepared statement's generic plan parses it
/// again for each row it checks: the price-sorted search of "merino", which checks about 300
/// products, took 0.68–0.89 ms instead of 0.45–0.48 (`pgbench`, 100,000 products).
pub(crate) fn push_tsquery(sql: &mut Sql, query: &str) {
    sql.push("(SELECT to_tsquery('simple', ")
        .bind(query.to_string())
        .push("))");
}

/// Which of a Postgres tier's matches a branch of the search reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// Among the newest [`RECENT`] products, read in order.
    Newest,
    /// Among the others, found by the index.
    Older,
    /// Among all products, found by the index.
    All,
}

/// One part of a Postgres tier, as a parenthesised `SELECT tier, product_id`.
#[allow(clippy::too_many_arguments)]
fn columns_tier(
    sql: &mut Sql,
    tier: Tier,
    conditions: &[(&'static str, String, bool)],
    part: Part,
    collection_id: i64,
    after: Option<i64>,
    limit: i64,
    filters: &impl Fn(&mut Sql),
) {
    // Each match looked up in the listing (`OFFSET 0` keeps the subquery a lookup per row):
    // joined, the planner read the collection's whole listing to merge it with a hundred
    // matches (17 ms at 100,000 products). The tier is our own constant.
    sql.push(&format!(
        "(SELECT CAST({tier} AS BIGINT) AS tier, s.product_id FROM product_search s
           CROSS JOIN LATERAL (SELECT 1 FROM catalog_listing l
                                WHERE l.product_id = s.product_id AND l.collection_id = "
    ))
    .bind(collection_id);
    filters(sql);
    sql.push(" OFFSET 0) listed WHERE true");
    for (column, query, holds) in conditions {
        // The query parsed once per statement ([`push_tsquery`]). Among the newest products a
        // word that must be there is checked row by row, never looked up in the GIN index
        // (`COALESCE` keeps it from being an index condition), so that the branch reads
        // products newest first whatever the planner guesses of the words; among the older
        // ones it is the index's to find.
        let (opening, closing) = match (*holds, part) {
            (true, Part::Newest) => (" AND COALESCE(", ", false)"),
            (true, Part::Older | Part::All) => (" AND ", ""),
            (false, _) => (" AND NOT ", ""),
        };
        sql.push(opening).push("s.").push(column).push(" @@ ");
        push_tsquery(sql, query);
        sql.push(closing);
    }
    if let Some(after) = after {
        sql.push(" AND s.product_id < ").bind(after);
    }
    // The newest RECENT products are those above the next one's id (0 when there are no
    // more). `+ 0` on the older ones: checked on the index's matches, not read from the
    // primary key (a bitmap of 100,000 ids, 4–7 ms).
    let bound = match part {
        Part::Newest => Some(" AND s.product_id > "),
        Part::Older => Some(" AND s.product_id + 0 <= "),
        Part::All => None,
    };
    if let Some(bound) = bound {
        sql.push(bound)
            .push("COALESCE((SELECT product_id FROM product_search WHERE product_id < ")
            .bind(after.unwrap_or(i64::MAX))
            .push(&format!(
                " ORDER BY product_id DESC LIMIT 1 OFFSET {RECENT}), 0)"
            ));
    }
    // `+ 0`: sorting the matches the index found, never reading products in order.
    sql.push(match part {
        Part::Newest => " ORDER BY s.product_id DESC LIMIT ",
        Part::Older | Part::All => " ORDER BY s.product_id + 0 DESC LIMIT ",
    })
    .bind(limit)
    .push(")");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::query::search_terms;

    #[test]
    fn plain_words_are_matched_in_product_words_as_the_index_has_them() {
        assert_eq!(
            word_patterns(&words("Merino P1007-M")),
            Some(vec![" merino".to_string(), " p1007".to_string()])
        );
        // A single letter alone is a whole word.
        assert_eq!(word_patterns(&words("m")), Some(vec![" m ".to_string()]));
        // The index folds accents and may fold other letters: asked of the index itself.
        assert_eq!(word_patterns(&words("crème brûlée")), None);
        assert_eq!(word_patterns(&words("merino straße")), None);
    }

    fn words(text: &str) -> Vec<String> {
        search_terms(text)
    }

    #[test]
    fn searches_are_prefixes_without_lone_letters() {
        assert_eq!(
            full_text_query(Backend::Sqlite, &words("P1007-M")),
            "\"p1007\"*"
        );
        assert_eq!(
            full_text_query(Backend::Postgres, &words("merino t shirt")),
            "merino:* & shirt:*"
        );
        assert_eq!(full_text_query(Backend::Sqlite, &words("x")), "\"x\"");
        assert_eq!(full_text_query(Backend::Postgres, &words("a b")), "a & b");
    }

    #[test]
    fn each_tier_leaves_out_the_matches_of_the_tiers_before() {
        let fts5 = |s: &str| Matches::Fts5(s.to_string());
        assert_eq!(
            tiers(Backend::Sqlite, &words("merino beanie")),
            [
                (TITLE, fts5("{title} : (\"merino\"* AND \"beanie\"*)")),
                (
                    LABELS,
                    fts5(
                        "({title tags skus} : (\"merino\"* AND \"beanie\"*)) NOT \
                         ({title} : (\"merino\"* AND \"beanie\"*))"
                    )
                ),
                (
                    ANYWHERE,
                    fts5(
                        "(\"merino\"* AND \"beanie\"*) NOT \
                         ({title tags skus} : (\"merino\"* AND \"beanie\"*))"
                    )
                ),
            ]
        );
        assert_eq!(
            tiers(Backend::Sqlite, &words("P5-S"))[..2],
            [
                (SKU, fts5("{skus} : \"p5 s\"")),
                (TITLE, fts5("({title} : (\"p5\"*)) NOT ({skus} : \"p5 s\")")),
            ]
        );
        let column = |c: &'static str, q: &str, holds: bool| (c, q.to_string(), holds);
        assert_eq!(
            tiers(Backend::Postgres, &words("P5-S")),
            [
                (
                    SKU,
                    Matches::Columns(vec![column("label_words", "p5 <-> s", true)])
                ),
                (
                    TITLE,
                    Matches::Columns(vec![
                        column("title_words", "p5:*", true),
                        column("label_words", "p5 <-> s", false),
                    ])
                ),
                (
                    LABELS,
                    Matches::Columns(vec![
                        column("label_words", "p5:*", true),
                        column("title_words", "p5:*", false),
                        column("label_words", "p5 <-> s", false),
                    ])
                ),
                (
                    ANYWHERE,
                    Matches::Columns(vec![
                        column("document", "p5:*", true),
                        column("label_words", "p5:*", false),
                    ])
                ),
            ]
        );
        assert_eq!(
            tiers(Backend::Postgres, &words("a b"))[0],
            (
                TITLE,
                Matches::Columns(vec![column("title_words", "a & b", true)])
            )
        );
        assert!(tiers(Backend::Sqlite, &words("w"))
            .iter()
            .all(|(tier, _)| is_tier(*tier)));
        assert!(!is_tier(4) && !is_tier(-1));
    }
}
