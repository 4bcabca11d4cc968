//! Session cookies, staff's and shoppers' alike: a random 64-hex-digit token in an HttpOnly,
//! SameSite=Lax cookie (Secure when the shop is served over HTTPS). The tables keep only the
//! token's SHA-256 ([`token_hash`]).

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

/// A new session token: 32 random bytes as hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}

/// What a session table keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `value` has a session token's shape (anything else is not looked up).
pub fn is_token(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The token of the request's `Authorization: Bearer …` header, trimmed, if it sent one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The value of the request's cookie `name`, if it sent one.
pub fn value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value.to_string())
}

/// The session token in the request's cookie `name`, if well formed.
pub fn token(headers: &HeaderMap, name: &str) -> Option<String> {
    value(headers, name).filter(|v| is_token(v))
}

/// The `Set-Cookie` value for a new session that lasts at most `max_age` seconds.
pub fn set(name: &str, token: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value of a cookie the page's scripts may read: a hint, never a credential.
pub fn set_visible(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes cookie `name`.
pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_and_lax() {
        let cookie = set("s", &"a".repeat(64), 60, true);
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Max-Age=60")
                && cookie.ends_with("Secure")
        );
        assert!(!set("s", "x", 60, false).contains("Secure"));
        assert!(clear("s", false).starts_with("s=; ") && clear("s", false).contains("Max-Age=0"));
    }

    #[test]
    fn only_well_formed_tokens_are_read_from_cookies() {
        let mut headers = HeaderMap::new();
        let token = new_token();
        assert!(is_token(&token));
        headers.insert(
            header::COOKIE,
            format!("other=1; s={token}").parse().unwrap(),
        );
        assert_eq!(super::token(&headers, "s"), Some(token.clone()));
        assert_eq!(super::token(&headers, "other"), None);
        headers.insert(header::COOKIE, "s=short".parse().unwrap());
        assert_eq!(super::token(&headers, "s"), None);
    }
}
