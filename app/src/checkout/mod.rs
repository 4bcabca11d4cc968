//! Quotes and checkout: the server re-prices the browser's cart (prices, stock, shipping, tax),
//! takes the shopper's address, reserves stock without ever overselling and hands the payment
//! to the configured gateway. Placing an order is idempotent on the client's key.

pub mod address;
pub mod pricing;
mod view;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod service;

pub use view::CheckoutPage;

use leptos::prelude::*;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::error::Plumbing;
use crate::money::Money;
use crate::orders::{OrderDetails, OrderSummary};
use crate::payments::{NextAction, PaymentChoice};
use crate::promotions::DiscountLine;
use address::{Address, FieldError};
use pricing::ShippingOption;

/// No line holds more than this; larger orders are a conversation with the shop.
pub const MAX_LINE_QUANTITY: u32 = 99;

/// A cart longer than this is refused; bigger orders are a conversation with the shop.
pub const MAX_LINES: usize = 100;

/// A line's name as the shopper reads it in notices: "Linen shirt (M / Blue)".
pub fn line_title(title: &str, variant_title: &str) -> String {
    if variant_title.is_empty() {
        title.to_string()
    } else {
        format!("{title} ({variant_title})")
    }
}

/// One line the shopper wants. Prices are never read from the client: any it sends are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LineRequest {
    pub variant_id: i64,
    pub quantity: u32,
    /// The unit price the shopper last saw, if the client sends it: used only to say "the price
    /// changed", never to price anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_price: Option<Money>,
}

/// Where the goods go, as far as a quote needs to know (a full address is accepted too).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Destination {
    pub country: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub region: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QuoteRequest {
    pub lines: Vec<LineRequest>,
    #[serde(default)]
    pub shipping_address: Option<Destination>,
    #[serde(default)]
    pub shipping_method: Option<String>,
    /// Discount codes the shopper entered (case does not matter), at most five.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub discount_codes: Vec<String>,
    /// The shopper's email, if known: a once-per-customer or first-order code is checked
    /// against it (a signed-in shopper's account counts anyway).
    #[serde(default)]
    pub email: Option<String>,
    /// Gift card codes (spaces, dashes and case do not matter), at most five: they pay what
    /// is left after discounts, in the order given.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub gift_cards: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum NoticeKind {
    PriceChanged,
    LimitedStock,
    Unavailable,
}

/// Something about a line that changed since the shopper added it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Notice {
    pub variant_id: i64,
    pub kind: NoticeKind,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QuoteLine {
    pub variant_id: i64,
    pub product_slug: String,
    pub title: String,
    pub variant_title: String,
    pub image_url: Option<String>,
    pub unit_price: Money,
    /// What can be bought now: the request, lowered to the stock left.
    pub quantity: u32,
    /// Before discounts.
    pub line_total: Money,
    /// This line's share of the discounts (product discounts, and its part of order discounts).
    pub discount: Money,
    /// On the discounted line total.
    pub tax: Money,
}

