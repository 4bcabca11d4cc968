//! The errors server functions return: a message a shopper can act on, and a status for HTTP.
//! On the wire they take the shape of the JSON API's errors,
//! `{"error": {"status": 400, "message": "…", "fields": [], "kind": …}}`, where `kind` is the
//! error itself for the shop's own pages to match on.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkout::address::FieldError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// Details go to the server log, never to the shopper.
    #[error("something went wrong on our side; please try again in a moment")]
    Internal,
    /// Transport problems: the server could not be reached or answered nonsense.
    #[error("could not reach the shop: {0}")]
    Transport(String),
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_) => 400,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
        }
    }
}

impl ShopError for AppError {
    fn status(&self) -> u16 {
        AppError::status(self)
    }
}

impl FromServerFnError for AppError {
    type Encoder = ErrorEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match Plumbing::from(value) {
            Plumbing::BadRequest(message) => AppError::BadRequest(message),
            Plumbing::Internal => AppError::Internal,
            Plumbing::Transport(message) => AppError::Transport(message),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error");
        AppError::Internal
    }
}

/// What the error types of the server functions share: a status and a message, and for forms
/// the fields at fault.
pub trait ShopError: Serialize + DeserializeOwned + std::fmt::Display {
    fn status(&self) -> u16;

    fn fields(&self) -> &[FieldError] {
        &[]
    }
}

/// A failure of a server function's plumbing rather than of its work, as each error type
/// words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plumbing {
    /// The request's body is not what the function takes: the caller's mistake, a 400.
    BadRequest(String),
    /// The server could not answer (logged).
    Internal,
    /// The browser could not reach the shop, or could not read its answer.
    Transport(String),
}

impl From<ServerFnErrorErr> for Plumbing {
    fn from(error: ServerFnErrorErr) -> Plumbing {
        let bad = |detail: String| {
            Plumbing::BadRequest(format!("The request could not be read: {detail}"))
        };
        match error {
            ServerFnErrorErr::Args(detail) => bad(detail),
            ServerFnErrorErr::MissingArg(name) => bad(format!("missing argument '{name}'")),
            // On the server, the one thing deserialised is the request's body; in the browser,
            // it is the server's answer.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(detail) => bad(detail),
            #[cfg(feature = "ssr")]
            other => {
                tracing::error!(error = %other, "a server function failed");
                Plumbing::Internal
            }
            #[cfg(not(feature = "ssr"))]
            other => Plumbing::Transport(other.to_string()),
        }
    }
}

/// How every server function's error travels: JSON in the shape of the API's errors. On the
/// server, encoding the error is answering with it, so the response also gets its status
/// (server functions otherwise answer every error with 500).
pub struct ErrorEncoding;

impl ContentType for ErrorEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for ErrorEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

#[derive(Serialize)]
struct WireOut<'a, E> {
    error: WireErrorOut<'a, E>,
}

#[derive(Serialize)]
struct WireErrorOut<'a, E> {
    status: u16,
    message: String,
    fields: &'a [FieldError],
    kind: &'a E,
}

#[derive(Deserialize)]
struct WireIn<E> {
    error: WireErrorIn<E>,
}

#[derive(Deserialize)]
struct WireErrorIn<E> {
    kind: E,
}

impl<E: ShopError> Encodes<E> for ErrorEncoding {
    type Error = String;

    fn encode(error: &E) -> Result<Bytes, String> {
        #[cfg(feature = "ssr")]
        set_response_status(error.status());
        let wire = WireOut {
            error: WireErrorOut {
                status: error.status(),
                message: error.to_string(),
                fields: error.fields(),
                kind: error,
            },
        };
        <JsonEncoding as Encodes<_>>::encode(&wire).map_err(|e| e.to_string())
    }
}

impl<E: ShopError> Decodes<E> for ErrorEncoding {
    type Error = String;

    fn decode(bytes: Bytes) -> Result<E, String> {
        <JsonEncoding as Decodes<WireIn<E>>>::decode(bytes)
            .map(|wire| wire.error.kind)
            .map_err(|e| e.to_string())
    }
}

/// Gives the response of the server function being answered this status, so errors reach
/// the browser (and anyone calling the function's URL) as the 4xx they are, not a blanket 500.
#[cfg(feature = "ssr")]
pub fn set_response_status(status: u16) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            axum::http::StatusCode::from_u16(status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_travel_in_the_api_shape_and_come_back_whole() {
        let error = AppError::NotFound("The product 'x'".into());
        let bytes = <ErrorEncoding as Encodes<AppError>>::encode(&error).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["error"]["status"], 404);
        assert_eq!(json["error"]["message"], "The product 'x' was not found");
        assert_eq!(json["error"]["fields"], serde_json::json!([]));
        assert_eq!(
            <ErrorEncoding as Decodes<AppError>>::decode(bytes).unwrap(),
            error
        );
        assert!(<ErrorEncoding as Decodes<AppError>>::decode(Bytes::from("{}")).is_err());
    }

    #[test]
    fn a_body_that_does_not_decode_is_a_bad_request_on_the_server() {
        for plumbing in [
            ServerFnErrorErr::Deserialization("invalid type: floating point `1.5`".into()),
            ServerFnErrorErr::Args("expected i64".into()),
            ServerFnErrorErr::MissingArg("slug".into()),
        ] {
            let error = AppError::from_server_fn_error(plumbing);
            assert!(matches!(error, AppError::BadRequest(_)), "{error:?}");
            assert_eq!(error.status(), 400);
        }
        assert_eq!(
            AppError::from_server_fn_error(ServerFnErrorErr::Serialization("x".into())),
            AppError::Internal
        );
    }
}

/// Every error of the JSON APIs, for the document (the handlers build it with `json!`).
#[derive(Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// The HTTP status again.
    status: u16,
    /// What went wrong, for people.
    message: String,
    /// The fields that need correcting, named by path (`variants[0].price.amount`).
    fields: Option<Vec<FieldError>>,
}
