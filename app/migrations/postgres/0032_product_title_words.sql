-- Each word of each product's title, with the title: read in title order for one word, a search
-- sorted by name finds its page in the rows it shows, where the listing read along the title
-- looked at every product before the first match (the 3,733 products before the first
-- "merino" at 100,000). Used only when no product has the word outside its title:
-- `untitled_words` are the words of `document` that are not in the title, with an index of
-- their own (see catalog::listing::title_order_page).
--
-- Written with product_search (catalog::ssr::refresh_search_documents). `word` sorts by bytes,
-- so that the words beginning with a prefix are next to each other whatever the database's
-- collation; `title` sorts as catalog_listing.title does.
CREATE TABLE product_title_words (
    word       TEXT COLLATE "C" NOT NULL,
    title      TEXT   NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (word, title, product_id)
);
CREATE INDEX product_title_words_product ON product_title_words (product_id);
INSERT INTO product_title_words (word, title, product_id)
SELECT DISTINCT w, p.title, p.id
  FROM products p CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('simple', p.title))) w;

ALTER TABLE product_search ADD COLUMN untitled_words tsvector NOT NULL DEFAULT ''::tsvector;
UPDATE product_search SET untitled_words = ts_delete(strip(document), tsvector_to_array(title_words));
ALTER TABLE product_search ALTER COLUMN untitled_words DROP DEFAULT;
CREATE INDEX product_search_untitled_words ON product_search USING GIN (untitled_words);
