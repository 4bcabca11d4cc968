-- Checkout: shop settings, shipping and tax, orders, payments, the stock ledger and the outbox.
-- Money is integer minor units; rates are basis points (1900 = 19 %); timestamps are Unix seconds.

CREATE TABLE shop_settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    currency            TEXT    NOT NULL CHECK (length(currency) = 3),
    prices_include_tax  INTEGER NOT NULL CHECK (prices_include_tax IN (0, 1)),
    reservation_minutes INTEGER NOT NULL CHECK (reservation_minutes > 0)
);
INSERT INTO shop_settings (id, currency, prices_include_tax, reservation_minutes) VALUES (1, 'EUR', 1, 15);

-- A zone ships to a list of ISO countries ("DE,AT") or, with '*', everywhere else.
CREATE TABLE shipping_zones (
    id        INTEGER PRIMARY KEY,
    name      TEXT    NOT NULL,
    countries TEXT    NOT NULL,
    position  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE shipping_rates (
    id                INTEGER PRIMARY KEY,
    zone_id           INTEGER NOT NULL REFERENCES shipping_zones (id) ON DELETE CASCADE,
    code              TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL,
    price_amount      INTEGER NOT NULL CHECK (price_amount >= 0),
    free_above_amount INTEGER CHECK (free_above_amount IS NULL OR free_above_amount >= 0),
    min_days          INTEGER NOT NULL DEFAULT 1,
    max_days          INTEGER NOT NULL DEFAULT 5,
    position          INTEGER NOT NULL DEFAULT 0
);
INSERT INTO shipping_zones (id, name, countries, position) VALUES
    (1, 'Germany', 'DE', 0),
    (2, 'European Union', 'AT,BE,DK,ES,FI,FR,IE,IT,LU,NL,PL,PT,SE', 1),
    (3, 'Rest of the world', '*', 2);
INSERT INTO shipping_rates (zone_id, code, name, price_amount, free_above_amount, min_days, max_days, position) VALUES
    (1, 'de-standard', 'Standard (DHL)', 490, 5000, 1, 3, 0),
    (1, 'de-express', 'Express', 990, NULL, 1, 1, 1),
    (2, 'eu-standard', 'Standard', 990, 10000, 3, 6, 0),
    (3, 'world-standard', 'International', 1990, NULL, 5, 14, 0);

-- A region-specific rate (a US state, a Canadian province) wins over the country's.
CREATE TABLE tax_rates (
    id      INTEGER PRIMARY KEY,
    country TEXT    NOT NULL CHECK (length(country) = 2),
    region  TEXT    NOT NULL DEFAULT '',
    name    TEXT    NOT NULL,
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    UNIQUE (country, region)
);
INSERT INTO tax_rates (country, region, name, rate_bp) VALUES
    ('DE', '', 'MwSt.', 1900), ('AT', '', 'USt.', 2000), ('FR', '', 'TVA', 2000),
    ('NL', '', 'btw', 2100), ('BE', '', 'BTW', 2100), ('ES', '', 'IVA', 2100),
    ('IT', '', 'IVA', 2200), ('IE', '', 'VAT', 2300), ('LU', '', 'TVA', 1700),
    ('DK', '', 'moms', 2500), ('SE', '', 'moms', 2500), ('FI', '', 'ALV', 2550),
    ('PL', '', 'VAT', 2300), ('PT', '', 'IVA', 2300), ('GB', '', 'VAT', 2000),
    ('CH', '', 'MWST', 810), ('US', 'CA', 'Sales tax', 725), ('US', 'NY', 'Sales tax', 400);

CREATE TABLE orders (
    id                 INTEGER PRIMARY KEY,
    access_token       TEXT    NOT NULL UNIQUE,
    idempotency_key    TEXT    UNIQUE,
    request_hash       TEXT    NOT NULL,
    email              TEXT    NOT NULL,
    status             TEXT    NOT NULL
                       CHECK (status IN ('pending_payment', 'paid', 'payment_failed', 'cancelled', 'expired')),
    currency           TEXT    NOT NULL CHECK (length(currency) = 3),
    subtotal_amount    INTEGER NOT NULL CHECK (subtotal_amount >= 0),
    shipping_amount    INTEGER NOT NULL CHECK (shipping_amount >= 0),
    tax_amount         INTEGER NOT NULL CHECK (tax_amount >= 0),
    total_amount       INTEGER NOT NULL CHECK (total_amount >= 0),
    prices_include_tax INTEGER NOT NULL CHECK (prices_include_tax IN (0, 1)),
    shipping_code      TEXT    NOT NULL,
    shipping_name      TEXT    NOT NULL,
    address_json       TEXT    NOT NULL,
    gateway            TEXT    NOT NULL,
    payment_ref        TEXT,
    reserved_until     INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    paid_at            INTEGER
);
CREATE INDEX orders_pending ON orders (status, reserved_until);
CREATE INDEX orders_created ON orders (created_at DESC, id DESC);
CREATE INDEX orders_payment_ref ON orders (payment_ref);

CREATE TABLE order_lines (
    id                   INTEGER PRIMARY KEY,
    order_id             INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    variant_id           INTEGER REFERENCES variants (id) ON DELETE SET NULL,
    sku                  TEXT    NOT NULL,
    title                TEXT    NOT NULL,
    variant_title        TEXT    NOT NULL,
    quantity             INTEGER NOT NULL CHECK (quantity > 0),
    backordered_quantity INTEGER NOT NULL DEFAULT 0 CHECK (backordered_quantity >= 0),
    unit_price_amount    INTEGER NOT NULL CHECK (unit_price_amount >= 0),
    tax_amount           INTEGER NOT NULL CHECK (tax_amount >= 0),
    total_amount         INTEGER NOT NULL CHECK (total_amount >= 0)
);
CREATE INDEX order_lines_order ON order_lines (order_id);

-- Every change of on_hand or reserved, with its reason: the stock's audit trail.
CREATE TABLE stock_ledger (
    id             INTEGER PRIMARY KEY,
    variant_id     INTEGER NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    order_id       INTEGER REFERENCES orders (id) ON DELETE SET NULL,
    reason         TEXT    NOT NULL,
    on_hand_delta  INTEGER NOT NULL,
    reserved_delta INTEGER NOT NULL,
    note           TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL
);
CREATE INDEX stock_ledger_variant ON stock_ledger (variant_id, id);

CREATE TABLE payments (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    gateway    TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('charge', 'refund')),
    status     TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed', 'requires_action', 'canceled')),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    currency   TEXT    NOT NULL,
    reference  TEXT    NOT NULL,
    message    TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);

-- Webhook deliveries already handled, so a replay is a no-op.
CREATE TABLE webhook_events (
    id          TEXT    PRIMARY KEY,
    gateway     TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    received_at INTEGER NOT NULL
);

-- Emails waiting to be sent (and sent ones, for the record).
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    recipient  TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body_text  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0,
    -- A sender claims a row until then, so two servers never send the same email.
    claimed_until INTEGER,
    last_error TEXT
);
CREATE INDEX outbox_unsent ON outbox (sent_at, id);
