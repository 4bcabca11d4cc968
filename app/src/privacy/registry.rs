//! Every column of the database, classified: which hold personal data, how a person's rows
//! are found, and how they are erased. Export and erasure are built from this list, and a test
//! reads the live schema of both databases: a column added anywhere without being listed
//! here fails it, so nobody adds personal data the shop forgets to export or erase.

/// A table, its columns sorted into personal, shown (in an export, not personal) and internal
/// (hashes, keys, bookkeeping).
pub struct Table {
    pub name: &'static str,
    pub personal: &'static [&'static str],
    pub shown: &'static [&'static str],
    pub internal: &'static [&'static str],
    /// How a shopper's rows are found: SQL with `:customer` (their account's id) and `:email`
    /// (lower case). `None`: the table holds no shopper's data (staff's, or none at all).
    pub whose: Option<&'static str>,
    pub erase: Erase,
}

/// What erasing a shopper does to their rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erase {
    /// Nothing of the shopper's here.
    Nothing,
    /// The rows go.
    Delete,
    /// The rows stay (for the books) with these columns replaced: an SQL `SET` list, where
    /// `:now` is the time of erasure.
    Set(&'static str),
    /// Orders stay whole for the books; the email, the search text and the address go, but
    /// the address's country and region stay (they decided the tax charged).
    Orders,
}

impl Table {
    pub fn columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.personal
            .iter()
            .chain(self.shown)
            .chain(self.internal)
            .copied()
    }
}

/// The email orders keep once their shopper's data is erased.
pub const ERASED_EMAIL: &str = "erased@invalid";
/// The name orders keep once their shopper's data is erased.
pub const ERASED_NAME: &str = "Erased customer";

const fn catalog(name: &'static str, columns: &'static [&'static str]) -> Table {
    Table {
        name,
        personal: &[],
        shown: &[],
        internal: columns,
        whose: None,
        erase: Erase::Nothing,
    }
}

/// Staff's own data: personal, but not a shopper's (staff accounts are managed by the owner).
const fn staff(
    name: &'static str,
    personal: &'static [&'static str],
    internal: &'static [&'static str],
) -> Table {
    Table {
        name,
        personal,
        shown: &[],
        internal,
        whose: None,
        erase: Erase::Nothing,
    }
}

