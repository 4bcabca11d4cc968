//! The cart across devices on both databases: the account's cart over the API, the merge at
//! sign-in, the sync the browser's store uses, and a property test that drives the real server
//! with the browser's own cart code through random sequences of shoppers and devices.

use std::sync::atomic::{AtomicUsize, Ordering};

use app::cart::sync::{apply_edits, live, merge_at_sign_in, CartSync, StampedLine, SyncedCart};
use app::cart::{Cart, CartItem};
use app::money::{Currency, Money};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::accounts::{send, signed_in};
use crate::checkout::variant_with_stock;
use crate::helpers::{spawn_app, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    the_cart_follows_the_shopper_to_another_device,
    a_guest_cart_merges_at_sign_in_by_the_stated_rule,
    bad_cart_input_is_named_and_never_a_500,
    the_later_edit_wins_and_another_accounts_cart_is_never_touched,
    random_shoppers_and_devices_keep_the_cart_rules,
);

async fn cart_request(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    send(app, method, path, token, body).await
}

async fn put_cart(app: &TestApp, token: &str, lines: &[(i64, u32)]) -> (u16, Value) {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(v, q)| json!({ "variant_id": v, "quantity": q }))
        .collect();
    cart_request(
        app,
        reqwest::Method::PUT,
        "/api/v1/customer/cart",
        token,
        Some(json!({ "lines": lines })),
    )
    .await
}

async fn get_cart(app: &TestApp, token: &str) -> (u16, Value) {
    cart_request(
        app,
        reqwest::Method::GET,
        "/api/v1/customer/cart",
        token,
        None,
    )
    .await
}

