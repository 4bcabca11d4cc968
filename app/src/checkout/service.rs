//! Checkout on the server: quotes and placing orders. Settling a payment, reading orders back,
//! stock, payments and emails are the layers below (`orders`, `inventory`, `payments`,
//! `notifications`); checkout calls them.
//!
//! Placing an order, for a one-line cart paid by the test gateway, is seven statements in one
//! transaction: read the variants (locked, in id order, on Postgres), insert the order (claiming
//! the idempotency key), take the stock with a conditional update per line, insert the lines, the
//! ledger entries, the payment and the confirmation email. On SQLite the transaction is a
//! savepoint in a group commit (see [`crate::write_queue`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use tokio::sync::RwLock;

use super::address::{validate_address, validate_email, Address, FieldError};
use super::pricing::{self, LineAmount, ShippingRate, ShippingZone, ShopRules, TaxRate};
use super::{
    normalise_lines, CheckoutError, CheckoutRequest, CheckoutResponse, Notice, NoticeKind, Quote,
    QuoteLine, QuoteRequest, Shortage,
};
use crate::db::{count, currency_of, decode_error, now_epoch, Backend, Db};
use crate::inventory::{self, Movement, StockError, StockMove};
use crate::money::Money;
use crate::notifications;
use crate::orders::record::{self, OrderRecord};
use crate::orders::settle::{self, TransitionError};
pub use crate::orders::settle::{Settlement, WebhookEvent};
use crate::orders::{order_id, order_number, OrderDetails, OrderStatus, OrderSummary};
use crate::payments::gateway::{ChargeOutcome, Gateway};
use crate::payments::ledger;
use crate::payments::{GatewayError, IntentStatus, NextAction};
use crate::promotions::discounts::{self, Offer, Outcome};
use crate::promotions::gift_card_store::{self, Card, CodeKey, Unusable};
use crate::promotions::gift_cards::{self, GiftCardUse, MissLimiter};
use crate::promotions::store::{self as promotion_store, Buyer, NotTaken};
use crate::promotions::{code_key, normalise_codes, DiscountLine};
use crate::write_queue::{JobFuture, WriteQueue};

/// Shop rules change rarely (staff edit them); reading them once every few seconds keeps them
/// out of every checkout's statement count.
const RULES_TTL: Duration = Duration::from_secs(5);

/// A shop's name until its owner gives it one.
pub const DEFAULT_SHOP_NAME: &str = "Kassa";

/// The checkout service, shared by server functions, the API and background jobs.
#[derive(Clone, Debug)]
pub struct Checkout(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    gateway: Gateway,
    site_url: String,
    rules: RwLock<Option<(Instant, Arc<ShopRules>)>>,
    /// The automatic discounts, read as often as the rules: every quote looks at them.
    automatic: RwLock<Option<(Instant, Arc<Vec<Offer>>)>>,
    /// Counts [`Checkout::forget_rules`]: a read begun before a change is not kept after it.
    rules_generation: std::sync::atomic::AtomicU64,
    /// The key gift card codes are hashed with: `KASSA_SECRET_KEY`, else the shared one in
    /// the database, read once.
    gift_card_key: tokio::sync::OnceCell<CodeKey>,
    /// Wrong gift card codes, by address.
    gift_card_misses: MissLimiter,
    /// Newsletter copies handed to the outbox per minute (`KASSA_NEWSLETTER_PER_MINUTE`);
    /// 0 until set: the campaigns' default.
    newsletter_per_minute: std::sync::atomic::AtomicI64,
    /// The analytics' events waiting to be written (checkout counts orders into them).
    analytics: crate::analytics::collector::Analytics,
}

/// The order as placed, and whether this answer repeats an earlier one (same idempotency key).
#[derive(Clone, Debug)]
pub struct Placed {
    pub response: CheckoutResponse,
    pub replayed: bool,
}

/// A variant as checkout reads it.
#[derive(Clone, Debug)]
struct VariantRow {
    id: i64,
    product_id: i64,
    sku: String,
    title: String,
    variant_title: String,
    slug: String,
    image_url: Option<String>,
    price: i64,
    currency: String,
    on_hand: i64,
    reserved: i64,
    allow_backorder: bool,
    active: bool,
    /// A gift card product: each unit bought becomes a card once paid.
    gift_card: bool,
}

impl VariantRow {
    fn available(&self) -> i64 {
        (self.on_hand - self.reserved).max(0)
    }

    fn display_title(&self) -> String {
        super::line_title(&self.title, &self.variant_title)
    }
}

/// How one line takes its stock: units from the shelf, and units sold on backorder.
#[derive(Clone, Copy, Debug)]
struct Take {
    variant_id: i64,
    quantity: u32,
    from_stock: i64,
    backordered: i64,
}

impl Checkout {
    pub fn new(db: Db, gateway: Gateway, site_url: impl Into<String>) -> Checkout {
        Checkout(Arc::new(Inner {
            analytics: crate::analytics::collector::Analytics::new(db.clone()),
            db,
            gateway,
            site_url: site_url.into(),
            rules: RwLock::new(None),
            automatic: RwLock::new(None),
            rules_generation: Default::default(),
            gift_card_key: Default::default(),
            gift_card_misses: Default::default(),
            newsletter_per_minute: 0.into(),
        }))
    }

