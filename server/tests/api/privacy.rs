//! Personal data on both databases: every column of the live schema is classified in the
//! registry; an export holds every registered column of a shopper; an erasure leaves none of
//! their data and the books whole; staff act on requests by email; unpaid orders are
//! forgotten after the retention period.

use app::admin::Role;
use app::privacy::registry::{self, TABLES};
use serde_json::{json, Value};
use sqlx::Row;

use crate::accounts::{ask_for_code, sign_in_with_code, signed_in};
use crate::admin::{account, sign_in};
use crate::checkout::{checkout, count, order_body, variant_with_stock};
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    every_column_of_the_schema_is_classified,
    an_export_holds_every_registered_column_of_the_shopper,
    deleting_an_account_erases_every_registered_column_and_keeps_the_books,
    staff_allowed_to_export_and_erase_by_email_and_the_log_keeps_no_email,
    unpaid_orders_lose_their_personal_data_after_the_retention_period,
);

/// Markers in every piece of the shopper's data, to find any left after erasure.
const EMAIL: &str = "zed.quux@example.com";
const NAME: &str = "Zed Quuxley";
const STREET: &str = "Quuxstraße 9";

/// Every (table, column) of the database as it is.
async fn schema(app: &TestApp, backend: Backend) -> Vec<(String, String)> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'"
        }
        Backend::Postgres => {
            "SELECT c.table_name::text AS t, c.column_name::text AS c FROM information_schema.columns c \
             JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE t.table_type = 'BASE TABLE' AND c.table_schema = current_schema() \
             AND c.table_name NOT LIKE '_sqlx%'"
        }
    };
    sqlx::query(sql)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("t"), r.get("c")))
        .collect()
}

async fn every_column_of_the_schema_is_classified(backend: Backend) {
    let app = spawn_app(backend).await;
    let columns = schema(&app, backend).await;
    assert!(
        columns.len() > 100,
        "the schema was read: {}",
        columns.len()
    );
    let mut unlisted = Vec::new();
    for (table, column) in &columns {
        let listed = registry::table(table).is_some_and(|t| t.columns().any(|c| c == column));
        if !listed {
            unlisted.push(format!("{table}.{column}"));
        }
    }
    assert!(
        unlisted.is_empty(),
        "columns the privacy registry does not classify (app/src/privacy/registry.rs): {unlisted:?}"
    );
    // The tables a shopper's data is found in are exactly as listed.
    for table in TABLES.iter().filter(|t| t.whose.is_some()) {
        for column in table.columns() {
            assert!(
                columns.iter().any(|(t, c)| t == table.name && c == column),
                "{}.{column} is listed but not in the database",
                table.name
            );
        }
    }
}

