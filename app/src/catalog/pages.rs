//! Storefront pages of the catalog: the home page and the product page.

use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::cards::{product_cards_html, CardList, EAGER_IMAGES};
use super::variant_choice::{self, ValueStock};
use super::{
    featured_collections, featured_products, product_by_slug, CollectionSummary, Image, Product,
    ProductCard, Variant,
};
use crate::cart::{AddButton, CardButtons, CartItem, MAX_LINE_QUANTITY};
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

#[component]
fn ProductDetail(product: Product) -> impl IntoView {
    // The chosen variant lives in the URL (`?variant=…`), so it can be shared and survives
    // reloads; the server renders it, the buy box island keeps it in step. Without JavaScript
    // the pickers are a form sending each option's value (`?option1=Navy&option2=M`): the
    // closest variant to those is shown.
    let query = use_query_map();
    let chosen = query.with_untracked(|query| {
        query
            .get("variant")
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|id| product.variants.iter().any(|v| v.id == *id))
            .or_else(|| {
                let wanted: Vec<Option<String>> = (0..product.option_names.len())
                    .map(|i| query.get(&variant_choice::option_param(i)))
                    .collect();
                wanted.iter().any(Option::is_some).then(|| {
                    let wanted: Vec<Option<&str>> = wanted.iter().map(Option::as_deref).collect();
                    variant_choice::closest(&product.variants, &wanted, None).map(|v| v.id)
                })?
            })
    });
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
        <Meta property="og:image" content=format!("{site}{og_image}")/>
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
                option_names=product.option_names.clone()
                variants=product.variants.clone()
                images=product.images.clone()
                chosen
            >
                <p class="vendor">{vendor}</p>
                <h1>{title.clone()}</h1>
            </BuyBox>
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

