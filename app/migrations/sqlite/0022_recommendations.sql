-- A product page recommends products sharing its tags and products bought in the same orders:
-- both are looked up from the product's side.
CREATE INDEX product_tags_tag ON product_tags (tag, product_id);
CREATE INDEX order_lines_variant ON order_lines (variant_id, order_id);
