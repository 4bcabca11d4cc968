-- First-party analytics without cookies. Nothing here names a person: a visitor is a keyed hash
-- of (the day's random salt, the address truncated to /24 or /48, the browser family), and a
-- salt is deleted two days after its day, so an old key cannot be recomputed. No address or
-- user agent is stored anywhere.
--
-- `day` is the date in the shop's time zone when the event happened (`YYYY-MM-DD`), so reports
-- are read by day without converting; rollups are written in the same transaction as the raw
-- events they count.
ALTER TABLE shop_settings ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE shop_settings ADD COLUMN analytics_retention_days INTEGER NOT NULL DEFAULT 90;
ALTER TABLE accounts ADD COLUMN can_analytics INTEGER NOT NULL DEFAULT 0 CHECK (can_analytics IN (0, 1));

-- Where the order's shopper came from (their first page's referrer or utm_* parameters, kept
-- with the cart in their browser).
ALTER TABLE orders ADD COLUMN source TEXT;
ALTER TABLE orders ADD COLUMN medium TEXT;
ALTER TABLE orders ADD COLUMN campaign TEXT;
CREATE INDEX orders_paid_at ON orders (paid_at);
-- "Returning customer": has this email paid an order before? One index seek per order.
CREATE INDEX orders_email_paid ON orders (lower(email), paid_at);
CREATE INDEX payments_created ON payments (created_at);

CREATE TABLE analytics_salts (
    day  TEXT PRIMARY KEY,
    salt TEXT NOT NULL
);

-- Append-only; kept for the retention setting's days.
CREATE TABLE analytics_events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    day        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    visitor    TEXT,
    path       TEXT,
    product_id INTEGER,
    variant_id INTEGER,
    query      TEXT,
    results    INTEGER,
    order_id   INTEGER
);
CREATE INDEX analytics_events_at ON analytics_events (at);

-- One row per visitor and day: their page views, their sessions (a new one after 30 minutes
-- without an event), the funnel steps they reached (bits: 1 product view, 2 add to cart, 4
-- checkout started, 8 order) and where their first page that day came from.
CREATE TABLE analytics_visits (
    day        TEXT    NOT NULL,
    visitor    TEXT    NOT NULL,
    page_views INTEGER NOT NULL DEFAULT 0,
    sessions   INTEGER NOT NULL DEFAULT 0,
    first_at   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL DEFAULT 0,
    steps      INTEGER NOT NULL DEFAULT 0,
    source     TEXT    NOT NULL,
    medium     TEXT    NOT NULL,
    campaign   TEXT    NOT NULL,
    PRIMARY KEY (day, visitor)
);

-- Each day's totals, kept up to date from what each batch changes in the visits: reports over
-- months read a row per day. `product_views` … `orders` count visitors who reached the step.
CREATE TABLE analytics_days (
    day           TEXT PRIMARY KEY,
    visitors      INTEGER NOT NULL,
    sessions      INTEGER NOT NULL,
    product_views INTEGER NOT NULL,
    add_to_carts  INTEGER NOT NULL,
    checkouts     INTEGER NOT NULL,
    orders        INTEGER NOT NULL
);

-- Visitors by the source of their first page, by day.
CREATE TABLE analytics_sources (
    day      TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    medium   TEXT    NOT NULL,
    campaign TEXT    NOT NULL,
    visitors INTEGER NOT NULL,
    PRIMARY KEY (day, source, medium, campaign)
);

-- Page views by hour of the shop's day, visitors who asked not to be tracked included.
CREATE TABLE analytics_hours (
    day        TEXT    NOT NULL,
    hour       INTEGER NOT NULL,
    page_views INTEGER NOT NULL,
    PRIMARY KEY (day, hour)
);

CREATE TABLE analytics_products (
    day          TEXT    NOT NULL,
    product_id   INTEGER NOT NULL,
    views        INTEGER NOT NULL,
    add_to_carts INTEGER NOT NULL,
    PRIMARY KEY (day, product_id)
);

-- Searches as typed (trimmed, lower case), how many results the last one found, and how often
-- a result was opened from them.
CREATE TABLE analytics_searches (
    day      TEXT    NOT NULL,
    query    TEXT    NOT NULL,
    searches INTEGER NOT NULL,
    results  INTEGER NOT NULL,
    clicks   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, query)
);

-- The rate limits of sign-ins keep a hash of the client's address, not the address: no table
-- holds an address or a user agent. The rows only live for minutes; old ones are dropped.
DELETE FROM sign_in_failures;
DELETE FROM sign_in_attempts;
ALTER TABLE sign_in_failures RENAME COLUMN address TO address_hash;
ALTER TABLE sign_in_attempts RENAME COLUMN address TO address_hash;
