-- Staff two-factor authentication (TOTP, RFC 6238) with one-time recovery codes.

-- The shared secret (base32) once confirmed; a secret being set up waits in `totp_pending`.
-- `totp_last_step` is the time step of the last code accepted: a code is used at most once.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_pending TEXT;
ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Recovery codes, each usable once; only their hashes are kept.
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    used_at    INTEGER
);
CREATE INDEX recovery_codes_account ON recovery_codes (account_id);

-- A password accepted, a code still to come: the browser holds this token for five minutes.
CREATE TABLE sign_in_challenges (
    token_hash TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tries_left INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- The owner may require every staff member to use a second factor.
ALTER TABLE shop_settings ADD COLUMN require_staff_2fa INTEGER NOT NULL DEFAULT 0 CHECK (require_staff_2fa IN (0, 1));