    /// Sends newsletter campaigns at `per_minute` copies a minute (at least one).
    pub fn set_newsletter_per_minute(&self, per_minute: i64) {
        self.0
            .newsletter_per_minute
            .store(per_minute.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Newsletter copies handed to the outbox per minute, as set (0: not set, see
    /// `promotions::campaigns::rate`).
    pub fn newsletter_per_minute(&self) -> i64 {
        self.0
            .newsletter_per_minute
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Hashes gift card codes with a key from `secret` (`KASSA_SECRET_KEY`) rather than the
    /// one kept in the database. Called before the first request.
    pub fn use_secret_key(&self, secret: &str) {
        let _ = self.0.gift_card_key.set(CodeKey::from_secret(secret));
    }

    /// The key gift card codes are hashed with.
    pub async fn gift_card_key(&self) -> Result<&CodeKey, sqlx::Error> {
        self.0
            .gift_card_key
            .get_or_try_init(|| async {
                let mut conn = self.0.db.pool().acquire().await?;
                if let Some(key) = gift_card_store::read_key(&mut conn).await? {
                    return Ok(key);
                }
                drop(conn);
                self.writes()
                    .run(|conn| -> JobFuture<'_, Result<CodeKey, sqlx::Error>> {
                        Box::pin(gift_card_store::stored_key(conn, now_epoch()))
                    })
                    .await
            })
            .await
    }

    /// The gift cards behind the codes a shopper entered (as `gift_cards::normalise_codes`
    /// left them), each with its place. An unknown code is a 422 naming `gift_cards[i]` and
    /// counts against `address`; an address with too many wrong codes is refused (429).
    async fn find_gift_cards(
        &self,
        codes: &[(usize, String)],
        address: &str,
    ) -> Result<Vec<(usize, Card)>, CheckoutError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_epoch();
        if !self.0.gift_card_misses.allows(address, now) {
            return Err(CheckoutError::TooManyAttempts(
                Unusable::TooManyTries.to_string(),
            ));
        }
        let key = self.gift_card_key().await?;
        let hashes: Vec<String> = codes
            .iter()
            .filter(|(_, code)| !code.is_empty())
            .map(|(_, code)| key.hash(code))
            .collect();
        let mut conn = self.0.db.pool().acquire().await?;
        let cards = gift_card_store::by_hashes(&mut conn, &hashes).await?;
        drop(conn);
        let mut found = Vec::with_capacity(codes.len());
        let mut unknown = Vec::new();
        for (index, code) in codes {
            let hash = (!code.is_empty()).then(|| key.hash(code));
            match cards.iter().find(|c| Some(&c.code_hash) == hash.as_ref()) {
                Some(card) => found.push((*index, card.clone())),
                None => {
                    self.0.gift_card_misses.miss(address, now);
                    unknown.push(FieldError::new(
                        format!("gift_cards[{index}]"),
                        Unusable::Unknown.to_string(),
                    ));
                }
            }
        }
        if unknown.is_empty() {
            Ok(found)
        } else {
            Err(CheckoutError::Invalid(unknown))
        }
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn gateway(&self) -> &Gateway {
        &self.0.gateway
    }

    pub fn writes(&self) -> &WriteQueue {
        self.0.db.writes()
    }

    /// The shop's address, as links in emails start.
    /// The analytics' collector of this server.
    pub fn analytics(&self) -> &crate::analytics::collector::Analytics {
        &self.0.analytics
    }

    pub fn site_url(&self) -> &str {
        &self.0.site_url
    }

    pub fn order_url(&self, access_token: &str) -> String {
        format!("{}/orders/{access_token}", self.0.site_url)
    }

    /// The shop's pricing rules, read at most every few seconds.
    pub async fn rules(&self) -> Result<Arc<ShopRules>, sqlx::Error> {
        if let Some((read_at, rules)) = self.0.rules.read().await.as_ref() {
            if read_at.elapsed() < RULES_TTL {
                return Ok(rules.clone());
            }
        }
        let generation = self.0.rules_generation.load(Ordering::SeqCst);
        let rules = Arc::new(load_rules(&self.0.db).await?);
        let mut cached = self.0.rules.write().await;
        // Settings changed while this read ran: answer with it, but do not keep it.
        if self.0.rules_generation.load(Ordering::SeqCst) == generation {
            *cached = Some((Instant::now(), rules.clone()));
        }
        Ok(rules)
    }

    /// The shop's name as last read with its rules: for the header and the page titles, which
    /// are built before anything is awaited. As fresh as the rules (seconds); the shop's
    /// default name until they were first read.
    pub fn shop_name(&self) -> String {
        self.0
            .rules
            .try_read()
            .ok()
            .and_then(|cached| cached.as_ref().map(|(_, rules)| rules.shop_name.clone()))
            .unwrap_or_else(|| DEFAULT_SHOP_NAME.to_string())
    }

    /// Forgets the cached rules and automatic discounts (after staff change them).
    pub async fn forget_rules(&self) {
        self.0.rules_generation.fetch_add(1, Ordering::SeqCst);
        *self.0.rules.write().await = None;
        *self.0.automatic.write().await = None;
    }

    /// The automatic discounts that are on, read at most every few seconds. Whether one may
    /// still be used is decided again in the order's transaction (see `promotions::store`).
    pub async fn automatic_discounts(&self) -> Result<Arc<Vec<Offer>>, sqlx::Error> {
        if let Some((read_at, offers)) = self.0.automatic.read().await.as_ref() {
            if read_at.elapsed() < RULES_TTL {
                return Ok(offers.clone());
            }
        }
        let generation = self.0.rules_generation.load(Ordering::SeqCst);
        let offers = Arc::new(promotion_store::automatic(self.0.db.pool(), now_epoch()).await?);
        let mut cached = self.0.automatic.write().await;
        if self.0.rules_generation.load(Ordering::SeqCst) == generation {
            *cached = Some((Instant::now(), offers.clone()));
        }
        Ok(offers)
    }

    /// Prices the cart as checkout would for this shopper (`customer_id` when signed in).
    /// `address` is the client's, which wrong gift card codes count against.
    pub async fn quote(
        &self,
        request: QuoteRequest,
        customer_id: Option<i64>,
        address: &str,
    ) -> Result<Quote, CheckoutError> {
        let lines = normalise_lines(&request.lines)?;
        let codes = normalise_codes(&request.discount_codes).map_err(CheckoutError::Invalid)?;
        let gift_codes =
            gift_cards::normalise_codes(&request.gift_cards).map_err(CheckoutError::Invalid)?;
        let cards = self.find_gift_cards(&gift_codes, address).await?;
        let rules = self.rules().await?;
        let automatic = self.automatic_discounts().await?;
        let buyer = Buyer {
            customer_id,
            email: request
                .email
                .as_deref()
                .and_then(|e| validate_email(e).ok())
                .map(|e| e.to_lowercase())
                .unwrap_or_default(),
        };
        let mut conn = self.0.db.pool().acquire().await?;
        let rows = read_variants(&mut conn, &lines, true, false).await?;
        let offers = Offers::read(&mut conn, codes, automatic, &buyer, &rows).await?;
        drop(conn);

        let mut notices = Vec::new();
        let mut quoted = Vec::new();
        for (variant_id, wanted) in &lines {
            let seen = request
                .lines
                .iter()
                .find(|l| l.variant_id == *variant_id)
                .and_then(|l| l.seen_price);
            let Some(row) = rows.iter().find(|r| r.id == *variant_id && r.active) else {
                notices.push(Notice {
                    variant_id: *variant_id,
                    kind: NoticeKind::Unavailable,
                    message: "This item is no longer available.".into(),
                });
                continue;
            };
            if row.currency != rules.currency.code() {
                notices.push(Notice {
                    variant_id: row.id,
                    kind: NoticeKind::Unavailable,
                    message: format!("{} cannot be bought in {}.", row.title, rules.currency),
                });
                continue;
            }
            let mut quantity = *wanted;
            if !row.allow_backorder && row.available() < *wanted as i64 {
                quantity = row.available() as u32;
                let (kind, message) = if quantity == 0 {
                    (
                        NoticeKind::Unavailable,
                        format!("{} is sold out.", row.display_title()),
                    )
                } else {
                    (
                        NoticeKind::LimitedStock,
                        format!("Only {quantity} left of {}.", row.display_title()),
                    )
                };
                notices.push(Notice {
                    variant_id: row.id,
                    kind,
                    message,
                });
            }
            if let Some(seen) = seen {
                if seen.amount != row.price || seen.currency.code() != row.currency {
                    let now = Money::new(row.price, rules.currency);
                    notices.push(Notice {
                        variant_id: row.id,
                        kind: NoticeKind::PriceChanged,
                        message: format!(
                            "The price of {} changed from {seen} to {now}.",
                            row.display_title()
                        ),
                    });
                }
            }
            if quantity > 0 {
                quoted.push((row.clone(), quantity));
            }
        }

        let amounts: Vec<LineAmount> = quoted
            .iter()
            .map(|(row, quantity)| LineAmount {
                unit_price: row.price,
                quantity: *quantity,
            })
            .collect();
        let goods = pricing::totals(&amounts, 0, 0, true)
            .ok_or_else(|| CheckoutError::BadRequest("The amounts are too large.".into()))?
            .subtotal;
        let destination = request
            .shipping_address
            .as_ref()
            .filter(|d| !d.country.trim().is_empty());
        let (country, region) = destination
            .map(|d| {
                (
                    d.country.trim().to_ascii_uppercase(),
                    d.region.trim().to_string(),
                )
            })
            .unwrap_or_default();
        let options = if destination.is_some() {
            rules.shipping_options(&country, goods)
        } else {
            Vec::new()
        };
        let chosen = match &request.shipping_method {
            Some(code) => options.iter().find(|o| &o.code == code).or(options.first()),
            None => options.first(),
        };
        let shipping = chosen.map(|o| o.price.amount).unwrap_or(0);
        let rate = if destination.is_some() {
            rules.tax_rate(&country, &region)
        } else {
            // Before an address is known, show the tax of the shop's home market: the first rate.
            rules.tax_rates.first().map(|r| r.rate_bp).unwrap_or(0)
        };
        pricing::totals(&amounts, shipping, rate, rules.prices_include_tax)
            .ok_or_else(|| CheckoutError::BadRequest("The amounts are too large.".into()))?;
        let cart = offers.cart(&quoted, shipping, &country, rate, &rules);
        let outcome = offers.apply(&cart, &request.discount_codes)?;
        let currency = rules.currency;
        let money = |amount| Money::new(amount, currency);
        let paying = paying_cards(&cards, outcome.total, currency, now_epoch())?;
        let by_cards: i64 = paying.iter().map(|(_, _, take)| take).sum();
        let lines = quoted
            .iter()
            .zip(&outcome.lines)
            .map(|((row, quantity), line)| QuoteLine {
                variant_id: row.id,
                product_slug: row.slug.clone(),
                title: row.title.clone(),
                variant_title: row.variant_title.clone(),
                image_url: row.image_url.clone(),
                unit_price: money(row.price),
                quantity: *quantity,
                line_total: money(line.total),
                discount: money(line.discount),
                tax: money(line.tax),
            })
            .collect();
        Ok(Quote {
            lines,
            subtotal: money(outcome.subtotal),
            shipping: chosen.map(|o| o.price),
            discounts: discount_lines(&outcome, currency),
            discount_total: money(outcome.discount_total),
            tax: money(outcome.tax),
            total: money(outcome.total),
            gift_cards: paying
                .iter()
                .map(|(_, card, take)| card_use(card, *take))
                .collect(),
            amount_due: money(outcome.total - by_cards),
            prices_include_tax: rules.prices_include_tax,
            tax_label: tax_label(&rules, rate, &country, &region),
            rounding:
                "Tax is worked out per line and on shipping, each rounded half up to the cent."
                    .into(),
            shipping_method: chosen.map(|o| o.code.clone()),
            shipping_options: options,
            notices,
        })
    }

    /// Places an order for `request`, once per idempotency key; a signed-in shopper's order
    /// is theirs (`customer_id`), a guest's is nobody's until a code proves its email.
    /// `address` is the client's, which wrong gift card codes count against.
    pub async fn place_order(
        &self,
        request: CheckoutRequest,
        idempotency_key: &str,
        customer_id: Option<i64>,
        address: &str,
    ) -> Result<Placed, CheckoutError> {
        let key = check_idempotency_key(idempotency_key)?;
        let valid = validate_request(&request, self.0.gateway.name())?;
        let cards = self.find_gift_cards(&valid.gift_cards, address).await?;
        let gift_cards = cards
            .into_iter()
            .map(|(index, card)| (index, card.code_hash))
            .collect();
        let rules = self.rules().await?;
        let automatic = self.automatic_discounts().await?;
        let request_hash = fingerprint(&valid);
        let access_token = random_token();
        // Where the shopper came from, as their browser kept it (the shop itself is no source).
        let source = request.attribution.as_ref().and_then(|landing| {
            crate::analytics::classify(
                landing,
                crate::analytics::host_of(&self.0.site_url).as_deref(),
            )
        });
        // Without a test card the gift cards must pay it all (checked once the total is known).
        let outcome = match (&self.0.gateway, valid.token.as_deref()) {
            (Gateway::Test, None) => Ok(None),
            (gateway, token) => gateway.decide_offline(token, &access_token[..16]),
        }
        .map_err(|error| match error {
            GatewayError::UnknownTestToken(_) => {
                CheckoutError::field("payment.token", &error.to_string())
            }
            other => CheckoutError::PaymentUnavailable(other.to_string()),
        })?;
        let order = NewOrder {
            valid,
            key,
            request_hash,
            access_token,
            outcome,
            rules,
            automatic,
            now: now_epoch(),
            site_url: self.0.site_url.clone(),
            customer_id,
            gift_cards,
            gift_card_key: self.0.gift_card_key.get().cloned(),
            source,
        };
        let placed = self
            .writes()
            .run(
                move |conn| -> JobFuture<'_, Result<PlacedRow, CheckoutError>> {
                    Box::pin(insert_order(conn, order))
                },
            )
            .await?;
        self.answer(placed).await
    }

    /// Turns a placed (or found) order into the checkout's answer, starting the Stripe payment
    /// when one is due.
    async fn answer(&self, placed: PlacedRow) -> Result<Placed, CheckoutError> {
        let summary = OrderSummary {
            number: order_number(placed.id),
            status: placed.status,
            total: placed.total,
        };
        let order_url = self.order_url(&placed.access_token);
        let next_action = match placed.status {
            OrderStatus::PaymentFailed => {
                return Err(CheckoutError::Declined {
                    message: placed
                        .decline_message
                        .unwrap_or_else(|| "Your card was declined.".into()),
                    order: summary,
                    order_url,
                })
            }
            OrderStatus::PendingPayment => Some(self.next_action(&placed).await?),
            _ => None,
        };
        Ok(Placed {
            response: CheckoutResponse {
                order: summary,
                order_url,
                next_action,
            },
            replayed: placed.replayed,
        })
    }

    async fn next_action(&self, placed: &PlacedRow) -> Result<NextAction, CheckoutError> {
        match &self.0.gateway {
            Gateway::Test => Ok(NextAction::ConfirmTestPayment),
            Gateway::Stripe(stripe) => {
                // Same key, same intent: asking again after a lost answer is safe.
                let intent = stripe
                    .create_intent(placed.id, placed.amount_due, &placed.email)
                    .await
                    .map_err(|error| {
                        tracing::warn!(%error, order = placed.id, "could not start a Stripe payment");
                        CheckoutError::PaymentUnavailable(
                            "The payment provider cannot be reached right now; nothing was \
                             charged. Please try again in a moment."
                                .into(),
                        )
                    })?;
                if placed.payment_ref.as_deref() != Some(intent.id.as_str()) {
                    let (id, reference) = (placed.id, intent.id.clone());
                    self.writes()
                        .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                            Box::pin(async move {
                                sqlx::query("UPDATE orders SET payment_ref = $1 WHERE id = $2")
                                    .bind(reference)
                                    .bind(id)
                                    .execute(&mut *conn)
                                    .await?;
                                Ok(())
                            })
                        })
                        .await?;
                }
                Ok(NextAction::StripePaymentElement {
                    client_secret: intent.client_secret,
                    publishable_key: stripe.publishable_key.clone(),
                })
            }
        }
    }

