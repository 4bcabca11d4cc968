//! The Stripe gateway against a local stub of the endpoints it calls, and its webhook with
//! signatures made as Stripe makes them (HMAC-SHA256 of "{timestamp}.{body}").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::Row;

use crate::checkout::{checkout, count, ledger_of, stock_of, token_of, variant_with_stock};
use crate::helpers::{spawn_app_with, Backend, Options, TestApp};
use crate::on_both_databases;

on_both_databases!(
    checkout_creates_one_payment_intent_for_the_server_total,
    a_signed_webhook_marks_the_order_paid_exactly_once,
    forged_and_stale_webhooks_are_refused,
    events_out_of_order_converge,
    the_return_and_the_webhook_settle_once_whichever_is_first,
    reconciliation_finds_payments_the_webhook_missed,
    expiry_cancels_the_intent_or_finds_it_paid,
    refunds_go_through_stripe_once_per_key,
    cancelling_a_pending_order_whose_payment_succeeded_refunds_it,
    a_refund_goes_through_the_gateway_that_took_the_payment,
);

const WEBHOOK_SECRET: &str = "whsec_kassa_test_0123456789";

#[derive(Default)]
struct StubState {
    /// (idempotency key, form) of every refund asked for.
    refunds: Vec<(Option<String>, HashMap<String, String>)>,
    intents: HashMap<String, Value>,
    /// Idempotency key → intent id, as Stripe keeps them.
    keys: HashMap<String, String>,
    creates: Vec<(Option<String>, HashMap<String, String>)>,
}

#[derive(Clone, Default)]
struct Stub(Arc<Mutex<StubState>>);

impl Stub {
    fn set_status(&self, id: &str, status: &str) {
        self.0.lock().unwrap().intents.get_mut(id).unwrap()["status"] = json!(status);
    }
    fn status(&self, id: &str) -> String {
        self.0.lock().unwrap().intents[id]["status"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap().to_string())
}

async fn create_intent(
    State(stub): State<Stub>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    let key = idempotency_key(&headers);
    let mut state = stub.0.lock().unwrap();
    state.creates.push((key.clone(), form.clone()));
    if let Some(id) = key.as_ref().and_then(|k| state.keys.get(k)) {
        return Json(state.intents[id].clone());
    }
    let id = format!("pi_test_{}", state.intents.len() + 1);
    let intent = json!({
        "id": id, "object": "payment_intent",
        "amount": form["amount"].parse::<i64>().unwrap(), "amount_capturable": 0, "amount_received": 0,
        "capture_method": "automatic", "confirmation_method": "automatic", "created": 1_700_000_000,
        "currency": form["currency"], "livemode": false, "metadata": {},
        "payment_method_types": ["card"], "status": "requires_payment_method",
        "client_secret": format!("{id}_secret_abc"),
    });
    state.intents.insert(id.clone(), intent.clone());
    if let Some(key) = key {
        state.keys.insert(key, id);
    }
    Json(intent)
}

async fn retrieve_intent(State(stub): State<Stub>, Path(id): Path<String>) -> impl IntoResponse {
    match stub.0.lock().unwrap().intents.get(&id) {
        Some(intent) => (StatusCode::OK, Json(intent.clone())),
        None => (
            StatusCode::NOT_FOUND,
            Json(
                json!({"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}),
            ),
        ),
    }
}

async fn cancel_intent(State(stub): State<Stub>, Path(id): Path<String>) -> impl IntoResponse {
    let mut state = stub.0.lock().unwrap();
    let intent = state.intents.get_mut(&id).unwrap();
    if intent["status"] == "succeeded" {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
                "message": "You cannot cancel this PaymentIntent because it has a status of succeeded."}}),
            ),
        );
    }
    intent["status"] = json!("canceled");
    (StatusCode::OK, Json(intent.clone()))
}

