-- Each word of each product's title, with the title: read in title order for one word, a search
-- sorted by name finds its page in the rows it shows, where the listing read along the title
-- looked at every product before the first match (the 3,733 products before the first
-- "merino" at 100,000). Used only when no product has the word outside its title, which the
-- full-text index answers by its columns (see catalog::listing::title_order_page).
--
-- Written with product_search, in the same transaction (catalog::ssr::refresh_search_documents),
-- the words split by product_search's own tokenizer.
CREATE TABLE product_title_words (
    word       TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (word, title, product_id)
) WITHOUT ROWID;
CREATE INDEX product_title_words_product ON product_title_words (product_id);

CREATE VIRTUAL TABLE temp.product_search_terms USING fts5vocab (main, product_search, instance);
INSERT INTO product_title_words (word, title, product_id)
SELECT DISTINCT t.term, p.title, t.doc
  FROM temp.product_search_terms t
  JOIN products p ON p.id = t.doc
 WHERE t.col = 'title';
DROP TABLE temp.product_search_terms;