    /// The test gateway's authentication step, completed or failed by the shopper.
    pub async fn confirm_test_payment(
        &self,
        access_token: &str,
        approve: bool,
    ) -> Result<OrderSummary, CheckoutError> {
        if !matches!(self.0.gateway, Gateway::Test) {
            return Err(CheckoutError::BadRequest(
                "This shop does not use the test gateway.".into(),
            ));
        }
        let order = self.find_by_token(access_token).await?;
        if order.status == OrderStatus::PendingPayment {
            let settlement = if approve {
                Settlement::Paid {
                    reference: order.payment_ref.clone().unwrap_or_default(),
                }
            } else {
                Settlement::Release {
                    status: OrderStatus::PaymentFailed,
                    reason: "The card's authentication failed.".into(),
                }
            };
            self.settle(order.id, settlement, None).await?;
        }
        let order = self.find_by_token(access_token).await?;
        match order.status {
            OrderStatus::Expired => Err(CheckoutError::Conflict(
                "This order expired before the payment was confirmed; nothing was charged.".into(),
            )),
            _ => Ok(OrderSummary {
                number: order_number(order.id),
                status: order.status,
                total: order.total,
            }),
        }
    }

    /// Asks the gateway where a pending payment stands and settles the order if it is done
    /// (the shopper's return from Stripe; the webhook may have been first, which is fine).
    pub async fn refresh_payment(&self, access_token: &str) -> Result<(), CheckoutError> {
        let order = self.find_by_token(access_token).await?;
        if order.status != OrderStatus::PendingPayment {
            return Ok(());
        }
        let Some(reference) = order.payment_ref.filter(|_| order.gateway == "stripe") else {
            return Ok(());
        };
        match self.0.gateway.status(&reference).await {
            Ok(IntentStatus::Succeeded) => {
                self.settle(order.id, Settlement::Paid { reference }, None)
                    .await?;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not ask Stripe about a payment"),
        }
        Ok(())
    }

    /// Settles a pending order once, through the writer (see [`settle::settle`]). Returns
    /// whether anything changed.
    pub async fn settle(
        &self,
        order_id: i64,
        settlement: Settlement,
        event: Option<WebhookEvent>,
    ) -> Result<bool, TransitionError> {
        let site_url = self.0.site_url.clone();
        let key = self.0.gift_card_key.get().cloned();
        let shop = self.shop_name();
        let paid = matches!(settlement, Settlement::Paid { .. });
        self.writes()
            .run(
                move |conn| -> JobFuture<'_, Result<bool, TransitionError>> {
                    Box::pin(async move {
                        let now = now_epoch();
                        let changed =
                            settle::settle(conn, order_id, settlement, event, &site_url, now)
                                .await?;
                        if changed && paid {
                            // Gift cards the order bought exist once it is paid.
                            gift_card_store::issue_bought(
                                conn,
                                key.as_ref(),
                                order_id,
                                &shop,
                                &site_url,
                                now,
                            )
                            .await?;
                        }
                        Ok(changed)
                    })
                },
            )
            .await
    }

