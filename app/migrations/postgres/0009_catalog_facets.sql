-- The option values a collection's filters offer ("Size: S, M, L"), kept up to date on write
-- like `catalog_listing`: one row per collection, option value and product that has it, so a
-- collection page reads its few distinct values by seeking an index, whatever its size.
CREATE TABLE catalog_facets (
    collection_id BIGINT NOT NULL,
    -- The option's name, U+001F, the value; in byte order, so the index walks values in turn.
    facet         TEXT COLLATE "C" NOT NULL,
    product_id    BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (collection_id, facet, product_id)
);
-- Covering: an option filter reads only this index.
CREATE INDEX catalog_facets_product ON catalog_facets (product_id, collection_id, facet);

-- The rows `catalog_facets` should hold: `WHERE product_id = ?`. Only listed products (active,
-- with a live variant), in each collection and in the whole catalog (collection 0), where the
-- option filters of the API and of searches look too.
CREATE VIEW catalog_facets_source AS
SELECT l.collection_id,
       (o.name || chr(31) || CASE o.position WHEN 1 THEN v.option1 WHEN 2 THEN v.option2 ELSE v.option3 END) COLLATE "C" AS facet,
       l.product_id
  FROM catalog_listing l
  JOIN product_options o ON o.product_id = l.product_id
  JOIN variants v ON v.product_id = l.product_id AND v.archived_at IS NULL
 WHERE CASE o.position WHEN 1 THEN v.option1 WHEN 2 THEN v.option2 ELSE v.option3 END IS NOT NULL;

INSERT INTO catalog_facets (collection_id, facet, product_id)
SELECT DISTINCT collection_id, facet, product_id FROM catalog_facets_source;

CREATE FUNCTION refresh_catalog_facets(target BIGINT) RETURNS void LANGUAGE sql AS $$
    DELETE FROM catalog_facets f
     WHERE f.product_id = target
       AND NOT EXISTS (SELECT 1 FROM catalog_facets_source s
                        WHERE s.product_id = target AND s.collection_id = f.collection_id
                          AND s.facet = f.facet);
    INSERT INTO catalog_facets (collection_id, facet, product_id)
    SELECT DISTINCT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = target
    ON CONFLICT DO NOTHING;
$$;

-- The listing's refresh brings the facets along (memberships, activation, variants).
CREATE OR REPLACE FUNCTION catalog_listing_follow_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_catalog_listing(NEW.id);
    PERFORM refresh_catalog_facets(NEW.id);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION catalog_listing_follow_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM refresh_catalog_listing(OLD.product_id);
        PERFORM refresh_catalog_facets(OLD.product_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.product_id <> OLD.product_id) THEN
        PERFORM refresh_catalog_listing(NEW.product_id);
        PERFORM refresh_catalog_facets(NEW.product_id);
    END IF;
    RETURN NULL;
END $$;

-- Rows added in one statement (a product's variants, options or collections, as an import
-- writes them) are followed once per product, not once per row.
CREATE FUNCTION catalog_listing_follow_added() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target BIGINT;
BEGIN
    FOR target IN SELECT DISTINCT product_id FROM added ORDER BY product_id LOOP
        PERFORM refresh_catalog_listing(target);
        PERFORM refresh_catalog_facets(target);
    END LOOP;
    RETURN NULL;
END $$;

-- Staff edits (prices, archival, titles, memberships, options) are followed when their
-- transaction commits, after every row lock it takes: an edit of several variants of a product
-- never holds the product's listing rows while it waits for a variant a checkout holds (the
-- checkout, in `inventory::apply`, takes the listing rows after its variants).
DROP TRIGGER catalog_listing_product ON products;
CREATE CONSTRAINT TRIGGER catalog_listing_product AFTER UPDATE OF status, title, created_at ON products
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION catalog_listing_follow_product();

DROP TRIGGER catalog_listing_variant ON variants;
CREATE CONSTRAINT TRIGGER catalog_listing_variant
    AFTER DELETE
       OR UPDATE OF price_amount, backorder, archived_at, product_id, option1, option2, option3
    ON variants
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION catalog_listing_follow_row();
CREATE TRIGGER catalog_listing_variants_added AFTER INSERT ON variants
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_listing_follow_added();

DROP TRIGGER catalog_listing_member ON collection_products;
CREATE CONSTRAINT TRIGGER catalog_listing_member
    AFTER DELETE OR UPDATE OF position, collection_id, product_id ON collection_products
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION catalog_listing_follow_row();
CREATE TRIGGER catalog_listing_members_added AFTER INSERT ON collection_products
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_listing_follow_added();

CREATE CONSTRAINT TRIGGER catalog_facets_option
    AFTER DELETE OR UPDATE ON product_options
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION catalog_listing_follow_row();
CREATE TRIGGER catalog_facets_options_added AFTER INSERT ON product_options
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_listing_follow_added();

-- A variant's own picture is looked up by variant on every product page (and by the foreign
-- key when a variant is deleted).
CREATE INDEX product_images_variant ON product_images (variant_id);
