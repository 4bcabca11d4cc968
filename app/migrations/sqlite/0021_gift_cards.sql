-- Gift cards: a balance in one currency, spent at checkout and given back by failed payments
-- and refunds. The code itself is never stored: `code_hash` is a keyed hash (HMAC-SHA256 with
-- the server's key, `KASSA_SECRET_KEY` or `server_secrets`), so a copy of the database alone
-- gives no usable code; `last4` is what staff and shoppers are shown afterwards.
-- `balance` moves only with a row in `gift_card_ledger`, in the same transaction; a spend is a
-- guarded `UPDATE … WHERE balance >= amount`, so racing checkouts never spend more than it has.
CREATE TABLE gift_cards (
    id              INTEGER PRIMARY KEY,
    code_hash       TEXT    NOT NULL UNIQUE,
    last4           TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    initial_amount  INTEGER NOT NULL CHECK (initial_amount > 0),
    balance         INTEGER NOT NULL CHECK (balance >= 0),
    expires_at      INTEGER,
    recipient_email TEXT,
    note            TEXT    NOT NULL DEFAULT '',
    -- Bought in an order (a gift card product), or issued by staff.
    order_id        INTEGER REFERENCES orders (id) ON DELETE SET NULL,
    disabled_at     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX gift_cards_created ON gift_cards (created_at DESC, id DESC);

-- Every change of a balance: `amount` is signed (a spend is negative), `balance_after` what was
-- left. `issue` opens a card, `redeem` pays (part of) an order, `release` gives a failed or
-- expired order's amount back, `refund` pays back (part of) a refunded order, `adjust` is staff.
CREATE TABLE gift_card_ledger (
    id            INTEGER PRIMARY KEY,
    gift_card_id  INTEGER NOT NULL REFERENCES gift_cards (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('issue', 'redeem', 'release', 'refund', 'adjust')),
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    order_id      INTEGER REFERENCES orders (id) ON DELETE SET NULL,
    note          TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
CREATE INDEX gift_card_ledger_card ON gift_card_ledger (gift_card_id, id);
CREATE INDEX gift_card_ledger_order ON gift_card_ledger (order_id) WHERE order_id IS NOT NULL;

-- What gift cards paid of an order: the card is charged the total less this. A refund's part
-- that went back onto gift cards (the rest went to the card through the gateway).
ALTER TABLE orders ADD COLUMN gift_card_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN gift_card_amount INTEGER NOT NULL DEFAULT 0;

-- Keys the servers share when `KASSA_SECRET_KEY` is not set (made by the first server that
-- needs one). Setting the variable keeps the key out of the database.
CREATE TABLE server_secrets (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
