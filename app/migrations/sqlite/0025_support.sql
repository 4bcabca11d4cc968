-- Customer support: conversations between a shopper and the shop. The shopper's private link
-- carries a token signed with the server's key for the conversation's id; only its SHA-256 is
-- kept here. Messages are the shopper's, staff's replies, or staff's internal notes.
CREATE TABLE support_conversations (
    id              INTEGER PRIMARY KEY,
    token_hash      TEXT    NOT NULL UNIQUE,
    email           TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    order_id        INTEGER REFERENCES orders (id),
    customer_id     INTEGER REFERENCES customers (id),
    status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'waiting', 'closed')),
    assigned_to     INTEGER REFERENCES accounts (id),
    created_at      INTEGER NOT NULL,
    last_message_at INTEGER NOT NULL
);
CREATE INDEX support_conversations_inbox ON support_conversations (status, last_message_at, id);
CREATE INDEX support_conversations_recent ON support_conversations (last_message_at, id);
CREATE INDEX support_conversations_email ON support_conversations (email, created_at);
CREATE INDEX support_conversations_order ON support_conversations (order_id);
CREATE INDEX support_conversations_customer ON support_conversations (customer_id);

CREATE TABLE support_messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES support_conversations (id),
    author          TEXT    NOT NULL CHECK (author IN ('shopper', 'staff', 'note')),
    staff_id        INTEGER REFERENCES accounts (id),
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX support_messages_conversation ON support_messages (conversation_id, id);

-- Staff who may answer the shop's customers (owners always may).
ALTER TABLE accounts ADD COLUMN can_support INTEGER NOT NULL DEFAULT 0 CHECK (can_support IN (0, 1));
