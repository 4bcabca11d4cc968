-- The staff's product table sorts by title and by the last edit and pages through either with
-- a keyset cursor: one index each, so a deep page reads its 50 rows and no more.
CREATE INDEX products_title ON products (title, id);
CREATE INDEX products_updated ON products (updated_at, id);
