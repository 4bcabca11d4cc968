-- What shoppers' listings sort and filter on, kept up to date on write so that a collection
-- page, a search or the product API reads 25 rows from one index whatever the catalog's size.
--
-- One row per active product with a live variant in the whole catalog (collection_id 0) and
-- one per collection it belongs to, with the collection's position and the product's figures
-- over its live variants: lowest price and whether any can be bought now.
--
-- Written by the triggers below when staff or an import change products, prices, variants or
-- collections, and by `inventory::apply` when stock moves (only `buyable`, one product at a
-- time in id order, so that concurrent checkouts on Postgres never wait on each other in a
-- circle).
CREATE TABLE catalog_listing (
    collection_id BIGINT NOT NULL,
    product_id    BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    title         TEXT    NOT NULL,
    min_price     BIGINT NOT NULL,
    buyable       SMALLINT NOT NULL CHECK (buyable IN (0, 1)),
    PRIMARY KEY (collection_id, product_id)
);
CREATE INDEX catalog_listing_product ON catalog_listing (product_id);
-- One index per sort, and the same for "in stock only", so a page is a range of one index.
CREATE INDEX catalog_listing_position ON catalog_listing (collection_id, position, product_id);
CREATE INDEX catalog_listing_created ON catalog_listing (collection_id, created_at, product_id);
CREATE INDEX catalog_listing_price ON catalog_listing (collection_id, min_price, product_id);
CREATE INDEX catalog_listing_title ON catalog_listing (collection_id, title, product_id);
CREATE INDEX catalog_listing_buyable_position ON catalog_listing (collection_id, position, product_id) WHERE buyable = 1;
CREATE INDEX catalog_listing_buyable_created ON catalog_listing (collection_id, created_at, product_id) WHERE buyable = 1;
CREATE INDEX catalog_listing_buyable_price ON catalog_listing (collection_id, min_price, product_id) WHERE buyable = 1;
CREATE INDEX catalog_listing_buyable_title ON catalog_listing (collection_id, title, product_id) WHERE buyable = 1;

-- The figures of one product over its live variants.
CREATE VIEW product_figures AS
SELECT product_id,
       MIN(price_amount) AS min_price,
       MAX(CASE WHEN on_hand > reserved OR backorder = 'allow' THEN 1 ELSE 0 END) AS buyable
  FROM variants
 WHERE archived_at IS NULL
 GROUP BY product_id;

-- The rows `catalog_listing` should hold, for a product: `WHERE product_id = ?`.
CREATE VIEW catalog_listing_source AS
SELECT 0 AS collection_id, p.id AS product_id, 0 AS position, p.created_at, p.title,
       f.min_price, f.buyable
  FROM products p JOIN product_figures f ON f.product_id = p.id
 WHERE p.status = 'active'
UNION ALL
SELECT cp.collection_id, p.id AS product_id, cp.position, p.created_at, p.title,
       f.min_price, f.buyable
  FROM collection_products cp
  JOIN products p ON p.id = cp.product_id
  JOIN product_figures f ON f.product_id = p.id
 WHERE p.status = 'active';

-- The triggers look a product's memberships up.
CREATE INDEX collection_products_product ON collection_products (product_id);

INSERT INTO catalog_listing (collection_id, product_id, position, created_at, title, min_price, buyable)
SELECT collection_id, product_id, position, created_at, title, min_price, buyable
  FROM catalog_listing_source;

-- Brings one product's rows in line with `catalog_listing_source`, writing only what changed.
CREATE FUNCTION refresh_catalog_listing(target BIGINT) RETURNS void LANGUAGE sql AS $$
    DELETE FROM catalog_listing l
     WHERE l.product_id = target
       AND NOT EXISTS (SELECT 1 FROM catalog_listing_source s
                        WHERE s.product_id = target AND s.collection_id = l.collection_id);
    INSERT INTO catalog_listing AS l (collection_id, product_id, position, created_at, title, min_price, buyable)
    SELECT collection_id, product_id, position, created_at, title, min_price, buyable
      FROM catalog_listing_source WHERE product_id = target
    ON CONFLICT (collection_id, product_id) DO UPDATE SET
        position = EXCLUDED.position, created_at = EXCLUDED.created_at, title = EXCLUDED.title,
        min_price = EXCLUDED.min_price, buyable = EXCLUDED.buyable
    WHERE (l.position, l.created_at, l.title, l.min_price, l.buyable)
          IS DISTINCT FROM (EXCLUDED.position, EXCLUDED.created_at, EXCLUDED.title, EXCLUDED.min_price, EXCLUDED.buyable);
$$;

CREATE FUNCTION catalog_listing_follow_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_catalog_listing(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION catalog_listing_follow_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM refresh_catalog_listing(OLD.product_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.product_id <> OLD.product_id) THEN
        PERFORM refresh_catalog_listing(NEW.product_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER catalog_listing_product AFTER UPDATE OF status, title, created_at ON products
    FOR EACH ROW EXECUTE FUNCTION catalog_listing_follow_product();
CREATE TRIGGER catalog_listing_variant
    AFTER INSERT OR DELETE OR UPDATE OF price_amount, backorder, archived_at, product_id ON variants
    FOR EACH ROW EXECUTE FUNCTION catalog_listing_follow_row();
CREATE TRIGGER catalog_listing_member
    AFTER INSERT OR DELETE OR UPDATE OF position, collection_id, product_id ON collection_products
    FOR EACH ROW EXECUTE FUNCTION catalog_listing_follow_row();
