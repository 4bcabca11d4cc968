//! Storefront pages of the catalog: the home page and the product page.

use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::buy_box::BuyBox;
use super::cards::{product_cards_html, webp_source, CardList, EAGER_IMAGES};
use super::variant_choice;
use super::{
    featured_collections, featured_products, product_by_slug, CollectionSummary, Product,
    ProductCard,
};
use crate::cart::CardButtons;
use crate::components::{when_loaded, Breadcrumbs, NotFound};
use crate::error::AppError;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Shop"/>
        <Meta name="description" content="Clothing, bags and homeware from small workshops, made to last."/>
        <Meta property="og:type" content="website"/>
        <Meta property="og:title" content=crate::components::shop_name()/>
        <section class="hero">
            <h1>"Good things, made to last"</h1>
            <p>"Clothing, bags and homeware from small workshops. Free returns within 30 days."</p>
        </section>
        <section aria-labelledby="collections">
            <h2 id="collections">"Shop by collection"</h2>
            {when_loaded(async move {
                featured_collections().await.map(|list| view! { <CollectionList collections=list/> })
            })}
        </section>
        <section aria-labelledby="new-in">
            <h2 id="new-in">"New in"</h2>
            {when_loaded(async move {
                match featured_products().await {
                    Ok(cards) => view! { <ProductGrid cards/> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </section>
    }
}

#[component]
fn CollectionList(collections: Vec<CollectionSummary>) -> impl IntoView {
    view! {
        <ul class="collection-list">
            {collections.into_iter().enumerate().map(|(n, c)| {
                // The first tiles are the home page's largest picture on arrival: fetched at once.
                let eager = n < EAGER_IMAGES;
                view! {
                    <li>
                        <a href=format!("/collections/{}", c.slug) class="collection-tile">
                            {c.image.map(|i| view! {
                                <picture>
                                {webp_source(&i, "(min-width: 700px) 16vw, 45vw")}
                                <img
                                    src=i.url
                                    srcset=i.srcset
                                    sizes="(min-width: 700px) 16vw, 45vw"
                                    alt=""
                                    width=i.width
                                    height=i.height
                                    loading=if eager { "eager" } else { "lazy" }
                                    fetchpriority=if eager { "high" } else { "auto" }
                                    decoding="async"
                                />
                                </picture>
                            })}
                            <span>{c.title}</span>
                        </a>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// A page's main list of products, with the island that adds a card's item to the cart.
#[component]
pub(super) fn ProductGrid(cards: Vec<ProductCard>) -> impl IntoView {
    view! {
        <CardButtons/>
        <ul class="product-grid" inner_html=product_cards_html(&cards, CardList::Main)></ul>
    }
}

/// A row of recommended products under a product page, if there are any: links to them, the
/// page's own "Add to cart" staying the only one on it.
#[component]
fn Recommended(id: &'static str, heading: &'static str, cards: Vec<ProductCard>) -> impl IntoView {
    (!cards.is_empty()).then(|| {
        view! {
            <section class="recommended" aria-labelledby=id data-testid=id>
                <h2 id=id>{heading}</h2>
                <ul class="product-grid" inner_html=product_cards_html(&cards, CardList::Recommended)></ul>
            </section>
        }
    })
}

#[component]
pub fn ProductPage() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("slug")
        .unwrap_or_default();
    when_loaded(async move {
        match product_by_slug(slug).await {
            Ok(product) => {
                // The page's view counts for this product (the analytics take the note off).
                #[cfg(feature = "ssr")]
                if let Some(variant) = product.variants.first() {
                    crate::analytics::http::mark_product_view(variant.id);
                }
                view! { <ProductDetail product/> }.into_any()
            }
            Err(AppError::NotFound(_)) => view! { <NotFound/> }.into_any(),
            Err(error) => {
                view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
            }
        }
    })
}

/// The variant a product page shows: the one in its address (`?variant=…`), so that it can be
/// shared and survives reloads (the buy box island keeps the address in step). Without
/// JavaScript the pickers are a form sending each option's value (`?option1=Navy&option2=M`):
/// the closest variant to those. `query` reads a parameter of the address.
pub(super) fn chosen_variant(
    product: &Product,
    query: impl Fn(&str) -> Option<String>,
) -> Option<i64> {
    query("variant")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|id| product.variants.iter().any(|v| v.id == *id))
        .or_else(|| {
            let wanted: Vec<Option<String>> = (0..product.option_names.len())
                .map(|i| query(&variant_choice::option_param(i)))
                .collect();
            wanted.iter().any(Option::is_some).then(|| {
                let wanted: Vec<Option<&str>> = wanted.iter().map(Option::as_deref).collect();
                variant_choice::closest(&product.variants, &wanted, None).map(|v| v.id)
            })?
        })
}

/// What a product page tells search engines and link previews beside its title.
pub(super) struct ProductHead {
    /// The document's title (before the shop's name): the SEO title, else the product's.
    pub title: String,
    /// The SEO description, else the description's first line (160 characters at most).
    pub summary: String,
    /// The first picture's absolute address (empty without pictures).
    pub og_image: String,
}

impl ProductHead {
    pub fn of(product: &Product) -> ProductHead {
        let summary = product.seo_description.clone().unwrap_or_else(|| {
            product
                .description
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(160)
                .collect()
        });
        let site = product.url.split("/products/").next().unwrap_or_default();
        let first = product.images.first().map_or("", |i| i.url.as_str());
        ProductHead {
            title: product
                .seo_title
                .clone()
                .unwrap_or_else(|| product.title.clone()),
            summary,
            og_image: format!("{site}{first}"),
        }
    }
}

#[component]
fn ProductDetail(product: Product) -> impl IntoView {
    let chosen =
        use_query_map().with_untracked(|query| chosen_variant(&product, |key| query.get(key)));
    let ProductHead {
        title: page_title,
        summary,
        og_image,
    } = ProductHead::of(&product);
    let title = product.title.clone();
    let tags = product.tags.join(", ");
    let vendor = product.vendor.clone();
    view! {
        <Title text=page_title/>
        <Meta name="description" content=summary.clone()/>
        <Link rel="canonical" href=product.url.clone()/>
        <Meta property="og:type" content="product"/>
        <Meta property="og:title" content=title.clone()/>
        <Meta property="og:description" content=summary/>
        <Meta property="og:url" content=product.url.clone()/>
        <Meta property="og:image" content=og_image/>
        <script type="application/ld+json" inner_html=product.json_ld.clone()></script>
        <Breadcrumbs
            trail=product.collection.iter().map(super::CollectionLink::crumb).collect()
            current=title.clone()
            json_ld=product.breadcrumbs_json_ld.clone()
        />
        <crate::PrefetchLazyIsland island="buy_box"/>
        <article class="product-detail">
            <BuyBox
                slug=product.slug.clone()
                title=title.clone()
                vendor
                option_names=product.option_names.clone()
                variants=product.variants.clone()
                images=product.images.clone()
                chosen
            />
            <section class="product-about" aria-labelledby="about-product">
                <h2 id="about-product">"About this product"</h2>
                <div class="description" inner_html=product.description_html.clone()></div>
                <dl class="product-facts">
                    <dt>"Made by"</dt>
                    <dd>{product.vendor.clone()}</dd>
                    {(!product.product_type.is_empty()).then(|| view! {
                        <dt>"Type"</dt>
                        <dd>{product.product_type.clone()}</dd>
                    })}
                    {(!tags.is_empty()).then(|| view! {
                        <dt>"Tags"</dt>
                        <dd>{tags}</dd>
                    })}
                </dl>
            </section>
        </article>
        <Recommended id="bought-together" heading="Often bought together" cards=product.bought_together/>
        <Recommended id="related" heading="You may also like" cards=product.related/>
    }
}
