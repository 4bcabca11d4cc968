//! The gateway interface the checkout talks to.

use super::stripe_gateway::StripeGateway;
use super::{GatewayError, IntentStatus};

/// What a charge attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded { reference: String },
    Declined { reference: String, message: String },
    RequiresAction { reference: String },
}

/// The configured gateway. An enum rather than a trait object: there are two, and matching
/// keeps each one's flow visible where it differs.
#[derive(Clone, Debug)]
pub enum Gateway {
    Test,
    Stripe(Box<StripeGateway>),
}

impl Gateway {
    pub fn name(&self) -> &'static str {
        match self {
            Gateway::Test => "test",
            Gateway::Stripe(_) => "stripe",
        }
    }

    /// The gateway that took an order's payment, by the name the order records. Refunds and
    /// cancellations go through it, whatever the shop takes new payments with today.
    pub fn for_order(&self, name: &str) -> Result<Gateway, GatewayError> {
        match (name, self) {
            ("test", _) => Ok(Gateway::Test),
            ("stripe", Gateway::Stripe(_)) => Ok(self.clone()),
            (other, _) => Err(GatewayError::NotConfigured(other.to_string())),
        }
    }

    /// Refunds `amount` of the payment `reference`. `key` (unique per order and refund) makes a
    /// retry return the same refund instead of a second one.
    pub async fn refund(
        &self,
        reference: &str,
        amount: i64,
        key: &str,
    ) -> Result<String, GatewayError> {
        match self {
            Gateway::Test => {
                use sha2::Digest;
                let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
                Ok(format!(
                    "test_re_{}",
                    digest.chars().take(16).collect::<String>()
                ))
            }
            Gateway::Stripe(stripe) => stripe.refund(reference, amount, key).await,
        }
    }

    /// The test gateway knows a token's outcome without any network, so checkout can settle
    /// the order in the same transaction that creates it. Stripe answers later (`None`).
    pub fn decide_offline(
        &self,
        token: Option<&str>,
        order_key: &str,
    ) -> Result<Option<ChargeOutcome>, GatewayError> {
        match self {
            Gateway::Stripe(_) => Ok(None),
            Gateway::Test => {
                let reference = format!("test_pi_{order_key}");
                let outcome = match token.unwrap_or_default() {
                    "pm_card_visa" | "pm_card_mastercard" | "pm_card_amex" => {
                        ChargeOutcome::Succeeded { reference }
                    }
                    "pm_card_chargeDeclined" => ChargeOutcome::Declined {
                        reference,
                        message: "Your card was declined.".into(),
                    },
                    "pm_card_authenticationRequired" => ChargeOutcome::RequiresAction { reference },
                    other => return Err(GatewayError::UnknownTestToken(other.into())),
                };
                Ok(Some(outcome))
            }
        }
    }

    /// Where a pending payment stands now, asked of the provider (Stripe) — for returns,
    /// reconciliation and expiry. The test gateway's pending payments wait for the shopper.
    pub async fn status(&self, reference: &str) -> Result<IntentStatus, GatewayError> {
        match self {
            Gateway::Test => Ok(IntentStatus::Pending),
            Gateway::Stripe(stripe) => stripe.status(reference).await,
        }
    }

    /// Cancels a pending payment so it can no longer succeed (before its stock is released).
    pub async fn cancel(&self, reference: &str) -> Result<IntentStatus, GatewayError> {
        match self {
            Gateway::Test => Ok(IntentStatus::Canceled),
            Gateway::Stripe(stripe) => stripe.cancel(reference).await,
        }
    }
}
