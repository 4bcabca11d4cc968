-- Each product's words as the full-text index has them (' merino wool … ', each word once), for
-- a search sorted by price, name or date. Such a page is read along the sort's index, and a
-- product's words are then one lookup by its id; asking FTS5 whether one product matches costs
-- 17-150 µs, and finding every match first costs as much as there are matches (20 ms for a word
-- of every product at 100,000). See catalog::listing::list_in_order.
--
-- Written with product_search, in the same transaction (catalog::ssr::refresh_search_documents).
CREATE TABLE product_words (
    product_id INTEGER PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    words      TEXT    NOT NULL
);

-- Empty between statements. The words come from product_search's own tokenizer, so that they are
-- exactly what the index matches ("Crème" is "creme", "ÆRØ" stays "ærø"): a product's text is put
-- here and its words read back through product_words_scratch_terms.
CREATE VIRTUAL TABLE product_words_scratch USING fts5 (
    text,
    content = '', columnsize = 0,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE product_words_scratch_terms USING fts5vocab (product_words_scratch, instance);

-- The catalog as it is: every product's words, from the index itself.
CREATE VIRTUAL TABLE temp.product_search_terms USING fts5vocab (main, product_search, instance);
INSERT INTO product_words (product_id, words)
SELECT t.doc, ' ' || group_concat(t.term, ' ') || ' '
  FROM (SELECT DISTINCT doc, term FROM temp.product_search_terms) t
  JOIN products p ON p.id = t.doc
 GROUP BY t.doc;
DROP TABLE temp.product_search_terms;
