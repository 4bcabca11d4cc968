//! A product's pictures in the editor: their order (numbers staff type, or a drag in the
//! browser that fills them in) and deleting one. Uploads are `catalog::upload_image`'s.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::respond::{form_error, outcome};
use super::service::{audited_write, editor_of, Admin, Audited, ProductPart};
use super::{Access, AdminError};

/// The pictures' new order from a form's `position.{id}` numbers: ids sorted by their number
/// (ties keep the order they had). Every picture of the product must be named, once.
pub fn order_from_form(pairs: &[(String, String)], current: &[i64]) -> Result<Vec<i64>, String> {
    let mut numbered: Vec<(i64, usize, i64)> = Vec::new();
    for (key, value) in pairs {
        let Some(id) = key
            .strip_prefix("position.")
            .and_then(|id| id.parse::<i64>().ok())
        else {
            continue;
        };
        let Some(was) = current.iter().position(|c| *c == id) else {
            return Err("The pictures changed meanwhile; reload the page.".into());
        };
        let position = value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=10_000).contains(p))
            .ok_or_else(|| {
                format!(
                    "'{}' is not a position; use whole numbers such as 1, 2, 3",
                    value.chars().take(10).collect::<String>()
                )
            })?;
        if numbered.iter().any(|(_, _, other)| *other == id) {
            return Err("A picture is named twice.".into());
        }
        numbered.push((position, was, id));
    }
    if numbered.len() != current.len() {
        return Err("The pictures changed meanwhile; reload the page.".into());
    }
    numbered.sort();
    Ok(numbered.into_iter().map(|(_, _, id)| id).collect())
}

async fn product_pictures(
    conn: &mut sqlx::AnyConnection,
    product: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM product_images WHERE product_id = $1 ORDER BY position, id")
        .bind(product)
        .fetch_all(&mut *conn)
        .await
}

/// `POST /admin/products/{product}/images/order`.
pub(super) async fn reorder(
    State(admin): State<Admin>,
    Path(product): Path<i64>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let to = format!("/admin/products/{product}");
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        let Form(pairs) = form.map_err(form_error)?;
        audited_write(&admin, &account, "Pictures reordered", move |conn| {
            Box::pin(async move {
                let current = product_pictures(conn, product).await?;
                let order = order_from_form(&pairs, &current).map_err(AdminError::Invalid)?;
                for (position, id) in order.iter().enumerate() {
                    sqlx::query("UPDATE product_images SET position = $1 WHERE id = $2")
                        .bind(position as i64)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok::<_, AdminError>(Audited {
                    value: (),
                    subject: format!("product:{product}"),
                    detail: format!("{order:?}"),
                })
            })
        })
        .await?;
        Ok("Pictures reordered.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

/// `POST /admin/images/{image}/remove`: the picture leaves the product (its files stay in
/// the media folder, as an order's confirmation email may still show them).
pub(super) async fn remove(
    State(admin): State<Admin>,
    Path(image): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let (product, to) = editor_of(&admin, ProductPart::Picture, image).await;
    let result = async {
        let account = admin.authorize(&headers, Access::Staff).await?;
        product.ok_or_else(|| AdminError::NotFound("That picture".into()))?;
        audited_write(&admin, &account, "Picture deleted", move |conn| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM product_images WHERE id = $1")
                    .bind(image)
                    .execute(&mut *conn)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(AdminError::NotFound("That picture".into()));
                }
                Ok::<_, AdminError>(Audited {
                    value: (),
                    subject: format!("image:{image}"),
                    detail: String::new(),
                })
            })
        })
        .await?;
        Ok("Picture deleted.".to_string())
    }
    .await;
    outcome(&headers, &to, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pictures_take_the_order_of_their_numbers() {
        let current = [10, 11, 12];
        let form = pairs(&[
            ("position.10", "3"),
            ("position.11", "1"),
            ("position.12", "2"),
        ]);
        assert_eq!(order_from_form(&form, &current), Ok(vec![11, 12, 10]));
        // Equal numbers keep the order the pictures had.
        let form = pairs(&[
            ("position.10", "1"),
            ("position.11", "1"),
            ("position.12", "0"),
        ]);
        assert_eq!(order_from_form(&form, &current), Ok(vec![12, 10, 11]));
    }

    #[test]
    fn a_form_must_name_every_picture_once() {
        let current = [10, 11];
        assert!(order_from_form(&pairs(&[("position.10", "1")]), &current).is_err());
        assert!(order_from_form(
            &pairs(&[("position.10", "1"), ("position.99", "2")]),
            &current
        )
        .is_err());
        assert!(order_from_form(
            &pairs(&[("position.10", "1"), ("position.10", "2")]),
            &current
        )
        .is_err());
        assert!(order_from_form(
            &pairs(&[("position.10", "x"), ("position.11", "2")]),
            &current
        )
        .is_err());
        assert!(order_from_form(
            &pairs(&[("position.10", "-1"), ("position.11", "2")]),
            &current
        )
        .is_err());
    }
}
