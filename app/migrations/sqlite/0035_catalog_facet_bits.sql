-- Which option values each listing row's product has, as bits of one integer kept in the sort
-- indexes, so that a page filtered by option (Colour:Forest) checks most rows it reads along
-- the sort without leaving the index. The exact check, one key of `catalog_facets` per row,
-- then runs only for the rows whose bits say yes. At 100,000 products, a Forest page of one
-- collection (1 product in 10) read about 200 rows and looked each up in `catalog_facets`:
-- 100 µs of its 260 µs statement (see catalog::listing::push_filters).
--
-- Each distinct facet gets a number in the order first seen; its bit is (number - 1) % 62, so a
-- shop's first 62 option values have a bit each and later ones share (a shared bit only means
-- more exact checks). Numbers are never taken back: a facet keeps its bit.
CREATE TABLE catalog_facet_bits (
    id    INTEGER PRIMARY KEY,
    facet TEXT    NOT NULL UNIQUE
);

-- Each facet's bit as a mask: the one place that says which bit a number gets. The listing's
-- bits are the masks of its facets put together (`SUM(DISTINCT mask)`: distinct powers of two add
-- up to their OR), and so is an option filter's (catalog::listing::push_filters).
CREATE VIEW catalog_facet_masks AS
SELECT facet, 1 << ((id - 1) % 62) AS mask FROM catalog_facet_bits;

-- A listing row's bits: those of its product's facets in its collection. Written by the triggers
-- below as `catalog_facets` changes, and by an import's batch at once (`catalog::bulk`).
ALTER TABLE catalog_listing ADD COLUMN facet_bits INTEGER NOT NULL DEFAULT 0;

-- Each product's facets (`WHERE product_id = ?`), listed or not: what `catalog_facets_source`
-- lists in each of the product's listing rows, and what an import's batch numbers and sets the
-- bits of before it writes the rows.
CREATE VIEW product_facet_values AS
SELECT o.product_id,
       o.name || char(31) || CASE o.position WHEN 1 THEN v.option1 WHEN 2 THEN v.option2 ELSE v.option3 END AS facet
  FROM product_options o
  JOIN variants v ON v.product_id = o.product_id AND v.archived_at IS NULL
 WHERE CASE o.position WHEN 1 THEN v.option1 WHEN 2 THEN v.option2 ELSE v.option3 END IS NOT NULL;

DROP VIEW catalog_facets_source;
CREATE VIEW catalog_facets_source AS
SELECT l.collection_id, pf.facet, l.product_id
  FROM catalog_listing l
  JOIN product_facet_values pf ON pf.product_id = l.product_id;

-- The bits each listing row should hold (compared with them in the tests).
CREATE VIEW catalog_facet_bits_source AS
SELECT f.collection_id, f.product_id, SUM(DISTINCT m.mask) AS facet_bits
  FROM catalog_facets f
  JOIN catalog_facet_masks m ON m.facet = f.facet
 GROUP BY f.collection_id, f.product_id;

INSERT INTO catalog_facet_bits (facet) SELECT DISTINCT facet FROM catalog_facets ORDER BY facet;
UPDATE catalog_listing AS l SET facet_bits = s.facet_bits
  FROM catalog_facet_bits_source s
 WHERE s.collection_id = l.collection_id AND s.product_id = l.product_id;

-- The bits in every index a listing page is read along (the sort's, and the same for "in stock").
DROP INDEX catalog_listing_position;
DROP INDEX catalog_listing_created;
DROP INDEX catalog_listing_price;
DROP INDEX catalog_listing_title;
DROP INDEX catalog_listing_buyable_position;
DROP INDEX catalog_listing_buyable_created;
DROP INDEX catalog_listing_buyable_price;
DROP INDEX catalog_listing_buyable_title;
CREATE INDEX catalog_listing_position ON catalog_listing (collection_id, position, product_id, facet_bits);
CREATE INDEX catalog_listing_created ON catalog_listing (collection_id, created_at, product_id, facet_bits);
CREATE INDEX catalog_listing_price ON catalog_listing (collection_id, min_price, product_id, facet_bits);
CREATE INDEX catalog_listing_title ON catalog_listing (collection_id, title, product_id, facet_bits);
CREATE INDEX catalog_listing_buyable_position ON catalog_listing (collection_id, position, product_id, facet_bits) WHERE buyable = 1;
CREATE INDEX catalog_listing_buyable_created ON catalog_listing (collection_id, created_at, product_id, facet_bits) WHERE buyable = 1;
CREATE INDEX catalog_listing_buyable_price ON catalog_listing (collection_id, min_price, product_id, facet_bits) WHERE buyable = 1;
CREATE INDEX catalog_listing_buyable_title ON catalog_listing (collection_id, title, product_id, facet_bits) WHERE buyable = 1;

-- A facet added: its bit set on its listing row. An import's batch writes its own
-- (`catalog_listing_deferred`, migration 0031).
CREATE TRIGGER catalog_facet_bits_added AFTER INSERT ON catalog_facets
WHEN NOT EXISTS (SELECT 1 FROM catalog_listing_deferred WHERE product_id = NEW.product_id)
BEGIN
    INSERT OR IGNORE INTO catalog_facet_bits (facet) VALUES (NEW.facet);
    UPDATE catalog_listing
       SET facet_bits = facet_bits | (SELECT mask FROM catalog_facet_masks WHERE facet = NEW.facet)
     WHERE collection_id = NEW.collection_id AND product_id = NEW.product_id;
END;

-- A facet removed: the row's bits worked out again from the facets left (another facet may
-- share the bit).
CREATE TRIGGER catalog_facet_bits_removed AFTER DELETE ON catalog_facets
BEGIN
    UPDATE catalog_listing
       SET facet_bits = IFNULL((SELECT s.facet_bits FROM catalog_facet_bits_source s
                                 WHERE s.collection_id = OLD.collection_id
                                   AND s.product_id = OLD.product_id), 0)
     WHERE collection_id = OLD.collection_id AND product_id = OLD.product_id;
END;
