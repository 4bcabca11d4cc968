//! A product page's buy box: the gallery, price, availability, a picker per option, quantity
//! and the add button (again in a bar along the bottom of a phone's screen once the buy box has
//! scrolled away). It is an island: choosing changes them and the address without a reload.
//! Without JavaScript the pickers are an ordinary form that reloads the page, and the gallery's
//! thumbnails are links to its pictures.
//!
//! The server writes the buy box's first state with maud (`markup`), not by rendering the
//! island's Leptos view: that view has some thirty reactive parts, and rendering them cost about
//! 200 µs of a product page's 340 µs of server time (release build, demo catalog, page cache
//! off). The browser hydrates the Leptos view (`buy_box_view`) onto that markup, so the two
//! must be the same HTML, marker comments included; the tests below render both for products
//! of every shape (sale, sold out, one picture, options, escaping) and compare them.

use leptos::prelude::*;

use super::cards::webp_source;
use super::variant_choice::{self, ValueStock};
use super::{Image, Variant};
use crate::cart::{AddButton, CartItem, MAX_LINE_QUANTITY};

/// What the buy box shows: the product's island props.
#[derive(Clone, Debug)]
struct BuyBoxData {
    slug: String,
    title: String,
    vendor: String,
    option_names: Vec<String>,
    variants: Vec<Variant>,
    images: Vec<Image>,
    /// The variant in the address (`?variant=…`), if any.
    chosen: Option<i64>,
}

/// The product's buy box, its chosen variant the one in the address (or the closest to the
/// options sent without JavaScript).
#[island(lazy)]
pub(super) fn BuyBox(
    slug: String,
    title: String,
    vendor: String,
    option_names: Vec<String>,
    variants: Vec<Variant>,
    images: Vec<Image>,
    chosen: Option<i64>,
) -> impl IntoView {
    let data = BuyBoxData {
        slug,
        title,
        vendor,
        option_names,
        variants,
        images,
        chosen,
    };
    #[cfg(feature = "ssr")]
    let view = leptos::tachys::html::InertElement::new(markup::buy_box(&data));
    #[cfg(not(feature = "ssr"))]
    let view = buy_box_view(data);
    view
}

/// The variant the buy box shows: the one chosen, else the first that can be bought, else the
/// first.
fn shown_variant(variants: &[Variant], chosen: Option<i64>) -> Option<&Variant> {
    chosen
        .and_then(|id| variants.iter().find(|v| v.id == id))
        .or_else(|| variants.iter().find(|v| v.can_buy()))
        .or(variants.first())
}

/// The most units of `variant` one cart line may take: what is left, unbounded (up to a
/// line's limit) with backorders.
fn most_units(variant: Option<&Variant>) -> u32 {
    match variant {
        Some(v) if v.backorder => MAX_LINE_QUANTITY,
        Some(v) => u32::try_from(v.available.max(1))
            .map_or(MAX_LINE_QUANTITY, |n| n.min(MAX_LINE_QUANTITY)),
        None => 1,
    }
}

/// The shown variant's availability, as the shopper reads it.
fn availability(variant: Option<&Variant>) -> String {
    match variant {
        Some(v) if v.available > crate::catalog_changes::FEW_LEFT => "In stock".to_string(),
        Some(v) if v.available > 0 => format!("Only {} left", v.available),
        Some(v) if v.backorder => "Available to order".to_string(),
        _ => "Sold out".to_string(),
    }
}

/// The classes of an option value's label.
fn value_class(stock: ValueStock) -> &'static str {
    match stock {
        ValueStock::Available => "option-value",
        ValueStock::SoldOut => "option-value sold-out",
        ValueStock::Unavailable => "option-value unavailable",
    }
}

/// What a screen reader hears after an option value.
fn value_note(stock: ValueStock) -> &'static str {
    match stock {
        ValueStock::Available => "",
        ValueStock::SoldOut => " (sold out)",
        ValueStock::Unavailable => " (not in this combination)",
    }
}

