-- The option values a collection's filters offer ("Size: S, M, L"), kept up to date on write
-- like `catalog_listing`: one row per collection, option value and product that has it, so a
-- collection page reads its few distinct values by seeking an index, whatever its size.
CREATE TABLE catalog_facets (
    collection_id INTEGER NOT NULL,
    -- The option's name, U+001F, the value.
    facet         TEXT    NOT NULL,
    product_id    INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (collection_id, facet, product_id)
);
-- Covering: an option filter reads only this index.
CREATE INDEX catalog_facets_product ON catalog_facets (product_id, collection_id, facet);

-- The rows `catalog_facets` should hold: `WHERE product_id = ?`. Only listed products (active,
-- with a live variant), in each collection and in the whole catalog (collection 0), where the
-- option filters of the API and of searches look too.
CREATE VIEW catalog_facets_source AS
SELECT l.collection_id,
       o.name || char(31) || CASE o.position WHEN 1 THEN v.option1 WHEN 2 THEN v.option2 ELSE v.option3 END AS facet,
       l.product_id
  FROM catalog_listing l
  JOIN product_options o ON o.product_id = l.product_id
  JOIN variants v ON v.product_id = l.product_id AND v.archived_at IS NULL
 WHERE CASE o.position WHEN 1 THEN v.option1 WHEN 2 THEN v.option2 ELSE v.option3 END IS NOT NULL;

INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
SELECT collection_id, facet, product_id FROM catalog_facets_source;

-- Each trigger says the same two statements for its product.
CREATE TRIGGER catalog_facets_listed AFTER INSERT ON catalog_listing
BEGIN
    INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
    SELECT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = NEW.product_id AND collection_id = NEW.collection_id;
END;

CREATE TRIGGER catalog_facets_unlisted AFTER DELETE ON catalog_listing
BEGIN
    DELETE FROM catalog_facets
     WHERE collection_id = OLD.collection_id AND product_id = OLD.product_id;
END;

CREATE TRIGGER catalog_facets_variant_added AFTER INSERT ON variants
BEGIN
    INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
    SELECT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = NEW.product_id;
END;

CREATE TRIGGER catalog_facets_variant_changed
AFTER UPDATE OF option1, option2, option3, archived_at ON variants
BEGIN
    DELETE FROM catalog_facets WHERE product_id = NEW.product_id AND (collection_id, facet) NOT IN
        (SELECT collection_id, facet FROM catalog_facets_source WHERE product_id = NEW.product_id);
    INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
    SELECT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = NEW.product_id;
END;

CREATE TRIGGER catalog_facets_variant_removed AFTER DELETE ON variants
BEGIN
    DELETE FROM catalog_facets WHERE product_id = OLD.product_id AND (collection_id, facet) NOT IN
        (SELECT collection_id, facet FROM catalog_facets_source WHERE product_id = OLD.product_id);
END;

CREATE TRIGGER catalog_facets_option_added AFTER INSERT ON product_options
BEGIN
    INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
    SELECT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = NEW.product_id;
END;

CREATE TRIGGER catalog_facets_option_changed AFTER UPDATE ON product_options
BEGIN
    DELETE FROM catalog_facets WHERE product_id = NEW.product_id AND (collection_id, facet) NOT IN
        (SELECT collection_id, facet FROM catalog_facets_source WHERE product_id = NEW.product_id);
    INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
    SELECT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = NEW.product_id;
END;

CREATE TRIGGER catalog_facets_option_removed AFTER DELETE ON product_options
BEGIN
    DELETE FROM catalog_facets WHERE product_id = OLD.product_id AND (collection_id, facet) NOT IN
        (SELECT collection_id, facet FROM catalog_facets_source WHERE product_id = OLD.product_id);
END;

-- A variant's own picture is looked up by variant on every product page (and by the foreign
-- key when a variant is deleted).
CREATE INDEX product_images_variant ON product_images (variant_id);