fn pairs(cart: &Value) -> Vec<(i64, u32)> {
    let mut pairs: Vec<(i64, u32)> = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["variant_id"].as_i64().unwrap(),
                l["quantity"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    pairs.sort_unstable();
    pairs
}

async fn the_cart_follows_the_shopper_to_another_device(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shirt, price) = variant_with_stock(&app, 0, 10).await;
    let (mug, _) = variant_with_stock(&app, 1, 10).await;
    let laptop = signed_in(&app, "ada@example.com").await;
    let (status, cart) = put_cart(&app, &laptop, &[(shirt, 2), (mug, 1)]).await;
    assert_eq!(status, 200, "{cart}");
    let line = &cart["lines"].as_array().unwrap()[0];
    assert_eq!(
        line["unit_price"]["amount"], price,
        "today's price is shown"
    );
    assert!(line["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(line["updated_at"].as_str().unwrap().ends_with('Z'));

    // Another device signs in and finds the same cart.
    let phone = signed_in(&app, "ada@example.com").await;
    let (status, there) = get_cart(&app, &phone).await;
    assert_eq!(status, 200);
    assert_eq!(pairs(&there), vec![(shirt, 2), (mug, 1)]);

    // Lines not sent stay; quantity 0 removes.
    let (_, after) = put_cart(&app, &phone, &[(mug, 0)]).await;
    assert_eq!(pairs(&after), vec![(shirt, 2)]);
    assert_eq!(pairs(&get_cart(&app, &laptop).await.1), vec![(shirt, 2)]);

    // Nobody else sees it; nobody signed out sees anything.
    let bob = signed_in(&app, "bob@example.com").await;
    assert_eq!(pairs(&get_cart(&app, &bob).await.1), vec![]);
    let response = app
        .client
        .get(format!("{}/api/v1/customer/cart", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

async fn a_guest_cart_merges_at_sign_in_by_the_stated_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shirt, _) = variant_with_stock(&app, 0, 10).await;
    let (mug, _) = variant_with_stock(&app, 1, 10).await;
    let (scarf, _) = variant_with_stock(&app, 2, 2).await;
    let (gone, _) = variant_with_stock(&app, 3, 10).await;
    let ada = signed_in(&app, "ada@example.com").await;
    put_cart(&app, &ada, &[(shirt, 3), (mug, 1), (gone, 1)]).await;
    sqlx::query("UPDATE variants SET on_hand = 0 WHERE id = $1")
        .bind(gone)
        .execute(app.db.pool())
        .await
        .unwrap();

    // The browser had 2 shirts (the account 3) and 5 scarves (2 left).
    let body = json!({ "lines": [
        { "variant_id": shirt, "quantity": 2 },
        { "variant_id": scarf, "quantity": 5 },
    ]});
    let (status, merged) = cart_request(
        &app,
        reqwest::Method::POST,
        "/api/v1/customer/cart/merge",
        &ada,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    // The larger quantity, not the sum; clamped to stock; the sold-out line gone.
    assert_eq!(pairs(&merged), {
        let mut want = vec![(shirt, 3), (mug, 1), (scarf, 2)];
        want.sort_unstable();
        want
    });
    let notices: Vec<&str> = merged["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(notices.len(), 4, "{notices:?}");
    assert!(notices
        .iter()
        .any(|n| n.contains(": 3 as in your account's cart (this device had 2)")));
    assert!(notices.iter().any(|n| n.contains("lowered from 5 to 2")));
    assert!(notices
        .iter()
        .any(|n| n.contains("× 1 was in your account's cart")));
    assert!(notices
        .iter()
        .any(|n| n.contains("can no longer be bought")));

    // Merging the same again changes nothing (signing in on a third device is not a sum).
    let (_, again) = cart_request(
        &app,
        reqwest::Method::POST,
        "/api/v1/customer/cart/merge",
        &ada,
        Some(body),
    )
    .await;
    assert_eq!(pairs(&again), pairs(&merged));
}

async fn bad_cart_input_is_named_and_never_a_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shirt, _) = variant_with_stock(&app, 0, 10).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let cases = [
        (
            json!({ "lines": [{ "variant_id": 999_999, "quantity": 1 }] }),
            422,
            "lines[0].variant_id",
        ),
        (
            json!({ "lines": [{ "variant_id": shirt, "quantity": 100 }] }),
            422,
            "lines[0].quantity",
        ),
        (
            json!({ "lines": [{ "variant_id": shirt, "quantity": 1 }, { "variant_id": shirt, "quantity": 2 }] }),
            422,
            "lines[1].variant_id",
        ),
        (
            json!({ "lines": [{ "variant_id": shirt, "quantity": -1 }] }),
            422,
            "body",
        ),
        (json!({ "lines": null }), 422, "body"),
        (
            json!({ "lines": (0..101).map(|i| json!({"variant_id": i, "quantity": 1})).collect::<Vec<_>>() }),
            422,
            "lines",
        ),
    ];
    for (body, status, field) in cases {
        for path in ["/api/v1/customer/cart", "/api/v1/customer/cart/merge"] {
            let method = if path.ends_with("merge") {
                reqwest::Method::POST
            } else {
                reqwest::Method::PUT
            };
            let (got, answer) = cart_request(&app, method, path, &ada, Some(body.clone())).await;
            assert_eq!(got, status, "{path} {body} → {answer}");
            assert_eq!(answer["error"]["fields"][0]["field"], field, "{answer}");
        }
    }
    let response = app
        .client
        .put(format!("{}/api/v1/customer/cart", app.address))
        .bearer_auth(&ada)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        pairs(&get_cart(&app, &ada).await.1),
        vec![],
        "nothing half-written"
    );
}

/// POSTs to the server function the browser's store calls, with the session cookie as a
/// browser would send it.
async fn sync_as(app: &TestApp, token: &str, request: &CartSync) -> Result<SyncedCart, u16> {
    let response = app
        .client
        .post(format!("{}/api/cart/sync", app.address))
        .header("Cookie", format!("kassa_customer={token}"))
        .header("Origin", &app.address)
        .json(&json!({ "request": request }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        Ok(response.json().await.unwrap())
    } else {
        Err(status)
    }
}

fn stamped(variant_id: i64, quantity: u32, edited_at: i64) -> StampedLine {
    StampedLine {
        variant_id,
        quantity,
        edited_at,
    }
}

async fn the_later_edit_wins_and_another_accounts_cart_is_never_touched(backend: Backend) {
    let app = spawn_app(backend).await;
    let (shirt, _) = variant_with_stock(&app, 0, 10).await;
    let (mug, _) = variant_with_stock(&app, 1, 10).await;
    let ada = signed_in(&app, "ada@example.com").await;
    let first = sync_as(
        &app,
        &ada,
        &CartSync {
            owner: None,
            lines: vec![],
        },
    )
    .await
    .unwrap();
    let owner = first.owner;
    let now = app::cart::now_ms();
    // The phone removed the shirt a minute ago; the laptop's older add arrives afterwards.
    let phone = CartSync {
        owner: Some(owner),
        lines: vec![
            stamped(shirt, 2, now - 120_000),
            stamped(shirt, 0, now - 60_000),
        ],
    };
    sync_as(&app, &ada, &phone).await.unwrap();
    let laptop = CartSync {
        owner: Some(owner),
        lines: vec![
            stamped(shirt, 5, now - 90_000),
            stamped(mug, 1, now - 90_000),
        ],
    };
    let answer = sync_as(&app, &ada, &laptop).await.unwrap();
    let shown: Vec<(i64, u32)> = answer
        .lines
        .iter()
        .map(|l| (l.item.variant_id, l.quantity))
        .collect();
    assert_eq!(shown, vec![(mug, 1)], "the removal was the later edit");

    // A clock a day ahead cannot win over the edits still to come.
    let ahead = CartSync {
        owner: Some(owner),
        lines: vec![stamped(mug, 4, now + 86_400_000)],
    };
    sync_as(&app, &ada, &ahead).await.unwrap();
    let later = CartSync {
        owner: Some(owner),
        lines: vec![stamped(mug, 2, app::cart::now_ms() + 5)],
    };
    let answer = sync_as(&app, &ada, &later).await.unwrap();
    assert_eq!(answer.lines[0].quantity, 2);

    // A cart kept for someone else changes nothing here; Bob's answer is his own cart.
    let bob = signed_in(&app, "bob@example.com").await;
    let foreign = CartSync {
        owner: Some(owner),
        lines: vec![stamped(shirt, 9, app::cart::now_ms())],
    };
    let bobs = sync_as(&app, &bob, &foreign).await.unwrap();
    assert_ne!(bobs.owner, owner);
    assert!(bobs.lines.is_empty());
    assert_eq!(pairs(&get_cart(&app, &ada).await.1), vec![(mug, 2)]);

    // Signed out: 401, and nothing is written.
    let response = app
        .client
        .post(format!("{}/api/cart/sync", app.address))
        .json(&json!({ "request": { "owner": owner, "lines": [] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// One step of the property test.
#[derive(Clone, Debug)]
enum Step {
    /// Someone at `device` adds `quantity` of the `nth` variant of their pool.
    Add {
        device: usize,
        nth: usize,
        quantity: u32,
    },
    /// …sets a line's quantity (0 removes it).
    Set {
        device: usize,
        nth: usize,
        quantity: u32,
    },
    SignIn {
        device: usize,
        person: usize,
    },
    SignOut {
        device: usize,
    },
    Offline {
        device: usize,
    },
    Online {
        device: usize,
    },
    /// Staff set the stock of a variant.
    Stock {
        variant: usize,
        on_hand: i64,
    },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let device = 0..2usize;
    let step = prop_oneof![
        3 => (device.clone(), 0..3usize, 1..4u32).prop_map(|(device, nth, quantity)| Step::Add { device, nth, quantity }),
        3 => (device.clone(), 0..3usize, prop_oneof![Just(0u32), 1..4u32]).prop_map(|(device, nth, quantity)| Step::Set { device, nth, quantity }),
        2 => (device.clone(), 0..2usize).prop_map(|(device, person)| Step::SignIn { device, person }),
        1 => device.clone().prop_map(|device| Step::SignOut { device }),
        1 => device.clone().prop_map(|device| Step::Offline { device }),
        1 => device.prop_map(|device| Step::Online { device }),
        1 => (0..9usize, 0..4i64).prop_map(|(variant, on_hand)| Step::Stock { variant, on_hand }),
    ];
    prop::collection::vec(step, 4..24)
}

/// A device: the browser's own cart code, its session, whether it is online.
#[derive(Default)]
struct Device {
    cart: Cart,
    session: Option<(usize, String)>,
    online: bool,
}

/// The whole world of one case: the server, two shoppers, two devices, and what the rules say
/// each shopper's cart on the server holds.
struct World<'a> {
    app: &'a TestApp,
    variants: Vec<i64>,
    emails: [String; 2],
    ids: [Option<i64>; 2],
    devices: [Device; 2],
    /// The account carts as the rules make them (from the requests the server answered).
    expected: [Vec<StampedLine>; 2],
}

/// Pools: each shopper edits only their own variants while signed in, a guest a third pool.
/// A variant of one shopper's pool in the other's cart is one person seeing another's cart.
fn pool(person: Option<usize>) -> std::ops::Range<usize> {
    match person {
        Some(0) => 0..3,
        Some(_) => 3..6,
        None => 6..9,
    }
}

fn ms() -> i64 {
    app::cart::now_ms()
}

impl World<'_> {
    fn item(&self, variant_id: i64) -> CartItem {
        CartItem {
            variant_id,
            product_slug: "p".into(),
            title: "An item".into(),
            variant_title: String::new(),
            unit_price: Money::new(100, Currency::EUR),
            image_url: None,
        }
    }

    async fn stock(&self, variant_id: i64) -> u32 {
        let on_hand: i64 =
            sqlx::query_scalar("SELECT on_hand - reserved FROM variants WHERE id = $1")
                .bind(variant_id)
                .fetch_one(self.app.db.pool())
                .await
                .unwrap();
        on_hand.max(0) as u32
    }

    async fn server_lines(&self, customer: i64) -> Vec<StampedLine> {
        let rows: Vec<(i64, i32, i64)> = sqlx::query_as(
            "SELECT variant_id, quantity, edited_at FROM customer_cart_lines \
             WHERE customer_id = $1 ORDER BY variant_id",
        )
        .bind(customer)
        .fetch_all(self.app.db.pool())
        .await
        .unwrap();
        rows.into_iter()
            .map(|(v, q, t)| stamped(v, q as u32, t))
            .collect()
    }

    /// What the store does: signed out, a kept cart leaves; online, it sends what the account
    /// has not heard (or asks anyway, on `pull`) and takes the answer.
    async fn sync(&mut self, d: usize, pull: bool) -> Result<(), TestCaseError> {
        let Some((person, token)) = self.devices[d].session.clone() else {
            self.devices[d].cart.forget_owner();
            return Ok(());
        };
        if !self.devices[d].online || (!pull && !self.devices[d].cart.wants_sync(true)) {
            return Ok(());
        }
        let request = self.devices[d].cart.sync_request();
        let mut available = Vec::new();
        for &v in &self.variants {
            available.push((v, self.stock(v).await));
        }
        let answer = sync_as(self.app, &token, &request)
            .await
            .map_err(|status| TestCaseError::fail(format!("sync answered {status}")))?;
        let id = *self.ids[person].get_or_insert(answer.owner);
        prop_assert_eq!(answer.owner, id);
        let server = self.server_lines(id).await;
        match request.owner {
            Some(owner) if owner == id => {
                self.expected[person] = apply_edits(&self.expected[person], &request.lines);
                prop_assert_eq!(
                    &server,
                    &self.expected[person],
                    "edits landed by the later-edit rule"
                );
            }
            Some(_) => {
                prop_assert_eq!(
                    &server,
                    &self.expected[person],
                    "another's cart changed nothing"
                );
            }
            None => {
                let stock = |v: i64| {
                    available
                        .iter()
                        .find(|(id, _)| *id == v)
                        .map_or(0, |(_, s)| *s)
                };
                let (merged, changes) =
                    merge_at_sign_in(&live(&request.lines), &live(&self.expected[person]), stock);
                prop_assert_eq!(live(&server), merged, "the merge at sign-in");
                prop_assert_eq!(answer.notices.len(), changes.len(), "each change named");
                self.expected[person] = server.clone();
            }
        }
        let shown: Vec<(i64, u32)> = answer
            .lines
            .iter()
            .map(|l| (l.item.variant_id, l.quantity))
            .collect();
        prop_assert_eq!(&shown, &live(&server), "the answer is the account's cart");
        self.devices[d].cart.take_answer(&request, answer, ms());
        if self.devices[d].cart.unsent.is_empty() {
            let mut on_device: Vec<(i64, u32)> = self.devices[d]
                .cart
                .lines
                .iter()
                .map(|l| (l.item.variant_id, l.quantity))
                .collect();
            on_device.sort_unstable();
            prop_assert_eq!(
                on_device,
                live(&server),
                "the device shows the account's cart"
            );
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match *step {
            Step::Add {
                device,
                nth,
                quantity,
            }
            | Step::Set {
                device,
                nth,
                quantity,
            } => {
                let who = self.devices[device].session.as_ref().map(|(p, _)| *p);
                let variant = self.variants[pool(who).start + nth];
                let before = self.devices[device].cart.clone();
                let item = self.item(variant);
                let cart = &mut self.devices[device].cart;
                if matches!(step, Step::Add { .. }) {
                    cart.add(item, quantity);
                } else {
                    cart.set_quantity(variant, quantity);
                }
                cart.record_edits(&before, ms());
                self.sync(device, false).await?;
            }
            Step::SignIn { device, person } => {
                if self.devices[device].session.is_some() {
                    return Ok(()); // The header shows the account, not "Sign in".
                }
                self.devices[device].online = true; // Signing in needs the shop.
                let token = signed_in(self.app, &self.emails[person]).await;
                self.devices[device].session = Some((person, token));
                self.sync(device, true).await?;
            }
            Step::SignOut { device } => {
                if self.devices[device].session.is_none() {
                    return Ok(());
                }
                // The page that signs out was loaded online, and its store synced first.
                self.devices[device].online = true;
                self.sync(device, true).await?;
                prop_assert!(
                    self.devices[device].cart.unsent.is_empty(),
                    "nothing unsent is lost at sign-out"
                );
                let (_, token) = self.devices[device].session.take().unwrap();
                let response = self
                    .app
                    .client
                    .post(format!("{}/api/v1/customer/sign-out", self.app.address))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                prop_assert_eq!(response.status().as_u16(), 204);
                // Clear-Site-Data empties the browser's storage.
                self.devices[device].cart = Cart::default();
            }
            Step::Offline { device } => self.devices[device].online = false,
            Step::Online { device } => {
                self.devices[device].online = true;
                self.sync(device, true).await?;
            }
            Step::Stock { variant, on_hand } => {
                sqlx::query("UPDATE variants SET on_hand = $1, reserved = 0 WHERE id = $2")
                    .bind(on_hand)
                    .bind(self.variants[variant])
                    .execute(self.app.db.pool())
                    .await
                    .unwrap();
            }
        }
        // Nobody sees the other's pool: not on a device signed in as them, not on the server.
        for device in &self.devices {
            if let Some((person, _)) = &device.session {
                let theirs = pool(Some(1 - person));
                for line in &device.cart.lines {
                    let nth = self
                        .variants
                        .iter()
                        .position(|v| *v == line.item.variant_id)
                        .unwrap();
                    prop_assert!(!theirs.contains(&nth), "{} sees another's line", person);
                }
            } else if device.cart.owner.is_some() {
                prop_assert!(
                    !device.online,
                    "a signed-out device keeps no account's cart"
                );
            }
        }
        for person in 0..2 {
            if let Some(id) = self.ids[person] {
                let theirs = pool(Some(1 - person));
                for (v, _) in live(&self.server_lines(id).await) {
                    let nth = self.variants.iter().position(|x| *x == v).unwrap();
                    prop_assert!(!theirs.contains(&nth), "a line of the other shopper's pool");
                }
            }
        }
        Ok(())
    }

    /// Every device comes online: every edit made while signed in reaches its account.
    async fn settle(&mut self) -> Result<(), TestCaseError> {
        for d in 0..2 {
            self.devices[d].online = true;
            self.sync(d, true).await?;
            prop_assert!(
                self.devices[d].cart.unsent.is_empty() || self.devices[d].session.is_none(),
                "nothing left unsent"
            );
        }
        Ok(())
    }
}

static CASE: AtomicUsize = AtomicUsize::new(0);

async fn random_shoppers_and_devices_keep_the_cart_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut variants = Vec::new();
    for nth in 0..9 {
        variants.push(variant_with_stock(&app, nth, 3).await.0);
    }
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let result = runner.run(&steps(), |steps| {
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let case = CASE.fetch_add(1, Ordering::SeqCst);
                // Each case has shoppers of its own, and the sign-in limits start afresh.
                sqlx::query("DELETE FROM sign_in_attempts")
                    .execute(app.db.pool())
                    .await
                    .unwrap();
                for &v in &variants {
                    sqlx::query("UPDATE variants SET on_hand = 3, reserved = 0 WHERE id = $1")
                        .bind(v)
                        .execute(app.db.pool())
                        .await
                        .unwrap();
                }
                let mut world = World {
                    app: &app,
                    variants: variants.clone(),
                    emails: [
                        format!("a{case}@example.com"),
                        format!("b{case}@example.com"),
                    ],
                    ids: [None, None],
                    devices: [
                        Device {
                            online: true,
                            ..Device::default()
                        },
                        Device {
                            online: true,
                            ..Device::default()
                        },
                    ],
                    expected: [Vec::new(), Vec::new()],
                };
                for step in &steps {
                    world.step(step).await?;
                }
                world.settle().await
            })
        })
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
