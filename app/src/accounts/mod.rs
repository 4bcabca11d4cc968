//! Shoppers' accounts: sign-in with a one-time code sent by email (no shopper passwords),
//! sessions apart from staff sessions (their own table and cookie: a shopper's session never
//! opens the back office), the account page with orders and the address book, and the same
//! for headless shops at `/api/v1/customer`.
//!
//! Guest orders join an account only when a code proves the email they were placed with;
//! an email typed at sign-up proves nothing.

pub mod codes;
mod pages;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod passkeys;
#[cfg(feature = "ssr")]
pub mod service;

pub use pages::{AccountPage, AccountSignInPage};

use leptos::prelude::*;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::checkout::address::{Address, FieldError};
use crate::error::Plumbing;
use crate::money::Money;
use crate::orders::{OrderStatus, Shipment};

/// The session cookie of shoppers (staff have their own).
pub const COOKIE: &str = "kassa_customer";
/// A cookie the page's scripts can read, set beside the session: someone is signed in here, so
/// the browser's cart syncs with the account's. A hint only; the session cookie decides.
pub const SIGNED_IN_HINT: &str = "kassa_signed_in";
/// A shopper's session unused this long ends.
pub const IDLE_SECS: i64 = 30 * 24 * 60 * 60;
/// However active, a shopper signs in again after this long.
pub const MAX_AGE_SECS: i64 = 90 * 24 * 60 * 60;
/// An address book holds at most this many addresses.
pub const MAX_ADDRESSES: usize = 50;

/// A signed-in shopper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Customer {
    pub id: i64,
    pub email: String,
    pub name: String,
}

/// An address in the shopper's address book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedAddress {
    pub id: i64,
    pub address: Address,
    /// The address checkout fills in.
    pub is_default: bool,
}

/// An address to save: the address, and whether it becomes the default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AddressInput {
    pub address: Address,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub is_default: bool,
}

/// An order in the shopper's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountOrder {
    pub number: String,
    pub status: OrderStatus,
    /// `unfulfilled`, `partial` or `fulfilled`.
    pub fulfilment: String,
    pub total: Money,
    /// RFC 3339, UTC.
    pub placed_at: String,
    pub shipments: Vec<Shipment>,
    /// The order's own page.
    pub order_url: String,
}

/// A passkey of the shopper's (the credential itself stays on their device).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedPasskey {
    pub id: i64,
    /// The shopper's name for it ("Laptop").
    pub name: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC; `null` until it is first used.
    pub last_used_at: Option<String>,
}

/// Which emails the shopper wants beyond those about their orders and sign-ins (which always
/// go).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmailPreferences {
    /// News and offers.
    pub news: bool,
}

/// Everything the account page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOverview {
    pub customer: Customer,
    pub orders: Vec<AccountOrder>,
    pub addresses: Vec<SavedAddress>,
    pub passkeys: Vec<SavedPasskey>,
    /// Whether this shop can make passkeys (it needs a domain name, not an IP address).
    pub passkeys_offered: bool,
    pub preferences: EmailPreferences,
}

/// What checkout fills in for a signed-in shopper.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutPrefill {
    pub email: String,
    pub addresses: Vec<SavedAddress>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AccountError {
    #[error("please correct the highlighted fields")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("Sign in to see your account.")]
    SignedOut,
    #[error("That code is not right; {} left.", tries_text(*.tries_left))]
    WrongCode { tries_left: i64 },
    #[error("That code has expired or was already used; ask for a new one.")]
    CodeExpired,
    #[error("That code was entered wrongly too often; ask for a new one.")]
    CodeSpent,
    #[error("Too many attempts; wait a few minutes and try again.")]
    RateLimited,
    #[error("{0}")]
    PasskeyRefused(String),
    #[error("{0} was not found")]
    NotFound(String),
    /// Details go to the server log, never to the shopper.
    #[error("something went wrong on our side; please try again in a moment")]
    Internal,
    #[error("could not reach the shop: {0}")]
    Transport(String),
}

/// A part of the WASM that could not be fetched (see `cart::send_sync`).
#[cfg(feature = "hydrate")]
impl From<leptos::wasm_split::SplitLoaderError> for AccountError {
    fn from(error: leptos::wasm_split::SplitLoaderError) -> Self {
        AccountError::Transport(error.to_string())
    }
}

