//! The admin: staff sign-in and roles, the live dashboard, orders and fulfilment, refunds and
//! stock. Pages are server-rendered with no islands (none of the shop's WASM); the dashboard
//! is kept live by `public/admin.js` over server-sent events; every action is a plain form POST to an axum route, so it works without JavaScript, and
//! every route and server function checks the role on the server.

use leptos::prelude::*;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::orders::{OrderDetails, OrderStatus};

pub mod analytics;
pub mod campaigns;
mod catalog_pages;
pub mod discounts;
pub mod gift_cards;
mod inventory_page;
pub mod newsletter;
pub mod order_conversations;
mod pages;
mod privacy_page;
pub mod returns;
mod search;
mod security_page;
mod settings_page;
pub mod shell;
pub mod support;
pub mod tokens;
pub use crate::time::{format_date, format_time};
pub use campaigns::{AdminCampaignPage, AdminCampaignsPage};
pub use catalog_pages::{
    AdminCollectionsPage, AdminImportJobPage, AdminImportPage, AdminProductPage, AdminProductsPage,
};
pub use discounts::{AdminDiscountPage, AdminDiscountsPage};
pub use gift_cards::{AdminGiftCardPage, AdminGiftCardsPage};
pub use inventory_page::AdminInventoryPage;
pub use newsletter::AdminNewsletterPage;
pub use pages::{
    AdminDashboardPage, AdminOrderPage, AdminOrdersPage, AdminStaffPage, AdminVariantPage,
    PackingSlipPage, SignInPage,
};
pub use privacy_page::AdminPrivacyPage;
pub use returns::{AdminReturnPage, AdminReturnsPage};
pub use search::AdminSearchPage;
pub use security_page::AdminSecurityPage;
pub use settings_page::AdminSettingsPage;
pub use shell::AdminShell;
pub use support::{AdminSavedRepliesPage, AdminSupportConversationPage, AdminSupportPage};

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod catalog;
#[cfg(feature = "ssr")]
mod dashboard;
#[cfg(feature = "ssr")]
pub mod listed;
#[cfg(feature = "ssr")]
pub mod orders;
#[cfg(feature = "ssr")]
mod pictures;
#[cfg(feature = "ssr")]
pub mod privacy;
#[cfg(feature = "ssr")]
pub mod products;
#[cfg(feature = "ssr")]
pub mod respond;
#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod security;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
mod stock;
#[cfg(feature = "ssr")]
pub mod two_factor;
#[cfg(feature = "ssr")]
pub mod variant_grid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including staff management and refunds.
    Owner,
    /// Orders, fulfilment, stock and catalog; refunds only when allowed.
    Staff,
    /// A shopper with an account: no admin access.
    Customer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Staff => "staff",
            Role::Customer => "customer",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "owner" => Some(Role::Owner),
            "staff" => Some(Role::Staff),
            "customer" => Some(Role::Customer),
            _ => None,
        }
    }
}

/// Who may call an admin route or server function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Owner or staff.
    Staff,
    /// Owner or staff allowed to refund.
    Refunds,
    /// Owner or staff allowed to export and erase a person's data.
    Privacy,
    /// Owner or staff allowed to answer customers (the support inbox).
    Support,
    /// Owner or staff allowed to read the analytics.
    Analytics,
    /// The owner only.
    Owner,
}