/// The interactive part of a product page: the gallery, price, availability, a picker per
/// option, quantity and the add button (again in a bar along the bottom of a phone's screen
/// once the buy box has scrolled away). Choosing changes them and the address without a
/// reload. Without JavaScript the pickers are an ordinary form that reloads the page, and the
/// gallery's thumbnails are links to its pictures.
#[island(lazy)]
fn BuyBox(
    slug: String,
    title: String,
    option_names: Vec<String>,
    variants: Vec<Variant>,
    images: Vec<Image>,
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
    // What the pickers show for a value, read from the selected variant when it changes.
    let state_of = move |position: usize, value: &str| {
        selected.with(|s| {
            s.as_ref().map_or((false, ValueStock::Unavailable), |s| {
                let stock =
                    variants.with_value(|all| variant_choice::value_stock(all, s, position, value));
                (
                    s.options.get(position).map(String::as_str) == Some(value),
                    stock,
                )
            })
        })
    };
    let picture_of_selected = move || {
        selected.with(|s| {
            s.as_ref().map_or(0, |s| {
                variants.with_value(|all| {
                    images.with_value(|pictures| variant_choice::picture_of(s, all, pictures))
                })
            })
        })
    };
    let first_picture = picture_of_selected();
    let quantity = RwSignal::new(1u32);
    let most = move || {
        selected.with(|v| match v {
            Some(v) if v.backorder => MAX_LINE_QUANTITY,
            Some(v) => u32::try_from(v.available.max(1))
                .map_or(MAX_LINE_QUANTITY, |n| n.min(MAX_LINE_QUANTITY)),
            None => 1,
        })
    };
    // A quantity chosen for one variant must not exceed what another has.
    Effect::new(move |_| {
        let most = most();
        if quantity.get_untracked() > most {
            quantity.set(most);
        }
    });
    let item = {
        let slug = slug.clone();
        let title = title.clone();
        Signal::derive(move || {
            selected.get().filter(|v| v.can_buy()).map(|v| CartItem {
                variant_id: v.id,
                product_slug: slug.clone(),
                title: title.clone(),
                variant_title: v.title.clone(),
                unit_price: v.price,
                image_url: images
                    .with_value(|all| all.get(picture_of_selected()).map(|i| i.url.clone()))
                    .or(v.image_url.clone()),
            })
        })
    };
    let pick = move |position: usize, value: &str| {
        let next = selected.with_untracked(|current| {
            let current = current.as_ref()?;
            variants.with_value(|all| {
                variant_choice::choose(all, current, position, value).map(|v| v.id)
            })
        });
        if let Some(id) = next {
            chosen.set(Some(id));
            #[cfg(feature = "hydrate")]
            if let Ok(history) = window().history() {
                let _ = history.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&format!("?variant={id}")),
                );
            }
        }
    };
    let initial_groups = selected.with_untracked(|s| {
        s.as_ref()
            .map(|s| {
                variants.with_value(|all| variant_choice::option_groups(&option_names, all, s))
            })
            .unwrap_or_default()
    });
    let pickers = initial_groups
        .into_iter()
        .enumerate()
        .map(|(position, group)| {
            let chosen_value = move || selected.with(|s| s.as_ref().and_then(|s| s.options.get(position).cloned()));
            let values = group
                .values
                .into_iter()
                .enumerate()
                .map(|(index, value)| {
                    let id = format!("option-{position}-{index}");
                    let text = StoredValue::new(value.value.clone());
                    let state = move || text.with_value(|text| state_of(position, text));
                    view! {
                        <input
                            type="radio"
                            class="option-radio"
                            id=id.clone()
                            name=variant_choice::option_param(position)
                            value=value.value.clone()
                            checked=value.selected
                            prop:checked=move || state().0
                            on:change=move |_| text.with_value(|text| pick(position, text))
                        />
                        <label for=id class=move || match state().1 {
                            ValueStock::Available => "option-value",
                            ValueStock::SoldOut => "option-value sold-out",
                            ValueStock::Unavailable => "option-value unavailable",
                        }>
                            {value.value}
                            <span class="visually-hidden">
                                {move || match state().1 {
                                    ValueStock::Available => "",
                                    ValueStock::SoldOut => " (sold out)",
                                    ValueStock::Unavailable => " (not in this combination)",
                                }}
                            </span>
                        </label>
                    }
                })
                .collect_view();
            view! {
                <fieldset class="option-group" data-testid="option-group">
                    <legend>{format!("{}: ", group.name)}<span class="chosen-value">{chosen_value}</span></legend>
                    <div class="option-values">{values}</div>
                </fieldset>
            }
        })
        .collect_view();
    let buy_row = NodeRef::<leptos::html::Div>::new();
    let scrolled_past = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        // Forgotten on purpose: the listener lives as long as the page.
        let _ = window_event_listener(leptos::ev::scroll, move |_| {
            if let Some(row) = buy_row.get_untracked() {
                scrolled_past.set(row.get_bounding_client_rect().bottom() < 0.0);
            }
        });
    }
    let price = move || selected.get().map(|v| v.price.to_string());

    view! {
        <div class="product-main">
            <Gallery images first=first_picture shown=Signal::derive(picture_of_selected)/>
            <div class="product-info">
                {children()}
                <div class="price-box">
                    <p class="price">
                        <span class="amount" data-testid="product-price">{price}</span>
                        {move || selected.get().and_then(|v| v.compare_at).map(|was| view! {
                            <span class="visually-hidden">" was "</span>
                            <s class="compare-at">{was.to_string()}</s>
                        })}
                    </p>
                    {move || selected.get().and_then(|v| v.compare_at.and_then(|was| v.price.saving_from(was))).map(|(saved, percent)| view! {
                        <p class="saving" data-testid="saving">{format!("Save {saved} ({percent}%)")}</p>
                    })}
                </div>
                <form method="get" action=format!("/products/{slug}") class="variant-picker">
                    {pickers}
                    <button type="submit" class="no-js-only">"Choose"</button>
                </form>
                <p class="availability" data-testid="availability">
                    {move || match selected.get() {
                        Some(v) if v.available > crate::catalog_changes::FEW_LEFT => "In stock".to_string(),
                        Some(v) if v.available > 0 => format!("Only {} left", v.available),
                        Some(v) if v.backorder => "Available to order".to_string(),
                        _ => "Sold out".to_string(),
                    }}
                </p>
                <div class="buy-row" node_ref=buy_row>
                    <div class="quantity-picker">
                        <label for="quantity">"Quantity"</label>
                        <div class="stepper">
                            <button
                                type="button"
                                aria-label="One fewer"
                                disabled=move || { quantity.get() <= 1 }
                                on:click=move |_| quantity.update(|q| *q = q.saturating_sub(1).max(1))
                            >"−"</button>
                            <input
                                id="quantity"
                                type="number"
                                inputmode="numeric"
                                min="1"
                                max=most
                                value="1"
                                prop:value=move || quantity.get().to_string()
                                on:change=move |ev| {
                                    let wanted = event_target_value(&ev).trim().parse::<u32>().unwrap_or(1);
                                    quantity.set(wanted.clamp(1, untrack(most)));
                                }
                            />
                            <button
                                type="button"
                                aria-label="One more"
                                disabled=move || { quantity.get() >= most() }
                                on:click=move |_| quantity.update(|q| *q = (*q + 1).min(untrack(most)))
                            >"+"</button>
                        </div>
                    </div>
                    <AddButton item quantity/>
                </div>
                <p class="sku">"SKU " {move || selected.get().map(|v| v.sku)}</p>
            </div>
        </div>
        <div class="sticky-buy" hidden=move || !scrolled_past.get() data-testid="sticky-buy">
            <p>
                <span class="sticky-title">{title}</span>
                <span class="price">{price}</span>
            </p>
            <AddButton item quantity/>
        </div>
    }
}