    pub async fn order_by_token(&self, access_token: &str) -> Result<OrderDetails, CheckoutError> {
        let order = self.find_by_token(access_token).await?;
        self.details(order).await
    }

    /// The order behind a number, for whoever holds its access token (the API).
    pub async fn order_by_number(
        &self,
        number: &str,
        access_token: &str,
    ) -> Result<OrderDetails, CheckoutError> {
        let not_found = || CheckoutError::NotFound(format!("Order {number}"));
        let id = order_id(number).ok_or_else(not_found)?;
        let order = self
            .find_by_token(access_token)
            .await
            .map_err(|_| not_found())?;
        if order.id != id {
            return Err(not_found());
        }
        self.details(order).await
    }

    /// An order's details by its id, for staff (the admin checks who is asking).
    pub async fn order_details_by_id(&self, id: i64) -> Result<OrderDetails, CheckoutError> {
        let order = record::by_id(self.0.db.pool(), id)
            .await?
            .ok_or_else(|| CheckoutError::NotFound(format!("Order {}", order_number(id))))?;
        self.details(order).await
    }

    async fn find_by_token(&self, access_token: &str) -> Result<OrderRecord, CheckoutError> {
        record::by_token(self.0.db.pool(), access_token)
            .await?
            .ok_or_else(|| CheckoutError::NotFound("This order".into()))
    }

    /// The order as its shopper sees it, with what the payment still needs.
    async fn details(&self, order: OrderRecord) -> Result<OrderDetails, CheckoutError> {
        let next_action = match (&self.0.gateway, order.status) {
            (Gateway::Test, OrderStatus::PendingPayment) => Some(NextAction::ConfirmTestPayment),
            // The same idempotency key returns the order's intent: the page can offer the
            // Payment Element again when the shopper comes back to pay.
            (Gateway::Stripe(stripe), OrderStatus::PendingPayment) => {
                match stripe
                    .create_intent(
                        order.id,
                        Money::new(
                            order.total.amount - order.gift_card.amount,
                            order.total.currency,
                        ),
                        &order.email,
                    )
                    .await
                {
                    Ok(intent) => Some(NextAction::StripePaymentElement {
                        client_secret: intent.client_secret,
                        publishable_key: stripe.publishable_key.clone(),
                    }),
                    Err(error) => {
                        tracing::warn!(%error, "could not fetch the order's PaymentIntent");
                        None
                    }
                }
            }
            _ => None,
        };
        Ok(record::details(self.0.db.pool(), order, next_action).await?)
    }
}

/// The discounts a cart may use: the entered codes as found, the automatic ones, and what the
/// shopper's history and the products' collections say about them. Quote and checkout read
/// it the same way (checkout inside its transaction) and apply it by the same rules.
struct Offers {
    codes: Vec<String>,
    found: Vec<Offer>,
    automatic: Arc<Vec<Offer>>,
    history: discounts::History,
    /// Each product's collections, read only when a discount is about collections.
    collections: std::collections::HashMap<i64, Vec<i64>>,
}

impl Offers {
    async fn read(
        conn: &mut AnyConnection,
        codes: Vec<String>,
        automatic: Arc<Vec<Offer>>,
        buyer: &Buyer,
        rows: &[VariantRow],
    ) -> Result<Offers, sqlx::Error> {
        let found = promotion_store::by_codes(conn, &codes).await?;
        let all: Vec<&Offer> = found.iter().chain(automatic.iter()).collect();
        let history = promotion_store::history(conn, buyer, &all).await?;
        let about_collections = all.iter().any(|o| o.discount.kind.mentions_collections());
        let collections = if about_collections {
            let products: Vec<i64> = rows.iter().map(|r| r.product_id).collect();
            promotion_store::collections_of(conn, &products).await?
        } else {
            Default::default()
        };
        Ok(Offers {
            codes,
            found,
            automatic,
            history,
            collections,
        })
    }

    /// The cart as the discount rules see it.
    fn cart(
        &self,
        lines: &[(VariantRow, u32)],
        shipping: i64,
        country: &str,
        rate_bp: pricing::RateBp,
        rules: &ShopRules,
    ) -> discounts::Cart {
        discounts::Cart {
            lines: lines
                .iter()
                .map(|(row, quantity)| discounts::Line {
                    variant_id: row.id,
                    product_id: row.product_id,
                    collections: self
                        .collections
                        .get(&row.product_id)
                        .cloned()
                        .unwrap_or_default(),
                    unit_price: row.price,
                    quantity: *quantity,
                })
                .collect(),
            shipping,
            country: country.to_string(),
            rate_bp,
            prices_include_tax: rules.prices_include_tax,
            currency: rules.currency,
        }
    }

    /// Applies the discounts to `cart`; a code that cannot apply is a 422 naming its place in
    /// `requested` (the codes as the shopper sent them) and why.
    fn apply(
        &self,
        cart: &discounts::Cart,
        requested: &[String],
    ) -> Result<Outcome, CheckoutError> {
        let (entered, automatic) = discounts::choose(
            &self.codes,
            &self.found,
            &self.automatic,
            &self.history,
            now_epoch(),
        );
        let outcome = discounts::apply(cart, &entered, &automatic);
        if outcome.refused.is_empty() {
            return Ok(outcome);
        }
        let fields = outcome
            .refused
            .iter()
            .map(|(place, refusal)| {
                let code = self
                    .codes
                    .get(*place)
                    .map(|c| code_key(c))
                    .unwrap_or_default();
                FieldError::new(code_field(requested, &code), refusal.to_string())
            })
            .collect();
        Err(CheckoutError::Invalid(fields))
    }

