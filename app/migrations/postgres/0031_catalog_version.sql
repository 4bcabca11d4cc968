-- How many times the storefront's catalog changed in ways another process must hear of: a
-- variant that sold out or came back (stock moves in checkout), an import from the command
-- line. Each server keeps its catalog pages' data in memory and reads this number every second
-- to know when to forget it (`catalog::memory`). Staff edits in a server are heard at once.
CREATE TABLE catalog_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);
