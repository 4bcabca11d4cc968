-- The words of each product that are not in its title, as the full-text index has them: whether
-- any product has a search's word outside its title, so that a search sorted by name may read
-- the titles' words alone (catalog::listing::title_order_page). Asked of product_search by its
-- column filters, that question walked every position of the word's 8,000 products ("merino" at
-- 100,000: half a millisecond, half again the cost of the page); asked here, it is an empty
-- list. Postgres has `product_search.untitled_words` (its migration 0032).
--
-- Written with product_words, in the same transaction (catalog::ssr::refresh_search_documents).
-- No positions (`detail = none`): only words and prefixes are asked for.
CREATE VIRTUAL TABLE product_untitled_words USING fts5 (
    words,
    content = '', contentless_delete = 1, detail = none,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE VIRTUAL TABLE temp.product_search_terms USING fts5vocab (main, product_search, instance);
INSERT INTO product_untitled_words (rowid, words)
SELECT doc, group_concat(term, ' ')
  FROM (SELECT doc, term FROM temp.product_search_terms WHERE col <> 'title'
        EXCEPT
        SELECT doc, term FROM temp.product_search_terms WHERE col = 'title')
 GROUP BY doc;
DROP TABLE temp.product_search_terms;
