-- What each product's card shows (catalog::cards), kept up to date on write, so that a page of
-- 24 cards reads 24 rows by their key. Built per request, a card read its product, sorted its
-- variants for the one to show, summed their stock and looked up its first picture: 0.41 ms of
-- Postgres's time for a page of 24 at 100,000 products, against 0.15 ms read from here
-- (`pgbench`, one connection), the largest statement of every catalog page.
--
-- `card` is the JSON array catalog::ssr::card_from_row reads: slug, title, the card's variant
-- (its cheapest that can be bought now, or its cheapest; id, option values, price, compare-at
-- price, currency, whether it can be bought) and its first picture. One row per product with a
-- live variant, whatever its status: the listing says which are shown.
--
-- Written by the triggers below when staff or an import change products, variants or
-- pictures, and by `inventory::apply` when stock makes a variant sold out or buyable again
-- (the only stock change a card shows), one product at a time in id order as the listing is.
CREATE TABLE product_cards (
    product_id BIGINT PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    card       TEXT   NOT NULL
);

-- The card a product should have: `WHERE product_id = ?`.
CREATE VIEW product_card_source AS
SELECT p.id AS product_id,
       json_build_array(p.slug, p.title, v.id, v.option1, v.option2, v.option3,
                        v.price_amount, v.compare_at_amount, v.currency,
                        CASE WHEN v.on_hand > v.reserved OR v.backorder = 'allow' THEN 1 ELSE 0 END,
                        i.url, i.alt, i.width, i.height, i.srcset, i.webp_srcset)::text AS card
  FROM products p
  JOIN LATERAL (SELECT * FROM variants v2 WHERE v2.product_id = p.id AND v2.archived_at IS NULL
                 ORDER BY CASE WHEN v2.on_hand > v2.reserved OR v2.backorder = 'allow' THEN 0 ELSE 1 END,
                          v2.price_amount, v2.position, v2.id
                 LIMIT 1) v ON TRUE
  LEFT JOIN LATERAL (SELECT * FROM product_images i2 WHERE i2.product_id = p.id
                      ORDER BY i2.position, i2.id LIMIT 1) i ON TRUE;

INSERT INTO product_cards (product_id, card) SELECT product_id, card FROM product_card_source;

-- Brings the cards of `targets` (in id order) in line with `product_card_source`, writing only
-- what changed. Each product's card is worked out by itself (`OFFSET 0`, as in 0033).
CREATE FUNCTION refresh_product_cards(targets BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM product_cards c
     WHERE c.product_id = ANY(targets)
       AND NOT EXISTS (SELECT 1 FROM variants v
                        WHERE v.product_id = c.product_id AND v.archived_at IS NULL);
    INSERT INTO product_cards AS c (product_id, card)
    SELECT s.product_id, s.card
      FROM unnest(targets) t(id)
           CROSS JOIN LATERAL (SELECT * FROM product_card_source WHERE product_id = t.id OFFSET 0) s
    ON CONFLICT (product_id) DO UPDATE SET card = EXCLUDED.card WHERE c.card <> EXCLUDED.card;
END $$;

CREATE FUNCTION product_cards_follow_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_product_cards(ARRAY[NEW.id]);
    RETURN NULL;
END $$;

-- A changed or removed variant or picture: its product's card, and its old product's.
CREATE FUNCTION product_cards_follow_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM refresh_product_cards(ARRAY[OLD.product_id]);
    ELSIF NEW.product_id = OLD.product_id THEN
        PERFORM refresh_product_cards(ARRAY[NEW.product_id]);
    ELSE
        PERFORM refresh_product_cards(ARRAY[LEAST(OLD.product_id, NEW.product_id),
                                            GREATEST(OLD.product_id, NEW.product_id)]);
    END IF;
    RETURN NULL;
END $$;

-- Rows added in one statement (an import's batch): their products' cards at once.
CREATE FUNCTION product_cards_follow_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_product_cards(ARRAY(SELECT DISTINCT product_id FROM added ORDER BY product_id));
    RETURN NULL;
END $$;

CREATE TRIGGER product_cards_product AFTER UPDATE OF slug, title ON products
    FOR EACH ROW EXECUTE FUNCTION product_cards_follow_product();
CREATE TRIGGER product_cards_variants_added AFTER INSERT ON variants
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION product_cards_follow_added();
-- Not `on_hand` or `reserved`: see `inventory::apply`.
CREATE TRIGGER product_cards_variant_changed
    AFTER UPDATE OF option1, option2, option3, price_amount, compare_at_amount, currency,
                    backorder, archived_at, position, product_id ON variants
    FOR EACH ROW EXECUTE FUNCTION product_cards_follow_row();
CREATE TRIGGER product_cards_variant_removed AFTER DELETE ON variants
    FOR EACH ROW EXECUTE FUNCTION product_cards_follow_row();
CREATE TRIGGER product_cards_images_added AFTER INSERT ON product_images
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION product_cards_follow_added();
CREATE TRIGGER product_cards_image_changed AFTER UPDATE OR DELETE ON product_images
    FOR EACH ROW EXECUTE FUNCTION product_cards_follow_row();
