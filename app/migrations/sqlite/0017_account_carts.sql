-- A signed-in shopper's cart, kept on the server so it follows them to another device. The
-- browser's cart stays the working copy; this is where the devices meet. Every line carries
-- the time of its last edit (milliseconds), and a removal stays as quantity 0 for a while, so
-- the later edit wins per line whichever device sends it first.
CREATE TABLE customer_cart_lines (
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    variant_id  INTEGER NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    quantity    INTEGER NOT NULL CHECK (quantity >= 0),
    edited_at   INTEGER NOT NULL,
    PRIMARY KEY (customer_id, variant_id)
);
