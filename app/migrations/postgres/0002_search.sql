-- Full-text search over products: a weighted tsvector per product (title A, tags and SKUs B,
-- description C), written by the application whenever a product changes
-- (catalog::ssr::refresh_search_document).
ALTER TABLE products ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector;
CREATE INDEX products_search ON products USING GIN (search_vector);
