//! Payments behind one gateway interface: `test` (built in, offline, behaves like Stripe's test
//! mode) or `stripe`. Card numbers never reach the server: the browser turns a test card into
//! Stripe's test payment-method token, and real cards go into Stripe's own Payment Element.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod gateway;
#[cfg(feature = "ssr")]
pub mod ledger;
#[cfg(feature = "ssr")]
pub mod stripe_gateway;
#[cfg(feature = "ssr")]
pub mod webhook;

/// What a gateway call can fail with.
#[cfg(feature = "ssr")]
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("unknown payment method '{0}': use one of Stripe's test cards")]
    UnknownTestToken(String),
    #[error("the payment provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the payment provider refused the request: {0}")]
    Refused(String),
    #[error("the payment was taken by '{0}', which this shop is not set up to use now")]
    NotConfigured(String),
}

/// Where a payment stands at its gateway, reduced to what the order needs to know.
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntentStatus {
    Succeeded,
    /// Waiting for the shopper or the bank.
    Pending,
    /// The attempt failed; the shopper may try another card on the same intent.
    Failed,
    Canceled,
}

/// How the shopper wants to pay, as the checkout form and `POST /api/v1/checkout` send it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PaymentChoice {
    pub gateway: String,
    /// A payment-method token (`pm_card_visa`); never a card number.
    #[serde(default)]
    pub token: Option<String>,
}

/// What the browser must do before the order is paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum NextAction {
    /// The test gateway's stand-in for 3-D Secure: the shopper confirms (or fails) the payment.
    ConfirmTestPayment,
    /// Stripe: confirm the PaymentIntent in Stripe.js's Payment Element.
    StripePaymentElement {
        client_secret: String,
        publishable_key: String,
    },
}

/// Stripe's test cards and the test payment-method tokens they stand for.
pub const TEST_CARDS: &[TestCard] = &[
    TestCard {
        number: "4242424242424242",
        token: "pm_card_visa",
        behaviour: "succeeds",
    },
    TestCard {
        number: "4000000000000002",
        token: "pm_card_chargeDeclined",
        behaviour: "is declined",
    },
    TestCard {
        number: "4000002760003184",
        token: "pm_card_authenticationRequired",
        behaviour: "asks for authentication",
    },
];

pub struct TestCard {
    pub number: &'static str,
    pub token: &'static str,
    pub behaviour: &'static str,
}

/// The token for a test card number as typed (spaces and dashes allowed); run in the browser.
pub fn test_token_for_card(number: &str) -> Option<&'static str> {
    let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    TEST_CARDS
        .iter()
        .find(|card| card.number == digits)
        .map(|card| card.token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_map_to_stripe_tokens() {
        assert_eq!(
            test_token_for_card("4242 4242 4242 4242"),
            Some("pm_card_visa")
        );
        assert_eq!(
            test_token_for_card("4000-0000-0000-0002"),
            Some("pm_card_chargeDeclined")
        );
        assert_eq!(
            test_token_for_card("4000002760003184"),
            Some("pm_card_authenticationRequired")
        );
        assert_eq!(test_token_for_card("4111 1111 1111 1111"), None);
    }

    #[test]
    fn next_actions_are_tagged() {
        let json = serde_json::to_string(&NextAction::ConfirmTestPayment).unwrap();
        assert_eq!(json, r#"{"type":"confirm_test_payment"}"#);
    }
}
