//! Text written into HTML by hand (a few pages and emails are built as strings, outside the
//! view macros, which escape for themselves).

/// Text made safe to write into HTML, as an element's content or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The Content-Security-Policy of every page: scripts only from the shop (with the page's
/// nonce for the inline islands loader), WASM allowed to compile, Stripe.js for payments, no
/// framing by other sites. Rendered pages send it with their own nonce (`shell`); every other
/// answer without one (the server's `security_headers`).
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval' https://js.stripe.com; \
         style-src 'self'; img-src 'self' data: https:; connect-src 'self' https://api.stripe.com; \
         frame-src https://js.stripe.com https://hooks.stripe.com; font-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'; worker-src 'self'"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            super::escape_html("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }
}
