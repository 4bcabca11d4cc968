-- A picture with a support message (a damaged parcel, a wrong colour): decoded, re-encoded and
-- stored with the shop's media, so what is served is always a plain JPEG or PNG.
ALTER TABLE support_messages ADD COLUMN picture_url TEXT;

-- Answers staff give often ("Where is my parcel?"), kept once and picked in the reply form.
-- `{name}` and `{order}` in the body become the shopper's name and order number.
CREATE TABLE support_saved_replies (
    id         INTEGER PRIMARY KEY,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
