//! Requests about personal data, handled by staff (the owner, or staff allowed to): a
//! person's data exported as JSON, or erased, found by their email, whether they have an
//! account or only ever ordered as a guest. Each action is in the audit log, which names the
//! account number (if any) but not the email: the log must not keep what was erased.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::listed::ListedRouter;
use super::respond::{form_error, outcome};
use super::service::{audited_write, Admin, Audited};
use super::{Access, AdminError};
use crate::privacy::{self, Subject};

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
        .get("/admin/privacy/export", export)
        .post("/admin/privacy/erase", erase)
}

#[derive(Deserialize)]
struct EmailForm {
    email: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// The email as the request names it, checked and lower-cased as accounts key it.
fn email_of(form: &EmailForm) -> Result<String, AdminError> {
    crate::accounts::codes::parse_email(&form.email).map_err(|e| AdminError::Invalid(e.message))
}

/// What the audit log says of a subject: their account's number, never their email.
fn audit_detail(subject: &Subject) -> String {
    match subject.customer_id {
        Some(id) => format!("customer #{id}"),
        None => "a guest (no account)".into(),
    }
}

async fn export(
    State(admin): State<Admin>,
    headers: HeaderMap,
    query: Result<Query<EmailForm>, QueryRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Privacy).await?;
        let Query(form) = query.map_err(|r| AdminError::Invalid(r.body_text()))?;
        let subject = Subject::for_email(admin.db(), &email_of(&form)?).await?;
        let document = privacy::export(admin.db(), &subject).await?;
        let detail = audit_detail(&subject);
        audited_write(&admin, &account, "privacy.export", move |_| {
            Box::pin(async move {
                Ok::<_, AdminError>(Audited {
                    value: (),
                    subject: "privacy".into(),
                    detail,
                })
            })
        })
        .await?;
        Ok(document)
    }
    .await;
    match result {
        Ok(document) => {
            let mut response = axum::Json(document).into_response();
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"personal-data.json\""),
            );
            response
        }
        Err(error) => outcome(&headers, "/admin/privacy", Err(error)),
    }
}

async fn erase(
    State(admin): State<Admin>,
    headers: HeaderMap,
    form: Result<Form<EmailForm>, FormRejection>,
) -> Response {
    let result = async {
        let account = admin.authorize(&headers, Access::Privacy).await?;
        let Form(form) = form.map_err(form_error)?;
        let email = email_of(&form)?;
        if form.confirm.as_deref() != Some("yes") {
            return Err(AdminError::Invalid(
                "Tick the box to confirm: erasing cannot be undone.".into(),
            ));
        }
        let subject = Subject::for_email(admin.db(), &email).await?;
        let detail = audit_detail(&subject);
        let erased = audited_write(&admin, &account, "privacy.erase", move |conn| {
            Box::pin(async move {
                let erased = privacy::erase_in(conn, &subject).await?;
                Ok::<_, AdminError>(Audited {
                    detail: format!(
                        "{detail}: {} rows, {} orders kept for the books",
                        erased.rows, erased.orders
                    ),
                    subject: "privacy".into(),
                    value: erased,
                })
            })
        })
        .await?;
        Ok(format!(
            "Erased the personal data held for {email}: {} records; {} orders stay in the books without it.",
            erased.rows - erased.orders,
            erased.orders
        ))
    }
    .await;
    outcome(&headers, "/admin/privacy", result)
}
