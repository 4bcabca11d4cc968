//! Promotions: discounts, by a code the shopper types or automatic. The rules are plain Rust in
//! [`discounts`]; [`store`] reads discounts for a cart and records their use in the order's
//! transaction; quotes and checkout apply them, so what the shopper is shown is what they pay.
//! Gift cards pay (part of) what is left: rules in [`gift_cards`], records in `gift_card_store`.
//! The newsletter ([`newsletter`]) asks for consent; [`campaigns`] and [`reminders`] use it.

pub mod campaigns;
pub mod discounts;
#[cfg(feature = "ssr")]
pub mod gift_card_store;
pub mod gift_cards;
pub mod newsletter;
#[cfg(feature = "ssr")]
pub mod newsletter_http;
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod store;
pub mod view;

use serde::{Deserialize, Serialize};

use crate::checkout::address::FieldError;
use crate::money::Money;

/// A shopper may enter this many codes at once.
pub const MAX_CODES: usize = 5;
/// The longest code staff may set and shoppers may type.
pub const MAX_CODE_LENGTH: usize = 40;

/// A discount as the shopper sees it: on the quote, the order page and in emails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiscountLine {
    /// The code as the shop wrote it; `null` for an automatic discount.
    pub code: Option<String>,
    pub title: String,
    /// All it took: from the goods and from shipping.
    pub amount: Money,
}

impl DiscountLine {
    /// "Summer sale (SUMMER10)", or the title alone for an automatic discount.
    pub fn label(&self) -> String {
        match &self.code {
            Some(code) => format!("{} ({code})", self.title),
            None => self.title.clone(),
        }
    }
}

/// The key a code is found by: trimmed, lower-case (codes are matched without regard to case).
pub fn code_key(code: &str) -> String {
    code.trim().to_lowercase()
}

/// Whether `code` can be a discount code: 1 to [`MAX_CODE_LENGTH`] letters, digits, `-` or `_`.
pub fn code_problem(code: &str) -> Option<String> {
    let code = code.trim();
    if code.is_empty() {
        return Some("Enter a code.".into());
    }
    if code.chars().count() > MAX_CODE_LENGTH {
        return Some(format!("A code has at most {MAX_CODE_LENGTH} characters."));
    }
    if !code
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Some("A code has only letters, digits, '-' and '_'.".into());
    }
    None
}

/// The codes a shopper entered, checked at the edge: each named `discount_codes[i]` on error;
/// the same code twice (in any case) kept once.
pub fn normalise_codes(codes: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    if codes.len() > MAX_CODES {
        return Err(vec![FieldError::new(
            "discount_codes",
            format!("Enter at most {MAX_CODES} codes."),
        )]);
    }
    let mut errors = Vec::new();
    let mut kept: Vec<String> = Vec::with_capacity(codes.len());
    for (index, code) in codes.iter().enumerate() {
        if let Some(problem) = code_problem(code) {
            errors.push(FieldError::new(format!("discount_codes[{index}]"), problem));
        } else if !kept.iter().any(|k| code_key(k) == code_key(code)) {
            kept.push(code.trim().to_string());
        }
    }
    if errors.is_empty() {
        Ok(kept)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_trimmed_deduplicated_and_named_by_place() {
        let codes = vec![" Summer10 ".to_string(), "SUMMER10".into(), "x".into()];
        assert_eq!(normalise_codes(&codes).unwrap(), vec!["Summer10", "x"]);
        let errors = normalise_codes(&["ok".into(), "no spaces".into(), "".into()]).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["discount_codes[1]", "discount_codes[2]"]);
        assert!(normalise_codes(&vec!["a".to_string(); 6]).is_err());
        assert!(code_problem(&"a".repeat(41)).is_some());
        assert_eq!(code_key(" WELCOME "), "welcome");
    }
}
