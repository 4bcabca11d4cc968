//! Gift cards, the rules: what a code looks like, how the cards entered at checkout share what
//! is due, where a refund goes, and how many wrong codes an address may try. Plain Rust; the
//! database side is [`super::gift_card_store`].
//!
//! A code is 16 characters from an alphabet without the letters people misread (no `0`/`O`,
//! `1`/`I`/`L`): 31 symbols, about 79 random bits. Shoppers may type it in any case, with spaces
//! or dashes; it is shown once when issued and afterwards only by its last four characters.

use serde::{Deserialize, Serialize};

use crate::checkout::address::FieldError;
use crate::money::Money;

/// The characters a code is made of: 31, so a code carries 16 × log2(31) ≈ 79 random bits.
pub const ALPHABET: &[u8; 31] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a code.
pub const CODE_LENGTH: usize = 16;
/// A shopper may use this many gift cards on one order.
pub const MAX_GIFT_CARDS: usize = 5;
/// The product type that makes a product a gift card: each unit bought is a card worth its
/// price, its code emailed to the buyer once the order is paid.
pub const PRODUCT_TYPE: &str = "Gift card";

/// Wrong codes an address may try per [`MISS_WINDOW_SECS`] before every gift card lookup from
/// it is refused for the rest of the window.
pub const MISSES_PER_WINDOW: u32 = 10;
pub const MISS_WINDOW_SECS: i64 = 600;

fn is_code_char(c: u8) -> bool {
    ALPHABET.contains(&c)
}

/// A gift card as the shopper sees it on a quote, an order and in emails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GiftCardUse {
    /// The last four characters of the code.
    pub last4: String,
    /// What this card pays of the order.
    pub amount: Money,
}

impl GiftCardUse {
    /// "Gift card ••••WXYZ".
    pub fn label(&self) -> String {
        format!("Gift card {}", masked(&self.last4))
    }
}

/// A fresh code of 16 random symbols. A byte is used only below 248 (8 × 31), so every symbol
/// is equally likely.
#[cfg(feature = "ssr")]
pub fn new_code() -> String {
    let mut code = String::with_capacity(CODE_LENGTH);
    while code.len() < CODE_LENGTH {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        for byte in bytes {
            // 248 = 8 × 31: the bytes below it map evenly onto the 31 symbols.
            if byte < 248 && code.len() < CODE_LENGTH {
                code.push(ALPHABET[(byte % 31) as usize] as char);
            }
        }
    }
    code
}

/// The code as the database knows it: upper case, without spaces or dashes. `None` when it
/// cannot be a code at all (wrong length or characters).
pub fn normalise_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LENGTH && code.bytes().all(is_code_char)).then_some(code)
}

/// "ABCD-EFGH-JKMN-PQRS": how a code is printed when it is issued.
pub fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// "••••PQRS": a code shown after it was issued.
pub fn masked(last4: &str) -> String {
    format!("••••{last4}")
}

/// The codes a shopper entered, checked at the edge: at most [`MAX_GIFT_CARDS`], each named
/// `gift_cards[i]` on error; the same card twice is kept once.
pub fn normalise_codes(codes: &[String]) -> Result<Vec<(usize, String)>, Vec<FieldError>> {
    if codes.len() > MAX_GIFT_CARDS {
        return Err(vec![FieldError::new(
            "gift_cards",
            format!("Use at most {MAX_GIFT_CARDS} gift cards on one order."),
        )]);
    }
    let mut kept: Vec<(usize, String)> = Vec::with_capacity(codes.len());
    for (index, typed) in codes.iter().enumerate() {
        match normalise_code(typed) {
            Some(code) if kept.iter().any(|(_, k)| *k == code) => {}
            Some(code) => kept.push((index, code)),
            // A malformed code is a wrong code too: it counts against the address's limit.
            None => kept.push((index, String::new())),
        }
    }
    Ok(kept)
}

/// How much each card pays of `due`, in the order the shopper entered them: each takes what it
/// can until nothing is due. A card never pays more than its balance, the cards together never
/// more than `due`.
pub fn allocate(due: i64, balances: &[i64]) -> Vec<i64> {
    let mut left = due.max(0);
    balances
        .iter()
        .map(|balance| {
            let take = (*balance).clamp(0, left);
            left -= take;
            take
        })
        .collect()
}

/// How a refund of `amount` splits between the card payment and the gift cards: the card is
/// paid back first (up to what it was charged and not yet refunded), the rest goes back onto
/// the gift cards. Returns `(to_card, to_gift_cards)`.
pub fn refund_split(amount: i64, card_refundable: i64) -> (i64, i64) {
    let to_card = amount.clamp(0, card_refundable.max(0));
    (to_card, amount - to_card)
}

