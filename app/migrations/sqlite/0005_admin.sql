-- Accounts and sessions, the audit log, shipments, and what the admin needs of variants.

-- Everyone who signs in: shop staff (owner, staff) and, later, shoppers with an account.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'staff', 'customer')),
    can_refund    INTEGER NOT NULL DEFAULT 0 CHECK (can_refund IN (0, 1)),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
);

-- Server-side sessions; the cookie holds a random token, the table only its SHA-256.
CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Failed sign-ins, for the rate limit per account and per address.
CREATE TABLE sign_in_failures (
    id      INTEGER PRIMARY KEY,
    email   TEXT    NOT NULL,
    address TEXT    NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, at);
CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at);

-- Who did what, when: every staff action.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject, id);

CREATE TABLE shipments (
    id              INTEGER PRIMARY KEY,
    order_id        INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    carrier         TEXT    NOT NULL,
    tracking_number TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('shipped', 'delivered')),
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX shipments_order ON shipments (order_id);

CREATE TABLE shipment_lines (
    shipment_id   INTEGER NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    order_line_id INTEGER NOT NULL REFERENCES order_lines (id) ON DELETE CASCADE,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (shipment_id, order_line_id)
);

-- How much of each line has shipped, and how much was refunded per order.
ALTER TABLE order_lines ADD COLUMN shipped_quantity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN fulfilment TEXT NOT NULL DEFAULT 'unfulfilled';
ALTER TABLE orders ADD COLUMN refunded_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

-- Staff edit stock with optimistic concurrency; a threshold marks low stock.
ALTER TABLE variants ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE variants ADD COLUMN low_stock_threshold INTEGER NOT NULL DEFAULT 5;

-- The order list: newest first, by status, by date.
CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_email ON orders (email);

-- Refunds (and any payment) requested with a key are recorded once per key.
ALTER TABLE payments ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX payments_idempotency ON payments (idempotency_key);
