-- Discounts: a code the shopper types (matched without regard to case) or automatic (no code,
-- applies when its conditions hold). What it does is `rule_json`, the engine's own `Kind`
-- (`promotions::discounts`), with products and collections by id. `times_used` counts the
-- orders that hold a use: taken by a guarded UPDATE in the order's transaction (never past
-- `usage_limit`), given back when the order's payment fails or expires.
CREATE TABLE discounts (
    id                  INTEGER PRIMARY KEY,
    title               TEXT    NOT NULL,
    code                TEXT,
    -- Lower-case code, for the lookup; NULL for an automatic discount.
    code_key            TEXT    UNIQUE,
    kind                TEXT    NOT NULL
                        CHECK (kind IN ('percentage', 'fixed_amount', 'free_shipping', 'buy_x_get_y')),
    rule_json           TEXT    NOT NULL,
    minimum_subtotal    INTEGER,
    minimum_quantity    INTEGER,
    starts_at           INTEGER,
    ends_at             INTEGER,
    usage_limit         INTEGER CHECK (usage_limit IS NULL OR usage_limit >= 0),
    times_used          INTEGER NOT NULL DEFAULT 0 CHECK (times_used >= 0),
    once_per_customer   INTEGER NOT NULL DEFAULT 0,
    first_order_only    INTEGER NOT NULL DEFAULT 0,
    combines_product    INTEGER NOT NULL DEFAULT 0,
    combines_order      INTEGER NOT NULL DEFAULT 0,
    combines_shipping   INTEGER NOT NULL DEFAULT 0,
    deactivated_at      INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX discounts_automatic ON discounts (id) WHERE code_key IS NULL AND deactivated_at IS NULL;

-- Each discount an order took, with what it took: the order page and emails show these, and
-- the usage rules count them. `once_key` (the customer or the guest's email) is set only for
-- discounts limited to once per customer, so the unique index refuses a second use even when
-- two checkouts race. A released use (failed or expired payment) clears it.
CREATE TABLE order_discounts (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    discount_id  INTEGER NOT NULL REFERENCES discounts (id),
    code         TEXT,
    title        TEXT    NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    shipping_amount INTEGER NOT NULL DEFAULT 0,
    customer_id  INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    email        TEXT    NOT NULL,
    once_key     TEXT,
    counted      INTEGER NOT NULL DEFAULT 0,
    released_at  INTEGER,
    created_at   INTEGER NOT NULL,
    UNIQUE (order_id, discount_id),
    UNIQUE (discount_id, once_key)
);
CREATE INDEX order_discounts_discount ON order_discounts (discount_id, order_id);
CREATE INDEX order_discounts_email ON order_discounts (email);

-- An order's discount (goods and shipping together) and each line's share of it; the line's
-- refunded units, so a refund by line never pays a unit back twice.
ALTER TABLE orders ADD COLUMN discount_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN discount_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN refunded_quantity INTEGER NOT NULL DEFAULT 0;
