//! Collections: list, create, and set their products in order.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::{
    audited, body, check_text, path_id, rfc3339, ApiError, Audited, Caller, ErrorBody, Problems,
};
use crate::admin::catalog::valid_slug;
use crate::admin::service::Admin;
use crate::admin::Access;
use crate::db::now_epoch;

#[derive(Serialize, ToSchema)]
pub struct AdminCollection {
    id: i64,
    slug: String,
    title: String,
    /// Markdown.
    description: String,
    /// Its products, in the order shown.
    product_ids: Vec<i64>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CollectionList {
    items: Vec<AdminCollection>,
    /// Always `null`: every collection is on the one page.
    next_cursor: Option<String>,
}

async fn collection_out(admin: &Admin, id: i64) -> Result<AdminCollection, ApiError> {
    let pool = admin.checkout().db().pool();
    let c = sqlx::query(
        "SELECT id, slug, title, description_md, created_at, updated_at FROM collections WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(&format!("Collection {id}")))?;
    let product_ids = sqlx::query_scalar(
        "SELECT product_id FROM collection_products WHERE collection_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(AdminCollection {
        id,
        slug: c.try_get("slug")?,
        title: c.try_get("title")?,
        description: c.try_get("description_md")?,
        product_ids,
        created_at: rfc3339(c.try_get("created_at")?),
        updated_at: rfc3339(c.try_get("updated_at")?),
    })
}

#[utoipa::path(get, path = "/api/v1/admin/collections", tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, body = CollectionList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_collections(
    State(admin): State<Admin>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.may(Access::Staff)?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM collections ORDER BY title, id")
        .fetch_all(admin.checkout().db().pool())
        .await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        items.push(collection_out(&admin, id).await?);
    }
    Ok(Json(CollectionList {
        items,
        next_cursor: None,
    })
    .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCollectionIn {
    slug: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    product_ids: Option<Vec<i64>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionProducts {
    product_ids: Vec<i64>,
}

/// Checks that every product exists, once each.
async fn check_members(
    conn: &mut AnyConnection,
    ids: &[i64],
    problems: &mut Problems,
) -> Result<(), ApiError> {
    if ids.len() > 10_000 {
        problems.add("product_ids", "at most 10,000 products");
        return Ok(());
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            problems.add(
                format!("product_ids[{i}]"),
                format!("product {id} is listed twice"),
            );
            continue;
        }
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_none() {
            problems.add(
                format!("product_ids[{i}]"),
                format!("no product has the id {id}"),
            );
        }
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/admin/collections", tag = "admin", security(("bearer" = [])),
    request_body = NewCollectionIn,
    responses((status = 201, body = AdminCollection), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_collection(
    State(admin): State<Admin>,
    caller: Caller,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: NewCollectionIn = body(request)?;
    let mut problems = Problems::default();
    let slug = input.slug.trim().to_string();
    check_text(&mut problems, "title", &input.title, 1, 200);
    if !valid_slug(&slug) {
        problems.add("slug", "use lower-case letters, digits and hyphens");
    }
    let description = input.description.unwrap_or_default();
    if description.len() > 50_000 {
        problems.add(
            "description",
            "keep the description under 50,000 characters",
        );
    }
    let ids = input.product_ids.unwrap_or_default();
    let title = input.title.trim().to_string();
    let id = audited(&admin, &account, "Collection saved", move |conn| {
        Box::pin(async move {
            check_members(conn, &ids, &mut problems).await?;
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1")
                    .bind(&slug)
                    .fetch_optional(&mut *conn)
                    .await?;
            if taken.is_some() {
                problems.add(
                    "slug",
                    format!("'{slug}' is already used by another collection"),
                );
            }
            problems.finish()?;
            let id = crate::catalog::ssr::insert_collection(
                conn,
                &slug,
                &title,
                &description,
                false,
                &ids,
            )
            .await?;
            Ok(Audited {
                value: id,
                subject: format!("collection:{id}"),
                detail: format!("{} products", ids.len()),
            })
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(collection_out(&admin, id).await?)).into_response())
}

#[utoipa::path(method(put, post), path = "/api/v1/admin/collections/{collection}/products", tag = "admin", security(("bearer" = [])),
    params(("collection" = i64, Path, description = "The collection's id.")),
    request_body = CollectionProducts,
    responses((status = 200, body = AdminCollection), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn set_collection_products(
    State(admin): State<Admin>,
    caller: Caller,
    Path(collection): Path<String>,
    request: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let account = caller.may(Access::Staff)?;
    let input: CollectionProducts = body(request)?;
    let id = path_id(&collection, "Collection")?;
    let ids = input.product_ids;
    audited(&admin, &account, "Collection saved", move |conn| {
        Box::pin(async move {
            let done = sqlx::query("UPDATE collections SET updated_at = $1 WHERE id = $2")
                .bind(now_epoch())
                .bind(id)
                .execute(&mut *conn)
                .await?;
            if done.rows_affected() != 1 {
                return Err(ApiError::not_found(&format!("Collection {id}")));
            }
            let mut problems = Problems::default();
            check_members(conn, &ids, &mut problems).await?;
            problems.finish()?;
            sqlx::query("DELETE FROM collection_products WHERE collection_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            for (position, product) in ids.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO collection_products (collection_id, product_id, position) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(product)
                .bind(position as i64)
                .execute(&mut *conn)
                .await?;
            }
            Ok(Audited {
                value: (),
                subject: format!("collection:{id}"),
                detail: format!("{} products", ids.len()),
            })
        })
    })
    .await?;
    Ok(Json(collection_out(&admin, id).await?).into_response())
}