/// A shopper with data in every table a shopper's data can be in; their session token.
async fn shopper_everywhere(app: &TestApp) -> String {
    let (variant, _) = variant_with_stock(app, 0, 20).await;
    // A guest order first, then an account, an address, an order while signed in.
    let mut body = order_body(&[(variant, 1)], "pm_card_visa");
    body["email"] = json!("Zed.Quux@Example.com");
    body["shipping_address"]["name"] = json!(NAME);
    body["shipping_address"]["line1"] = json!(STREET);
    assert_eq!(checkout(app, &body, "privacy-guest").await.0, 201);
    let token = signed_in(app, EMAIL).await;
    let response = app
        .client
        .post(format!("{}/api/v1/customer/addresses", app.address))
        .bearer_auth(&token)
        .json(&json!({ "address": body["shipping_address"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // A newsletter sign-up (its consent record is theirs).
    let (status, _) = app
        .post_json("/api/v1/newsletter", &json!({"email": EMAIL}), &[])
        .await;
    assert_eq!(status, 202);
    // The signed-in order takes a discount: who took it is theirs too.
    crate::discounts::a_discount(app).await;
    body["discount_codes"] = json!(["TEST"]);
    let response = app
        .client
        .post(format!("{}/api/v1/checkout", app.address))
        .bearer_auth(&token)
        .header("Idempotency-Key", "privacy-signed-in")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let response = app
        .client
        .put(format!("{}/api/v1/customer/cart", app.address))
        .bearer_auth(&token)
        .json(&json!({ "lines": [{ "variant_id": variant, "quantity": 2 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A shipment with a tracking number, a wrong code, a code waiting, a staff sign-in tried
    // with the shopper's email, a name on the account.
    let order: i64 = sqlx::query_scalar("SELECT MIN(id) FROM orders")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO shipments (order_id, carrier, tracking_number, status, created_at) \
         VALUES ($1, 'DHL', 'QUUX-TRACK-1', 'shipped', 0)",
    )
    .bind(order)
    .execute(app.db.pool())
    .await
    .unwrap();
    // A return with the shopper's own words.
    sqlx::query(
        "INSERT INTO returns (rma, order_id, status, comment, shipping_fee_amount, restocking_percent, created_at, updated_at) \
         VALUES ('R-PRIVACY-1', $1, 'requested', $2, 0, 0, 0, 0)",
    )
    .bind(order)
    .bind(format!("{NAME} says it was too small"))
    .execute(app.db.pool())
    .await
    .unwrap();
    assert_eq!(ask_for_code(app, EMAIL).await.0, 202);
    assert_eq!(sign_in_with_code(app, EMAIL, "000000").await.0 / 100, 4);
    assert_eq!(ask_for_code(app, EMAIL).await.0, 202);
    assert!(sign_in(app, EMAIL, "not the password").await.is_err());
    sqlx::query("UPDATE customers SET name = $1 WHERE email = $2")
        .bind(NAME)
        .bind(EMAIL)
        .execute(app.db.pool())
        .await
        .unwrap();
    // A gift card sent to the shopper.
    sqlx::query(
        "INSERT INTO gift_cards (code_hash, last4, currency, initial_amount, balance, recipient_email, created_at, updated_at) \
         VALUES ('hash-for-the-shopper', 'WXYZ', 'EUR', 2500, 2500, $1, 0, 0)",
    )
    .bind(EMAIL)
    .execute(app.db.pool())
    .await
    .unwrap();
    // A checkout kept for its reminder.
    sqlx::query(
        "INSERT INTO checkout_reminders (email, cart_json, token_hash, started_at) \
         VALUES ($1, '{\"lines\":[[1,2]],\"codes\":[]}', 'reminder-hash', 5)",
    )
    .bind(EMAIL)
    .execute(app.db.pool())
    .await
    .unwrap();
    // A conversation with the shop.
    let (status, _) = app
        .post_json(
            "/api/v1/support/conversations",
            &json!({"email": EMAIL, "name": NAME, "message": format!("{NAME} asks about sizes")}),
            &[],
        )
        .await;
    assert_eq!(status, 201);
    // A campaign that went to the shopper.
    let campaign = crate::campaigns::a_campaign(app).await;
    sqlx::query(
        "INSERT INTO campaign_recipients (campaign_id, email, status) VALUES ($1, $2, 'skipped')",
    )
    .bind(campaign)
    .bind(EMAIL)
    .execute(app.db.pool())
    .await
    .unwrap();
    // A passkey named after the shopper (its key material is public and not theirs to read).
    sqlx::query(
        "INSERT INTO customer_passkeys (customer_id, credential_id, name, passkey, created_at, last_used_at) \
         SELECT id, 'cred-1', $1, '{}', 0, 5 FROM customers WHERE email = $2",
    )
    .bind(format!("{NAME}'s phone"))
    .bind(EMAIL)
    .execute(app.db.pool())
    .await
    .unwrap();
    token
}

async fn an_export_holds_every_registered_column_of_the_shopper(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = shopper_everywhere(&app).await;
    let response = get_raw(&app, "/api/v1/customer/export", &token).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["email"], EMAIL);
    let shown = |t: &&registry::Table| !t.personal.is_empty() || !t.shown.is_empty();
    for table in TABLES.iter().filter(|t| t.whose.is_some()).filter(shown) {
        let rows = export["data"][table.name]
            .as_array()
            .unwrap_or_else(|| panic!("{} is in the export", table.name));
        assert!(!rows.is_empty(), "{} has the shopper's rows", table.name);
        for column in table.personal.iter().chain(table.shown) {
            let key = column.strip_suffix("_json").unwrap_or(column);
            assert!(
                rows.iter().all(|row| row.get(key).is_some()),
                "{}.{column} is in the export: {}",
                table.name,
                rows[0]
            );
        }
    }
    let orders = export["data"]["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "the guest order and the signed-in one");
    for order in orders {
        assert_eq!(order["address"]["line1"], STREET);
        assert_eq!(order["lines"].as_array().unwrap().len(), 1);
        assert_eq!(order["payments"][0]["kind"], "charge");
        assert!(order["created_at"].as_str().unwrap().ends_with('Z'));
    }
    // Secrets are not part of anyone's data.
    let text = export.to_string();
    assert!(
        !text.contains("token_hash")
            && !text.contains("code_hash")
            && !text.contains("access_token")
    );
    // Someone else's export has none of it.
    let other = signed_in(&app, "other@example.com").await;
    let response = get_raw(&app, "/api/v1/customer/export", &other).await;
    let theirs = response.text().await.unwrap();
    assert!(!theirs.contains("Quux"), "{theirs}");
}

/// Every value of the registered personal columns that still holds one of the markers.
async fn leftovers(app: &TestApp) -> Vec<String> {
    let mut found = Vec::new();
    for table in TABLES.iter().filter(|t| t.whose.is_some()) {
        for column in table.personal {
            let values: Vec<Option<String>> = sqlx::query_scalar(&format!(
                "SELECT CAST({column} AS TEXT) FROM {}",
                table.name
            ))
            .fetch_all(app.db.pool())
            .await
            .unwrap();
            for value in values.into_iter().flatten() {
                let lower = value.to_lowercase();
                if lower.contains("quux") {
                    found.push(format!("{}.{column}: {value}", table.name));
                }
            }
        }
    }
    found
}

async fn deleting_an_account_erases_every_registered_column_and_keeps_the_books(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = shopper_everywhere(&app).await;
    assert!(
        !leftovers(&app).await.is_empty(),
        "the markers are there to find"
    );
    let books = "SELECT CAST(SUM(total_amount) AS BIGINT) FROM orders";
    let (total, tax, lines) = (
        count(&app, books).await,
        count(&app, "SELECT CAST(SUM(tax_amount) AS BIGINT) FROM orders").await,
        count(&app, "SELECT COUNT(*) FROM order_lines").await,
    );

    let response = app
        .client
        .delete(format!("{}/api/v1/customer", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(leftovers(&app).await, Vec::<String>::new());
    // The books are whole: every order, its totals, taxes and lines; the country it was taxed in.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 2);
    assert_eq!(count(&app, books).await, total);
    assert_eq!(
        count(&app, "SELECT CAST(SUM(tax_amount) AS BIGINT) FROM orders").await,
        tax
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM order_lines").await, lines);
    let address: String = sqlx::query_scalar("SELECT address_json FROM orders LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let address: Value = serde_json::from_str(&address).unwrap();
    assert_eq!(address["country"], "DE");
    assert_eq!(address["name"], registry::ERASED_NAME);
    // The old session is over; the same email starts a new, empty account.
    let old = get_raw(&app, "/api/v1/customer", &token).await;
    assert_eq!(old.status(), 401);
    let new = signed_in(&app, EMAIL).await;
    let (_, me) = get(&app, "/api/v1/customer", &new).await;
    assert_eq!(me["email"], EMAIL);
    let (_, orders) = get(&app, "/api/v1/customer/orders", &new).await;
    assert_eq!(orders["items"], json!([]), "erased orders do not come back");
    let (_, addresses) = get(&app, "/api/v1/customer/addresses", &new).await;
    assert_eq!(addresses["items"], json!([]));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers").await, 2);
}

async fn get_raw(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let response = get_raw(app, path, token).await;
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn staff_allowed_to_export_and_erase_by_email_and_the_log_keeps_no_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 5).await;
    // A guest who never made an account.
    let mut body = order_body(&[(variant, 1)], "pm_card_visa");
    body["email"] = json!(EMAIL);
    body["shipping_address"]["line1"] = json!(STREET);
    assert_eq!(checkout(&app, &body, "privacy-staff").await.0, 201);
    let owner = account(&app, "owner@shop.test", Role::Owner, true).await;
    let staff = account(&app, "staff@shop.test", Role::Staff, true).await;
    app::admin::auth::create_account_with(
        &app.db,
        "dpo@shop.test",
        "a long enough password",
        Role::Staff,
        false,
        true,
    )
    .await
    .unwrap();
    let dpo = sign_in(&app, "dpo@shop.test", "a long enough password")
        .await
        .unwrap();

    let export = |cookie: String| {
        let app = &app;
        async move {
            app.client
                .get(format!(
                    "{}/admin/privacy/export?email=Zed.Quux%40example.com",
                    app.address
                ))
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(export(staff.clone()).await.status(), 403);
    for cookie in [owner.clone(), dpo.clone()] {
        let response = export(cookie).await;
        assert_eq!(response.status(), 200);
        let document: Value = response.json().await.unwrap();
        assert_eq!(document["data"]["orders"][0]["address"]["line1"], STREET);
    }

    let erase = |cookie: String, confirm: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/admin/privacy/erase", app.address))
                .header("Origin", &app.address)
                .header("Cookie", cookie)
                .form(&[("email", EMAIL), ("confirm", confirm)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(erase(staff, "yes").await.status(), 403);
    let unconfirmed = erase(dpo.clone(), "").await;
    assert_eq!(unconfirmed.status(), 422);
    assert!(
        !leftovers(&app).await.is_empty(),
        "nothing erased without confirming"
    );
    let done = erase(dpo, "yes").await;
    assert_eq!(done.status(), 303);
    assert!(done.headers()["location"]
        .to_str()
        .unwrap()
        .contains("notice="));
    assert_eq!(leftovers(&app).await, Vec::<String>::new());
    let logged: Vec<String> = sqlx::query_scalar(
        "SELECT action || ' ' || detail FROM audit_log WHERE subject = 'privacy' ORDER BY id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(logged.len(), 3, "two exports and the erasure: {logged:?}");
    assert!(logged[2].starts_with("privacy.erase a guest"), "{logged:?}");
    assert!(
        logged.iter().all(|l| !l.to_lowercase().contains("quux")),
        "{logged:?}"
    );
}

async fn unpaid_orders_lose_their_personal_data_after_the_retention_period(backend: Backend) {
    let app = spawn_app(backend).await;
    let (variant, _) = variant_with_stock(&app, 0, 5).await;
    let mut body = order_body(&[(variant, 1)], "pm_card_chargeDeclined");
    body["email"] = json!(EMAIL);
    assert_eq!(checkout(&app, &body, "privacy-declined").await.0, 402);
    let mut paid = order_body(&[(variant, 1)], "pm_card_visa");
    paid["email"] = json!("paid.quux@example.com");
    assert_eq!(checkout(&app, &paid, "privacy-paid").await.0, 201);
    let day = 24 * 60 * 60;
    sqlx::query("UPDATE orders SET created_at = created_at - $1")
        .bind(31 * day)
        .execute(app.db.pool())
        .await
        .unwrap();
    let now = app::db::now_epoch();
    // Kept for 60 days: nothing yet.
    sqlx::query("UPDATE shop_settings SET retention_days = 60")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        app::privacy::forget_unpaid_orders(&app.db, now)
            .await
            .unwrap(),
        0
    );
    // The default 30: the declined order's shopper is forgotten, the paid order stays.
    sqlx::query("UPDATE shop_settings SET retention_days = 30")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        app::privacy::forget_unpaid_orders(&app.db, now)
            .await
            .unwrap(),
        1
    );
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM orders ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(emails, [registry::ERASED_EMAIL, "paid.quux@example.com"]);
    assert_eq!(
        app::privacy::forget_unpaid_orders(&app.db, now)
            .await
            .unwrap(),
        0
    );
}
