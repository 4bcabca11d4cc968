//! Storefront pages of the catalog: the home page and the product page.

use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{
    featured_collections, featured_products, product_by_slug, CollectionSummary, Product,
    ProductCard,
};
use crate::cart::{AddButton, AddToCartButton, CartItem};
use crate::components::{when_loaded, Breadcrumbs, NotFound};
use crate::error::AppError;

/// Cards above the fold load eagerly; the rest wait until the shopper scrolls.
const EAGER_IMAGES: usize = 4;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Shop"/>
        <Meta name="description" content="Clothing, bags and homeware from small workshops, made to last."/>
        <Meta property="og:type" content="website"/>
        <Meta property="og:title" content="Kassa"/>
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
                            })}
                            <span>{c.title}</span>
                        </a>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
pub(super) fn ProductGrid(cards: Vec<ProductCard>) -> impl IntoView {
    view! {
        <ul class="product-grid">
            {cards
                .into_iter()
                .enumerate()
                .map(|(index, card)| view! { <li><ProductCardView card eager={index < EAGER_IMAGES}/></li> })
                .collect_view()}
        </ul>
    }
}

#[component]
fn ProductCardView(card: ProductCard, eager: bool) -> impl IntoView {
    let href = format!("/products/{}", card.slug);
    let item = card.variant_buyable.then(|| CartItem {
        variant_id: card.variant_id,
        product_slug: card.slug.clone(),
        title: card.title.clone(),
        variant_title: card.variant_title.clone(),
        unit_price: card.price,
        image_url: card.image.as_ref().map(|i| i.url.clone()),
    });
    view! {
        <article class="product-card" data-testid="product-card">
            <a href=href class="product-link">
                {card.image.map(|image| view! {
                    <img
                        src=image.url
                        srcset=image.srcset
                        sizes="(min-width: 700px) 25vw, 50vw"
                        alt=image.alt
                        width=image.width
                        height=image.height
                        loading=if eager { "eager" } else { "lazy" }
                        fetchpriority=if eager { "high" } else { "auto" }
                        decoding="async"
                    />
                })}
                <h3 class="product-title">{card.title}</h3>
            </a>
            <p class="price">
                <span class="amount">{card.price.to_string()}</span>
                {card.compare_at.map(|was| view! { <s class="compare-at">{was.to_string()}</s> })}
            </p>
            <AddToCartButton item/>
        </article>
    }
}

#[component]
pub fn ProductPage() -> impl IntoView {
    let slug = use_params_map()
        .read_untracked()
        .get("slug")
        .unwrap_or_default();
    when_loaded(async move {
        match product_by_slug(slug).await {
            Ok(product) => view! { <ProductDetail product/> }.into_any(),
            Err(AppError::NotFound(_)) => view! { <NotFound/> }.into_any(),
            Err(error) => {
                view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
            }
        }
    })
}

#[component]
fn ProductDetail(product: Product) -> impl IntoView {
    // The chosen variant lives in the URL (`?variant=…`), so it can be shared and survives
    // reloads; the server renders it, the buy box island keeps it in step.
    let query = use_query_map();
    let chosen = query
        .read_untracked()
        .get("variant")
        .and_then(|v| v.parse::<i64>().ok());
    let title = product.title.clone();
    let page_title = product.seo_title.clone().unwrap_or_else(|| title.clone());
    let summary: String = product.seo_description.clone().unwrap_or_else(|| {
        product
            .description
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(160)
            .collect()
    });
    let og_image = product
        .images
        .first()
        .map(|i| i.url.clone())
        .unwrap_or_default();
    let site = product
        .url
        .split("/products/")
        .next()
        .unwrap_or_default()
        .to_string();
    view! {
        <Title text=page_title/>
        <Meta name="description" content=summary.clone()/>
        <Link rel="canonical" href=product.url.clone()/>
        <Meta property="og:type" content="product"/>
        <Meta property="og:title" content=title.clone()/>
        <Meta property="og:description" content=summary/>
        <Meta property="og:url" content=product.url.clone()/>
        <Meta property="og:image" content=format!("{site}{og_image}")/>
        <script type="application/ld+json" inner_html=product.json_ld.clone()></script>
        <Breadcrumbs
            trail=product.collection.iter().map(super::CollectionLink::crumb).collect()
            current=title.clone()
            json_ld=product.breadcrumbs_json_ld.clone()
        />
        <article class="product-detail">
            <BuyBox
                slug=product.slug.clone()
                title=title.clone()
                option_label=product.option_names.join(" / ")
                variants=product.variants.clone()
                images=product.images.clone()
                chosen
            >
                <p class="vendor">{product.vendor.clone()}</p>
                <h1>{title.clone()}</h1>
            </BuyBox>
            <div class="description" inner_html=product.description_html.clone()></div>
        </article>
    }
}