async fn create_refund(
    State(stub): State<Stub>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    let key = idempotency_key(&headers);
    let mut state = stub.0.lock().unwrap();
    let seen = state
        .refunds
        .iter()
        .position(|(k, _)| k.is_some() && *k == key);
    let n = match seen {
        Some(n) => n + 1,
        None => {
            state.refunds.push((key, form.clone()));
            state.refunds.len()
        }
    };
    Json(json!({
        "id": format!("re_test_{n}"), "object": "refund", "amount": form["amount"].parse::<i64>().unwrap(),
        "created": 1_700_000_000, "currency": "eur", "payment_intent": form["payment_intent"], "status": "succeeded"
    }))
}

async fn spawn_stub() -> (Stub, String) {
    let stub = Stub::default();
    let router = Router::new()
        .route("/v1/payment_intents", post(create_intent))
        .route("/v1/payment_intents/{id}", get(retrieve_intent))
        .route("/v1/payment_intents/{id}/cancel", post(cancel_intent))
        .route("/v1/refunds", post(create_refund))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (stub, address)
}

async fn spawn_stripe_shop(backend: Backend) -> (TestApp, Stub) {
    let (stub, base) = spawn_stub().await;
    let app = spawn_app_with(
        backend,
        Options {
            env: vec![
                ("KASSA_PAYMENT_GATEWAY", "stripe".into()),
                ("STRIPE_SECRET_KEY", "sk_test_kassa".into()),
                ("STRIPE_PUBLISHABLE_KEY", "pk_test_kassa".into()),
                ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
                ("STRIPE_API_BASE", base),
            ],
            ..Options::default()
        },
    )
    .await;
    (app, stub)
}

fn stripe_order(lines: &[(i64, u32)]) -> Value {
    let mut body = crate::checkout::order_body(lines, "");
    body["payment"] = json!({"gateway": "stripe"});
    body
}

/// Places a Stripe order; its number, access token and PaymentIntent id.
async fn place(app: &TestApp, lines: &[(i64, u32)]) -> (String, String, String) {
    let (status, placed) = checkout(
        app,
        &stripe_order(lines),
        &app::checkout::service::random_token(),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let secret = placed["next_action"]["client_secret"].as_str().unwrap();
    let intent = secret.split("_secret_").next().unwrap().to_string();
    let token = token_of(&placed);
    (
        placed["order"]["number"].as_str().unwrap().to_string(),
        token,
        intent,
    )
}

fn event(id: &str, kind: &str, intent: &str, status: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id, "object": "event", "type": kind, "api_version": "2024-06-20", "created": 1_700_000_000,
        "livemode": false, "pending_webhooks": 1,
        "data": {"object": {"id": intent, "object": "payment_intent", "status": status, "amount": 1000, "currency": "eur"}}
    }))
    .unwrap()
}