    /// Every offer this cart was priced with, for recording their use.
    fn all(&self) -> Vec<Offer> {
        self.found
            .iter()
            .chain(self.automatic.iter())
            .cloned()
            .collect()
    }
}

/// What each usable card pays of `due`, in the order entered: `(place, card, amount)`. A card
/// that cannot pay (disabled, expired, another currency, empty) is a 422 naming its place.
fn paying_cards(
    cards: &[(usize, Card)],
    due: i64,
    currency: crate::money::Currency,
    now: i64,
) -> Result<Vec<(usize, Card, i64)>, CheckoutError> {
    let problems: Vec<FieldError> = cards
        .iter()
        .filter_map(|(index, card)| {
            let problem = card.usable(currency, now).err()?;
            Some(FieldError::new(
                format!("gift_cards[{index}]"),
                problem.to_string(),
            ))
        })
        .collect();
    if !problems.is_empty() {
        return Err(CheckoutError::Invalid(problems));
    }
    let balances: Vec<i64> = cards.iter().map(|(_, card)| card.balance.amount).collect();
    Ok(cards
        .iter()
        .zip(gift_cards::allocate(due, &balances))
        .map(|((index, card), take)| (*index, card.clone(), take))
        .collect())
}

/// A card's part of an order, as the shopper reads it.
fn card_use(card: &Card, amount: i64) -> GiftCardUse {
    GiftCardUse {
        last4: card.last4.clone(),
        amount: Money::new(amount, card.balance.currency),
    }
}

/// `discount_codes[i]`, `i` the place of the code with key `key` among those the shopper sent.
fn code_field(requested: &[String], key: &str) -> String {
    let place = requested
        .iter()
        .position(|c| code_key(c) == key)
        .unwrap_or(0);
    format!("discount_codes[{place}]")
}

/// The discounts an outcome applied, as the shopper reads them.
fn discount_lines(outcome: &Outcome, currency: crate::money::Currency) -> Vec<DiscountLine> {
    outcome
        .applied
        .iter()
        .map(|a| DiscountLine {
            code: a.code.clone(),
            title: a.title.clone(),
            amount: Money::new(a.amount(), currency),
        })
        .collect()
}

fn tax_label(rules: &ShopRules, rate_bp: u32, country: &str, region: &str) -> String {
    let name = rules
        .tax_rates
        .iter()
        .find(|r| r.country == country && r.region.eq_ignore_ascii_case(region))
        .or_else(|| {
            rules
                .tax_rates
                .iter()
                .find(|r| r.country == country && r.region.is_empty())
        })
        .or(rules.tax_rates.first())
        .map(|r| r.name.as_str())
        .unwrap_or("tax");
    let percent = if rate_bp.is_multiple_of(100) {
        format!("{}", rate_bp / 100)
    } else {
        format!("{}.{:02}", rate_bp / 100, rate_bp % 100)
            .trim_end_matches('0')
            .to_string()
    };
    if rules.prices_include_tax {
        format!("incl. {percent} % {name}")
    } else {
        format!("plus {percent} % {name}")
    }
}

/// Reads the shop's pricing rules.
pub async fn load_rules(db: &Db) -> Result<ShopRules, sqlx::Error> {
    let pool = db.pool();
    let settings = sqlx::query(
        "SELECT shop_name, currency, prices_include_tax, reservation_minutes FROM shop_settings WHERE id = 1",
    )
    .fetch_one(pool)
    .await?;
    let zones = sqlx::query("SELECT id, name, countries FROM shipping_zones ORDER BY position, id")
        .fetch_all(pool)
        .await?;
    let rates = sqlx::query(
        "SELECT zone_id, code, name, price_amount, free_above_amount, min_days, max_days \
         FROM shipping_rates ORDER BY position, id",
    )
    .fetch_all(pool)
    .await?;
    let taxes = sqlx::query("SELECT country, region, name, rate_bp FROM tax_rates ORDER BY id")
        .fetch_all(pool)
        .await?;
    let mut rates_by_zone: Vec<(i64, ShippingRate)> = Vec::with_capacity(rates.len());
    for r in &rates {
        rates_by_zone.push((
            r.try_get("zone_id")?,
            ShippingRate {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                price: r.try_get("price_amount")?,
                free_above: r.try_get("free_above_amount")?,
                min_days: count(r, "min_days")?,
                max_days: count(r, "max_days")?,
            },
        ));
    }
    let mut shipping_zones = Vec::with_capacity(zones.len());
    for zone in &zones {
        let id: i64 = zone.try_get("id")?;
        let countries: String = zone.try_get("countries")?;
        shipping_zones.push(ShippingZone {
            name: zone.try_get("name")?,
            countries: countries
                .split(',')
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty())
                .collect(),
            rates: rates_by_zone
                .iter()
                .filter(|(zone, _)| *zone == id)
                .map(|(_, rate)| rate.clone())
                .collect(),
        });
    }
    let mut tax_rates = Vec::with_capacity(taxes.len());
    for t in &taxes {
        tax_rates.push(TaxRate {
            country: t.try_get("country")?,
            region: t.try_get("region")?,
            name: t.try_get("name")?,
            rate_bp: count(t, "rate_bp")?,
        });
    }
    Ok(ShopRules {
        shop_name: settings.try_get("shop_name")?,
        currency: currency_of(&settings, "currency")?,
        prices_include_tax: settings.try_get::<i64, _>("prices_include_tax")? != 0,
        reservation_minutes: count(&settings, "reservation_minutes")?,
        zones: shipping_zones,
        tax_rates,
    })
}

/// Idempotency keys are the client's: any printable text up to 255 characters (a UUID is usual).
fn check_idempotency_key(key: &str) -> Result<String, CheckoutError> {
    let key = key.trim();
    if key.is_empty() {
        return Err(CheckoutError::BadRequest(
            "An Idempotency-Key is required: send a new random key (a UUID) for each order attempt."
                .into(),
        ));
    }
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CheckoutError::BadRequest(
            "The Idempotency-Key must be printable ASCII, at most 255 characters.".into(),
        ));
    }
    Ok(key.to_string())
}

/// A checkout request that passed validation.
#[derive(Clone, Debug, serde::Serialize)]
struct ValidCheckout {
    email: String,
    address: Address,
    shipping_method: Option<String>,
    lines: Vec<(i64, u32)>,
    gateway: String,
    token: Option<String>,
    /// Checked and without repeats.
    discount_codes: Vec<String>,
    /// As sent, to name a refused one by its place.
    #[serde(skip)]
    requested_codes: Vec<String>,
    newsletter: bool,
    /// Gift card codes, normalised, with their place as sent.
    gift_cards: Vec<(usize, String)>,
}

