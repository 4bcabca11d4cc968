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
    collection_id INTEGER NOT NULL,
    product_id    INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    title         TEXT    NOT NULL,
    min_price     INTEGER NOT NULL,
    buyable       INTEGER NOT NULL CHECK (buyable IN (0, 1)),
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
  FROM catalog_listing_source WHERE true;

-- SQLite triggers cannot call a procedure: each says the same two statements for its product.
-- Rows are written only where something changed (an import of a product's four variants does
-- not rewrite its rows four times over).
CREATE TRIGGER catalog_listing_product AFTER UPDATE OF status, title, created_at ON products
BEGIN
    DELETE FROM catalog_listing WHERE product_id = NEW.id AND collection_id NOT IN
        (SELECT collection_id FROM catalog_listing_source WHERE product_id = NEW.id);
    INSERT INTO catalog_listing (collection_id, product_id, position, created_at, title, min_price, buyable)
    SELECT collection_id, product_id, position, created_at, title, min_price, buyable
      FROM catalog_listing_source WHERE product_id = NEW.id
    ON CONFLICT (collection_id, product_id) DO UPDATE SET
        position = excluded.position, created_at = excluded.created_at, title = excluded.title,
        min_price = excluded.min_price, buyable = excluded.buyable
    WHERE (position, created_at, title, min_price, buyable)
          IS NOT (excluded.position, excluded.created_at, excluded.title, excluded.min_price, excluded.buyable);
END;

CREATE TRIGGER catalog_listing_variant_added AFTER INSERT ON variants
BEGIN
    INSERT INTO catalog_listing (collection_id, product_id, position, created_at, title, min_price, buyable)
    SELECT collection_id, product_id, position, created_at, title, min_price, buyable
      FROM catalog_listing_source WHERE product_id = NEW.product_id
    ON CONFLICT (collection_id, product_id) DO UPDATE SET
        min_price = excluded.min_price, buyable = excluded.buyable
    WHERE (min_price, buyable) IS NOT (excluded.min_price, excluded.buyable);
END;

CREATE TRIGGER catalog_listing_variant_changed
AFTER UPDATE OF price_amount, backorder, archived_at, product_id ON variants
BEGIN
    DELETE FROM catalog_listing WHERE product_id IN (OLD.product_id, NEW.product_id)
       AND NOT EXISTS (SELECT 1 FROM catalog_listing_source s
                        WHERE s.product_id = catalog_listing.product_id
                          AND s.collection_id = catalog_listing.collection_id);
    INSERT INTO catalog_listing (collection_id, product_id, position, created_at, title, min_price, buyable)
    SELECT collection_id, product_id, position, created_at, title, min_price, buyable
      FROM catalog_listing_source WHERE product_id IN (OLD.product_id, NEW.product_id)
    ON CONFLICT (collection_id, product_id) DO UPDATE SET
        min_price = excluded.min_price, buyable = excluded.buyable
    WHERE (min_price, buyable) IS NOT (excluded.min_price, excluded.buyable);
END;

CREATE TRIGGER catalog_listing_variant_removed AFTER DELETE ON variants
BEGIN
    DELETE FROM catalog_listing WHERE product_id = OLD.product_id AND collection_id NOT IN
        (SELECT collection_id FROM catalog_listing_source WHERE product_id = OLD.product_id);
    UPDATE catalog_listing SET
        min_price = (SELECT min_price FROM product_figures WHERE product_id = OLD.product_id),
        buyable = (SELECT buyable FROM product_figures WHERE product_id = OLD.product_id)
     WHERE product_id = OLD.product_id;
END;

CREATE TRIGGER catalog_listing_member_added AFTER INSERT ON collection_products
BEGIN
    INSERT INTO catalog_listing (collection_id, product_id, position, created_at, title, min_price, buyable)
    SELECT collection_id, product_id, position, created_at, title, min_price, buyable
      FROM catalog_listing_source
     WHERE product_id = NEW.product_id AND collection_id = NEW.collection_id
    ON CONFLICT (collection_id, product_id) DO UPDATE SET position = excluded.position;
END;

CREATE TRIGGER catalog_listing_member_moved AFTER UPDATE OF position ON collection_products
BEGIN
    UPDATE catalog_listing SET position = NEW.position
     WHERE collection_id = NEW.collection_id AND product_id = NEW.product_id;
END;

CREATE TRIGGER catalog_listing_member_removed AFTER DELETE ON collection_products
BEGIN
    DELETE FROM catalog_listing
     WHERE collection_id = OLD.collection_id AND product_id = OLD.product_id;
END;