fn tries_text(tries_left: i64) -> String {
    match tries_left {
        1 => "1 try".into(),
        n => format!("{n} tries"),
    }
}

impl AccountError {
    pub fn status(&self) -> u16 {
        match self {
            AccountError::Invalid(_) => 422,
            AccountError::BadRequest(_) => 400,
            AccountError::SignedOut
            | AccountError::WrongCode { .. }
            | AccountError::CodeExpired
            | AccountError::PasskeyRefused(_) => 401,
            AccountError::CodeSpent | AccountError::RateLimited => 429,
            AccountError::NotFound(_) => 404,
            AccountError::Internal => 500,
            AccountError::Transport(_) => 502,
        }
    }

    pub fn field(field: &str, message: &str) -> AccountError {
        AccountError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<FieldError> for AccountError {
    fn from(error: FieldError) -> Self {
        AccountError::Invalid(vec![error])
    }
}

impl crate::error::ShopError for AccountError {
    fn status(&self) -> u16 {
        AccountError::status(self)
    }

    fn fields(&self) -> &[FieldError] {
        match self {
            AccountError::Invalid(fields) => fields,
            _ => &[],
        }
    }
}

impl FromServerFnError for AccountError {
    type Encoder = crate::error::ErrorEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match Plumbing::from(value) {
            Plumbing::BadRequest(message) => AccountError::BadRequest(message),
            Plumbing::Internal => AccountError::Internal,
            Plumbing::Transport(message) => AccountError::Transport(message),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error in accounts");
        AccountError::Internal
    }
}

/// Where to go after signing in: a page of this shop (`/…`), never another site (`//evil`,
/// `/\evil`) nor the back office; the account page otherwise.
pub fn safe_next(next: &str) -> String {
    let own_page = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/admin")
        && !next.contains(['\\', '\r', '\n']);
    if own_page {
        next.to_string()
    } else {
        "/account".to_string()
    }
}

/// The signed-in shopper of the request being rendered, if any (set by
/// [`api::recognise`] from the session cookie).
pub fn signed_in() -> Option<Customer> {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<axum::http::request::Parts>() {
        return parts.extensions.get::<Customer>().cloned();
    }
    None
}

/// Whether the shop being rendered offers passkeys.
pub fn passkeys_offered() -> bool {
    #[cfg(feature = "ssr")]
    if let Some(accounts) = use_context::<service::Accounts>() {
        return accounts.offers_passkeys();
    }
    false
}

/// The account page's content for the signed-in shopper.
#[server(endpoint = "account/overview", input = server_fn::codec::Json)]
pub async fn read_account() -> Result<AccountOverview, AccountError> {
    let accounts = use_context::<service::Accounts>().ok_or(AccountError::Internal)?;
    let customer = signed_in().ok_or(AccountError::SignedOut)?;
    let result = accounts.overview(customer).await;
    if let Err(error) = &result {
        crate::error::set_response_status(error.status());
    }
    result
}

/// The email and address book checkout fills in; nothing for a guest.
#[server(endpoint = "account/checkout-prefill", input = server_fn::codec::Json)]
pub async fn read_checkout_prefill() -> Result<Option<CheckoutPrefill>, AccountError> {
    let accounts = use_context::<service::Accounts>().ok_or(AccountError::Internal)?;
    let Some(customer) = signed_in() else {
        return Ok(None);
    };
    Ok(Some(CheckoutPrefill {
        addresses: accounts.addresses(customer.id).await?,
        email: customer.email,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_sign_in_only_pages_of_this_shop_are_followed() {
        assert_eq!(safe_next("/checkout"), "/checkout");
        assert_eq!(
            safe_next("/products/mug?variant=3"),
            "/products/mug?variant=3"
        );
        for elsewhere in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/admin",
            "/admin/orders",
            "/x\r\nSet-Cookie: a=b",
        ] {
            assert_eq!(safe_next(elsewhere), "/account", "{elsewhere:?}");
        }
    }

    #[test]
    fn a_wrong_code_says_how_many_tries_are_left() {
        assert_eq!(
            AccountError::WrongCode { tries_left: 1 }.to_string(),
            "That code is not right; 1 try left."
        );
        assert_eq!(AccountError::WrongCode { tries_left: 3 }.status(), 401);
        assert_eq!(AccountError::CodeSpent.status(), 429);
    }
}
