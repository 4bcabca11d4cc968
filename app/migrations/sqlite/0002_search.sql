-- Full-text search over products: one FTS5 row per product (rowid = products.id), written by
-- the application whenever a product changes (catalog::ssr::refresh_search_document).
CREATE VIRTUAL TABLE product_search USING fts5 (
    title, description, tags, skus,
    tokenize = 'unicode61 remove_diacritics 2'
);