/// The product's pictures: one large at a time in a row that swipes on touch screens (CSS
/// scroll snapping), thumbnails that bring one into view, and a click that shows it enlarged.
/// Without JavaScript the thumbnails are links to the pictures and a click opens the picture.
#[component]
fn Gallery(images: StoredValue<Vec<Image>>, first: usize, shown: Signal<usize>) -> impl IntoView {
    let current = RwSignal::new(first);
    let track = NodeRef::<leptos::html::Ul>::new();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let count = images.with_value(Vec::len);
    let bring_into_view = move |n: usize| {
        current.set(n);
        if let Some(track) = track.get_untracked() {
            track.set_scroll_left(n as i32 * track.client_width());
        }
    };
    // A new variant shows its picture; swiping through the pictures leaves the variant alone.
    Effect::new(move |previous: Option<usize>| {
        let n = shown.get();
        if previous.is_some_and(|p| p != n) || (previous.is_none() && n != 0) {
            bring_into_view(n);
        }
        n
    });
    let on_scroll = move |_| {
        if let Some(track) = track.get_untracked() {
            let width = f64::from(track.client_width().max(1));
            current.set((f64::from(track.scroll_left()) / width).round() as usize);
        }
    };
    // The picture clicked is the one in view: the dialog shows the current picture.
    let zoom = move |ev: leptos::ev::MouseEvent| {
        if let Some(dialog) = dialog.get_untracked() {
            ev.prevent_default();
            let _ = dialog.show_modal();
        }
    };
    let slides = images.with_value(|all| {
        all.iter()
            .cloned()
            .enumerate()
            .map(|(n, image)| {
                let full_size = image.url.clone();
                view! {
                    <li id=format!("picture-{}", n + 1) class="gallery-slide" class:initial=n == first>
                        <a href=full_size class="zoom" on:click=zoom>
                            <span class="visually-hidden">{format!("Enlarge picture {} of {count}: ", n + 1)}</span>
                            <picture>
                            {webp_source(&image, "(min-width: 800px) 50vw, 100vw")}
                            <img
                                src=image.url
                                srcset=image.srcset
                                sizes="(min-width: 800px) 50vw, 100vw"
                                alt=image.alt
                                width=image.width
                                height=image.height
                                loading=if n == first { "eager" } else { "lazy" }
                                fetchpriority=if n == first { "high" } else { "auto" }
                                data-testid="product-image"
                            />
                            </picture>
                        </a>
                    </li>
                }
            })
            .collect_view()
    });
    let thumbnails = (count > 1).then(|| {
        images.with_value(|all| {
            all.iter()
                .cloned()
                .enumerate()
                .map(|(n, image)| {
                    view! {
                        <li>
                            <a
                                href=format!("#picture-{}", n + 1)
                                aria-current=move || (current.get() == n).then_some("true")
                                on:click=move |ev: leptos::ev::MouseEvent| {
                                    ev.prevent_default();
                                    bring_into_view(n);
                                }
                            >
                                <picture>
                                    {webp_source(&image, "72px")}
                                    <img src=image.url srcset=image.srcset sizes="72px" alt="" width="72" height="72" loading="lazy"/>
                                </picture>
                                <span class="visually-hidden">{format!("Picture {} of {count}", n + 1)}</span>
                            </a>
                        </li>
                    }
                })
                .collect_view()
        })
    });
    view! {
        <div class="gallery">
            <ul class="gallery-track" node_ref=track on:scroll=on_scroll aria-label="Pictures">{slides}</ul>
            {thumbnails.map(|list| view! { <ol class="gallery-thumbs" aria-label="Choose a picture">{list}</ol> })}
            <dialog
                node_ref=dialog
                class="zoom-dialog"
                aria-label="Enlarged picture"
                on:click=move |ev| {
                    // A click on the backdrop (the dialog itself, not its picture) closes it.
                    if let Some(d) = dialog.get_untracked() {
                        let backdrop: &leptos::web_sys::EventTarget = d.as_ref();
                        if ev.target().as_ref() == Some(backdrop) {
                            d.close();
                        }
                    }
                }
            >
                <form method="dialog">
                    <button type="submit" class="close" aria-label="Close">"✕"</button>
                </form>
                <img
                    src=move || images.with_value(|all| all.get(current.get()).map(|i| i.url.clone()))
                    alt=move || images.with_value(|all| all.get(current.get()).map(|i| i.alt.clone()))
                    loading="lazy"
                />
            </dialog>
        </div>
    }
}

/// The WebP copies of a picture, offered before its `<img>` inside a `<picture>`: browsers that
/// read WebP take the smaller files, the rest the JPEG or PNG of the `<img>`.
fn webp_source(image: &Image, sizes: &'static str) -> Option<impl IntoView> {
    image
        .webp_srcset
        .clone()
        .map(|srcset| view! { <source type="image/webp" srcset=srcset sizes=sizes/> })
}