/// Every admin route, page and server function with the access it needs. The authorization
/// test reads the routes the server really has from its routers and fails for one that is
/// missing here, then walks this list as anonymous, customer, staff and owner.
pub const ADMIN_ENDPOINTS: &[(&str, &str, Access)] = &[
    ("GET", "/admin", Access::Staff),
    ("GET", "/admin/orders", Access::Staff),
    ("GET", "/admin/orders/{number}", Access::Staff),
    ("GET", "/admin/orders/{number}/packing-slip", Access::Staff),
    ("GET", "/admin/variants/{variant}", Access::Staff),
    ("GET", "/admin/events", Access::Staff),
    ("POST", "/admin/orders/ship-many", Access::Staff),
    ("POST", "/admin/orders/{number}/shipments", Access::Staff),
    (
        "POST",
        "/admin/orders/{number}/shipments/{shipment}/delivered",
        Access::Staff,
    ),
    ("POST", "/admin/orders/{number}/cancel", Access::Staff),
    ("POST", "/admin/orders/{number}/refunds", Access::Refunds),
    ("POST", "/admin/variants/{variant}/adjust", Access::Staff),
    ("GET", "/admin/settings", Access::Owner),
    ("GET", "/admin/privacy", Access::Staff),
    ("GET", "/admin/security", Access::Staff),
    ("POST", "/admin/security/start", Access::Staff),
    ("POST", "/admin/security/confirm", Access::Staff),
    ("POST", "/admin/security/recovery-codes", Access::Staff),
    ("POST", "/admin/security/disable", Access::Staff),
    ("GET", "/admin/privacy/export", Access::Privacy),
    ("POST", "/admin/privacy/erase", Access::Privacy),
    ("POST", "/admin/settings", Access::Owner),
    ("POST", "/admin/settings/zones", Access::Owner),
    ("POST", "/admin/settings/zones/{zone}", Access::Owner),
    ("POST", "/admin/settings/zones/{zone}/rates", Access::Owner),
    ("POST", "/admin/settings/rates/{rate}", Access::Owner),
    ("POST", "/admin/settings/taxes", Access::Owner),
    ("POST", "/admin/settings/taxes/{tax}", Access::Owner),
    ("POST", "/admin/staff", Access::Owner),
    ("GET", "/admin/products", Access::Staff),
    ("GET", "/admin/products/new", Access::Staff),
    ("GET", "/admin/products/{product}", Access::Staff),
    ("GET", "/admin/collections", Access::Staff),
    ("GET", "/admin/import", Access::Staff),
    ("GET", "/admin/import/{job}", Access::Staff),
    ("GET", "/admin/staff", Access::Staff),
    ("GET", "/admin/search", Access::Staff),
    ("GET", "/admin/inventory", Access::Staff),
    ("POST", "/admin/products", Access::Staff),
    ("POST", "/admin/products/bulk", Access::Staff),
    ("POST", "/admin/products/{product}", Access::Staff),
    ("POST", "/admin/products/{product}/variants", Access::Staff),
    ("POST", "/admin/products/{product}/images", Access::Staff),
    (
        "POST",
        "/admin/products/{product}/images/order",
        Access::Staff,
    ),
    ("POST", "/admin/images/{image}/remove", Access::Staff),
    (
        "POST",
        "/admin/products/{product}/variants/grid",
        Access::Staff,
    ),
    (
        "POST",
        "/admin/products/{product}/variants/generate",
        Access::Staff,
    ),
    ("POST", "/admin/variants/{variant}/remove", Access::Staff),
    ("POST", "/admin/variants/{variant}", Access::Staff),
    ("POST", "/admin/collections", Access::Staff),
    ("POST", "/admin/import", Access::Staff),
    ("POST", "/api/admin/products", Access::Staff),
    ("POST", "/api/admin/product", Access::Staff),
    ("POST", "/api/admin/collections", Access::Staff),
    ("POST", "/api/admin/import-status", Access::Staff),
    ("POST", "/api/admin/dashboard", Access::Staff),
    ("POST", "/api/admin/orders", Access::Staff),
    ("POST", "/api/admin/order", Access::Staff),
    ("POST", "/api/admin/variant", Access::Staff),
    ("POST", "/api/admin/settings", Access::Owner),
    ("POST", "/api/admin/security", Access::Staff),
    ("POST", "/api/admin/inventory", Access::Staff),
    ("POST", "/api/admin/api-tokens", Access::Staff),
    ("POST", "/admin/staff/tokens", Access::Owner),
    ("POST", "/admin/staff/tokens/{token}/revoke", Access::Owner),
    // The JSON API for integrations (`rest.rs`); PATCH and PUT are also accepted as POST.
    ("GET", "/api/v1/admin/products", Access::Staff),
    ("POST", "/api/v1/admin/products", Access::Staff),
    ("GET", "/api/v1/admin/products/{product}", Access::Staff),
    ("PATCH", "/api/v1/admin/products/{product}", Access::Staff),
    ("POST", "/api/v1/admin/products/{product}", Access::Staff),
    (
        "POST",
        "/api/v1/admin/products/{product}/publish",
        Access::Staff,
    ),
    (
        "POST",
        "/api/v1/admin/products/{product}/archive",
        Access::Staff,
    ),
    ("PATCH", "/api/v1/admin/variants/{variant}", Access::Staff),
    ("POST", "/api/v1/admin/variants/{variant}", Access::Staff),
    (
        "POST",
        "/api/v1/admin/variants/{variant}/stock",
        Access::Staff,
    ),
    ("GET", "/api/v1/admin/collections", Access::Staff),
    ("POST", "/api/v1/admin/collections", Access::Staff),
    (
        "PUT",
        "/api/v1/admin/collections/{collection}/products",
        Access::Staff,
    ),
    (
        "POST",
        "/api/v1/admin/collections/{collection}/products",
        Access::Staff,
    ),
    ("GET", "/api/v1/admin/orders", Access::Staff),
    ("GET", "/api/v1/admin/orders/{number}", Access::Staff),
    (
        "POST",
        "/api/v1/admin/orders/{number}/shipments",
        Access::Staff,
    ),
    (
        "POST",
        "/api/v1/admin/shipments/{shipment}/delivered",
        Access::Staff,
    ),
    (
        "POST",
        "/api/v1/admin/orders/{number}/cancel",
        Access::Staff,
    ),
    (
        "POST",
        "/api/v1/admin/orders/{number}/refunds",
        Access::Refunds,
    ),
    ("GET", "/admin/newsletter", Access::Staff),
    ("GET", "/admin/newsletter.csv", Access::Staff),
    ("POST", "/api/admin/subscribers", Access::Staff),
    ("GET", "/admin/newsletter/campaigns", Access::Staff),
    (
        "GET",
        "/admin/newsletter/campaigns/{campaign}",
        Access::Staff,
    ),
    ("POST", "/admin/newsletter/campaigns", Access::Staff),
    (
        "POST",
        "/admin/newsletter/campaigns/{campaign}",
        Access::Staff,
    ),
    (
        "POST",
        "/admin/newsletter/campaigns/{campaign}/test",
        Access::Staff,
    ),
    (
        "POST",
        "/admin/newsletter/campaigns/{campaign}/send",
        Access::Staff,
    ),
    (
        "POST",
        "/admin/newsletter/campaigns/{campaign}/stop",
        Access::Staff,
    ),
    ("POST", "/api/admin/campaigns", Access::Staff),
    ("POST", "/api/admin/campaign", Access::Staff),
    ("GET", "/api/v1/admin/campaigns", Access::Staff),
    ("POST", "/api/v1/admin/campaigns", Access::Staff),
    ("GET", "/api/v1/admin/campaigns/{id}", Access::Staff),
    ("PATCH", "/api/v1/admin/campaigns/{id}", Access::Staff),
    ("POST", "/api/v1/admin/campaigns/{id}", Access::Staff),
    ("POST", "/api/v1/admin/campaigns/{id}/test", Access::Staff),
    ("POST", "/api/v1/admin/campaigns/{id}/send", Access::Staff),
    ("POST", "/api/v1/admin/campaigns/{id}/stop", Access::Staff),
    ("GET", "/admin/support", Access::Support),
    ("GET", "/admin/support/{conversation}", Access::Support),
    (
        "POST",
        "/admin/support/{conversation}/messages",
        Access::Support,
    ),
    (
        "POST",
        "/admin/support/{conversation}/close",
        Access::Support,
    ),
    (
        "POST",
        "/admin/support/{conversation}/reopen",
        Access::Support,
    ),
    (
        "POST",
        "/admin/support/{conversation}/assign",
        Access::Support,
    ),
    ("POST", "/api/admin/support", Access::Support),
    ("POST", "/api/admin/support-conversation", Access::Support),
    ("POST", "/api/admin/order-conversations", Access::Staff),
    (
        "GET",
        "/api/v1/admin/support/conversations",
        Access::Support,
    ),
    (
        "GET",
        "/api/v1/admin/support/conversations/{id}",
        Access::Support,
    ),
    (
        "POST",
        "/api/v1/admin/support/conversations/{id}/messages",
        Access::Support,
    ),
    (
        "POST",
        "/api/v1/admin/support/conversations/{id}/close",
        Access::Support,
    ),
    (
        "POST",
        "/api/v1/admin/support/conversations/{id}/reopen",
        Access::Support,
    ),
    (
        "POST",
        "/api/v1/admin/support/conversations/{id}/assign",
        Access::Support,
    ),
    ("GET", "/admin/saved-replies", Access::Support),
    ("POST", "/admin/saved-replies", Access::Support),
    (
        "POST",
        "/admin/saved-replies/{reply}/delete",
        Access::Support,
    ),
    ("POST", "/api/admin/saved-replies", Access::Support),
    (
        "GET",
        "/api/v1/admin/support/saved-replies",
        Access::Support,
    ),
    (
        "POST",
        "/api/v1/admin/support/saved-replies",
        Access::Support,
    ),
    (
        "DELETE",
        "/api/v1/admin/support/saved-replies/{id}",
        Access::Support,
    ),
    ("GET", "/admin/returns", Access::Support),
    ("GET", "/admin/returns/{rma}", Access::Support),
    ("POST", "/admin/returns/{rma}/approve", Access::Support),
    ("POST", "/admin/returns/{rma}/decline", Access::Support),
    ("POST", "/admin/returns/{rma}/receive", Access::Staff),
    ("POST", "/admin/returns/{rma}/refund", Access::Refunds),
    ("POST", "/api/admin/returns", Access::Support),
    ("POST", "/api/admin/return", Access::Support),
    ("GET", "/api/v1/admin/returns", Access::Support),
    ("GET", "/api/v1/admin/returns/{rma}", Access::Support),
    (
        "POST",
        "/api/v1/admin/returns/{rma}/approve",
        Access::Support,
    ),
    (
        "POST",
        "/api/v1/admin/returns/{rma}/decline",
        Access::Support,
    ),
    ("POST", "/api/v1/admin/returns/{rma}/receive", Access::Staff),
    (
        "POST",
        "/api/v1/admin/returns/{rma}/refund",
        Access::Refunds,
    ),
    ("POST", "/admin/settings/returns", Access::Owner),
    ("POST", "/admin/settings/analytics", Access::Owner),
    ("GET", "/admin/analytics", Access::Analytics),
    ("GET", "/admin/analytics/export/{report}", Access::Analytics),
    ("POST", "/api/admin/analytics", Access::Analytics),
    ("GET", "/api/v1/admin/analytics/summary", Access::Analytics),
    ("GET", "/api/v1/admin/analytics/funnel", Access::Analytics),
    ("GET", "/api/v1/admin/analytics/products", Access::Analytics),
    ("GET", "/api/v1/admin/analytics/searches", Access::Analytics),
    ("GET", "/api/v1/admin/analytics/sources", Access::Analytics),
    (
        "GET",
        "/api/v1/admin/analytics/discounts",
        Access::Analytics,
    ),
    ("GET", "/api/v1/admin/analytics/days", Access::Analytics),
    // Last: the role walk deletes its campaign here.
    (
        "POST",
        "/admin/newsletter/campaigns/{campaign}/delete",
        Access::Staff,
    ),
    ("DELETE", "/api/v1/admin/campaigns/{id}", Access::Staff),
    ("GET", "/admin/gift-cards", Access::Staff),
    ("GET", "/admin/gift-cards/{card}", Access::Staff),
    ("POST", "/admin/gift-cards", Access::Refunds),
    ("POST", "/admin/gift-cards/{card}/disable", Access::Refunds),
    ("POST", "/api/admin/gift-cards", Access::Staff),
    ("POST", "/api/admin/gift-card", Access::Staff),
    ("GET", "/admin/discounts", Access::Staff),
    ("GET", "/admin/discounts/{discount}", Access::Staff),
    ("POST", "/admin/discounts", Access::Staff),
    ("POST", "/admin/discounts/{discount}", Access::Staff),
    (
        "POST",
        "/admin/discounts/{discount}/deactivate",
        Access::Staff,
    ),
    ("POST", "/api/admin/discounts", Access::Staff),
    ("POST", "/api/admin/discount", Access::Staff),
    ("GET", "/api/v1/admin/discounts", Access::Staff),
    ("POST", "/api/v1/admin/discounts", Access::Staff),
    ("GET", "/api/v1/admin/discounts/{id}", Access::Staff),
    ("PATCH", "/api/v1/admin/discounts/{id}", Access::Staff),
    ("POST", "/api/v1/admin/discounts/{id}", Access::Staff),
    (
        "POST",
        "/api/v1/admin/discounts/{id}/deactivate",
        Access::Staff,
    ),
    ("GET", "/api/v1/admin/discounts/{id}/orders", Access::Staff),
    ("GET", "/api/v1/admin/gift-cards", Access::Staff),
    ("POST", "/api/v1/admin/gift-cards", Access::Refunds),
    ("GET", "/api/v1/admin/gift-cards/{id}", Access::Staff),
    (
        "POST",
        "/api/v1/admin/gift-cards/{id}/disable",
        Access::Refunds,
    ),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AdminError {
    #[error("Please sign in.")]
    Unauthorized,
    #[error("Your account may not do this.")]
    Forbidden,
    /// The owner requires a second factor, and this account has none yet.
    #[error("The owner requires two-factor authentication: set it up on the Security page (/admin/security) first.")]
    SetUpTwoFactor,
    #[error("{0} was not found")]
    NotFound(String),
    /// The request itself is malformed (a body that does not decode).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gateway(String),
    #[error("something went wrong on our side; please try again in a moment")]
    Internal,
    #[error("could not reach the shop: {0}")]
    Transport(String),
}

impl AdminError {
    pub fn status(&self) -> u16 {
        match self {
            AdminError::Unauthorized => 401,
            AdminError::Forbidden | AdminError::SetUpTwoFactor => 403,
            AdminError::NotFound(_) => 404,
            AdminError::BadRequest(_) => 400,
            AdminError::Invalid(_) => 422,
            AdminError::Conflict(_) => 409,
            AdminError::Gateway(_) | AdminError::Transport(_) => 502,
            AdminError::Internal => 500,
        }
    }
}

impl crate::error::ShopError for AdminError {
    fn status(&self) -> u16 {
        AdminError::status(self)
    }
}

impl FromServerFnError for AdminError {
    type Encoder = crate::error::ErrorEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match crate::error::Plumbing::from(value) {
            crate::error::Plumbing::BadRequest(message) => AdminError::BadRequest(message),
            crate::error::Plumbing::Internal => AdminError::Internal,
            crate::error::Plumbing::Transport(message) => AdminError::Transport(message),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AdminError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error in the admin");
        AdminError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<crate::orders::shipments::ShipmentError> for AdminError {
    fn from(error: crate::orders::shipments::ShipmentError) -> Self {
        use crate::orders::shipments::ShipmentError::*;
        match error {
            NoOrder(number) => AdminError::NotFound(format!("Order {number}")),
            error @ (NotPaid | NotOutForDelivery) => AdminError::Conflict(error.to_string()),
            error @ (NothingToShip | BadField(_) | TooMany { .. }) => {
                AdminError::Invalid(error.to_string())
            }
            Database(error) => error.into(),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::orders::settle::TransitionError> for AdminError {
    fn from(error: crate::orders::settle::TransitionError) -> Self {
        use crate::orders::settle::TransitionError::*;
        match error {
            NotAllowed(..) | Moved(_) => {
                AdminError::Conflict("The order changed meanwhile; reload and try again.".into())
            }
            Stock(message) => {
                tracing::error!(%message, "an order's stock does not add up");
                AdminError::Internal
            }
            Database(error) => error.into(),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::payments::ledger::RefundError> for AdminError {
    fn from(error: crate::payments::ledger::RefundError) -> Self {
        use crate::payments::ledger::RefundError::*;
        match error {
            error @ AtMost(_) => AdminError::Invalid(error.to_string()),
            error @ (NotPaid | InProgress) => AdminError::Conflict(error.to_string()),
            error @ FailedBefore(_) => AdminError::Gateway(error.to_string()),
            Database(error) => error.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub label: String,
    pub revenue: Money,
    pub orders: i64,
    pub average: Option<Money>,
    /// Visitors in the period (one per day each), from the analytics.
    #[serde(default)]
    pub visitors: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub number: String,
    pub created_at: i64,
    pub email: String,
    pub name: String,
    pub status: OrderStatus,
    pub fulfilment: String,
    pub total: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStock {
    pub variant_id: i64,
    pub sku: String,
    pub title: String,
    pub available: i64,
    pub threshold: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub periods: Vec<Period>,
    /// Revenue per day for the last 30 days, oldest first (minor units).
    pub daily: Vec<i64>,
    pub recent: Vec<OrderRow>,
    pub low_stock: Vec<LowStock>,
    pub pending_fulfilment: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFilter {
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub status: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub from: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub to: String,
    /// An order number, or part of an email or name.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub q: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub cursor: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    pub rows: Vec<OrderRow>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminLine {
    pub id: i64,
    pub title: String,
    pub sku: String,
    pub quantity: u32,
    pub shipped: u32,
    /// Units refunded by line so far.
    pub refunded: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub at: i64,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrder {
    pub id: i64,
    pub order: OrderDetails,
    pub fulfilment: String,
    pub lines: Vec<AdminLine>,
    pub paid: Money,
    pub refunded: Money,
    pub timeline: Vec<TimelineEvent>,
    /// A fresh key for the refund form, so a double submit refunds once.
    pub refund_key: String,
    pub may_refund: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub at: i64,
    pub reason: String,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub order_number: Option<String>,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantStock {
    pub id: i64,
    pub sku: String,
    pub title: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub threshold: i64,
    pub version: i64,
    pub history: Vec<LedgerEntry>,
}

/// What the inventory table shows: a search over SKUs and product titles, the low-stock
/// filter, and the page (the last variant id of the previous one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryFilter {
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub q: String,
    #[serde(default)]
    pub low: bool,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub cursor: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryRow {
    pub id: i64,
    pub sku: String,
    /// The product's title with the variant's options: "Hoodie (Forest / M)".
    pub title: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub threshold: i64,
    /// The stock's version, which an adjustment from the row must still match.
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryList {
    pub rows: Vec<InventoryRow>,
    pub next_cursor: Option<String>,
}

/// The reasons staff give for changing stock by hand, offered here and on a variant's page.
pub const REASONS: [(&str, &str); 6] = [
    ("received", "Received (add)"),
    ("counted", "Counted (set to)"),
    ("damaged", "Damaged (take away)"),
    ("lost", "Lost (take away)"),
    ("returned", "Returned (add)"),
    ("correction", "Correction (±)"),
];

/// Variants on one page of the inventory table.
pub const INVENTORY_PAGE: i64 = 50;

/// What the product table shows: a search over titles, handles and SKUs, a status, a
/// collection (its handle), a stock level (`in`, `low`, `out`), a sort (see
/// [`PRODUCT_SORTS`]) and the page (a cursor of the sort's own shape).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFilter {
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub q: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub status: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub collection: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub stock: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub sort: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub cursor: String,
}

/// The product table's sorts: the value in the address and its label. The first is the default.
pub const PRODUCT_SORTS: [(&str, &str); 5] = [
    ("title", "Title A–Z"),
    ("title-desc", "Title Z–A"),
    ("updated", "Recently edited"),
    ("newest", "Newest"),
    ("oldest", "Oldest"),
];

/// The product table's stock levels: the value in the address and its label.
pub const STOCK_LEVELS: [(&str, &str); 3] = [
    ("in", "In stock"),
    ("low", "Low stock"),
    ("out", "Out of stock"),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductListRow {
    pub id: i64,
    pub title: String,
    pub slug: String,
    pub status: String,
    /// Live (not archived) variants.
    pub variants: i64,
    pub on_hand: i64,
    /// On hand less reserved, over the live variants.
    pub available: i64,
    /// The lowest and highest price of the live variants.
    pub prices: Option<(Money, Money)>,
    pub picture: Option<String>,
    pub updated_at: i64,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductList {
    pub rows: Vec<ProductListRow>,
    pub next_cursor: Option<String>,
    /// Every collection, for the filter and the bulk "add to collection".
    pub collections: Vec<CollectionName>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionName {
    pub slug: String,
    pub title: String,
}

/// Products on one page of the product table.
pub const PRODUCTS_PAGE: i64 = 50;

/// The signed-in staff member's second factor, as the Security page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityStatus {
    pub email: String,
    pub enabled: bool,
    /// The owner requires a second factor of all staff.
    pub required: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
    /// Setting up: the secret, its `otpauth://` address and that address as an SVG QR code.
    pub setup: Option<(String, String, String)>,
}

/// The shop's settings as the settings page shows them (amounts and rates as typed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopSettings {
    /// The time zone the shop's days (and its reports) are counted in.
    #[serde(default)]
    pub time_zone: String,
    /// Days raw analytics events are kept (the daily figures stay).
    #[serde(default)]
    pub analytics_retention_days: i64,
    /// The return policy: window in days, return shipping fee as typed, restocking percent.
    #[serde(default)]
    pub return_window_days: i64,
    #[serde(default)]
    pub return_shipping_fee: String,
    #[serde(default)]
    pub restocking_fee_percent: i64,
    pub shop_name: String,
    /// Empty: the server's `KASSA_MAIL_FROM`.
    pub email_from: String,
    pub currency: String,
    pub prices_include_tax: bool,
    pub reservation_minutes: i64,
    /// Days the personal data of unpaid orders is kept.
    pub retention_days: i64,
    /// Hours after an abandoned checkout its one reminder goes out; 0: never.
    pub reminder_hours: i64,
    /// Every staff member must sign in with a second factor.
    pub require_staff_2fa: bool,
    pub zones: Vec<ZoneEdit>,
    pub taxes: Vec<TaxEdit>,
    /// Once there are orders the currency stays.
    pub currency_locked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneEdit {
    pub id: i64,
    pub name: String,
    /// "DE, AT" or "*".
    pub countries: String,
    pub rates: Vec<RateEdit>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateEdit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub price: String,
    /// Empty: never free.
    pub free_above: String,
    pub min_days: i64,
    pub max_days: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxEdit {
    pub id: i64,
    pub country: String,
    pub region: String,
    pub name: String,
    /// "19", "8.1".
    pub percent: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantEdit {
    pub id: i64,
    pub sku: String,
    pub options: Vec<String>,
    /// Decimal text as staff type it ("19.90").
    pub price: String,
    pub compare_at: String,
    pub weight_grams: i64,
    pub allow_backorder: bool,
    pub threshold: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub version: i64,
    /// Out of the shop; kept for the orders and stock history that refer to it.
    pub archived: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureEdit {
    pub id: i64,
    pub url: String,
    pub alt: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductEdit {
    pub id: i64,
    pub title: String,
    pub slug: String,
    pub description_md: String,
    pub vendor: String,
    pub product_type: String,
    pub status: String,
    pub seo_title: String,
    pub seo_description: String,
    pub tags: String,
    /// Sold as final: never returnable.
    #[serde(default)]
    pub final_sale: bool,
    pub option_names: Vec<String>,
    pub variants: Vec<VariantEdit>,
    pub images: Vec<PictureEdit>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionEdit {
    pub slug: String,
    pub title: String,
    /// Product handles in order.
    pub handles: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportJob {
    pub id: String,
    pub total: u32,
    pub done: u32,
    pub finished: bool,
    pub errors: Vec<String>,
    pub imported: u32,
}

/// Server functions answer with the error's status.
#[cfg(feature = "ssr")]
fn with_status<T>(result: Result<T, AdminError>) -> Result<T, AdminError> {
    if let Err(error) = &result {
        crate::error::set_response_status(error.status());
    }
    result
}

/// Refuses filter text the database cannot hold (NUL) before it reaches SQL.
#[cfg(feature = "ssr")]
fn storable<'a>(texts: impl IntoIterator<Item = &'a String>) -> Result<(), AdminError> {
    if texts
        .into_iter()
        .all(|text| crate::input::is_storable(text))
    {
        Ok(())
    } else {
        Err(AdminError::BadRequest(
            "The filter contains a NUL character.".into(),
        ))
    }
}

/// The signed-in account behind this server-function call, if it has `access`.
#[cfg(feature = "ssr")]
async fn require(access: Access) -> Result<(service::Admin, auth::Account), AdminError> {
    let admin = use_context::<service::Admin>().ok_or(AdminError::Internal)?;
    let parts = use_context::<axum::http::request::Parts>().ok_or(AdminError::Internal)?;
    let account = admin.authorize(&parts.headers, access).await?;
    Ok((admin, account))
}

#[server(endpoint = "admin/security", input = server_fn::codec::Json)]
pub async fn admin_security() -> Result<SecurityStatus, AdminError> {
    with_status(
        async {
            let admin = use_context::<service::Admin>().ok_or(AdminError::Internal)?;
            let parts = use_context::<axum::http::request::Parts>().ok_or(AdminError::Internal)?;
            let account = admin.authorize_for_setup(&parts.headers).await?;
            admin.security_status(&account).await
        }
        .await,
    )
}

#[server(endpoint = "admin/dashboard", input = server_fn::codec::Json)]
pub async fn admin_dashboard() -> Result<Dashboard, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Staff).await?;
            admin.dashboard(crate::db::now_epoch()).await
        }
        .await,
    )
}

#[server(endpoint = "admin/orders", input = server_fn::codec::Json)]
pub async fn admin_orders(filter: OrderFilter) -> Result<OrderList, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Staff).await?;
            storable([
                &filter.status,
                &filter.from,
                &filter.to,
                &filter.q,
                &filter.cursor,
            ])?;
            admin.list_orders(&filter).await
        }
        .await,
    )
}

#[server(endpoint = "admin/order", input = server_fn::codec::Json)]
pub async fn order_for_staff(number: String) -> Result<AdminOrder, AdminError> {
    with_status(
        async {
            let (admin, account) = require(Access::Staff).await?;
            admin.order(&number, &account).await
        }
        .await,
    )
}

#[server(endpoint = "admin/variant", input = server_fn::codec::Json)]
pub async fn admin_variant(id: i64) -> Result<VariantStock, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Staff).await?;
            admin.variant_stock(id).await
        }
        .await,
    )
}

#[server(endpoint = "admin/inventory", input = server_fn::codec::Json)]
pub async fn admin_inventory(filter: InventoryFilter) -> Result<InventoryList, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Staff).await?;
            storable([&filter.q, &filter.cursor])?;
            admin.inventory(&filter).await
        }
        .await,
    )
}

#[server(endpoint = "admin/products", input = server_fn::codec::Json)]
pub async fn admin_products(filter: ProductFilter) -> Result<ProductList, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Staff).await?;
            storable([
                &filter.q,
                &filter.status,
                &filter.collection,
                &filter.stock,
                &filter.sort,
                &filter.cursor,
            ])?;
            admin.products(&filter).await
        }
        .await,
    )
}

#[server(endpoint = "admin/settings", input = server_fn::codec::Json)]
pub async fn admin_settings() -> Result<ShopSettings, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Owner).await?;
            admin.settings().await
        }
        .await,
    )
}