/// The cart priced by the server, with what changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    /// The goods before discounts.
    pub subtotal: Money,
    /// Unknown until there is an address to ship to; before a shipping discount.
    pub shipping: Option<Money>,
    /// Each discount that applies, in the order they apply.
    pub discounts: Vec<DiscountLine>,
    /// All discounts: the lines' shares plus any shipping discount.
    pub discount_total: Money,
    pub tax: Money,
    pub total: Money,
    /// What each gift card pays, in the order entered.
    pub gift_cards: Vec<crate::promotions::gift_cards::GiftCardUse>,
    /// What the card is charged: the total less the gift cards.
    pub amount_due: Money,
    pub prices_include_tax: bool,
    /// "incl. 19 % MwSt." or "plus 7.25 % Sales tax", for the summary.
    pub tax_label: String,
    /// The rounding rule, stated for the shopper.
    pub rounding: String,
    pub shipping_options: Vec<ShippingOption>,
    pub shipping_method: Option<String>,
    pub notices: Vec<Notice>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckoutRequest {
    pub email: String,
    pub shipping_address: Address,
    #[serde(default)]
    pub shipping_method: Option<String>,
    pub lines: Vec<LineRequest>,
    pub payment: PaymentChoice,
    /// Discount codes (case does not matter), at most five; each one that cannot apply is a
    /// 422 naming `discount_codes[i]` with the reason.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub discount_codes: Vec<String>,
    /// The shopper ticked "email me news and offers": the address is asked to confirm
    /// (double opt-in), nothing is sent before.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub newsletter: bool,
    /// Gift card codes, at most five; they pay what is left after discounts, the card the
    /// rest. Each one that cannot pay is a 422 naming `gift_cards[i]` with the reason.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub gift_cards: Vec<String>,
    /// Where the shopper came from: the landing page's referrer and `utm_*` parameters, kept
    /// in their browser (no cookie). Reported as the order's source.
    #[serde(default)]
    pub attribution: Option<crate::analytics::Attribution>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckoutResponse {
    pub order: OrderSummary,
    /// The order's page, reachable by whoever holds the link (the unguessable token is in it).
    pub order_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
}

/// A variant the shop cannot supply in the quantity asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Shortage {
    pub variant_id: i64,
    pub sku: String,
    pub title: String,
    pub requested: u32,
    pub available: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CheckoutError {
    #[error("please correct the highlighted fields")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{}", shortage_message(.0))]
    OutOfStock(Vec<Shortage>),
    #[error("{message}")]
    Declined {
        message: String,
        order: OrderSummary,
        order_url: String,
    },
    #[error("{0}")]
    Conflict(String),
    /// Too many wrong codes from one address: 429.
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    PaymentUnavailable(String),
    /// Details go to the server log, never to the shopper.
    #[error("something went wrong on our side; please try again in a moment")]
    Internal,
    #[error("could not reach the shop: {0}")]
    Transport(String),
}

fn shortage_message(shortages: &[Shortage]) -> String {
    let parts: Vec<String> = shortages
        .iter()
        .map(|s| match s.available {
            0 => format!("{} is sold out", s.title),
            n => format!(
                "only {n} of {} left (you asked for {})",
                s.title, s.requested
            ),
        })
        .collect();
    format!("Not enough stock: {}.", parts.join("; "))
}

impl CheckoutError {
    pub fn status(&self) -> u16 {
        match self {
            CheckoutError::Invalid(_) => 422,
            CheckoutError::BadRequest(_) => 400,
            CheckoutError::OutOfStock(_) | CheckoutError::Conflict(_) => 409,
            CheckoutError::Declined { .. } => 402,
            CheckoutError::NotFound(_) => 404,
            CheckoutError::TooManyAttempts(_) => 429,
            CheckoutError::PaymentUnavailable(_) => 503,
            CheckoutError::Internal => 500,
            CheckoutError::Transport(_) => 502,
        }
    }

    pub fn field(field: &str, message: &str) -> CheckoutError {
        CheckoutError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl crate::error::ShopError for CheckoutError {
    fn status(&self) -> u16 {
        CheckoutError::status(self)
    }

    fn fields(&self) -> &[FieldError] {
        match self {
            CheckoutError::Invalid(fields) => fields,
            _ => &[],
        }
    }
}

impl FromServerFnError for CheckoutError {
    type Encoder = crate::error::ErrorEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match Plumbing::from(value) {
            Plumbing::BadRequest(message) => CheckoutError::BadRequest(message),
            Plumbing::Internal => CheckoutError::Internal,
            Plumbing::Transport(message) => CheckoutError::Transport(message),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for CheckoutError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error in checkout");
        CheckoutError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<crate::orders::settle::TransitionError> for CheckoutError {
    fn from(error: crate::orders::settle::TransitionError) -> Self {
        use crate::orders::settle::TransitionError::*;
        match error {
            NotAllowed(..) | Moved(_) => {
                CheckoutError::Conflict("This order changed meanwhile; reload the page.".into())
            }
            Stock(message) => {
                tracing::error!(%message, "an order's stock does not add up");
                CheckoutError::Internal
            }
            Database(error) => error.into(),
        }
    }
}

/// The lines as the server works with them: quantities checked, a variant asked for twice
/// merged, sorted by variant (the order stock rows are locked in, so checkouts cannot deadlock).
pub fn normalise_lines(lines: &[LineRequest]) -> Result<Vec<(i64, u32)>, CheckoutError> {
    if lines.is_empty() {
        return Err(CheckoutError::field("lines", "The cart is empty."));
    }
    if lines.len() > MAX_LINES {
        return Err(CheckoutError::field(
            "lines",
            &format!("A cart holds at most {MAX_LINES} lines."),
        ));
    }
    let max = MAX_LINE_QUANTITY;
    let mut errors = Vec::new();
    let mut merged: Vec<(i64, u32)> = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if line.variant_id <= 0 {
            errors.push(FieldError::new(
                format!("lines[{index}].variant_id"),
                "This is not a product variant.",
            ));
        }
        if line.quantity == 0 || line.quantity > max {
            errors.push(FieldError::new(
                format!("lines[{index}].quantity"),
                format!("Choose a quantity from 1 to {max}."),
            ));
        }
        match merged.iter_mut().find(|(id, _)| *id == line.variant_id) {
            Some((_, quantity)) => *quantity = quantity.saturating_add(line.quantity),
            None => merged.push((line.variant_id, line.quantity)),
        }
    }
    if errors.is_empty() {
        if let Some((id, _)) = merged.iter().find(|(_, q)| *q > max) {
            errors.push(FieldError::new(
                "lines",
                format!("Variant {id} appears more than once, over {max} in all."),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(CheckoutError::Invalid(errors));
    }
    merged.sort_unstable_by_key(|(id, _)| *id);
    Ok(merged)
}

/// Server functions answer with the error's own status (a declined card is a 402, bad input a
/// 4xx), as the HTTP API does, rather than a blanket 500.
#[cfg(feature = "ssr")]
fn with_status<T>(result: Result<T, CheckoutError>) -> Result<T, CheckoutError> {
    if let Err(error) = &result {
        crate::error::set_response_status(error.status());
    }
    result
}

/// The signed-in shopper behind a server function's request, whose order it will be.
#[cfg(feature = "ssr")]
async fn signed_in_customer() -> Result<Option<i64>, CheckoutError> {
    let (Some(accounts), Some(parts)) = (
        use_context::<crate::accounts::service::Accounts>(),
        use_context::<axum::http::request::Parts>(),
    ) else {
        return Ok(None);
    };
    Ok(accounts.customer_of(&parts.headers).await?.map(|c| c.id))
}

/// The address of the client behind a server function's request, which wrong gift card codes
/// count against.
#[cfg(feature = "ssr")]
fn client_address() -> String {
    client_ip().map(|ip| ip.to_string()).unwrap_or_default()
}

/// The client's address behind a server function's request (its proxy's, if not trusted).
#[cfg(feature = "ssr")]
fn client_ip() -> Option<std::net::IpAddr> {
    use_context::<axum::http::request::Parts>()?
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

/// Re-prices the cart (the cart page and checkout call this; also `POST /api/v1/cart/quote`).
#[server(endpoint = "cart/quote", input = server_fn::codec::Json)]
pub async fn quote_cart(request: QuoteRequest) -> Result<Quote, CheckoutError> {
    let checkout = use_context::<service::Checkout>().ok_or(CheckoutError::Internal)?;
    let customer = signed_in_customer().await?;
    with_status(checkout.quote(request, customer, &client_address()).await)
}

/// Places the order. The browser makes one key per attempt and sends it again on a retry, so
/// a double click or a lost answer never makes a second order.
#[server(endpoint = "checkout/place-order", input = server_fn::codec::Json)]
pub async fn place_order(
    request: CheckoutRequest,
    idempotency_key: String,
) -> Result<CheckoutResponse, CheckoutError> {
    let checkout = use_context::<service::Checkout>().ok_or(CheckoutError::Internal)?;
    let customer = signed_in_customer().await?;
    let placed = with_status(
        checkout
            .place_order(request, &idempotency_key, customer, &client_address())
            .await,
    )?;
    // The order counts for the visitor whose request placed it.
    if let (false, Some(parts), Some(id)) = (
        placed.replayed,
        use_context::<axum::http::request::Parts>(),
        crate::orders::order_id(&placed.response.order.number),
    ) {
        crate::analytics::http::record_order(checkout.analytics(), &parts.headers, client_ip(), id);
    }
    Ok(placed.response)
}

/// The test gateway's authentication step: the shopper completes (or fails) it.
#[server(endpoint = "checkout/confirm-test-payment", input = server_fn::codec::Json)]
pub async fn confirm_test_payment(
    access_token: String,
    approve: bool,
) -> Result<OrderSummary, CheckoutError> {
    let checkout = use_context::<service::Checkout>().ok_or(CheckoutError::Internal)?;
    with_status(checkout.confirm_test_payment(&access_token, approve).await)
}

/// The order behind an order link. After Stripe sends the shopper back, `payment_intent` asks
/// the gateway where the payment stands first (whichever of return and webhook comes first wins).
#[server(endpoint = "orders/by-token", input = server_fn::codec::Json)]
pub async fn order_by_token(
    access_token: String,
    returned_from_payment: bool,
) -> Result<OrderDetails, CheckoutError> {
    let checkout = use_context::<service::Checkout>().ok_or(CheckoutError::Internal)?;
    if returned_from_payment {
        with_status(checkout.refresh_payment(&access_token).await)?;
    }
    with_status(checkout.order_by_token(&access_token).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(variant_id: i64, quantity: u32) -> LineRequest {
        LineRequest {
            variant_id,
            quantity,
            seen_price: None,
        }
    }

    #[test]
    fn lines_are_merged_and_sorted_by_variant() {
        let lines = normalise_lines(&[line(9, 1), line(3, 2), line(9, 2)]).unwrap();
        assert_eq!(lines, vec![(3, 2), (9, 3)]);
    }

    #[test]
    fn bad_quantities_name_their_line() {
        let CheckoutError::Invalid(errors) =
            normalise_lines(&[line(1, 1), line(2, 0)]).unwrap_err()
        else {
            panic!("expected field errors");
        };
        assert_eq!(errors[0].field, "lines[1].quantity");
        assert!(normalise_lines(&[line(1, 100)]).is_err());
        assert!(normalise_lines(&[line(1, 60), line(1, 60)]).is_err());
        assert!(normalise_lines(&[]).is_err());
    }

    #[test]
    fn prices_sent_by_a_client_are_only_a_wish() {
        // A price in the request parses, but nothing but the notice can read it.
        let request: LineRequest = serde_json::from_str(
            r#"{"variant_id":1,"quantity":1,"price":1,"unit_price":{"amount":1,"currency":"EUR"}}"#,
        )
        .unwrap();
        assert_eq!(request.seen_price, None);
    }

    #[test]
    fn shortages_read_as_a_sentence() {
        let error = CheckoutError::OutOfStock(vec![
            Shortage {
                variant_id: 1,
                sku: "A".into(),
                title: "Mug".into(),
                requested: 3,
                available: 2,
            },
            Shortage {
                variant_id: 2,
                sku: "B".into(),
                title: "Cap".into(),
                requested: 1,
                available: 0,
            },
        ]);
        assert_eq!(
            error.to_string(),
            "Not enough stock: only 2 of Mug left (you asked for 3); Cap is sold out."
        );
        assert_eq!(error.status(), 409);
    }
}