/// The interactive part of a product page: picture, price, availability, variant picker and
/// the add button. Choosing a variant changes them and the address without a reload. Without
/// JavaScript the picker is an ordinary form that reloads the page with `?variant=`.
#[island]
fn BuyBox(
    slug: String,
    title: String,
    option_label: String,
    variants: Vec<super::Variant>,
    images: Vec<super::Image>,
    chosen: Option<i64>,
    children: Children,
) -> impl IntoView {
    let variants = StoredValue::new(variants);
    let images = StoredValue::new(images);
    let chosen = RwSignal::new(chosen);
    let selected = Memo::new(move |_| {
        variants.with_value(|all| {
            chosen
                .get()
                .and_then(|id| all.iter().find(|v| v.id == id))
                .or_else(|| all.iter().find(|v| v.can_buy()))
                .or(all.first())
                .cloned()
        })
    });
    // A picture is usually bound to one variant of a colour; it shows that colour in every size.
    let image = Memo::new(move |_| {
        let variant = selected.get();
        let url = variant
            .as_ref()
            .and_then(|v| v.image_url.clone())
            .or_else(|| {
                let colour = variant.as_ref()?.options.first()?.clone();
                variants.with_value(|all| {
                    all.iter()
                        .filter(|v| v.options.first() == Some(&colour))
                        .find_map(|v| v.image_url.clone())
                })
            });
        images.with_value(|all| {
            url.and_then(|url| all.iter().find(|i| i.url == url))
                .or(all.first())
                .cloned()
        })
    });
    let item = {
        let slug = slug.clone();
        Signal::derive(move || {
            selected.get().filter(|v| v.can_buy()).map(|v| CartItem {
                variant_id: v.id,
                product_slug: slug.clone(),
                title: title.clone(),
                variant_title: v.title.clone(),
                unit_price: v.price,
                image_url: image.get_untracked().map(|i| i.url).or(v.image_url.clone()),
            })
        })
    };
    let choose = move |ev: leptos::ev::Event| {
        let id = event_target_value(&ev).parse::<i64>().ok();
        chosen.set(id);
        #[cfg(feature = "hydrate")]
        if let (Some(id), Ok(history)) = (id, window().history()) {
            let _ = history.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!("?variant={id}")),
            );
        }
    };
    let options = variants.with_value(|all| {
        all.iter()
            .map(|v| {
                let id = v.id;
                let label = if v.can_buy() {
                    v.title.clone()
                } else {
                    format!("{} (sold out)", v.title)
                };
                view! {
                    <option value=id.to_string() selected=move || selected.with(|s| s.as_ref().map(|s| s.id) == Some(id))>
                        {label}
                    </option>
                }
            })
            .collect_view()
    });

    view! {
        <div class="product-media">
            <img
                src=move || image.get().map(|i| i.url)
                srcset=move || image.get().and_then(|i| i.srcset)
                sizes="(min-width: 800px) 50vw, 100vw"
                alt=move || image.get().map(|i| i.alt).unwrap_or_default()
                width=move || image.get().map(|i| i.width).unwrap_or(600)
                height=move || image.get().map(|i| i.height).unwrap_or(600)
                fetchpriority="high"
                data-testid="product-image"
            />
        </div>
        <div class="product-info">
            {children()}
            <p class="price" data-testid="product-price">
                {move || selected.get().map(|v| v.price.to_string())}
                {move || selected.get().and_then(|v| v.compare_at).map(|was| view! { <s class="compare-at">{was.to_string()}</s> })}
            </p>
            <p class="availability" data-testid="availability">
                {move || match selected.get() {
                    Some(v) if v.available > 5 => "In stock".to_string(),
                    Some(v) if v.available > 0 => format!("Only {} left", v.available),
                    Some(v) if v.backorder => "Available to order".to_string(),
                    _ => "Sold out".to_string(),
                }}
            </p>
            <form method="get" action=format!("/products/{slug}") class="variant-picker">
                <label for="variant">{option_label}</label>
                <select id="variant" name="variant" on:change=choose>
                    {options}
                </select>
                <button type="submit" class="no-js-only">"Choose"</button>
            </form>
            <AddButton item/>
        </div>
    }
}