#[server(endpoint = "admin/product", input = server_fn::codec::Json)]
pub async fn admin_product(id: i64) -> Result<ProductEdit, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Staff).await?;
            catalog::product(&admin, id).await
        }
        .await,
    )
}

#[server(endpoint = "admin/collections", input = server_fn::codec::Json)]
pub async fn admin_collections() -> Result<Vec<CollectionEdit>, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Staff).await?;
            catalog::collections(&admin).await
        }
        .await,
    )
}

#[server(endpoint = "admin/import-status", input = server_fn::codec::Json)]
pub async fn import_status(job: String) -> Result<ImportJob, AdminError> {
    with_status(
        async {
            let (admin, _) = require(Access::Staff).await?;
            admin
                .import_jobs()
                .get(&job)
                .ok_or_else(|| AdminError::NotFound("This import".into()))
        }
        .await,
    )
}

/// Import jobs of this process, by id: progress for the page that watches them.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default)]
pub struct ImportJobs(
    pub(crate) std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, ImportJob>>>,
);

#[cfg(feature = "ssr")]
impl ImportJobs {
    pub fn get(&self, id: &str) -> Option<ImportJob> {
        self.0.lock().ok()?.get(id).cloned()
    }

    pub(crate) fn update(&self, id: &str, f: impl FnOnce(&mut ImportJob)) {
        if let Ok(mut jobs) = self.0.lock() {
            if let Some(job) = jobs.get_mut(id) {
                f(job);
            }
        }
    }
}
