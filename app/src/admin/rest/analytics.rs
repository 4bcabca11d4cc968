//! The analytics reports for integrations (and, through [`scope`], for the admin's pages and
//! CSV files): each over `?from=YYYY-MM-DD&to=YYYY-MM-DD`, both included, in the shop's time
//! zone; without them the last 30 days. Staff need the analytics permission.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::{query_pairs, ApiError, Caller, ErrorBody};
use crate::admin::service::Admin;
use crate::admin::Access;
use crate::analytics::reports::{self, Scope};
use crate::analytics::{
    DateRange, DayReport, DiscountReport, Funnel, ProductReport, SearchReport, SourceReport,
    Summary,
};
use crate::db::now_epoch;

#[derive(Serialize, ToSchema)]
pub struct ProductReportList {
    items: Vec<ProductReport>,
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchReportList {
    items: Vec<SearchReport>,
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SourceReportList {
    items: Vec<SourceReport>,
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DiscountReportList {
    items: Vec<DiscountReport>,
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DayReportList {
    items: Vec<DayReport>,
    next_cursor: Option<String>,
}

/// The question of a report: the range asked for (or the last 30 days) in the shop's time zone
/// and currency, after writing what this server recorded so far (staff see up to their click).
pub(crate) async fn scope(
    admin: &Admin,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Scope, ApiError> {
    admin.checkout().analytics().flush().await?;
    let clock = reports::clock(admin.checkout().db()).await?;
    let range = DateRange::parse(from, to, clock.today(now_epoch()))
        .map_err(|error| ApiError::bad_request(error.field(), error.to_string()))?;
    let currency = admin
        .checkout()
        .rules()
        .await
        .map_err(|_| ApiError::from(crate::admin::AdminError::Internal))?
        .currency;
    Ok(Scope::new(range, clock, currency))
}

async fn scope_of(admin: &Admin, raw: Option<&str>) -> Result<Scope, ApiError> {
    let pairs = query_pairs(raw)?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some((unknown, _)) = pairs.iter().find(|(k, _)| k != "from" && k != "to") {
        return Err(ApiError::bad_request(
            unknown.clone(),
            "unknown parameter: a report takes from and to (YYYY-MM-DD)",
        ));
    }
    scope(admin, get("from"), get("to")).await
}

#[utoipa::path(get, path = "/api/v1/admin/analytics/summary", tag = "admin", security(("bearer" = [])),
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD in the shop's time zone (default: 29 days before `to`)."),
           ("to" = Option<String>, Query, description = "Last day, included (default: today).")),
    responses((status = 200, body = Summary), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn summary(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Analytics)?;
    let scope = scope_of(&admin, raw.as_deref()).await?;
    Ok(Json(reports::summary(admin.checkout().db(), &scope).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/analytics/funnel", tag = "admin", security(("bearer" = [])),
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD."), ("to" = Option<String>, Query, description = "Last day, included.")),
    responses((status = 200, body = Funnel), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn funnel(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Analytics)?;
    let scope = scope_of(&admin, raw.as_deref()).await?;
    Ok(Json(reports::funnel(admin.checkout().db(), &scope).await?).into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/analytics/products", tag = "admin", security(("bearer" = [])),
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD."), ("to" = Option<String>, Query, description = "Last day, included.")),
    responses((status = 200, body = ProductReportList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn products(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Analytics)?;
    let scope = scope_of(&admin, raw.as_deref()).await?;
    let items = reports::products(admin.checkout().db(), &scope).await?;
    Ok(Json(ProductReportList {
        items,
        next_cursor: None,
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/analytics/searches", tag = "admin", security(("bearer" = [])),
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD."), ("to" = Option<String>, Query, description = "Last day, included.")),
    responses((status = 200, body = SearchReportList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn searches(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Analytics)?;
    let scope = scope_of(&admin, raw.as_deref()).await?;
    let items = reports::searches(admin.checkout().db(), &scope).await?;
    Ok(Json(SearchReportList {
        items,
        next_cursor: None,
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/analytics/sources", tag = "admin", security(("bearer" = [])),
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD."), ("to" = Option<String>, Query, description = "Last day, included.")),
    responses((status = 200, body = SourceReportList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn sources(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Analytics)?;
    let scope = scope_of(&admin, raw.as_deref()).await?;
    let items = reports::sources(admin.checkout().db(), &scope).await?;
    Ok(Json(SourceReportList {
        items,
        next_cursor: None,
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/analytics/discounts", tag = "admin", security(("bearer" = [])),
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD."), ("to" = Option<String>, Query, description = "Last day, included.")),
    responses((status = 200, body = DiscountReportList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn discounts(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Analytics)?;
    let scope = scope_of(&admin, raw.as_deref()).await?;
    let items = reports::discounts(admin.checkout().db(), &scope).await?;
    Ok(Json(DiscountReportList {
        items,
        next_cursor: None,
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/analytics/days", tag = "admin", security(("bearer" = [])),
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD."), ("to" = Option<String>, Query, description = "Last day, included.")),
    responses((status = 200, body = DayReportList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn days(
    State(admin): State<Admin>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.may(Access::Analytics)?;
    let scope = scope_of(&admin, raw.as_deref()).await?;
    let items = reports::days(admin.checkout().db(), &scope).await?;
    Ok(Json(DayReportList {
        items,
        next_cursor: None,
    })
    .into_response())
}
