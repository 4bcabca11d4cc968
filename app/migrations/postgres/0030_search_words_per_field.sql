-- Search by relevance reads one tier at a time (every word in the title, then in the title,
-- tags or SKUs, then anywhere), newest first, and stops at the page's end. The planner picks
-- between reading products newest first and the GIN index by how many products a tier's words
-- match; it estimates that from a column's statistics, which know nothing of the weights in
-- `document` (it took "wool" in titles for every product with "wool" in its description, and
-- read all 100,000 products to find none). So each field a tier looks in has its own words,
-- its own statistics and its own index. Written with `document` by
-- catalog::ssr::refresh_search_documents.
ALTER TABLE product_search ADD COLUMN title_words tsvector NOT NULL DEFAULT ''::tsvector;
ALTER TABLE product_search ADD COLUMN label_words tsvector NOT NULL DEFAULT ''::tsvector;
UPDATE product_search s
   SET title_words = w.title_words, label_words = w.title_words || w.tag_words || w.sku_words
  FROM (SELECT p.id,
               to_tsvector('simple', p.title) AS title_words,
               to_tsvector('simple', COALESCE((SELECT string_agg(tag, ' ') FROM product_tags WHERE product_id = p.id), '')) AS tag_words,
               to_tsvector('simple', COALESCE((SELECT string_agg(regexp_replace(sku, '[^[:alnum:]]+', ' ', 'g'), ' ') FROM variants WHERE product_id = p.id AND archived_at IS NULL), '')) AS sku_words
          FROM products p) w
 WHERE w.id = s.product_id;
ALTER TABLE product_search ALTER COLUMN title_words DROP DEFAULT;
ALTER TABLE product_search ALTER COLUMN label_words DROP DEFAULT;
CREATE INDEX product_search_title_words ON product_search USING GIN (title_words);
CREATE INDEX product_search_label_words ON product_search USING GIN (label_words);
