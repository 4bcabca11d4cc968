-- Abandoned-checkout reminders. A checkout that got as far as a valid email keeps that email
-- and its cart here (one row per address, the latest checkout); after `reminder_hours`
-- without an order, one reminder with a link restoring the cart goes out, only to an address
-- subscribed to the newsletter (double opt-in: the consent to marketing). `sent_at` is set
-- by the one server that claims the row, whatever it then decides (`outcome`).
CREATE TABLE checkout_reminders (
    id         INTEGER PRIMARY KEY,
    email      TEXT    NOT NULL UNIQUE,
    cart_json  TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    started_at INTEGER NOT NULL,
    sent_at    INTEGER,
    outcome    TEXT    CHECK (outcome IN ('sent', 'ordered', 'not_subscribed'))
);
CREATE INDEX checkout_reminders_due ON checkout_reminders (started_at) WHERE sent_at IS NULL;

-- Hours after an abandoned checkout its reminder goes out; 0: never.
ALTER TABLE shop_settings ADD COLUMN reminder_hours INTEGER NOT NULL DEFAULT 4
    CHECK (reminder_hours BETWEEN 0 AND 720);

-- A marketing email's one-click unsubscribe address (RFC 8058 `List-Unsubscribe`).
ALTER TABLE outbox ADD COLUMN unsubscribe_url TEXT;
