-- Products whose listing rows and facets a bulk insert (an import's batch) writes itself, once
-- all their variants are in, in two statements for the whole batch (`catalog::bulk`): the
-- triggers below skip them. Without it each of a product's variants had its listing rows and
-- facets worked out again (four times over for four sizes), a third of an import's time.
-- Filled and emptied inside the batch's transaction, so no other connection ever sees a row,
-- and a batch that fails leaves it empty too.
CREATE TABLE catalog_listing_deferred (product_id INTEGER PRIMARY KEY);

DROP TRIGGER catalog_listing_variant_added;
CREATE TRIGGER catalog_listing_variant_added AFTER INSERT ON variants
WHEN NOT EXISTS (SELECT 1 FROM catalog_listing_deferred WHERE product_id = NEW.product_id)
BEGIN
    INSERT INTO catalog_listing (collection_id, product_id, position, created_at, title, min_price, buyable)
    SELECT collection_id, product_id, position, created_at, title, min_price, buyable
      FROM catalog_listing_source WHERE product_id = NEW.product_id
    ON CONFLICT (collection_id, product_id) DO UPDATE SET
        min_price = excluded.min_price, buyable = excluded.buyable
    WHERE (min_price, buyable) IS NOT (excluded.min_price, excluded.buyable);
END;

DROP TRIGGER catalog_facets_variant_added;
CREATE TRIGGER catalog_facets_variant_added AFTER INSERT ON variants
WHEN NOT EXISTS (SELECT 1 FROM catalog_listing_deferred WHERE product_id = NEW.product_id)
BEGIN
    INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
    SELECT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = NEW.product_id;
END;

DROP TRIGGER catalog_facets_listed;
CREATE TRIGGER catalog_facets_listed AFTER INSERT ON catalog_listing
WHEN NOT EXISTS (SELECT 1 FROM catalog_listing_deferred WHERE product_id = NEW.product_id)
BEGIN
    INSERT OR IGNORE INTO catalog_facets (collection_id, facet, product_id)
    SELECT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = NEW.product_id AND collection_id = NEW.collection_id;
END;
