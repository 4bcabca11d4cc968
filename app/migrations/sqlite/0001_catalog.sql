-- The catalog: products, their options and variants, images and collections.
-- Money is integer minor units plus an ISO 4217 code; timestamps are Unix seconds.

CREATE TABLE products (
    id              INTEGER PRIMARY KEY,
    slug            TEXT    NOT NULL UNIQUE,
    title           TEXT    NOT NULL,
    description_md  TEXT    NOT NULL DEFAULT '',
    vendor          TEXT    NOT NULL DEFAULT '',
    product_type    TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'active', 'archived')),
    seo_title       TEXT,
    seo_description TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX products_status_created ON products (status, created_at DESC, id DESC);

CREATE TABLE product_tags (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tag        TEXT    NOT NULL,
    PRIMARY KEY (product_id, tag)
);

-- Option names in order ("Size", "Colour"); variants carry the values in option1..3.
CREATE TABLE product_options (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position BETWEEN 1 AND 3),
    name       TEXT    NOT NULL,
    PRIMARY KEY (product_id, position)
);

CREATE TABLE variants (
    id                INTEGER PRIMARY KEY,
    product_id        INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL DEFAULT 0,
    sku               TEXT    NOT NULL UNIQUE,
    option1           TEXT,
    option2           TEXT,
    option3           TEXT,
    price_amount      INTEGER NOT NULL CHECK (price_amount >= 0),
    compare_at_amount INTEGER CHECK (compare_at_amount IS NULL OR compare_at_amount >= 0),
    currency          TEXT    NOT NULL CHECK (length(currency) = 3),
    weight_grams      INTEGER NOT NULL DEFAULT 0 CHECK (weight_grams >= 0),
    on_hand           INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved          INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    backorder         TEXT    NOT NULL DEFAULT 'deny' CHECK (backorder IN ('deny', 'allow'))
);
CREATE INDEX variants_product ON variants (product_id, position);

CREATE TABLE product_images (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    variant_id INTEGER REFERENCES variants (id) ON DELETE SET NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    url        TEXT    NOT NULL,
    alt        TEXT    NOT NULL DEFAULT '',
    width      INTEGER NOT NULL CHECK (width > 0),
    height     INTEGER NOT NULL CHECK (height > 0)
);
CREATE INDEX product_images_product ON product_images (product_id, position);

CREATE TABLE collections (
    id             INTEGER PRIMARY KEY,
    slug           TEXT    NOT NULL UNIQUE,
    title          TEXT    NOT NULL,
    description_md TEXT    NOT NULL DEFAULT '',
    featured       INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE collection_products (
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    product_id    INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection_id, product_id)
);
CREATE INDEX collection_products_order ON collection_products (collection_id, position);
