-- Returns: the shop's policy, products sold as final, and return requests (RMAs) with their
-- lines. A line's `returned_quantity` counts its units in returns not declined: never more than
-- were delivered (the guard is in the UPDATE that raises it). A return's fees are the policy's
-- when the shopper asked, so a later change of policy never changes a request under way.
-- An exchange is settled by a replacement order instead of a refund.
ALTER TABLE shop_settings ADD COLUMN return_window_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE shop_settings ADD COLUMN return_shipping_fee INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shop_settings ADD COLUMN restocking_fee_percent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE products ADD COLUMN final_sale INTEGER NOT NULL DEFAULT 0 CHECK (final_sale IN (0, 1));
ALTER TABLE order_lines ADD COLUMN returned_quantity INTEGER NOT NULL DEFAULT 0;

CREATE TABLE returns (
    id                  INTEGER PRIMARY KEY,
    rma                 TEXT    NOT NULL UNIQUE,
    order_id            INTEGER NOT NULL REFERENCES orders (id),
    status              TEXT    NOT NULL DEFAULT 'requested'
                        CHECK (status IN ('requested', 'approved', 'declined', 'received', 'refunded')),
    comment             TEXT    NOT NULL DEFAULT '',
    staff_message       TEXT    NOT NULL DEFAULT '',
    conversation_id     INTEGER REFERENCES support_conversations (id),
    shipping_fee_amount INTEGER NOT NULL,
    restocking_percent  INTEGER NOT NULL,
    refund_amount       INTEGER,
    -- An exchange asks for this variant instead of money; approving it places the
    -- replacement order (at no charge).
    exchange_variant_id INTEGER REFERENCES variants (id),
    replacement_order_id INTEGER REFERENCES orders (id),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX returns_status ON returns (status, id);
CREATE INDEX returns_order ON returns (order_id);

CREATE TABLE return_lines (
    return_id          INTEGER NOT NULL REFERENCES returns (id),
    order_line_id      INTEGER NOT NULL REFERENCES order_lines (id),
    quantity           INTEGER NOT NULL CHECK (quantity > 0),
    reason             TEXT    NOT NULL,
    restocked_quantity INTEGER NOT NULL DEFAULT 0 CHECK (restocked_quantity >= 0),
    damaged_quantity   INTEGER NOT NULL DEFAULT 0 CHECK (damaged_quantity >= 0),
    PRIMARY KEY (return_id, order_line_id),
    CHECK (restocked_quantity + damaged_quantity <= quantity)
);