/// Wrong codes tried from one address (per server): after [`MISSES_PER_WINDOW`] in a window,
/// every lookup from it is refused until the window ends, so codes cannot be guessed in bulk.
#[derive(Debug, Default)]
pub struct MissLimiter {
    /// Address → (start of its window, misses in it).
    misses: std::sync::Mutex<std::collections::HashMap<String, (i64, u32)>>,
}

impl MissLimiter {
    /// Whether `address` may look up gift cards at `now`.
    pub fn allows(&self, address: &str, now: i64) -> bool {
        let misses = self.misses.lock().unwrap_or_else(|e| e.into_inner());
        match misses.get(address) {
            Some((start, count)) => now - start >= MISS_WINDOW_SECS || *count < MISSES_PER_WINDOW,
            None => true,
        }
    }

    /// Counts a wrong code from `address`.
    pub fn miss(&self, address: &str, now: i64) {
        let mut misses = self.misses.lock().unwrap_or_else(|e| e.into_inner());
        // Old windows go when the map grows, so it never holds more than a window's addresses.
        if misses.len() > 10_000 {
            misses.retain(|_, (start, _)| now - *start < MISS_WINDOW_SECS);
        }
        let entry = misses.entry(address.to_string()).or_insert((now, 0));
        if now - entry.0 >= MISS_WINDOW_SECS {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_codes_are_long_unambiguous_and_different() {
        let a = new_code();
        let b = new_code();
        assert_ne!(a, b);
        for code in [&a, &b] {
            assert_eq!(code.len(), CODE_LENGTH);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
            assert_eq!(normalise_code(code).as_deref(), Some(code.as_str()));
        }
        // Every symbol turns up: the draw is not stuck on part of the alphabet.
        let many: String = (0..200).map(|_| new_code()).collect();
        for symbol in ALPHABET {
            assert!(many.as_bytes().contains(symbol), "{}", *symbol as char);
        }
    }

    #[test]
    fn typed_codes_forgive_case_spaces_and_dashes_but_not_wrong_characters() {
        assert_eq!(
            normalise_code(" abcd-efgh jkmn-pqrs ").as_deref(),
            Some("ABCDEFGHJKMNPQRS")
        );
        assert_eq!(normalise_code("ABCDEFGHJKMNPQR"), None, "too short");
        assert_eq!(
            normalise_code("ABCDEFGHJKMNPQR0"),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(grouped("ABCDEFGHJKMNPQRS"), "ABCD-EFGH-JKMN-PQRS");
        assert_eq!(masked("PQRS"), "••••PQRS");
    }

    #[test]
    fn entered_codes_are_deduplicated_and_keep_their_place() {
        let codes = vec![
            "ABCD-EFGH-JKMN-PQRS".to_string(),
            "abcdefghjkmnpqrs".into(),
            "nope".into(),
        ];
        let kept = normalise_codes(&codes).unwrap();
        assert_eq!(
            kept,
            vec![(0, "ABCDEFGHJKMNPQRS".to_string()), (2, String::new())]
        );
        assert!(normalise_codes(&vec!["x".to_string(); 6]).is_err());
    }

    #[test]
    fn cards_pay_in_order_never_more_than_due_or_their_balance() {
        assert_eq!(allocate(5_000, &[2_000, 10_000]), vec![2_000, 3_000]);
        assert_eq!(allocate(5_000, &[10_000, 2_000]), vec![5_000, 0]);
        assert_eq!(allocate(0, &[1_000]), vec![0]);
        assert_eq!(allocate(1_000, &[-5, 400]), vec![0, 400]);
    }

    #[test]
    fn refunds_go_to_the_card_first_then_the_gift_cards() {
        assert_eq!(refund_split(3_000, 5_000), (3_000, 0));
        assert_eq!(refund_split(3_000, 1_000), (1_000, 2_000));
        assert_eq!(refund_split(3_000, 0), (0, 3_000));
        assert_eq!(refund_split(3_000, -10), (0, 3_000));
    }

    #[test]
    fn an_address_is_stopped_after_its_misses_until_the_window_ends() {
        let limiter = MissLimiter::default();
        for _ in 0..MISSES_PER_WINDOW {
            assert!(limiter.allows("10.0.0.1", 100));
            limiter.miss("10.0.0.1", 100);
        }
        assert!(!limiter.allows("10.0.0.1", 101));
        assert!(
            limiter.allows("10.0.0.2", 101),
            "other addresses are not held up"
        );
        assert!(limiter.allows("10.0.0.1", 100 + MISS_WINDOW_SECS));
        limiter.miss("10.0.0.1", 100 + MISS_WINDOW_SECS);
        assert!(limiter.allows("10.0.0.1", 101 + MISS_WINDOW_SECS));
    }
}
