//! Orders: the state machine, what a shopper sees of an order, and the order page; on the
//! server, reading orders back ([`record`]), every change of an order's status ([`settle`])
//! and its shipments ([`shipments`]).

use serde::{Deserialize, Serialize};

use crate::checkout::address::Address;
use crate::money::Money;
use crate::payments::NextAction;

mod page;
pub use page::OrderPage;

#[cfg(feature = "ssr")]
pub mod record;
#[cfg(feature = "ssr")]
pub mod refund_lines;
#[cfg(feature = "ssr")]
pub mod settle;
#[cfg(feature = "ssr")]
pub mod shipments;

/// Order numbers for people start here, so the first order is not "#1".
pub const NUMBER_OFFSET: i64 = 1000;

pub fn order_number(id: i64) -> String {
    (id + NUMBER_OFFSET).to_string()
}

/// The order id behind a number as people write it ("1042", "#1042").
pub fn order_id(number: &str) -> Option<i64> {
    // Checked: "-9223372036854775808" parses, and must not overflow on the way to an id.
    let id = number
        .trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()?
        .checked_sub(NUMBER_OFFSET)?;
    (id > 0).then_some(id)
}

/// Where an order stands. Payment moves it forward exactly once, out of `PendingPayment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum OrderStatus {
    /// Stock reserved, waiting for the payment to complete.
    PendingPayment,
    Paid,
    /// The card was declined; nothing was charged and no stock was taken.
    PaymentFailed,
    Cancelled,
    /// The reservation ran out before payment completed; the stock went back.
    Expired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<OrderStatus> {
        [
            OrderStatus::PendingPayment,
            OrderStatus::Paid,
            OrderStatus::PaymentFailed,
            OrderStatus::Cancelled,
            OrderStatus::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "Waiting for payment",
            OrderStatus::Paid => "Paid",
            OrderStatus::PaymentFailed => "Payment failed",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Expired => "Expired",
        }
    }

    /// The moves the shop allows. Everything but a pending payment is settled.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (PendingPayment, Paid | PaymentFailed | Cancelled | Expired) | (Paid, Cancelled)
        )
    }
}

/// An order in a sentence: what the checkout answers and the API's `order` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub number: String,
    pub status: OrderStatus,
    pub total: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderLine {
    /// The line's id (a return names it).
    #[serde(default)]
    pub id: i64,
    /// The variant bought; `null` once it was deleted from the catalog.
    #[serde(default)]
    pub variant_id: Option<i64>,
    pub sku: String,
    pub title: String,
    pub variant_title: String,
    pub quantity: u32,
    /// Units sold beyond stock (variants that allow backorders); shipped when restocked.
    pub backordered: u32,
    pub unit_price: Money,
    /// Before discounts.
    pub total: Money,
    /// This line's share of the order's discounts.
    pub discount: Money,
}

/// Everything the shopper's order page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderDetails {
    pub number: String,
    pub status: OrderStatus,
    pub email: String,
    pub created_at: i64,
    pub lines: Vec<OrderLine>,
    pub subtotal: Money,
    pub shipping: Money,
    /// Each discount the order took, in the order they applied.
    #[serde(default)]
    pub discounts: Vec<crate::promotions::DiscountLine>,
    pub discount_total: Money,
    pub tax: Money,
    pub total: Money,
    /// The gift cards that paid part of the total.
    #[serde(default)]
    pub gift_cards: Vec<crate::promotions::gift_cards::GiftCardUse>,
    /// What the card was (or is to be) charged: the total less the gift cards.
    pub amount_due: Money,
    pub prices_include_tax: bool,
    pub shipping_method: String,
    pub shipping_address: Address,
    /// Unix seconds until which the stock is held for a pending payment.
    pub reserved_until: Option<i64>,
    pub next_action: Option<NextAction>,
    #[serde(default)]
    pub shipments: Vec<Shipment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Shipment {
    pub id: i64,
    pub carrier: String,
    pub tracking_number: String,
    /// `shipped` or `delivered`.
    pub status: String,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    /// (item, quantity)
    pub lines: Vec<(String, u32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ids_round_trip() {
        assert_eq!(order_number(42), "1042");
        assert_eq!(order_id("1042"), Some(42));
        assert_eq!(order_id("#1042"), Some(42));
        assert_eq!(order_id("1000"), None);
        assert_eq!(order_id("abc"), None);
        assert_eq!(order_id("-9223372036854775808"), None);
        assert_eq!(
            order_id(&i64::MAX.to_string()),
            Some(i64::MAX - NUMBER_OFFSET)
        );
        assert_eq!(order_id("99999999999999999999"), None);
    }

    #[test]
    fn only_pending_orders_settle() {
        use OrderStatus::*;
        assert!(PendingPayment.can_become(Paid));
        assert!(PendingPayment.can_become(Expired));
        assert!(!Paid.can_become(PendingPayment));
        assert!(!Expired.can_become(Paid));
        assert!(!PaymentFailed.can_become(Paid));
        for status in [PendingPayment, Paid, PaymentFailed, Cancelled, Expired] {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
    }
}