fn validate_request(
    request: &CheckoutRequest,
    gateway: &str,
) -> Result<ValidCheckout, CheckoutError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let email = validate_email(&request.email)
        .map_err(|e| errors.push(e))
        .ok();
    let address = validate_address(&request.shipping_address, "shipping_address")
        .map_err(|e| errors.extend(e))
        .ok();
    let lines = match normalise_lines(&request.lines) {
        Ok(lines) => Some(lines),
        Err(CheckoutError::Invalid(e)) => {
            errors.extend(e);
            None
        }
        Err(other) => return Err(other),
    };
    let discount_codes = normalise_codes(&request.discount_codes)
        .map_err(|e| errors.extend(e))
        .unwrap_or_default();
    let gift_cards = gift_cards::normalise_codes(&request.gift_cards)
        .map_err(|e| errors.extend(e))
        .unwrap_or_default();
    if request.payment.gateway != gateway {
        errors.push(FieldError::new(
            "payment.gateway",
            format!("This shop takes payments through the '{gateway}' gateway."),
        ));
    }
    let token = request
        .payment
        .token
        .as_ref()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    if gateway == "test" && token.is_none() && gift_cards.is_empty() {
        errors.push(FieldError::new(
            "payment.token",
            "Enter a test card (4242 4242 4242 4242 succeeds).",
        ));
    }
    match (email, address, lines) {
        (Some(email), Some(address), Some(lines)) if errors.is_empty() => Ok(ValidCheckout {
            email,
            address,
            shipping_method: request
                .shipping_method
                .as_ref()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty()),
            lines,
            gateway: gateway.to_string(),
            token,
            discount_codes,
            requested_codes: request.discount_codes.clone(),
            newsletter: request.newsletter,
            gift_cards,
        }),
        _ => Err(CheckoutError::Invalid(errors)),
    }
}

/// What identifies a request for its idempotency key: the same key with a different request
/// is a client bug, answered with 400 (see `find_by_key`) rather than with the wrong order.
fn fingerprint(valid: &ValidCheckout) -> String {
    let json = serde_json::to_vec(valid).unwrap_or_default();
    hex::encode(Sha256::digest(json))
}

/// 128 random bits as hex: order links cannot be guessed.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}

struct NewOrder {
    valid: ValidCheckout,
    key: String,
    request_hash: String,
    access_token: String,
    outcome: Option<ChargeOutcome>,
    rules: Arc<ShopRules>,
    automatic: Arc<Vec<Offer>>,
    now: i64,
    site_url: String,
    customer_id: Option<i64>,
    /// The entered gift cards by place and code hash, found before the transaction.
    gift_cards: Vec<(usize, String)>,
    /// The key for codes of gift cards the order buys, if the server has it already.
    gift_card_key: Option<CodeKey>,
    /// Where the shopper came from (for the analytics' sources).
    source: Option<crate::analytics::Source>,
}

/// An order as the checkout transaction left it (or found it, for a repeated key).
#[derive(Clone, Debug)]
struct PlacedRow {
    id: i64,
    access_token: String,
    email: String,
    status: OrderStatus,
    total: Money,
    /// What the card is charged: the total less the gift cards.
    amount_due: Money,
    payment_ref: Option<String>,
    decline_message: Option<String>,
    replayed: bool,
}

/// A variant as a cart shows it, and how many can be bought now: `u32::MAX` when it sells on
/// backorder, 0 when it is no longer sold.
pub(crate) struct Buyable {
    pub variant_id: i64,
    pub product_slug: String,
    pub title: String,
    pub variant_title: String,
    pub unit_price: Money,
    pub image_url: Option<String>,
    pub available: u32,
}

/// The variants among `ids` the shop knows, as carts show them; id order.
pub(crate) async fn buyable_variants(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<Vec<Buyable>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let lines: Vec<(i64, u32)> = ids.iter().map(|id| (*id, 0)).collect();
    let rows = read_variants(conn, &lines, true, false).await?;
    rows.into_iter()
        .map(|row| {
            let available = if !row.active {
                0
            } else if row.allow_backorder {
                u32::MAX
            } else {
                u32::try_from(row.available()).unwrap_or(u32::MAX)
            };
            let currency = crate::money::Currency::parse(&row.currency)
                .map_err(|_| decode_error("currency", &row.currency))?;
            Ok(Buyable {
                variant_id: row.id,
                product_slug: row.slug,
                title: row.title,
                variant_title: row.variant_title,
                unit_price: Money::new(row.price, currency),
                image_url: row.image_url,
                available,
            })
        })
        .collect()
}

