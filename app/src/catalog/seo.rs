//! What search engines read besides the pages: `/sitemap.xml` and `/robots.txt`.

use axum::{extract::State, http::header, response::IntoResponse, routing::get, Router};
use sqlx::Row;

use crate::db::Db;
use crate::time::format_date;
use crate::SiteUrl;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Db: axum::extract::FromRef<S>,
    SiteUrl: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/sitemap.xml", get(sitemap))
        .route("/robots.txt", get(robots))
}

async fn robots(State(SiteUrl(base)): State<SiteUrl>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "User-agent: *\nDisallow: /cart\nDisallow: /checkout\nDisallow: /admin\nDisallow: /api/\n\
             Disallow: /search\n\nSitemap: {base}/sitemap.xml\n"
        ),
    )
}

/// Every active product and every collection, with when it last changed.
async fn sitemap(
    State(db): State<Db>,
    State(SiteUrl(base)): State<SiteUrl>,
) -> Result<impl IntoResponse, super::api::ApiError> {
    let rows = sqlx::query(
        "SELECT '/products/' || slug AS path, updated_at FROM products WHERE status = 'active'
         UNION ALL
         SELECT '/collections/' || slug AS path, updated_at FROM collections
         ORDER BY path",
    )
    .fetch_all(db.pool())
    .await?;
    let mut xml = String::with_capacity(128 + rows.len() * 120);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    xml.push_str(&format!("  <url><loc>{}/</loc></url>\n", escape_xml(&base)));
    for row in rows {
        let path: String = row.try_get("path")?;
        let updated_at: i64 = row.try_get("updated_at")?;
        xml.push_str(&format!(
            "  <url><loc>{}{}</loc><lastmod>{}</lastmod></url>\n",
            escape_xml(&base),
            escape_xml(&path),
            format_date(updated_at)
        ));
    }
    xml.push_str("</urlset>\n");
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    ))
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// schema.org `Product` with one `Offer` per variant, so search engines can show price and
/// availability. Escaped so it cannot close the `<script>` element it is embedded in.
pub fn product_json_ld(product: &super::Product, base: &str) -> String {
    let offers: Vec<serde_json::Value> = product
        .variants
        .iter()
        .map(|v| {
            serde_json::json!({
                "@type": "Offer",
                "sku": v.sku,
                "name": v.title,
                // schema.org wants a decimal string in the currency's digits; never a float.
                "price": v.price.plain_number(),
                "priceCurrency": v.price.currency.code(),
                "availability": if v.can_buy() { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
                "url": format!("{}?variant={}", product.url, v.id),
            })
        })
        .collect();
    let description: String = product.description.chars().take(500).collect();
    let json = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "description": description,
        "url": product.url,
        "image": product.images.iter().map(|i| format!("{base}{}", i.url)).collect::<Vec<_>>(),
        "brand": { "@type": "Brand", "name": product.vendor },
        "offers": offers,
    });
    json.to_string().replace("</", "<\\/")
}

/// schema.org `BreadcrumbList` of the page `here` reached from the shop's home through `trail`:
/// the same names and paths as the page's `components::Breadcrumbs`, made absolute with `base`.
/// Escaped so it cannot close the `<script>` element it is embedded in.
pub fn breadcrumbs_json_ld(
    base: &str,
    trail: &[(String, String)],
    here: (String, String),
) -> String {
    let home = (super::BREADCRUMB_HOME.to_string(), "/".to_string());
    let items: Vec<serde_json::Value> = std::iter::once(&home)
        .chain(trail)
        .chain(std::iter::once(&here))
        .enumerate()
        .map(|(index, (name, path))| {
            serde_json::json!({
                "@type": "ListItem",
                "position": index + 1,
                "name": name,
                "item": format!("{base}{path}"),
            })
        })
        .collect();
    let json = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": items,
    });
    json.to_string().replace("</", "<\\/")
}

#[cfg(test)]
mod tests {
    use crate::money::{Currency, Money};

    fn plain(money: Money) -> String {
        money.plain_number()
    }

    #[test]
    fn offer_prices_are_decimal_strings() {
        assert_eq!(plain(Money::new(2490, Currency::EUR)), "24.90");
        assert_eq!(plain(Money::new(5, Currency::EUR)), "0.05");
        assert_eq!(
            plain(Money::new(1200, Currency::parse("JPY").unwrap())),
            "1200"
        );
    }
}
