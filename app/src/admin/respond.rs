//! How the admin's form routes answer: back to the page with a notice or the error for people,
//! JSON for programs.

use axum::extract::rejection::FormRejection;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;

use super::AdminError;

/// The one mapping of the admin's errors to HTTP: the status and the API's JSON error shape.
impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(serde_json::json!({"error": {"status": status.as_u16(), "message": self.to_string()}})))
            .into_response()
    }
}

/// After a form: back to `to` with a notice, or with the error for people (JSON for programs).
pub fn outcome(headers: &HeaderMap, to: &str, result: Result<String, AdminError>) -> Response {
    // `to` may carry a query of its own (a filtered, paged list).
    let join = if to.contains('?') { '&' } else { '?' };
    match result {
        Ok(notice) => {
            Redirect::to(&format!("{to}{join}notice={}", urlencode(&notice))).into_response()
        }
        Err(error @ (AdminError::Unauthorized | AdminError::Forbidden)) => error.into_response(),
        Err(error) if wants_html(headers) => Redirect::to(&format!(
            "{to}{join}error={}",
            urlencode(&error.to_string())
        ))
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// A form missing a field, in words: after the role check, so strangers learn nothing.
pub fn form_error(rejection: FormRejection) -> AdminError {
    AdminError::Invalid(rejection.body_text())
}

/// `back` if it is `list` or `list` with a query (a filtered, paged table): a form may say
/// where to return to, but never to another site or another page.
pub fn return_to<'a>(back: &'a str, list: &str) -> Option<&'a str> {
    let inside = back == list
        || back
            .strip_prefix(list)
            .is_some_and(|rest| rest.starts_with('?'));
    (inside && !back.contains(['\\', '\r', '\n'])).then_some(back)
}

/// A secret shown this once (a new API token, recovery codes), never stored but as hashes: a
/// small page no cache keeps: its `title` and `heading` (text), `body` (markup; escape what it
/// quotes) and a way back.
pub fn shown_once(
    status: StatusCode,
    (title, heading): (&str, &str),
    body: &str,
    (back_href, back_text): (&str, &str),
) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{stylesheet}\"></head><body><main>\
         <h1>{heading}</h1>{body}<p><a href=\"{back_href}\">{back_text}</a></p></main></body></html>",
        title = escape_html(title),
        heading = escape_html(heading),
        stylesheet = crate::stylesheet(),
    );
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(page),
    )
        .into_response()
}

pub use crate::html::escape_html;

/// A CSV file to download (`filename` plain ASCII without quotes), never cached: exports hold
/// customer data and staff-only figures.
pub fn csv_download(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

pub fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)])
        .map(|s| s.trim_start_matches("v=").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::return_to;

    #[test]
    fn a_form_returns_only_to_its_own_list() {
        assert_eq!(
            return_to("/admin/inventory", "/admin/inventory"),
            Some("/admin/inventory")
        );
        assert_eq!(
            return_to("/admin/inventory?q=mug&cursor=50", "/admin/inventory"),
            Some("/admin/inventory?q=mug&cursor=50")
        );
        for elsewhere in [
            "",
            "https://evil.example/admin/inventory",
            "//evil.example/admin/inventory",
            "/admin/inventory.evil",
            "/admin/inventoryx",
            "/admin/orders",
            "/admin/inventory?\r\nSet-Cookie: x=1",
            "/admin/inventory?\\\\evil",
        ] {
            assert_eq!(
                return_to(elsewhere, "/admin/inventory"),
                None,
                "{elsewhere:?}"
            );
        }
    }
}
