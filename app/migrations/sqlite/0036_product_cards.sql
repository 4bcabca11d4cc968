-- What each product's card shows (catalog::cards), kept up to date on write, so that a page of
-- 24 cards reads 24 rows by their key instead of working each card out from the product's
-- variants and pictures. See the Postgres migration of the same name for the figures.
--
-- `card` is the JSON array catalog::ssr::card_from_row reads: slug, title, the card's variant
-- (its cheapest that can be bought now, or its cheapest; id, option values, price, compare-at
-- price, currency, whether it can be bought) and its first picture. One row per product with a
-- live variant, whatever its status: the listing says which are shown.
--
-- Written by the triggers below when staff change products, variants or pictures, by
-- `catalog::bulk` for an import's batch (whose products the triggers skip, as the listing's do:
-- migration 0031), and by `inventory::apply` when stock makes a variant sold out or buyable
-- again (the only stock change a card shows).
CREATE TABLE product_cards (
    product_id INTEGER PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    card       TEXT    NOT NULL
);

-- The card a product should have: `WHERE product_id = ?`.
CREATE VIEW product_card_source AS
SELECT p.id AS product_id,
       json_array(p.slug, p.title, v.id, v.option1, v.option2, v.option3,
                  v.price_amount, v.compare_at_amount, v.currency,
                  CASE WHEN v.on_hand > v.reserved OR v.backorder = 'allow' THEN 1 ELSE 0 END,
                  i.url, i.alt, i.width, i.height, i.srcset, i.webp_srcset) AS card
  FROM products p
  JOIN variants v ON v.id = (
       SELECT v2.id FROM variants v2 WHERE v2.product_id = p.id AND v2.archived_at IS NULL
        ORDER BY CASE WHEN v2.on_hand > v2.reserved OR v2.backorder = 'allow' THEN 0 ELSE 1 END,
                 v2.price_amount, v2.position, v2.id
        LIMIT 1)
  LEFT JOIN product_images i ON i.id = (
       SELECT i2.id FROM product_images i2 WHERE i2.product_id = p.id
        ORDER BY i2.position, i2.id LIMIT 1);

INSERT INTO product_cards (product_id, card) SELECT product_id, card FROM product_card_source WHERE true;

-- The one rule every trigger below follows, as a procedure (SQLite triggers call no
-- functions): a row inserted here brings that product's card in line with
-- `product_card_source`, writing only what changed, and nothing is stored.
CREATE VIEW product_card_refresh AS SELECT NULL AS product_id;

CREATE TRIGGER product_card_refresh_applied INSTEAD OF INSERT ON product_card_refresh
BEGIN
    DELETE FROM product_cards WHERE product_id = NEW.product_id
       AND NOT EXISTS (SELECT 1 FROM variants v WHERE v.product_id = NEW.product_id
                                                  AND v.archived_at IS NULL);
    INSERT INTO product_cards (product_id, card)
    SELECT product_id, card FROM product_card_source WHERE product_id = NEW.product_id
    ON CONFLICT (product_id) DO UPDATE SET card = excluded.card WHERE card <> excluded.card;
END;

-- The products whose cards a write may change. An import's batch is skipped while it is
-- written (`catalog_listing_deferred`). `UNION` names a product once when it did not move.

CREATE TRIGGER product_cards_product
AFTER UPDATE OF slug, title ON products
BEGIN
    INSERT INTO product_card_refresh (product_id) VALUES (NEW.id);
END;

CREATE TRIGGER product_cards_variant_added
AFTER INSERT ON variants
WHEN NOT EXISTS (SELECT 1 FROM catalog_listing_deferred WHERE product_id = NEW.product_id)
BEGIN
    INSERT INTO product_card_refresh (product_id) VALUES (NEW.product_id);
END;

-- Not `on_hand` or `reserved`: see `inventory::apply`.
CREATE TRIGGER product_cards_variant_changed
AFTER UPDATE OF option1, option2, option3, price_amount, compare_at_amount, currency,
                backorder, archived_at, position, product_id ON variants
BEGIN
    INSERT INTO product_card_refresh (product_id) SELECT OLD.product_id UNION SELECT NEW.product_id;
END;

CREATE TRIGGER product_cards_variant_removed
AFTER DELETE ON variants
BEGIN
    INSERT INTO product_card_refresh (product_id) VALUES (OLD.product_id);
END;

CREATE TRIGGER product_cards_image_added
AFTER INSERT ON product_images
WHEN NOT EXISTS (SELECT 1 FROM catalog_listing_deferred WHERE product_id = NEW.product_id)
BEGIN
    INSERT INTO product_card_refresh (product_id) VALUES (NEW.product_id);
END;

CREATE TRIGGER product_cards_image_changed
AFTER UPDATE ON product_images
BEGIN
    INSERT INTO product_card_refresh (product_id) SELECT OLD.product_id UNION SELECT NEW.product_id;
END;

CREATE TRIGGER product_cards_image_removed
AFTER DELETE ON product_images
BEGIN
    INSERT INTO product_card_refresh (product_id) VALUES (OLD.product_id);
END;
