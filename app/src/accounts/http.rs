//! What the account's JSON API and its page forms share: errors as answers (the API's error
//! shape, or the account page again with a notice), cookies, and the sign-in answer.

use std::collections::HashMap;

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Serialize;
use serde_json::json;

use super::service::{Accounts, SignedIn};
use super::{AccountError, Customer};
use crate::checkout::address::FieldError;

impl IntoResponse for AccountError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let fields = match &self {
            AccountError::Invalid(fields) => fields.as_slice(),
            _ => &[],
        };
        let mut error = json!({
            "status": status.as_u16(),
            "message": self.to_string(),
            "fields": fields,
        });
        if let AccountError::WrongCode { tries_left } = &self {
            error["tries_left"] = json!(tries_left);
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("900"));
        }
        response
    }
}

/// Body problems in the caller's words: malformed JSON is a 400, a missing or mistyped field
/// a 422 naming it.
pub fn body_error(rejection: JsonRejection) -> AccountError {
    match rejection {
        JsonRejection::JsonDataError(error) => {
            AccountError::Invalid(vec![FieldError::new("body", error.body_text())])
        }
        other => AccountError::BadRequest(other.body_text()),
    }
}

pub fn set_cookies(response: &mut Response, cookies: impl IntoIterator<Item = String>) {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

/// Where a page form goes back to: `path` with these query values.
pub fn back_to(path: &str, query: &[(&str, &str)]) -> Response {
    let query = serde_urlencoded::to_string(query).unwrap_or_default();
    let to = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    Redirect::to(&to).into_response()
}

/// A form's fields, or the page again with what was wrong with the form itself.
pub fn form_fields(
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<HashMap<String, String>, AccountError> {
    form.map(|Form(fields)| fields)
        .map_err(|rejection| AccountError::BadRequest(rejection.body_text()))
}

/// The message a page shows for an error: every field's problem, or the error itself.
pub fn said(error: &AccountError) -> String {
    match error {
        AccountError::Invalid(fields) => fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// The account page again, with the notice or the error.
pub fn account_answer(outcome: Result<&str, AccountError>) -> Response {
    match outcome {
        Ok(notice) => back_to("/account", &[("notice", notice)]),
        Err(AccountError::SignedOut) => back_to("/account/sign-in", &[("next", "/account")]),
        Err(error) => back_to("/account", &[("error", &said(&error))]),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignInResponse {
    pub customer: Customer,
    /// The session token: send it as `Authorization: Bearer <token>` (the answer also sets the
    /// session cookie for browsers).
    pub token: String,
}

/// The answer to a sign-in that worked: the customer and the session's token, and the cookies
/// for a browser.
pub fn signed_in_answer(accounts: &Accounts, signed_in: SignedIn) -> Response {
    let mut response = Json(SignInResponse {
        customer: signed_in.customer,
        token: signed_in.token.clone(),
    })
    .into_response();
    set_cookies(&mut response, accounts.session_cookies(&signed_in.token));
    response
}
