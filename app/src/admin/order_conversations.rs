//! The conversations about an order, on its admin page, for staff who may answer customers.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::AdminError;
use crate::components::when_loaded;
use crate::support::Status;

/// A conversation as the order's page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderConversation {
    pub id: i64,
    pub status: Status,
    pub preview: String,
    pub last_message: String,
}

/// The conversations about order `number`; none for staff who may not answer customers.
#[server(endpoint = "admin/order-conversations", input = server_fn::codec::Json)]
pub async fn admin_order_conversations(
    number: String,
) -> Result<Vec<OrderConversation>, AdminError> {
    super::with_status(
        async {
            let (admin, account) = super::require(super::Access::Staff).await?;
            let Some(order_id) = crate::orders::order_id(&number).filter(|_| account.may_support())
            else {
                return Ok(Vec::new());
            };
            let filter = crate::support::store::Filter {
                order_id: Some(order_id),
                ..Default::default()
            };
            Ok(
                crate::support::store::list(admin.checkout().db().pool(), &filter, 50)
                    .await?
                    .into_iter()
                    .map(|c| OrderConversation {
                        id: c.id,
                        status: c.status,
                        preview: c.preview,
                        last_message: crate::time::format_time(c.last_message_at),
                    })
                    .collect(),
            )
        }
        .await,
    )
}

/// The order page's list (nothing when there are none, or the staff member may not see them).
#[component]
pub fn OrderConversations(number: String) -> impl IntoView {
    when_loaded(async move {
        let rows = admin_order_conversations(number).await.unwrap_or_default();
        (!rows.is_empty()).then(|| {
            view! {
                <h2>"Conversations"</h2>
                <ul data-testid="order-conversations">
                    {rows.into_iter().map(|row| view! {
                        <li>
                            <a href=format!("/admin/support/{}", row.id)>{row.preview}</a>
                            " · "{row.status.label()}" · "{row.last_message}
                        </li>
                    }).collect_view()}
                </ul>
            }
        })
    })
}
