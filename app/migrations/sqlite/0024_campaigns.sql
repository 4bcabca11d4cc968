-- Newsletter campaigns: a Markdown email staff write, preview, send to themselves as a test,
-- then send to every confirmed subscriber. Sending fixes the audience (`campaign_recipients`,
-- one row per address); the job runner moves a batch a minute into the outbox, each copy with
-- its own one-click unsubscribe link, so a campaign never floods the mail server or delays the
-- shop's order emails. A copy's fate (sent, failed) is its outbox row's.
CREATE TABLE campaigns (
    id             INTEGER PRIMARY KEY,
    subject        TEXT    NOT NULL,
    body_markdown  TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'draft'
                   CHECK (status IN ('draft', 'sending', 'sent', 'stopped')),
    created_by     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER,
    -- The next batch is due then; a server claims it by moving it on (one batch a minute,
    -- however many servers run the jobs).
    next_batch_at  INTEGER
);

CREATE TABLE campaign_recipients (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    email       TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'waiting'
                CHECK (status IN ('waiting', 'queued', 'skipped')),
    outbox_id   INTEGER,
    UNIQUE (campaign_id, email)
);
CREATE INDEX campaign_recipients_waiting ON campaign_recipients (campaign_id, status, id);

-- A campaign's copy is Markdown rendered to HTML beside the text.
ALTER TABLE outbox ADD COLUMN body_html TEXT;

-- An account's "news and offers" box is the newsletter's consent now: one record per address,
-- whichever way it was given. A signed-in shopper proved the address with a code, so their
-- consent counts as confirmed.
INSERT INTO newsletter_subscribers (email, status, token_hash, source, wording, asked_at, confirmed_at)
SELECT lower(email), 'subscribed', 'account:' || CAST(id AS TEXT), 'account',
       'Send me news and offers', news_opt_in_at, news_opt_in_at
FROM customers WHERE news_opt_in_at IS NOT NULL AND erased_at IS NULL
ON CONFLICT (email) DO UPDATE SET status = 'subscribed',
    confirmed_at = COALESCE(newsletter_subscribers.confirmed_at, excluded.confirmed_at),
    unsubscribed_at = NULL;
ALTER TABLE customers DROP COLUMN news_opt_in_at;
