//! The OpenAPI 3.1 document of every `/api/v1` route, generated from the handlers'
//! `#[utoipa::path]` annotations and the types they take and answer with, so it cannot drift
//! from the code. Served at `GET /api/v1/openapi.json`.

use std::sync::OnceLock;

use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi;

use crate::error::ErrorBody;

/// The storefront's part: catalog, cart quotes, checkout, orders.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kassa API",
        version = "1.0.0",
        description = "Catalog, cart quotes and checkout for headless storefronts, and the back office \
for integrations under /api/v1/admin. Money is always an integer amount in minor units (cents) plus an \
ISO 4217 currency; prices sent by shoppers' clients are ignored. Times are RFC 3339 UTC. Lists are \
{\"items\": […], \"next_cursor\": …}. Errors are {\"error\": {\"status\": …, \"message\": …}} with \
`fields` (named by path, such as variants[0].price.amount), `variants` (409) or `order` (402) where useful."
    ),
    servers((url = "/")),
    paths(
        crate::catalog::api::list,
        crate::catalog::api::show,
        crate::catalog::api::list_collections,
        crate::catalog::api::show_collection,
        serve,
        crate::checkout::api::quote,
        crate::checkout::api::checkout,
        crate::checkout::api::order,
        crate::analytics::http::receive_beacon,
        crate::accounts::api::send_code,
        crate::accounts::api::sign_in,
        crate::accounts::api::sign_out,
        crate::accounts::api::customer,
        crate::accounts::api::orders,
        crate::accounts::api::addresses,
        crate::accounts::api::add_address,
        crate::accounts::api::update_address,
        crate::accounts::api::delete_address,
        crate::accounts::api::export,
        crate::accounts::api::delete_account,
        crate::accounts::api::preferences,
        crate::accounts::api::set_preferences,
        crate::accounts::passkeys::start_adding,
        crate::accounts::passkeys::add,
        crate::accounts::passkeys::list_passkeys,
        crate::accounts::passkeys::rename_passkey,
        crate::accounts::passkeys::remove_passkey,
        crate::accounts::passkeys::start_sign_in,
        crate::accounts::passkeys::sign_in,
        crate::cart::account::read,
        crate::cart::account::edit,
        crate::cart::account::merge,
        crate::promotions::newsletter_http::sign_up_api,
        crate::support::http::start_api,
        crate::support::http::show_api,
        crate::support::http::reply_api,
        crate::returns::http::request_api,
        crate::returns::http::list_api,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "catalog", description = "Active products and collections, as shoppers see them."),
        (name = "checkout", description = "Quotes, orders and their payment."),
        (name = "returns", description = "Returns of delivered items: ask with the order's access token (or a customer session), follow them by RMA number."),
        (name = "support", description = "Conversations with the shop: start one (linked to an order with its access token, a customer session, or the email it was placed with), then read and reply with its private token."),
        (name = "analytics", description = "Events from the shop's pages (`navigator.sendBeacon`): no cookie is set and no address is kept."),
        (name = "newsletter", description = "Sign-up with double opt-in: the address confirms by an emailed link."),
        (name = "customer", description = "Shoppers' accounts: sign-in with an emailed code, then the \
session token as `Authorization: Bearer` (or the session cookie) for the account, its orders, addresses, cart, passkeys and email preferences. Passkeys sign in without an email typed first (discoverable credentials)."),
    ),
)]
struct PublicApiDoc;

/// The whole document: the storefront's routes and the admin's, with the admin's API tokens
/// as the `bearer` security scheme.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = PublicApiDoc::openapi();
    doc.merge(crate::admin::rest::AdminApiDoc::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.description = Some(
        "An API token (`kassa_at_…`) the owner makes on /admin/staff or with \
         `kassa create-api-token`; it acts with its staff member's role."
            .into(),
    );
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    let mut customer = Http::new(HttpAuthScheme::Bearer);
    customer.description = Some(
        "A shopper's session token, from `POST /api/v1/customer/sign-in`; browsers send the \
         `kassa_customer` session cookie instead."
            .into(),
    );
    components.add_security_scheme("customer", SecurityScheme::Http(customer));
    doc
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

/// This document: the OpenAPI 3.1 description of every `/api/v1` route, generated from the
/// handlers and their types (see `crate::openapi`).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "catalog", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document of every `/api/v1` route", content_type = "application/json")))]
pub async fn serve() -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json(),
    )
        .into_response()
}
