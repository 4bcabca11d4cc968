//! One-time sign-in codes: six digits, valid ten minutes, five tries. The rules as plain
//! functions; the service stores only a code's hash and spends a try before comparing, so
//! parallel guesses cannot share one.

use crate::checkout::address::FieldError;

/// A code works this long after it was sent.
pub const CODE_TTL_SECS: i64 = 10 * 60;
/// Guesses a code allows; then a new code is needed.
pub const TRIES: i64 = 5;
/// The window the request limits count in.
pub const LIMIT_WINDOW_SECS: i64 = 15 * 60;
/// Codes sent to one email within the window.
pub const CODES_PER_EMAIL: i64 = 5;
/// Codes asked for from one network address within the window (many shoppers may share one).
pub const CODES_PER_ADDRESS: i64 = 50;
/// Wrong codes from one network address within the window, whatever the emails.
pub const WRONG_CODES_PER_ADDRESS: i64 = 50;

/// A code as the shopper typed it, tidied: "123 456" and "123-456" are "123456".
pub fn parse_code(input: &str) -> Result<String, FieldError> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(FieldError::new(
            "code",
            "Enter the six digits from the email we sent you.",
        ))
    }
}

/// An email as accounts key it: checked, trimmed and lower-cased.
pub fn parse_email(input: &str) -> Result<String, FieldError> {
    crate::checkout::address::validate_email(input).map(|email| email.to_lowercase())
}

/// A fresh code, every value from 000000 to 999999 equally likely.
#[cfg(feature = "ssr")]
pub fn new_code() -> String {
    // Rejection sampling: the top 4,967,296 values of a u32 would favour low codes.
    const LIMIT: u32 = u32::MAX - (u32::MAX % 1_000_000);
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        let value = u32::from_le_bytes(bytes);
        if value < LIMIT {
            return format!("{:06}", value % 1_000_000);
        }
    }
}

/// What is stored of a code: bound to its email, so a hash of one email's code says nothing
/// about another's.
#[cfg(feature = "ssr")]
pub fn code_hash(email: &str, code: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("{email}\n{code}").as_bytes()))
}

/// How a guess went, given the code on file after one try was spent on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guess {
    Right,
    /// Wrong; this many tries remain.
    Wrong {
        tries_left: i64,
    },
    /// No live code: none was sent, it expired, or it was used.
    NoCode,
    /// The code's tries are spent.
    NoTriesLeft,
}

/// The state of an email's code when a guess arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    pub hash: String,
    pub tries_left: i64,
    pub expires_at: i64,
}

/// Judges a guess whose hash is `guess_hash` against `stored` at `now`. The caller spends the
/// try (atomically) when this says [`Guess::Wrong`] or [`Guess::Right`].
pub fn judge(stored: Option<&StoredCode>, guess_hash: &str, now: i64) -> Guess {
    let Some(code) = stored.filter(|c| c.expires_at > now) else {
        return Guess::NoCode;
    };
    if code.tries_left <= 0 {
        return Guess::NoTriesLeft;
    }
    if constant_time_eq(code.hash.as_bytes(), guess_hash.as_bytes()) {
        Guess::Right
    } else {
        Guess::Wrong {
            tries_left: code.tries_left - 1,
        }
    }
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(tries_left: i64) -> StoredCode {
        StoredCode {
            hash: code_hash("ada@example.com", "123456"),
            tries_left,
            expires_at: 1_000,
        }
    }

    #[test]
    fn codes_are_six_digits_however_typed() {
        assert_eq!(parse_code(" 123 456 ").unwrap(), "123456");
        assert_eq!(parse_code("123-456").unwrap(), "123456");
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert_eq!(parse_code(bad).unwrap_err().field, "code", "{bad}");
        }
    }

    #[test]
    fn new_codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..50).map(|_| new_code()).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        assert!(codes.len() > 40, "fifty codes should rarely repeat");
    }

    #[test]
    fn emails_key_accounts_in_lower_case() {
        assert_eq!(parse_email(" Ada@Example.COM ").unwrap(), "ada@example.com");
        assert_eq!(parse_email("not an email").unwrap_err().field, "email");
    }

    #[test]
    fn a_code_is_bound_to_its_email() {
        assert_ne!(
            code_hash("ada@example.com", "123456"),
            code_hash("bob@example.com", "123456")
        );
    }

    #[test]
    fn the_right_code_signs_in_until_it_expires() {
        let right = code_hash("ada@example.com", "123456");
        assert_eq!(judge(Some(&stored(5)), &right, 999), Guess::Right);
        assert_eq!(judge(Some(&stored(1)), &right, 999), Guess::Right);
        assert_eq!(judge(Some(&stored(5)), &right, 1_000), Guess::NoCode);
        assert_eq!(judge(None, &right, 0), Guess::NoCode);
    }

    #[test]
    fn five_wrong_tries_spend_the_code() {
        let wrong = code_hash("ada@example.com", "654321");
        assert_eq!(
            judge(Some(&stored(5)), &wrong, 0),
            Guess::Wrong { tries_left: 4 }
        );
        assert_eq!(
            judge(Some(&stored(1)), &wrong, 0),
            Guess::Wrong { tries_left: 0 }
        );
        // Spent: even the right code is refused now.
        let right = code_hash("ada@example.com", "123456");
        assert_eq!(judge(Some(&stored(0)), &right, 0), Guess::NoTriesLeft);
    }
}
