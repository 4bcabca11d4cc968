-- Passkeys (WebAuthn) as the quick way back for shoppers, and their email preferences.

-- The random user handle a shopper's authenticators keep (a UUID; never personal data), made
-- with their first passkey. When the shopper last agreed to news and offers by email; NULL when
-- they have not (consent is asked for, never assumed; order and sign-in emails always go).
ALTER TABLE customers ADD COLUMN passkey_handle TEXT;
ALTER TABLE customers ADD COLUMN news_opt_in_at INTEGER;

CREATE TABLE customer_passkeys (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- The credential's id as the browser names it (base64url).
    credential_id TEXT NOT NULL UNIQUE,
    -- The shopper's name for it ("Laptop", "Phone").
    name          TEXT NOT NULL,
    -- webauthn-rs's record of the credential: the public key and the signature counter.
    passkey       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX customer_passkeys_customer ON customer_passkeys (customer_id);

-- A ceremony in progress (adding a passkey, or signing in with one): webauthn-rs's state,
-- kept here and not in the server's memory so any server of several can finish it. The
-- browser holds a random id; this table its SHA-256. Five minutes, then it is forgotten.
CREATE TABLE passkey_ceremonies (
    id_hash     TEXT PRIMARY KEY,
    -- Who is adding a passkey; NULL for a sign-in (nobody is known yet).
    customer_id INTEGER REFERENCES customers (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);

-- Passkey ceremonies started and passkeys refused count against an address's limits too.
CREATE TABLE sign_in_attempts_new (
    id      INTEGER PRIMARY KEY,
    kind    TEXT    NOT NULL
            CHECK (kind IN ('code_sent', 'wrong_code', 'passkey_ceremony', 'passkey_refused')),
    email   TEXT    NOT NULL,
    address TEXT    NOT NULL,
    at      INTEGER NOT NULL
);
INSERT INTO sign_in_attempts_new (id, kind, email, address, at)
    SELECT id, kind, email, address, at FROM sign_in_attempts;
DROP TABLE sign_in_attempts;
ALTER TABLE sign_in_attempts_new RENAME TO sign_in_attempts;
CREATE INDEX sign_in_attempts_email ON sign_in_attempts (email, at);
CREATE INDEX sign_in_attempts_address ON sign_in_attempts (address, at);
