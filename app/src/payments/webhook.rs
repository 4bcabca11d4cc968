//! `POST /webhooks/stripe`: Stripe tells us what happened to a PaymentIntent.
//!
//! The signature is checked as Stripe documents it (HMAC-SHA256 of `"{t}.{body}"` with the
//! endpoint secret, any `v1` entry matching, the timestamp within five minutes); async-stripe's
//! own `Webhook` needs every Stripe resource compiled in, so the few lines live here. A replayed
//! event is recognised by its id and ignored; events arriving out of order converge, because
//! settling an order only ever moves it forward from `pending_payment`.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a signature's timestamp may be from now, as Stripe's libraries allow.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    #[error("the signature's timestamp is too old or in the future")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a `Stripe-Signature` header against the raw body.
pub fn verify_signature(
    body: &[u8],
    header: &str,
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    for signature in signatures {
        let Ok(expected) = hex::decode(signature) else {
            continue;
        };
        let mut mac = signer(secret, timestamp, body);
        mac.update(b"");
        // verify_slice compares in constant time.
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

fn signer(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// A `Stripe-Signature` header for a body, as Stripe would send it (for tests and tools).
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let signature = hex::encode(signer(secret, timestamp, body).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

/// The part of a Stripe event Kassa reads.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: EventObject,
}

#[derive(Debug, Deserialize)]
pub struct EventObject {
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_000);
        assert_eq!(verify_signature(body, &header, SECRET, 1_010), Ok(()));
    }

    #[test]
    fn forged_stale_and_malformed_signatures_fail() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, "whsec_other", 1_000);
        assert_eq!(
            verify_signature(body, &header, SECRET, 1_000),
            Err(SignatureError::Mismatch)
        );
        let header = sign(body, SECRET, 1_000);
        assert_eq!(
            verify_signature(b"{\"id\":\"evt_2\"}", &header, SECRET, 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(body, &header, SECRET, 1_000 + TOLERANCE_SECS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(body, "v1=abc", SECRET, 1_000),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn any_matching_v1_entry_is_enough() {
        // Stripe sends several v1 signatures while a secret is being rolled.
        let body = b"{}";
        let good = sign(body, SECRET, 5);
        let good_sig = good.split("v1=").nth(1).unwrap();
        let header = format!("t=5,v1=deadbeef,v1={good_sig}");
        assert_eq!(verify_signature(body, &header, SECRET, 5), Ok(()));
    }
}
