-- The listing's refresh, cheaper for imports.
--
-- The refresh functions move from SQL to PL/pgSQL: a SQL function's statements are planned
-- again on every call, and an import calls them for every product it writes (planning the
-- views cost more than running them); PL/pgSQL keeps each plan for the session. They stay one
-- product at a time: a refresh of a set of products in one statement cannot carry the product
-- into the views' GROUP BY, and reads every variant of the shop instead of a few.
CREATE OR REPLACE FUNCTION refresh_catalog_listing(target BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
END $$;

CREATE OR REPLACE FUNCTION refresh_catalog_facets(target BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM catalog_facets f
     WHERE f.product_id = target
       AND NOT EXISTS (SELECT 1 FROM catalog_facets_source s
                        WHERE s.product_id = target AND s.collection_id = f.collection_id
                          AND s.facet = f.facet);
    INSERT INTO catalog_facets (collection_id, facet, product_id)
    SELECT DISTINCT collection_id, facet, product_id FROM catalog_facets_source
     WHERE product_id = target
    ON CONFLICT DO NOTHING;
END $$;

-- Only a product with a live variant is listed (one without has no listing rows to drop): the
-- options and memberships an import writes before a new product's variants refresh nothing.
CREATE OR REPLACE FUNCTION catalog_listing_follow_added() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target BIGINT;
BEGIN
    FOR target IN
        SELECT DISTINCT a.product_id FROM added a
         WHERE EXISTS (SELECT 1 FROM variants v
                        WHERE v.product_id = a.product_id AND v.archived_at IS NULL)
         ORDER BY a.product_id
    LOOP
        PERFORM refresh_catalog_listing(target);
        PERFORM refresh_catalog_facets(target);
    END LOOP;
    RETURN NULL;
END $$;