/// The island's view, which the browser hydrates (and the tests render on the server).
#[cfg_attr(all(feature = "ssr", not(test)), allow(dead_code))]
fn buy_box_view(data: BuyBoxData) -> impl IntoView {
    let BuyBoxData {
        slug,
        title,
        vendor,
        option_names,
        variants,
        images,
        chosen,
    } = data;
    let variants = StoredValue::new(variants);
    let images = StoredValue::new(images);
    let chosen = RwSignal::new(chosen);
    let selected =
        Memo::new(move |_| variants.with_value(|all| shown_variant(all, chosen.get()).cloned()));
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
    let most = move || selected.with(|v| most_units(v.as_ref()));
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
                        <label for=id class=move || value_class(state().1)>
                            {value.value}
                            <span class="visually-hidden">{move || value_note(state().1)}</span>
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
                <p class="vendor">{vendor}</p>
                <h1>{title.clone()}</h1>
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
                    {move || selected.with(|v| availability(v.as_ref()))}
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
#[cfg_attr(all(feature = "ssr", not(test)), allow(dead_code))]
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

/// The buy box's first state as HTML, byte for byte what Leptos renders for `buy_box_view`:
/// the browser hydrates that view onto it. Leptos's conventions, kept here:
/// - an element with a value or a reactive part writes its `class` after its other
///   attributes; a wholly constant element is written as it stands in the source;
/// - an absent optional part (`None`) leaves a `<!>` marker, as does the end of a list;
/// - text after text is parted by a `<!>`, and an empty text is one space.
#[cfg(feature = "ssr")]
mod markup {
    use maud::{html, Markup, PreEscaped};

    use super::*;

    const MARKER: PreEscaped<&str> = PreEscaped("<!>");

    pub(super) fn buy_box(data: &BuyBoxData) -> String {
        let selected = shown_variant(&data.variants, data.chosen);
        let first = selected.map_or(0, |s| {
            variant_choice::picture_of(s, &data.variants, &data.images)
        });
        let groups = selected
            .map(|s| variant_choice::option_groups(&data.option_names, &data.variants, s))
            .unwrap_or_default();
        let price = selected.map(|v| v.price.to_string());
        let most = most_units(selected);
        let buyable = selected.is_some_and(Variant::can_buy);
        html! {
            div class="product-main" {
                (gallery(&data.images, first))
                div class="product-info" {
                    p class="vendor" { (data.vendor) }
                    h1 { (data.title) }
                    div class="price-box" {
                        p class="price" {
                            span data-testid="product-price" class="amount" { (optional(price.as_deref())) }
                            @if let Some(was) = selected.and_then(|v| v.compare_at) {
                                span class="visually-hidden" { " was " }
                                s class="compare-at" { (was) }
                            } @else { (MARKER) }
                        }
                        @if let Some((saved, percent)) = selected
                            .and_then(|v| v.compare_at.and_then(|was| v.price.saving_from(was)))
                        {
                            p data-testid="saving" class="saving" { "Save " (saved) " (" (percent) "%)" }
                        } @else { (MARKER) }
                    }
                    form method="get" action={ "/products/" (data.slug) } class="variant-picker" {
                        @for (position, group) in groups.iter().enumerate() {
                            fieldset data-testid="option-group" class="option-group" {
                                legend {
                                    (group.name) ": "
                                    span class="chosen-value" {
                                        (optional(selected.and_then(|s| s.options.get(position)).map(String::as_str)))
                                    }
                                }
                                div class="option-values" {
                                    @for (index, value) in group.values.iter().enumerate() {
                                        input
                                            type="radio"
                                            id={ "option-" (position) "-" (index) }
                                            name=(variant_choice::option_param(position))
                                            value=(value.value)
                                            checked[value.selected]
                                            class="option-radio";
                                        label for={ "option-" (position) "-" (index) } class=(value_class(value.stock)) {
                                            (value.value)
                                            span class="visually-hidden" { (text(value_note(value.stock))) }
                                        }
                                    }
                                    (MARKER)
                                }
                            }
                        }
                        (MARKER)
                        button type="submit" class="no-js-only" { "Choose" }
                    }
                    p data-testid="availability" class="availability" { (availability(selected)) }
                    div class="buy-row" {
                        div class="quantity-picker" {
                            label for="quantity" { "Quantity" }
                            div class="stepper" {
                                button type="button" aria-label="One fewer" disabled { "−" }
                                input id="quantity" type="number" inputmode="numeric" min="1" max=(most) value="1";
                                button type="button" aria-label="One more" disabled[most <= 1] { "+" }
                            }
                        }
                        (add_button(buyable))
                    }
                    p class="sku" { "SKU " (MARKER) (optional(selected.map(|v| v.sku.as_str()))) }
                }
            }
            div hidden data-testid="sticky-buy" class="sticky-buy" {
                p {
                    span class="sticky-title" { (data.title) }
                    span class="price" { (optional(price.as_deref())) }
                }
                (add_button(buyable))
            }
        }
        .into_string()
    }

    /// `AddButton`'s first state.
    fn add_button(buyable: bool) -> Markup {
        html! {
            @if buyable {
                button type="button" class="add-to-cart" { "Add to cart" }
            } @else {
                button type="button" disabled class="add-to-cart" { "Sold out" }
            }
        }
    }

    /// `Gallery`'s first state, showing picture `first`.
    fn gallery(images: &[Image], first: usize) -> Markup {
        let count = images.len();
        html! {
            div class="gallery" {
                ul aria-label="Pictures" class="gallery-track" {
                    @for (n, image) in images.iter().enumerate() {
                        li id={ "picture-" (n + 1) } class={ "gallery-slide" @if n == first { " initial" } } {
                            a href=(image.url) class="zoom" {
                                span class="visually-hidden" { "Enlarge picture " (n + 1) " of " (count) ": " }
                                picture {
                                    (webp_source_or_marker(image, "(min-width: 800px) 50vw, 100vw"))
                                    img
                                        src=(image.url)
                                        srcset=[image.srcset.as_deref()]
                                        sizes="(min-width: 800px) 50vw, 100vw"
                                        alt=(image.alt)
                                        width=(image.width)
                                        height=(image.height)
                                        loading=(if n == first { "eager" } else { "lazy" })
                                        fetchpriority=(if n == first { "high" } else { "auto" })
                                        data-testid="product-image";
                                }
                            }
                        }
                    }
                    (MARKER)
                }
                @if count > 1 {
                    ol aria-label="Choose a picture" class="gallery-thumbs" {
                        @for (n, image) in images.iter().enumerate() {
                            li {
                                a href={ "#picture-" (n + 1) } aria-current=[(n == first).then_some("true")] {
                                    picture {
                                        (webp_source_or_marker(image, "72px"))
                                        img src=(image.url) srcset=[image.srcset.as_deref()] sizes="72px" alt="" width="72" height="72" loading="lazy";
                                    }
                                    span class="visually-hidden" { "Picture " (n + 1) " of " (count) }
                                }
                            }
                        }
                        (MARKER)
                    }
                } @else { (MARKER) }
                dialog aria-label="Enlarged picture" class="zoom-dialog" {
                    form method="dialog" {
                        button type="submit" class="close" aria-label="Close" { "✕" }
                    }
                    img
                        src=[images.get(first).map(|i| &i.url)]
                        alt=[images.get(first).map(|i| &i.alt)]
                        loading="lazy";
                }
            }
        }
    }

    /// A picture's WebP `<source>`, or the marker of its absence.
    fn webp_source_or_marker(image: &Image, sizes: &str) -> Markup {
        html! {
            @if let Some(srcset) = &image.webp_srcset {
                source type="image/webp" srcset=(srcset) sizes=(sizes);
            } @else { (MARKER) }
        }
    }

    /// An optional text: the text, or the marker of its absence.
    fn optional(value: Option<&str>) -> Markup {
        html! {
            @if let Some(value) = value { (text(value)) } @else { (MARKER) }
        }
    }

    /// A text node as Leptos writes it: an empty one is a space (a text node the browser keeps).
    fn text(value: &str) -> Markup {
        html! {
            @if value.is_empty() { " " } @else { (value) }
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::catalog::variant_choice::tests::variant;
    use crate::money::{Currency, Money};

    fn image(name: &str) -> Image {
        Image {
            url: format!("/media/{name}.jpg"),
            alt: format!("A {name} & its <box>"),
            width: 1200,
            height: 900,
            srcset: None,
            webp_srcset: None,
        }
    }

    /// A hoodie in two colours and three sizes, one combination missing and one sold out, a
    /// picture per colour (one with resized copies), on sale.
    fn hoodie() -> BuyBoxData {
        let mut variants = vec![
            variant(1, &["Navy", "S"], 4),
            variant(2, &["Navy", "M"], 0),
            variant(3, &["Navy", "L"], 30),
            variant(4, &["Red & <Rose>", "M"], 2),
        ];
        variants[0].image_url = Some("/media/navy.jpg".into());
        variants[3].image_url = Some("/media/red.jpg".into());
        for v in &mut variants {
            v.compare_at = Some(Money::new(6900, Currency::EUR));
        }
        let mut red = image("red");
        red.srcset = Some("/media/red-320.jpg 320w, /media/red-640.jpg 640w".into());
        red.webp_srcset = Some("/media/red-320.webp 320w, /media/red-640.webp 640w".into());
        BuyBoxData {
            slug: "ridge-hoodie".into(),
            title: "Ridge Hoodie <Limited> & Co".into(),
            vendor: "Fell & Field".into(),
            option_names: vec!["Colour".into(), "Size".into()],
            variants,
            images: vec![image("navy"), red],
            chosen: None,
        }
    }

    /// Leptos's rendering of the view the browser hydrates.
    fn leptos_html(data: BuyBoxData) -> String {
        let owner = Owner::new();
        owner.with(|| buy_box_view(data).to_html())
    }

    fn assert_same(data: BuyBoxData) {
        let written = markup::buy_box(&data);
        let rendered = leptos_html(data);
        if written != rendered {
            let at = written
                .bytes()
                .zip(rendered.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(written.len().min(rendered.len()));
            panic!(
                "the server's buy box differs from the hydrated view at byte {at}:\n  markup: …{}\n  leptos: …{}",
                &written[at.saturating_sub(80)..(at + 80).min(written.len())],
                &rendered[at.saturating_sub(80)..(at + 80).min(rendered.len())],
            );
        }
    }

    #[test]
    fn first_buyable_variant_on_sale_with_pictures() {
        assert_same(hoodie());
    }

    #[test]
    fn a_chosen_variant_its_colour_and_picture() {
        let mut data = hoodie();
        data.chosen = Some(4);
        let html = markup::buy_box(&data);
        assert!(html.contains(r#"<li id="picture-2" class="gallery-slide initial">"#));
        assert!(html.contains("Only 2 left"));
        assert_same(data);
    }

    #[test]
    fn a_sold_out_variant_disables_adding() {
        let mut data = hoodie();
        data.chosen = Some(2);
        let html = markup::buy_box(&data);
        assert!(html
            .contains(r#"<button type="button" disabled class="add-to-cart">Sold out</button>"#));
        assert!(html.contains(r#"<label for="option-1-1" class="option-value sold-out">"#));
        assert_same(data);
    }

    #[test]
    fn everything_sold_out_one_picture_no_sale() {
        let mut data = hoodie();
        for v in &mut data.variants {
            v.available = 0;
            v.compare_at = None;
        }
        data.images.truncate(1);
        let html = markup::buy_box(&data);
        assert!(!html.contains("gallery-thumbs"));
        assert!(html.contains(">Sold out</p>"));
        assert_same(data);
    }

    #[test]
    fn backorders_and_a_single_variant_without_options() {
        let mut data = hoodie();
        data.option_names.clear();
        data.variants.truncate(1);
        data.variants[0].options.clear();
        data.variants[0].available = 0;
        data.variants[0].backorder = true;
        let html = markup::buy_box(&data);
        assert!(html.contains("Available to order"));
        assert_same(data);
    }

    #[test]
    fn no_pictures() {
        let mut data = hoodie();
        data.images.clear();
        for v in &mut data.variants {
            v.image_url = None;
        }
        assert_same(data);
    }

    #[test]
    fn values_are_escaped() {
        let html = markup::buy_box(&hoodie());
        assert!(html.contains("<h1>Ridge Hoodie &lt;Limited&gt; &amp; Co</h1>"));
        assert!(html.contains(r#"value="Red &amp; &lt;Rose&gt;""#));
        assert!(!html.contains("<Rose>"));
    }
}
