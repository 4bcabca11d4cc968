//! Stripe through async-stripe: a PaymentIntent for the server-computed total, created with an
//! idempotency key derived from the order, confirmed by the shopper in Stripe's Payment Element.
//! The API's base URL is configurable, so tests run against a local stub of these endpoints.

use std::str::FromStr;

use stripe::{
    CancelPaymentIntent, Client, CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    PaymentIntent, PaymentIntentId, PaymentIntentStatus, RequestStrategy,
};

use super::GatewayError;
use super::IntentStatus;
use crate::money::Money;

/// The keys and address Kassa uses to talk to Stripe.
#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: String,
    pub publishable_key: String,
    pub webhook_secret: String,
    /// `None` for Stripe itself; a local stub's address in tests.
    pub api_base: Option<String>,
}

impl std::fmt::Debug for StripeConfig {
    // Only the publishable key is public.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("publishable_key", &self.publishable_key)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
    pub publishable_key: String,
    pub webhook_secret: String,
}

impl std::fmt::Debug for StripeGateway {
    // The client holds the secret key: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeGateway")
            .field("publishable_key", &self.publishable_key)
            .finish_non_exhaustive()
    }
}

impl IntentStatus {
    pub fn from_stripe(status: PaymentIntentStatus) -> IntentStatus {
        match status {
            PaymentIntentStatus::Succeeded => IntentStatus::Succeeded,
            PaymentIntentStatus::Canceled => IntentStatus::Canceled,
            PaymentIntentStatus::RequiresPaymentMethod => IntentStatus::Failed,
            _ => IntentStatus::Pending,
        }
    }
}

/// A PaymentIntent as checkout needs it.
pub struct StartedIntent {
    pub id: String,
    pub client_secret: String,
}

impl StripeGateway {
    pub fn new(config: &StripeConfig) -> StripeGateway {
        let client = match &config.api_base {
            Some(base) => Client::from_url(base.as_str(), config.secret_key.clone()),
            None => Client::new(config.secret_key.clone()),
        };
        StripeGateway {
            client,
            publishable_key: config.publishable_key.clone(),
            webhook_secret: config.webhook_secret.clone(),
        }
    }

    /// Creates the order's PaymentIntent. The idempotency key is the order's, so a retry after a
    /// lost answer gets the same intent back instead of a second one.
    pub async fn create_intent(
        &self,
        order_id: i64,
        total: Money,
        email: &str,
    ) -> Result<StartedIntent, GatewayError> {
        let currency = stripe::Currency::from_str(&total.currency.code().to_ascii_lowercase())
            .map_err(|_| {
                GatewayError::Refused(format!("Stripe does not take {}", total.currency))
            })?;
        let client = self
            .client
            .clone()
            .with_strategy(RequestStrategy::Idempotent(format!(
                "kassa-order-{order_id}"
            )));
        let mut params = CreatePaymentIntent::new(total.amount, currency);
        params.receipt_email = Some(email);
        params.automatic_payment_methods = Some(CreatePaymentIntentAutomaticPaymentMethods {
            enabled: true,
            allow_redirects: None,
        });
        params.metadata = Some([("order_id".to_string(), order_id.to_string())].into());
        let intent = PaymentIntent::create(&client, params)
            .await
            .map_err(stripe_error)?;
        let client_secret = intent.client_secret.ok_or_else(|| {
            GatewayError::Refused("the PaymentIntent has no client secret".into())
        })?;
        Ok(StartedIntent {
            id: intent.id.to_string(),
            client_secret,
        })
    }

    pub async fn status(&self, intent_id: &str) -> Result<IntentStatus, GatewayError> {
        let id = PaymentIntentId::from_str(intent_id).map_err(|_| {
            GatewayError::Refused(format!("'{intent_id}' is not a PaymentIntent id"))
        })?;
        let intent = PaymentIntent::retrieve(&self.client, &id, &[])
            .await
            .map_err(stripe_error)?;
        Ok(IntentStatus::from_stripe(intent.status))
    }

    /// Cancels an intent; if it succeeded meanwhile, says so instead.
    pub async fn cancel(&self, intent_id: &str) -> Result<IntentStatus, GatewayError> {
        match PaymentIntent::cancel(&self.client, intent_id, CancelPaymentIntent::default()).await {
            Ok(intent) => Ok(IntentStatus::from_stripe(intent.status)),
            // Stripe refuses to cancel a succeeded intent: look at what it became.
            Err(stripe::StripeError::Stripe(_)) => self.status(intent_id).await,
            Err(error) => Err(stripe_error(error)),
        }
    }
}

impl StripeGateway {
    /// Refunds part of a PaymentIntent; the key makes a retry return the same refund.
    pub async fn refund(
        &self,
        intent_id: &str,
        amount: i64,
        key: &str,
    ) -> Result<String, GatewayError> {
        let id = PaymentIntentId::from_str(intent_id).map_err(|_| {
            GatewayError::Refused(format!("'{intent_id}' is not a PaymentIntent id"))
        })?;
        let client = self
            .client
            .clone()
            .with_strategy(RequestStrategy::Idempotent(format!("kassa-refund-{key}")));
        let mut params = stripe::CreateRefund::new();
        params.payment_intent = Some(id);
        params.amount = Some(amount);
        let refund = stripe::Refund::create(&client, params)
            .await
            .map_err(stripe_error)?;
        Ok(refund.id.to_string())
    }
}

fn stripe_error(error: stripe::StripeError) -> GatewayError {
    match error {
        stripe::StripeError::Stripe(request) => GatewayError::Refused(
            request
                .message
                .unwrap_or_else(|| format!("HTTP {}", request.http_status)),
        ),
        other => GatewayError::Unreachable(other.to_string()),
    }
}