/// In the order erasure runs: rows found through orders before the orders lose their email.
pub const TABLES: &[Table] = &[
    Table {
        name: "customers",
        personal: &["email", "name"],
        shown: &["created_at", "verified_at"],
        internal: &["id", "erased_at", "passkey_handle"],
        whose: Some("id = :customer"),
        erase: Erase::Set(
            "email = 'erased-' || CAST(id AS TEXT) || '@invalid', name = '', erased_at = :now, \
             passkey_handle = NULL",
        ),
    },
    Table {
        name: "customer_addresses",
        personal: &[
            "name",
            "line1",
            "line2",
            "city",
            "postal_code",
            "region",
            "country",
        ],
        shown: &["is_default", "created_at"],
        internal: &["id", "customer_id"],
        whose: Some("customer_id = :customer"),
        erase: Erase::Delete,
    },
    Table {
        // What the shopper has in their cart is theirs as much as their address is.
        name: "customer_cart_lines",
        personal: &["variant_id", "quantity"],
        shown: &["edited_at"],
        internal: &["customer_id"],
        whose: Some("customer_id = :customer"),
        erase: Erase::Delete,
    },
    Table {
        name: "customer_passkeys",
        personal: &["name"],
        shown: &["created_at", "last_used_at"],
        // A public key and a counter: nothing that tells who the shopper is.
        internal: &["id", "customer_id", "credential_id", "passkey"],
        whose: Some("customer_id = :customer"),
        erase: Erase::Delete,
    },
    Table {
        name: "passkey_ceremonies",
        personal: &[],
        shown: &[],
        internal: &["id_hash", "customer_id", "state", "expires_at"],
        whose: Some("customer_id = :customer"),
        erase: Erase::Delete,
    },
    Table {
        name: "customer_sessions",
        personal: &[],
        shown: &["created_at", "last_seen_at"],
        internal: &["token_hash", "customer_id"],
        whose: Some("customer_id = :customer"),
        erase: Erase::Delete,
    },
    Table {
        name: "shipments",
        personal: &["tracking_number"],
        shown: &["carrier", "status", "created_at", "delivered_at"],
        internal: &["id", "order_id"],
        whose: Some(
            "order_id IN (SELECT id FROM orders WHERE customer_id = :customer OR lower(email) = :email)",
        ),
        erase: Erase::Set("tracking_number = ''"),
    },
    Table {
        name: "orders",
        personal: &["email", "address_json", "search_text"],
        shown: &[
            "status",
            "currency",
            "subtotal_amount",
            "shipping_amount",
            "tax_amount",
            "total_amount",
            "refunded_amount",
            "discount_amount",
            "gift_card_amount",
            "prices_include_tax",
            "shipping_name",
            "fulfilment",
            "created_at",
            "paid_at",
        ],
        internal: &[
            "id",
            "access_token",
            "idempotency_key",
            "request_hash",
            "shipping_code",
            "gateway",
            "payment_ref",
            "reserved_until",
            "updated_at",
            "customer_id",
            // Where the shopper came from (a site or campaign), not who they are.
            "source",
            "medium",
            "campaign",
        ],
        whose: Some("customer_id = :customer OR lower(email) = :email"),
        erase: Erase::Orders,
    },
    Table {
        // The consent record goes with the rest: an erased person is asked again next time.
        name: "newsletter_subscribers",
        personal: &["email"],
        shown: &["status", "source", "wording", "asked_at", "confirmed_at", "unsubscribed_at"],
        internal: &["id", "token_hash"],
        whose: Some("email = :email"),
        erase: Erase::Delete,
    },
    Table {
        // The discounts an order took: kept for the books; who took them goes. (An erased
        // shopper may use a once-per-customer code again: the shop forgot them.)
        name: "order_discounts",
        personal: &["email", "once_key"],
        shown: &["code", "title", "amount", "shipping_amount", "created_at", "released_at"],
        internal: &["id", "order_id", "discount_id", "customer_id", "counted"],
        whose: Some("customer_id = :customer OR email = :email"),
        erase: Erase::Set("email = 'erased@invalid', customer_id = NULL, once_key = NULL"),
    },
    Table {
        // A gift card sent to someone: the card stays (its balance is money the shop owes),
        // the recipient's address goes.
        name: "gift_cards",
        personal: &["recipient_email"],
        shown: &["last4", "currency", "initial_amount", "balance", "expires_at", "created_at"],
        internal: &["id", "code_hash", "note", "order_id", "disabled_at", "updated_at"],
        whose: Some("lower(recipient_email) = :email"),
        erase: Erase::Set("recipient_email = NULL"),
    },
    Table {
        name: "sign_in_codes",
        personal: &["email"],
        shown: &["created_at", "expires_at"],
        internal: &["code_hash", "tries_left"],
        whose: Some("email = :email"),
        erase: Erase::Delete,
    },
    Table {
        name: "sign_in_attempts",
        personal: &["email"],
        shown: &["kind", "at"],
        internal: &["id", "address_hash"],
        whose: Some("email = :email"),
        erase: Erase::Delete,
    },
    Table {
        name: "sign_in_failures",
        personal: &["email"],
        shown: &["at"],
        internal: &["id", "address_hash"],
        whose: Some("lower(email) = :email"),
        erase: Erase::Delete,
    },
    Table {
        name: "outbox",
        personal: &["recipient", "subject", "body_text", "body_html"],
        shown: &["kind", "created_at", "sent_at"],
        internal: &["id", "attempts", "claimed_until", "last_error", "unsubscribe_url"],
        whose: Some("lower(recipient) = :email"),
        erase: Erase::Delete,
    },
    Table {
        // A return stays for the books (what came back, what was paid back); the shopper's
        // comment goes, and the link to its conversation, which goes next.
        name: "returns",
        personal: &["comment"],
        shown: &[
            "rma",
            "order_id",
            "status",
            "staff_message",
            "shipping_fee_amount",
            "restocking_percent",
            "refund_amount",
            "created_at",
            "updated_at",
            "exchange_variant_id",
            "replacement_order_id",
        ],
        internal: &["id", "conversation_id"],
        whose: Some(
            "order_id IN (SELECT id FROM orders WHERE customer_id = :customer OR lower(email) = :email)",
        ),
        erase: Erase::Set("comment = '', conversation_id = NULL"),
    },
    Table {
        // What a shopper wrote to the shop, and the answers (staff's notes too: about them).
        // Found through their conversations, so before those go.
        name: "support_messages",
        personal: &["body", "picture_url"],
        shown: &["author", "created_at"],
        internal: &["id", "conversation_id", "staff_id"],
        whose: Some(
            "conversation_id IN (SELECT id FROM support_conversations \
             WHERE email = :email OR customer_id = :customer)",
        ),
        erase: Erase::Delete,
    },
    Table {
        name: "support_conversations",
        personal: &["email", "name"],
        shown: &["status", "created_at", "last_message_at", "order_id"],
        internal: &["id", "token_hash", "customer_id", "assigned_to"],
        whose: Some("email = :email OR customer_id = :customer"),
        erase: Erase::Delete,
    },
    Table {
        // Who a campaign went to: the address, and whether their copy was queued.
        name: "campaign_recipients",
        personal: &["email"],
        shown: &["campaign_id", "status"],
        internal: &["id", "outbox_id"],
        whose: Some("email = :email"),
        erase: Erase::Delete,
    },
    // A campaign is the shop's own writing; `created_by` is a staff account's id.
    catalog(
        "campaigns",
        &[
            "id",
            "subject",
            "body_markdown",
            "status",
            "created_by",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
            "next_batch_at",
        ],
    ),
    Table {
        // A checkout kept for its reminder: the address and what was in the cart.
        name: "checkout_reminders",
        personal: &["email", "cart_json"],
        shown: &["started_at", "sent_at", "outcome"],
        internal: &["id", "token_hash"],
        whose: Some("email = :email"),
        erase: Erase::Delete,
    },
    staff(
        "accounts",
        &["email"],
        &[
            "id",
            "password_hash",
            "role",
            "can_refund",
            "can_privacy",
            "can_support",
            "can_analytics",
            "disabled",
            "created_at",
            "totp_secret",
            "totp_pending",
            "totp_last_step",
        ],
    ),
    staff(
        "recovery_codes",
        &[],
        &["id", "account_id", "code_hash", "used_at"],
    ),
    staff(
        "sign_in_challenges",
        &[],
        &["token_hash", "account_id", "tries_left", "expires_at"],
    ),
    staff(
        "sessions",
        &[],
        &["token_hash", "account_id", "created_at", "last_seen_at"],
    ),
    staff(
        "audit_log",
        &["actor"],
        &[
            "id",
            "account_id",
            "action",
            "subject",
            "detail",
            "created_at",
        ],
    ),
    staff(
        "api_tokens",
        &["created_by"],
        &[
            "id",
            "account_id",
            "name",
            "token_hash",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        ],
    ),
    // Bought lines, payments and stock: the books. Not personal by themselves; an export shows
    // them with their orders.
    catalog(
        "order_lines",
        &[
            "id",
            "order_id",
            "variant_id",
            "sku",
            "title",
            "variant_title",
            "quantity",
            "backordered_quantity",
            "unit_price_amount",
            "tax_amount",
            "total_amount",
            "shipped_quantity",
            "discount_amount",
            "refunded_quantity",
            "returned_quantity",
        ],
    ),
    // Staff's own wording, picked in replies; nothing of a shopper's.
    // Analytics name nobody: a visitor is a keyed hash under a salt deleted after two days,
    // with no address, user agent or account beside it; an order's events hold its id only.
    catalog("analytics_salts", &["day", "salt"]),
    // A counter of catalog changes, read by every server (`catalog::memory`).
    catalog("catalog_version", &["id", "version"]),
    catalog(
        "analytics_events",
        &[
            "id", "at", "day", "kind", "visitor", "path", "product_id", "variant_id", "query",
            "results", "order_id",
        ],
    ),
    catalog(
        "analytics_visits",
        &[
            "day", "visitor", "page_views", "sessions", "first_at", "last_at", "steps", "source",
            "medium", "campaign",
        ],
    ),
    catalog("analytics_hours", &["day", "hour", "page_views"]),
    catalog(
        "analytics_days",
        &[
            "day", "visitors", "sessions", "product_views", "add_to_carts", "checkouts", "orders",
        ],
    ),
    catalog(
        "analytics_sources",
        &["day", "source", "medium", "campaign", "visitors"],
    ),
    catalog(
        "analytics_products",
        &["day", "product_id", "views", "add_to_carts"],
    ),
    catalog(
        "analytics_searches",
        &["day", "query", "searches", "results", "clicks"],
    ),
    catalog(
        "support_saved_replies",
        &["id", "title", "body", "created_at", "updated_at"],
    ),
    catalog(
        "return_lines",
        &[
            "return_id",
            "order_line_id",
            "quantity",
            "reason",
            "restocked_quantity",
            "damaged_quantity",
        ],
    ),
    catalog(
        "gift_card_ledger",
        &["id", "gift_card_id", "kind", "amount", "balance_after", "order_id", "note", "created_at"],
    ),
    catalog("server_secrets", &["name", "value", "created_at"]),
    catalog(
        "discounts",
        &[
            "id",
            "title",
            "code",
            "code_key",
            "kind",
            "rule_json",
            "minimum_subtotal",
            "minimum_quantity",
            "starts_at",
            "ends_at",
            "usage_limit",
            "times_used",
            "once_per_customer",
            "first_order_only",
            "combines_product",
            "combines_order",
            "combines_shipping",
            "deactivated_at",
            "created_at",
            "updated_at",
        ],
    ),
    catalog(
        "payments",
        &[
            "id",
            "order_id",
            "gateway",
            "kind",
            "status",
            "amount",
            "currency",
            "reference",
            "message",
            "created_at",
            "idempotency_key",
            "gift_card_amount",
        ],
    ),
    catalog(
        "shipment_lines",
        &["shipment_id", "order_line_id", "quantity"],
    ),
    catalog(
        "stock_ledger",
        &[
            "id",
            "variant_id",
            "order_id",
            "reason",
            "on_hand_delta",
            "reserved_delta",
            "note",
            "created_at",
        ],
    ),
    catalog(
        "webhook_events",
        &["id", "gateway", "event_type", "received_at"],
    ),
    catalog(
        "products",
        &[
            "id",
            "slug",
            "title",
            "description_md",
            "vendor",
            "product_type",
            "status",
            "seo_title",
            "seo_description",
            "created_at",
            "updated_at",
            "final_sale",
        ],
    ),
    catalog(
        "variants",
        &[
            "id",
            "product_id",
            "position",
            "sku",
            "option1",
            "option2",
            "option3",
            "price_amount",
            "compare_at_amount",
            "currency",
            "weight_grams",
            "on_hand",
            "reserved",
            "backorder",
            "version",
            "low_stock_threshold",
            "archived_at",
        ],
    ),
    catalog(
        "product_images",
        &[
            "id",
            "product_id",
            "variant_id",
            "position",
            "url",
            "alt",
            "width",
            "height",
            "srcset",
            "webp_srcset",
        ],
    ),
    catalog("product_options", &["product_id", "position", "name"]),
    catalog("product_tags", &["product_id", "tag"]),
    catalog(
        "collections",
        &[
            "id",
            "slug",
            "title",
            "description_md",
            "featured",
            "created_at",
            "updated_at",
        ],
    ),
    catalog(
        "collection_products",
        &["collection_id", "product_id", "position"],
    ),
    catalog(
        "catalog_listing",
        &[
            "collection_id",
            "product_id",
            "position",
            "created_at",
            "title",
            "min_price",
            "buyable",
            // SQLite only (migration 0035).
            "facet_bits",
        ],
    ),
    catalog("catalog_facets", &["collection_id", "facet", "product_id"]),
    catalog("product_cards", &["product_id", "card"]),
    // SQLite only: the option values, numbered for `catalog_listing.facet_bits` (migration 0035).
    catalog("catalog_facet_bits", &["id", "facet"]),
    // SQLite only, empty outside an import's batch (migration 0031).
    catalog("catalog_listing_deferred", &["product_id"]),
    // The search index: SQLite's FTS5 table and its shadow tables, Postgres's documents.
    catalog(
        "product_search",
        &[
            "title",
            "description",
            "tags",
            "skus",
            "product_id",
            "document",
            "title_words",
            "label_words",
            "untitled_words",
        ],
    ),
    // Each title's words with the title, for searches sorted by name (SQLite 0033, Postgres 0032).
    catalog("product_title_words", &["word", "title", "product_id"]),
    // SQLite: the words of each product not in its title (migration 0034), and its shadow tables.
    catalog("product_untitled_words", &["words"]),
    catalog("product_untitled_words_config", &["k", "v"]),
    catalog("product_untitled_words_data", &["id", "block"]),
    catalog("product_untitled_words_docsize", &["id", "sz", "origin"]),
    catalog("product_untitled_words_idx", &["segid", "term", "pgno"]),
    catalog("product_search_config", &["k", "v"]),
    catalog("product_search_content", &["id", "c0", "c1", "c2", "c3"]),
    catalog("product_search_data", &["id", "block"]),
    catalog("product_search_docsize", &["id", "sz"]),
    catalog("product_search_idx", &["segid", "term", "pgno"]),
    // SQLite only: each product's words, and the always empty table that splits them (0032).
    catalog("product_words", &["product_id", "words"]),
    catalog("product_words_scratch", &["text"]),
    catalog("product_words_scratch_config", &["k", "v"]),
    catalog("product_words_scratch_data", &["id", "block"]),
    catalog("product_words_scratch_idx", &["segid", "term", "pgno"]),
    catalog(
        "product_words_scratch_terms",
        &["term", "doc", "col", "offset"],
    ),
    catalog(
        "shop_settings",
        &[
            "id",
            "currency",
            "prices_include_tax",
            "reservation_minutes",
            "shop_name",
            "email_from",
            "retention_days",
            "reminder_hours",
            "require_staff_2fa",
            "return_window_days",
            "return_shipping_fee",
            "restocking_fee_percent",
            "time_zone",
            "analytics_retention_days",
        ],
    ),
    catalog("shipping_zones", &["id", "name", "countries", "position"]),
    catalog(
        "shipping_rates",
        &[
            "id",
            "zone_id",
            "code",
            "name",
            "price_amount",
            "free_above_amount",
            "min_days",
            "max_days",
            "position",
        ],
    ),
    catalog(
        "tax_rates",
        &["id", "country", "region", "name", "rate_bp"],
    ),
];

/// The listed table called `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_column_is_listed_twice_and_every_shoppers_table_says_how_to_find_and_erase_rows() {
        let mut names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len(), "a table listed twice");
        for table in TABLES {
            let mut columns: Vec<&str> = table.columns().collect();
            let all = columns.len();
            columns.sort_unstable();
            columns.dedup();
            assert_eq!(columns.len(), all, "{}: a column listed twice", table.name);
            if table.whose.is_some() {
                assert_ne!(table.erase, Erase::Nothing, "{}", table.name);
            } else {
                assert_eq!(table.erase, Erase::Nothing, "{}", table.name);
            }
        }
    }
}
