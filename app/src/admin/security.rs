//! The Security page's forms: setting up two-factor authentication, new recovery codes,
//! turning it off. Open to every staff member for their own account, also to one who must
//! still set it up (see `two_factor.rs`).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sqlx::Row;

use super::listed::ListedRouter;
use super::respond::{form_error, outcome, shown_once, wants_html};
use super::service::Admin;
use super::two_factor;
use super::{AdminError, SecurityStatus};
use crate::admin::auth::Account;

pub fn routes<S>() -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: axum::extract::FromRef<S>,
{
    listed_routes().into_router()
}

/// The routes, listed (see [`ListedRouter`]).
pub fn listed_routes<S>() -> ListedRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Admin: axum::extract::FromRef<S>,
{
    ListedRouter::default()
        .post("/admin/security/start", start)
        .post("/admin/security/confirm", confirm)
        .post("/admin/security/recovery-codes", renew)
        .post("/admin/security/disable", disable)
}

const SECURITY: &str = "/admin/security";

impl Admin {
    /// What the Security page shows the signed-in staff member.
    pub async fn security_status(&self, account: &Account) -> Result<SecurityStatus, AdminError> {
        let (enabled, required) = two_factor::status(self.db(), account.id).await?;
        let left: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(account.id)
        .fetch_one(self.db().pool())
        .await?
        .try_get("n")?;
        let setup = match (
            enabled,
            two_factor::pending_secret(self.db(), account.id).await?,
        ) {
            (false, Some(secret)) => {
                let shop = self.checkout().shop_name();
                let url = two_factor::otpauth_url(&secret, &shop, &account.email)
                    .ok_or(AdminError::Internal)?;
                let qr = two_factor::qr_svg(&url).unwrap_or_default();
                Some((secret, url, qr))
            }
            _ => None,
        };
        Ok(SecurityStatus {
            email: account.email.clone(),
            enabled,
            required,
            recovery_codes_left: left,
            setup,
        })
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn start(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    let result = async {
        let account = admin.authorize_for_setup(&headers).await?;
        two_factor::start_enrolment(admin.db(), &account).await?;
        Ok(
            "Scan the code with your authenticator app, then enter the six digits it shows."
                .to_string(),
        )
    }
    .await;
    outcome(&headers, SECURITY, result)
}

async fn confirm(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize_for_setup(&headers).await?;
        let Form(form) = form.map_err(form_error)?;
        two_factor::confirm_enrolment(&admin, &account, &form.code).await
    }
    .await;
    show_codes(&headers, "Two-factor authentication is on", result)
}

async fn renew(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    let result = async {
        let account = admin.authorize_for_setup(&headers).await?;
        let (enabled, _) = two_factor::status(admin.db(), account.id).await?;
        if !enabled {
            return Err(AdminError::Invalid(
                "Turn two-factor authentication on first.".into(),
            ));
        }
        two_factor::renew_recovery_codes(&admin, &account).await
    }
    .await;
    show_codes(&headers, "New recovery codes", result)
}

async fn disable(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize_for_setup(&headers).await?;
        let Form(form) = form.map_err(form_error)?;
        two_factor::disable(&admin, &account, &form.code).await?;
        Ok("Two-factor authentication is off.".to_string())
    }
    .await;
    outcome(&headers, SECURITY, result)
}

/// Recovery codes, shown this once (never stored but as hashes): a page, or JSON.
fn show_codes(
    headers: &HeaderMap,
    title: &str,
    result: Result<Vec<String>, AdminError>,
) -> Response {
    let codes = match result {
        Ok(codes) => codes,
        Err(error) => return outcome(headers, SECURITY, Err(error)),
    };
    if !wants_html(headers) {
        return (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({ "recovery_codes": codes })),
        )
            .into_response();
    }
    // The codes are hexadecimal and dashes: nothing to escape.
    let list: String = codes
        .iter()
        .map(|c| format!("<li><code>{c}</code></li>"))
        .collect();
    let body = format!(
        "<p>Keep these recovery codes somewhere safe, apart from your phone: each signs you in once \
         if the phone is lost. They are shown only this once.</p>\
         <ul data-testid=\"recovery-codes\">{list}</ul>"
    );
    shown_once(StatusCode::OK, (title, title), &body, (SECURITY, "Done"))
}
