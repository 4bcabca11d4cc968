-- Newsletter sign-ups, with double opt-in: `pending` until the link in the confirmation email is
-- used, then `subscribed`; `unsubscribed` keeps the record of the consent and its withdrawal.
-- The consent record is when it was asked (`asked_at`), where (`source`), the wording shown,
-- and when it was confirmed. The links carry a random token; only its hash is kept.
CREATE TABLE newsletter_subscribers (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'subscribed', 'unsubscribed')),
    token_hash      TEXT    NOT NULL UNIQUE,
    source          TEXT    NOT NULL,
    wording         TEXT    NOT NULL,
    asked_at        INTEGER NOT NULL,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER
);
