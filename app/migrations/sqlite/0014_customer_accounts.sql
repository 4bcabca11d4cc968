-- Shoppers' accounts. No passwords: a shopper proves their email with a one-time code (and may
-- add passkeys later). Staff stay in `accounts`; a shopper's session is a different table and
-- cookie, so it can never open the back office.

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    -- Lower-case. An erased customer's becomes `erased-<id>@invalid`, so the same address signs
    -- up again as a new, empty account.
    email       TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    -- When the email was last proven by a code: guest orders with it join the history then.
    verified_at INTEGER NOT NULL,
    erased_at   INTEGER
);

-- The cookie (or bearer token) holds a random token; the table only its SHA-256.
CREATE TABLE customer_sessions (
    token_hash   TEXT    PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX customer_sessions_customer ON customer_sessions (customer_id);

-- One live code per email: asking again replaces it. Only its hash is kept.
CREATE TABLE sign_in_codes (
    email      TEXT    PRIMARY KEY,
    code_hash  TEXT    NOT NULL,
    tries_left INTEGER NOT NULL CHECK (tries_left >= 0),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Codes asked for and wrong codes tried, for the limits per email and per address.
CREATE TABLE sign_in_attempts (
    id      INTEGER PRIMARY KEY,
    kind    TEXT    NOT NULL CHECK (kind IN ('code_sent', 'wrong_code')),
    email   TEXT    NOT NULL,
    address TEXT    NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX sign_in_attempts_email ON sign_in_attempts (email, at);
CREATE INDEX sign_in_attempts_address ON sign_in_attempts (address, at);

CREATE TABLE customer_addresses (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    line1       TEXT    NOT NULL,
    line2       TEXT    NOT NULL DEFAULT '',
    city        TEXT    NOT NULL,
    postal_code TEXT    NOT NULL DEFAULT '',
    region      TEXT    NOT NULL DEFAULT '',
    country     TEXT    NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  INTEGER NOT NULL
);
CREATE INDEX customer_addresses_customer ON customer_addresses (customer_id, id);
-- At most one default shipping address per customer.
CREATE UNIQUE INDEX customer_addresses_default ON customer_addresses (customer_id) WHERE is_default = 1;

-- An order placed while signed in, or a guest order claimed by a code sign-in with its email.
ALTER TABLE orders ADD COLUMN customer_id INTEGER REFERENCES customers (id);
CREATE INDEX orders_customer ON orders (customer_id, created_at DESC, id DESC);
CREATE INDEX orders_email_lower ON orders (lower(email));