fn signature(body: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

async fn deliver(app: &TestApp, body: Vec<u8>, signature: &str) -> u16 {
    app.client
        .post(format!("{}/webhooks/stripe", app.address))
        .header("Stripe-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn deliver_signed(app: &TestApp, body: Vec<u8>) -> u16 {
    let header = signature(&body, WEBHOOK_SECRET, app::db::now_epoch());
    deliver(app, body, &header).await
}

async fn order_status(app: &TestApp, token: &str) -> app::orders::OrderStatus {
    app.checkout.order_by_token(token).await.unwrap().status
}

async fn checkout_creates_one_payment_intent_for_the_server_total(backend: Backend) {
    let (app, stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let key = app::checkout::service::random_token();
    let (status, placed) = checkout(&app, &stripe_order(&[(a, 2)]), &key).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["order"]["status"], "pending_payment");
    assert_eq!(placed["next_action"]["type"], "stripe_payment_element");
    assert_eq!(placed["next_action"]["publishable_key"], "pk_test_kassa");
    assert_eq!(stock_of(&app, a).await, (5, 2));
    // A retry of the same checkout gets the same intent: one order, one PaymentIntent.
    let (status, again) = checkout(&app, &stripe_order(&[(a, 2)]), &key).await;
    assert_eq!(status, 200);
    assert_eq!(
        again["next_action"]["client_secret"],
        placed["next_action"]["client_secret"]
    );
    let state = stub.0.lock().unwrap();
    assert_eq!(state.intents.len(), 1);
    let (idempotency_key, form) = &state.creates[0];
    let number: i64 = placed["order"]["number"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        idempotency_key.as_deref(),
        Some(format!("kassa-order-{}", number - 1000).as_str())
    );
    assert_eq!(
        form["amount"],
        placed["order"]["total"]["amount"].to_string()
    );
    assert_eq!(form["currency"], "eur");
}

async fn a_signed_webhook_marks_the_order_paid_exactly_once(backend: Backend) {
    let (app, stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (_, token, intent) = place(&app, &[(a, 2)]).await;
    stub.set_status(&intent, "succeeded");
    let body = event("evt_1", "payment_intent.succeeded", &intent, "succeeded");
    assert_eq!(deliver_signed(&app, body.clone()).await, 200);
    assert_eq!(
        order_status(&app, &token).await,
        app::orders::OrderStatus::Paid
    );
    assert_eq!(stock_of(&app, a).await, (3, 0));
    // Stripe delivers again (a replay): acknowledged, nothing changes.
    assert_eq!(deliver_signed(&app, body).await, 200);
    assert_eq!(stock_of(&app, a).await, (3, 0));
    assert_eq!(ledger_of(&app, a).await, (-2, 0, 2));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM payments WHERE status = 'succeeded'"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM webhook_events").await, 1);
}

async fn forged_and_stale_webhooks_are_refused(backend: Backend) {
    let (app, _stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (_, token, intent) = place(&app, &[(a, 1)]).await;
    let body = event(
        "evt_forged",
        "payment_intent.succeeded",
        &intent,
        "succeeded",
    );
    let now = app::db::now_epoch();
    let forged = signature(&body, "whsec_somebody_else", now);
    assert_eq!(deliver(&app, body.clone(), &forged).await, 400);
    let stale = signature(&body, WEBHOOK_SECRET, now - 3600);
    assert_eq!(deliver(&app, body.clone(), &stale).await, 400);
    assert_eq!(deliver(&app, body.clone(), "").await, 400);
    // A valid signature over a different body does not carry over.
    let other = event(
        "evt_other",
        "payment_intent.succeeded",
        "pi_other",
        "succeeded",
    );
    let borrowed = signature(&other, WEBHOOK_SECRET, now);
    assert_eq!(deliver(&app, body, &borrowed).await, 400);
    assert_eq!(
        order_status(&app, &token).await,
        app::orders::OrderStatus::PendingPayment
    );
    assert_eq!(stock_of(&app, a).await, (5, 1));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM webhook_events").await, 0);
}

async fn events_out_of_order_converge(backend: Backend) {
    let (app, stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (_, token, intent) = place(&app, &[(a, 1)]).await;
    stub.set_status(&intent, "succeeded");
    // A failed attempt's event arrives after the success: the order stays paid.
    let success = event("evt_ok", "payment_intent.succeeded", &intent, "succeeded");
    let failure = event(
        "evt_failed",
        "payment_intent.payment_failed",
        &intent,
        "requires_payment_method",
    );
    let cancel = event("evt_cancel", "payment_intent.canceled", &intent, "canceled");
    assert_eq!(deliver_signed(&app, success).await, 200);
    assert_eq!(deliver_signed(&app, failure).await, 200);
    assert_eq!(deliver_signed(&app, cancel).await, 200);
    assert_eq!(
        order_status(&app, &token).await,
        app::orders::OrderStatus::Paid
    );
    assert_eq!(stock_of(&app, a).await, (4, 0));
    // An event for a payment we do not know is acknowledged and ignored.
    let unknown = event(
        "evt_x",
        "payment_intent.succeeded",
        "pi_unknown",
        "succeeded",
    );
    assert_eq!(deliver_signed(&app, unknown).await, 200);
}

async fn the_return_and_the_webhook_settle_once_whichever_is_first(backend: Backend) {
    let (app, stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    // The shopper's return first, then the webhook.
    let (_, token, intent) = place(&app, &[(a, 1)]).await;
    stub.set_status(&intent, "succeeded");
    let order = app.checkout.refresh_payment(&token).await;
    assert!(order.is_ok());
    assert_eq!(
        order_status(&app, &token).await,
        app::orders::OrderStatus::Paid
    );
    let body = event("evt_late", "payment_intent.succeeded", &intent, "succeeded");
    assert_eq!(deliver_signed(&app, body).await, 200);
    // The webhook first, then the return, for a second order.
    let (_, token2, intent2) = place(&app, &[(a, 1)]).await;
    stub.set_status(&intent2, "succeeded");
    let body = event(
        "evt_early",
        "payment_intent.succeeded",
        &intent2,
        "succeeded",
    );
    assert_eq!(deliver_signed(&app, body).await, 200);
    app.checkout.refresh_payment(&token2).await.unwrap();
    assert_eq!(
        order_status(&app, &token2).await,
        app::orders::OrderStatus::Paid
    );
    assert_eq!(stock_of(&app, a).await, (3, 0));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM payments WHERE status = 'succeeded'"
        )
        .await,
        2
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox").await, 2);
}

async fn reconciliation_finds_payments_the_webhook_missed(backend: Backend) {
    let (app, stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (_, token, intent) = place(&app, &[(a, 1)]).await;
    let (_, still_pending, _) = place(&app, &[(a, 1)]).await;
    stub.set_status(&intent, "succeeded");
    let later = app::db::now_epoch() + 120;
    let paid = app::checkout::jobs::reconcile_payments(&app.checkout, later)
        .await
        .unwrap();
    assert_eq!(paid, 1);
    assert_eq!(
        order_status(&app, &token).await,
        app::orders::OrderStatus::Paid
    );
    assert_eq!(
        order_status(&app, &still_pending).await,
        app::orders::OrderStatus::PendingPayment
    );
}

async fn expiry_cancels_the_intent_or_finds_it_paid(backend: Backend) {
    let (app, stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (_, abandoned, abandoned_intent) = place(&app, &[(a, 1)]).await;
    let (_, paid_late, paid_intent) = place(&app, &[(a, 1)]).await;
    stub.set_status(&paid_intent, "succeeded");
    let later = app::db::now_epoch() + 16 * 60;
    let expired = app::checkout::jobs::expire_reservations(&app.checkout, later)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(
        stub.status(&abandoned_intent),
        "canceled",
        "cancelled before the stock went back"
    );
    assert_eq!(
        order_status(&app, &abandoned).await,
        app::orders::OrderStatus::Expired
    );
    assert_eq!(
        order_status(&app, &paid_late).await,
        app::orders::OrderStatus::Paid
    );
    assert_eq!(stock_of(&app, a).await, (4, 0));
}

async fn refunds_go_through_stripe_once_per_key(backend: Backend) {
    let (app, stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (number, _token, intent) = place(&app, &[(a, 1)]).await;
    stub.set_status(&intent, "succeeded");
    let body = event("evt_paid", "payment_intent.succeeded", &intent, "succeeded");
    assert_eq!(deliver_signed(&app, body).await, 200);
    let cookie =
        crate::admin::account(&app, "owner@shop.test", app::admin::Role::Owner, true).await;
    for _ in 0..2 {
        let response = app
            .client
            .post(format!("{}/admin/orders/{number}/refunds", app.address))
            .header("Origin", &app.address)
            .header("Cookie", &cookie)
            .form(&[("amount", "5.00"), ("key", "refund-key-1")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303);
    }
    let refunds = stub.0.lock().unwrap().refunds.clone();
    assert_eq!(refunds.len(), 1, "one refund at Stripe for one key");
    let (key, form) = &refunds[0];
    // The key is scoped to the order: the same form key on another order is another refund.
    let id: i64 = number.parse::<i64>().unwrap() - 1000;
    assert_eq!(
        key.as_deref(),
        Some(format!("kassa-refund-order-{id}-refund-key-1").as_str())
    );
    assert_eq!(form["amount"], "500");
    assert_eq!(form["payment_intent"], intent);
    let reference: String = sqlx::query_scalar(
        "SELECT reference FROM payments WHERE kind = 'refund' AND status = 'succeeded'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(reference, "re_test_1");
}

/// Staff cancel an order that still shows "waiting for payment", but the shopper's payment has
/// in fact gone through at Stripe (the webhook is late). The shopper must not stay charged for a
/// cancelled order: it is settled as paid, then cancelled with its stock back and a full refund.
async fn cancelling_a_pending_order_whose_payment_succeeded_refunds_it(backend: Backend) {
    let (app, stub) = spawn_stripe_shop(backend).await;
    let (a, _) = variant_with_stock(&app, 0, 5).await;
    let (number, token, intent) = place(&app, &[(a, 2)]).await;
    assert_eq!(stock_of(&app, a).await, (5, 2));
    stub.set_status(&intent, "succeeded");
    let owner = crate::admin::account(&app, "owner@shop.test", app::admin::Role::Owner, true).await;
    let response = app
        .client
        .post(format!("{}/admin/orders/{number}/cancel", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &owner)
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        order_status(&app, &token).await,
        app::orders::OrderStatus::Cancelled
    );
    // Paid (the reservation became a sale), then cancelled (the units went back).
    assert_eq!(stock_of(&app, a).await, (5, 0));
    assert_eq!(ledger_of(&app, a).await, (0, 0, 3));
    let total: i64 = sqlx::query_scalar("SELECT total_amount FROM orders WHERE access_token = $1")
        .bind(&token)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let refunds = stub.0.lock().unwrap().refunds.clone();
    assert_eq!(refunds.len(), 1, "the charge is refunded at Stripe");
    assert_eq!(refunds[0].1["amount"], total.to_string());
    assert_eq!(refunds[0].1["payment_intent"], intent);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM payments WHERE kind = 'refund' AND status = 'succeeded'"
        )
        .await,
        1
    );
    let refunded: i64 =
        sqlx::query_scalar("SELECT refunded_amount FROM orders WHERE access_token = $1")
            .bind(&token)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(refunded, total);
}

/// A shop that took payments with the test gateway and later moved to Stripe refunds those
/// payments through the test gateway, never by asking Stripe about a payment it never saw.
async fn a_refund_goes_through_the_gateway_that_took_the_payment(backend: Backend) {
    let before = crate::helpers::spawn_app(backend).await;
    let (a, _) = variant_with_stock(&before, 0, 5).await;
    let (status, placed) = checkout(
        &before,
        &crate::checkout::order_body(&[(a, 1)], "pm_card_visa"),
        &app::checkout::service::random_token(),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    let number = placed["order"]["number"].as_str().unwrap().to_string();

    let (stub, base) = spawn_stub().await;
    let after = spawn_app_with(
        backend,
        Options {
            seed_demo: false,
            database_url: Some(before.database_url.clone()),
            env: vec![
                ("KASSA_PAYMENT_GATEWAY", "stripe".into()),
                ("STRIPE_SECRET_KEY", "sk_test_kassa".into()),
                ("STRIPE_PUBLISHABLE_KEY", "pk_test_kassa".into()),
                ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
                ("STRIPE_API_BASE", base),
            ],
            ..Options::default()
        },
    )
    .await;
    let owner =
        crate::admin::account(&after, "owner@shop.test", app::admin::Role::Owner, true).await;
    let response = after
        .client
        .post(format!("{}/admin/orders/{number}/refunds", after.address))
        .header("Origin", &after.address)
        .header("Cookie", &owner)
        .form(&[("amount", "1.00"), ("key", "move-key")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert!(
        stub.0.lock().unwrap().refunds.is_empty(),
        "Stripe never saw this payment"
    );
    let (status, gateway, reference): (String, String, String) = {
        let row =
            sqlx::query("SELECT status, gateway, reference FROM payments WHERE kind = 'refund'")
                .fetch_one(after.db.pool())
                .await
                .unwrap();
        (row.get("status"), row.get("gateway"), row.get("reference"))
    };
    assert_eq!(status, "succeeded");
    assert_eq!(gateway, "test");
    assert!(reference.starts_with("test_re_"), "{reference}");
}