/// Reads the variants of the lines, in id order; on Postgres the rows stay locked until the
/// transaction ends, always taken in the same order so two checkouts cannot deadlock.
async fn read_variants(
    conn: &mut AnyConnection,
    lines: &[(i64, u32)],
    with_images: bool,
    lock: bool,
) -> Result<Vec<VariantRow>, sqlx::Error> {
    let placeholders: Vec<String> = (1..=lines.len()).map(|i| format!("${i}")).collect();
    let image = if with_images {
        ", (SELECT i.url FROM product_images i WHERE i.product_id = v.product_id \
           AND (i.variant_id = v.id OR i.variant_id IS NULL) \
           ORDER BY CASE WHEN i.variant_id IS NULL THEN 1 ELSE 0 END, i.position LIMIT 1) AS image_url"
    } else {
        ", NULL AS image_url"
    };
    let lock = if lock && Backend::of(conn) == Backend::Postgres {
        " FOR UPDATE OF v"
    } else {
        ""
    };
    let sql = format!(
        "SELECT v.id, v.product_id, v.sku, v.option1, v.option2, v.option3, v.price_amount, v.currency, \
         v.on_hand, v.reserved, v.backorder, v.archived_at, p.slug, p.title, p.status, p.product_type{image} \
         FROM variants v JOIN products p ON p.id = v.product_id \
         WHERE v.id IN ({}) ORDER BY v.id{lock}",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (id, _) in lines {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(variant_from_row).collect()
}

fn variant_from_row(row: &sqlx::any::AnyRow) -> Result<VariantRow, sqlx::Error> {
    let mut options = Vec::with_capacity(3);
    for column in ["option1", "option2", "option3"] {
        if let Some(value) = row.try_get::<Option<String>, _>(column)? {
            if !value.is_empty() {
                options.push(value);
            }
        }
    }
    Ok(VariantRow {
        id: row.try_get("id")?,
        product_id: row.try_get("product_id")?,
        sku: row.try_get("sku")?,
        title: row.try_get("title")?,
        variant_title: options.join(" / "),
        slug: row.try_get("slug")?,
        image_url: row.try_get("image_url")?,
        price: row.try_get("price_amount")?,
        currency: row.try_get("currency")?,
        on_hand: row.try_get("on_hand")?,
        reserved: row.try_get("reserved")?,
        allow_backorder: row.try_get::<String, _>("backorder")? == "allow",
        // An archived variant (kept for its orders) can no longer be bought.
        active: row.try_get::<String, _>("status")? == "active"
            && row.try_get::<Option<i64>, _>("archived_at")?.is_none(),
        gift_card: row
            .try_get::<String, _>("product_type")?
            .eq_ignore_ascii_case(gift_cards::PRODUCT_TYPE),
    })
}

/// The checkout transaction (a savepoint of a group on SQLite). Any `Err` rolls back all of it.
async fn insert_order(
    conn: &mut AnyConnection,
    order: NewOrder,
) -> Result<PlacedRow, CheckoutError> {
    let NewOrder {
        valid,
        key,
        request_hash,
        access_token,
        outcome,
        rules,
        automatic,
        now,
        site_url,
        customer_id,
        gift_cards: gift_hashes,
        gift_card_key,
        source,
    } = order;
    let rows = read_variants(conn, &valid.lines, false, true).await?;

    // What each line takes, and what cannot be supplied.
    let mut takes = Vec::with_capacity(valid.lines.len());
    let mut shortages = Vec::new();
    for (variant_id, quantity) in &valid.lines {
        let row = rows
            .iter()
            .find(|r| r.id == *variant_id && r.active && r.currency == rules.currency.code());
        let Some(row) = row else {
            shortages.push(Shortage {
                variant_id: *variant_id,
                sku: String::new(),
                title: format!("variant {variant_id}"),
                requested: *quantity,
                available: 0,
            });
            continue;
        };
        let wanted = *quantity as i64;
        let from_stock = wanted.min(row.available());
        if from_stock < wanted && !row.allow_backorder {
            shortages.push(Shortage {
                variant_id: row.id,
                sku: row.sku.clone(),
                title: row.display_title(),
                requested: *quantity,
                available: row.available() as u32,
            });
        }
        takes.push(Take {
            variant_id: row.id,
            quantity: *quantity,
            from_stock,
            backordered: wanted - from_stock,
        });
    }
    if !shortages.is_empty() {
        // A repeated request whose order took the last units must still get its order back.
        if let Some(existing) = find_by_key(conn, &key, &request_hash).await? {
            return Ok(existing);
        }
        return Err(CheckoutError::OutOfStock(shortages));
    }

    // Prices, shipping and tax, all from the database's numbers.
    let amounts: Vec<LineAmount> = takes
        .iter()
        .map(|t| LineAmount {
            unit_price: rows
                .iter()
                .find(|r| r.id == t.variant_id)
                .map_or(0, |r| r.price),
            quantity: t.quantity,
        })
        .collect();
    // The same sum the quote shows, checked: an overflow is refused, never rounded to a maximum.
    let goods = pricing::totals(&amounts, 0, 0, true)
        .ok_or_else(|| CheckoutError::BadRequest("The amounts are too large.".into()))?
        .subtotal;
    let options = rules.shipping_options(&valid.address.country, goods);
    let method = match &valid.shipping_method {
        Some(code) => options.iter().find(|o| &o.code == code).ok_or_else(|| {
            CheckoutError::field(
                "shipping_method",
                &format!(
                    "'{code}' does not ship to this address; choose one of: {}.",
                    options
                        .iter()
                        .map(|o| o.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?,
        None => options.first().ok_or_else(|| {
            CheckoutError::field(
                "shipping_address.country",
                "We do not ship to this country yet.",
            )
        })?,
    };
    let rate = rules.tax_rate(&valid.address.country, &valid.address.region);
    pricing::totals(
        &amounts,
        method.price.amount,
        rate,
        rules.prices_include_tax,
    )
    .ok_or_else(|| CheckoutError::BadRequest("The amounts are too large.".into()))?;
    let currency = rules.currency;

    // Discounts, read in this transaction and applied by the quote's rules.
    let buyer = Buyer {
        customer_id,
        email: valid.email.to_lowercase(),
    };
    let offers = Offers::read(conn, valid.discount_codes.clone(), automatic, &buyer, &rows).await?;
    let mut priced = Vec::with_capacity(takes.len());
    for take in &takes {
        let row = rows
            .iter()
            .find(|r| r.id == take.variant_id)
            .ok_or(CheckoutError::Internal)?;
        priced.push((row.clone(), take.quantity));
    }
    let cart = offers.cart(
        &priced,
        method.price.amount,
        &valid.address.country,
        rate,
        &rules,
    );
    let totals = match offers.apply(&cart, &valid.requested_codes) {
        Ok(outcome) => outcome,
        Err(refused) => {
            // A repeated request whose order took a code's last use must still get its order.
            if let Some(existing) = find_by_key(conn, &key, &request_hash).await? {
                return Ok(existing);
            }
            return Err(refused);
        }
    };

    // Gift cards pay what is left, read again in this transaction; the card pays the rest.
    let hashes: Vec<String> = gift_hashes.iter().map(|(_, hash)| hash.clone()).collect();
    let found = gift_card_store::by_hashes(conn, &hashes).await?;
    let cards: Vec<(usize, Card)> = gift_hashes
        .iter()
        .filter_map(|(index, hash)| {
            let card = found.iter().find(|c| &c.code_hash == hash)?;
            Some((*index, card.clone()))
        })
        .collect();
    let paying = match paying_cards(&cards, totals.total, currency, now) {
        Ok(paying) => paying,
        Err(refused) => {
            // A repeated request whose order spent the card must still get its order.
            if let Some(existing) = find_by_key(conn, &key, &request_hash).await? {
                return Ok(existing);
            }
            return Err(refused);
        }
    };
    let by_cards: i64 = paying.iter().map(|(_, _, take)| take).sum();
    let amount_due = totals.total - by_cards;
    let paid_by_cards = by_cards > 0 && amount_due == 0;
    if amount_due > 0 && outcome.is_none() && valid.gateway == "test" {
        return Err(CheckoutError::field(
            "payment.token",
            &format!(
                "The gift cards pay {}; enter a test card for the remaining {}.",
                Money::new(by_cards, currency),
                Money::new(amount_due, currency)
            ),
        ));
    }
    let gateway = if paid_by_cards {
        "gift_card"
    } else {
        valid.gateway.as_str()
    };

    let (status, reserve, reference, decline_message) = match &outcome {
        _ if paid_by_cards => (OrderStatus::Paid, false, None, None),
        Some(ChargeOutcome::Succeeded { reference }) => {
            (OrderStatus::Paid, false, Some(reference.clone()), None)
        }
        Some(ChargeOutcome::Declined { reference, message }) => (
            OrderStatus::PaymentFailed,
            false,
            Some(reference.clone()),
            Some(message.clone()),
        ),
        Some(ChargeOutcome::RequiresAction { reference }) => (
            OrderStatus::PendingPayment,
            true,
            Some(reference.clone()),
            None,
        ),
        None => (OrderStatus::PendingPayment, true, None, None),
    };
    let reserved_until = reserve.then(|| now + rules.reservation_minutes as i64 * 60);
    let address_json =
        serde_json::to_string(&valid.address).map_err(|_| CheckoutError::Internal)?;

    let inserted = sqlx::query(
        "INSERT INTO orders (access_token, idempotency_key, request_hash, email, status, currency, \
         subtotal_amount, shipping_amount, tax_amount, total_amount, prices_include_tax, \
         shipping_code, shipping_name, address_json, gateway, payment_ref, reserved_until, \
         created_at, updated_at, paid_at, search_text, customer_id, discount_amount, gift_card_amount, \
         source, medium, campaign) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20, $21, $22, $23, $24, $25, $26) \
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(&access_token)
    .bind(&key)
    .bind(&request_hash)
    .bind(&valid.email)
    .bind(status.as_str())
    .bind(currency.code())
    .bind(totals.subtotal)
    .bind(totals.shipping)
    .bind(totals.tax)
    .bind(totals.total)
    .bind(rules.prices_include_tax as i64)
    .bind(&method.code)
    .bind(&method.name)
    .bind(&address_json)
    .bind(gateway)
    .bind(reference.clone())
    .bind(reserved_until)
    .bind(now)
    .bind((status == OrderStatus::Paid).then_some(now))
    .bind(format!("{} {}", valid.email, valid.address.name).to_lowercase())
    .bind(customer_id)
    .bind(totals.discount_total)
    .bind(if status == OrderStatus::PaymentFailed {
        0
    } else {
        by_cards
    })
    .bind(source.as_ref().map(|s| s.source.clone()))
    .bind(source.as_ref().map(|s| s.medium.clone()))
    .bind(source.as_ref().map(|s| s.campaign.clone()))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(inserted) = inserted else {
        return find_by_key(conn, &key, &request_hash)
            .await?
            .ok_or(CheckoutError::Internal);
    };
    let order_id: i64 = inserted.try_get("id")?;

    // Stock: a sale when the payment already succeeded, a reservation while it is pending,
    // nothing for a declined card. The inventory's guard re-checks what was read above.
    if status != OrderStatus::PaymentFailed {
        let movement = if reserve {
            Movement::Reserve
        } else {
            Movement::Sell
        };
        let moves: Vec<StockMove> = takes
            .iter()
            .filter(|t| t.from_stock > 0)
            .map(|t| StockMove::for_order(t.variant_id, order_id, movement, t.from_stock))
            .collect();
        match inventory::apply(conn, &moves, now).await {
            Ok(_) => {}
            Err(StockError::Short { variant_id }) => {
                let take = takes.iter().find(|t| t.variant_id == variant_id);
                return Err(CheckoutError::OutOfStock(vec![Shortage {
                    variant_id,
                    sku: String::new(),
                    title: format!("variant {variant_id}"),
                    requested: take.map_or(0, |t| t.quantity),
                    available: 0,
                }]));
            }
            Err(StockError::OutOfBounds(_)) => {
                return Err(CheckoutError::BadRequest(
                    "A quantity in the cart is too large.".into(),
                ))
            }
            Err(StockError::Database(error)) => return Err(error.into()),
        }
    }

    // The lines, with what they cost.
    let mut sql = String::from(
        "INSERT INTO order_lines (order_id, variant_id, sku, title, variant_title, quantity, \
         backordered_quantity, unit_price_amount, tax_amount, total_amount, discount_amount) VALUES ",
    );
    for i in 0..takes.len() {
        let b = i * 10;
        if i > 0 {
            sql.push_str(", ");
        }
        let params: Vec<String> = (2..=11).map(|n| format!("${}", b + n)).collect();
        sql.push_str(&format!("($1, {})", params.join(", ")));
    }
    let mut query = sqlx::query(&sql).bind(order_id);
    for (take, line) in takes.iter().zip(&totals.lines) {
        let row = rows
            .iter()
            .find(|r| r.id == take.variant_id)
            .ok_or(CheckoutError::Internal)?;
        query = query
            .bind(take.variant_id)
            .bind(row.sku.clone())
            .bind(row.title.clone())
            .bind(row.variant_title.clone())
            .bind(take.quantity as i64)
            .bind(if status == OrderStatus::PaymentFailed {
                0
            } else {
                take.backordered
            })
            .bind(row.price)
            .bind(line.tax)
            .bind(line.total)
            .bind(line.discount);
    }
    query.execute(&mut *conn).await?;

    // Each discount takes its use now (never past its limit), or the whole order is undone.
    let counted = status != OrderStatus::PaymentFailed;
    let offered = offers.all();
    match promotion_store::record(conn, order_id, &totals, &offered, &buyer, counted, now).await? {
        Ok(()) => {}
        Err(NotTaken {
            code: Some(code),
            refusal,
        }) => {
            return Err(CheckoutError::Invalid(vec![FieldError::new(
                code_field(&valid.requested_codes, &code_key(&code)),
                refusal.to_string(),
            )]))
        }
        Err(NotTaken { code: None, .. }) => {
            return Err(CheckoutError::Conflict(
                "An offer in your cart has just ended or been used up; review the new total \
                 and place the order again."
                    .into(),
            ))
        }
    }

    // Each gift card pays its part now (never past its balance), or the whole order is undone.
    if status != OrderStatus::PaymentFailed {
        for (index, card, take) in &paying {
            if let Err(balance) =
                gift_card_store::redeem(conn, card.id, *take, order_id, now).await?
            {
                let changed = Unusable::BalanceChanged(Money::new(balance, currency));
                return Err(CheckoutError::field(
                    &format!("gift_cards[{index}]"),
                    &changed.to_string(),
                ));
            }
        }
    }

    if let Some(outcome) = outcome.as_ref().filter(|_| !paid_by_cards) {
        let (payment_status, message) = match outcome {
            ChargeOutcome::Succeeded { .. } => ("succeeded", String::new()),
            ChargeOutcome::Declined { message, .. } => ("failed", message.clone()),
            ChargeOutcome::RequiresAction { .. } => ("requires_action", String::new()),
        };
        let charge = ledger::Charge {
            order_id,
            gateway: &valid.gateway,
            status: payment_status,
            amount: amount_due,
            currency: currency.code(),
            reference: reference.as_deref().unwrap_or_default(),
            message: &message,
        };
        ledger::record_charge(conn, charge, now).await?;
    }

    if valid.newsletter {
        crate::promotions::newsletter::ssr::ask(
            conn,
            &valid.email,
            crate::promotions::newsletter::Source::Checkout,
            &site_url,
            &rules.shop_name,
            now,
        )
        .await?;
    }

    if status == OrderStatus::Paid {
        let lines: Vec<(String, u32, i64)> = takes
            .iter()
            .zip(&totals.lines)
            .map(|(take, line)| {
                let title = rows
                    .iter()
                    .find(|r| r.id == take.variant_id)
                    .map(VariantRow::display_title)
                    .unwrap_or_default();
                (title, take.quantity, line.total)
            })
            .collect();
        let order_url = format!("{site_url}/orders/{access_token}");
        let email = notifications::order_confirmation(
            &order_number(order_id),
            &lines,
            &discount_lines(&totals, currency),
            &paying
                .iter()
                .map(|(_, card, take)| card_use(card, *take))
                .collect::<Vec<_>>(),
            Money::new(totals.total, currency),
            &order_url,
        );
        notifications::queue(conn, &valid.email, email, now).await?;
        if rows.iter().any(|r| r.gift_card) {
            gift_card_store::issue_bought(
                conn,
                gift_card_key.as_ref(),
                order_id,
                &rules.shop_name,
                &site_url,
                now,
            )
            .await?;
        }
    }

    Ok(PlacedRow {
        id: order_id,
        access_token,
        email: valid.email,
        status,
        total: Money::new(totals.total, currency),
        amount_due: Money::new(amount_due, currency),
        payment_ref: reference,
        decline_message,
        replayed: false,
    })
}

/// The order an idempotency key already made, if the request matches it.
async fn find_by_key(
    conn: &mut AnyConnection,
    key: &str,
    request_hash: &str,
) -> Result<Option<PlacedRow>, CheckoutError> {
    let row = sqlx::query(
        "SELECT o.id, o.access_token, o.email, o.status, o.currency, o.total_amount, o.gift_card_amount, o.payment_ref, \
         o.request_hash, (SELECT p.message FROM payments p WHERE p.order_id = o.id AND p.status = 'failed' \
         ORDER BY p.id DESC LIMIT 1) AS decline_message FROM orders o WHERE o.idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    if row.try_get::<String, _>("request_hash")? != request_hash {
        return Err(CheckoutError::BadRequest(
            "This Idempotency-Key was already used for a different order; use a new key for a new order."
                .into(),
        ));
    }
    let status: String = row.try_get("status")?;
    let currency = currency_of(&row, "currency")?;
    let total: i64 = row.try_get("total_amount")?;
    Ok(Some(PlacedRow {
        id: row.try_get("id")?,
        access_token: row.try_get("access_token")?,
        email: row.try_get("email")?,
        status: OrderStatus::parse(&status).ok_or_else(|| decode_error("status", &status))?,
        total: Money::new(total, currency),
        amount_due: Money::new(total - row.try_get::<i64, _>("gift_card_amount")?, currency),
        payment_ref: row.try_get("payment_ref")?,
        decline_message: row.try_get("decline_message")?,
        replayed: true,
    }))
}
