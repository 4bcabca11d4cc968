//! Product cards, the markup of every listing (collections, search, the home page's new
//! products, a product page's recommendations), written as HTML on the server.
//!
//! A card is static: no signal, no event handler, never hydrated (its add button is plain HTML
//! that the `CardButtons` island listens to). Written with leptos's `view!`, a card cost about
//! 4.6 µs of the server's time, 110 of a collection page's 286 µs (release build, demo catalog,
//! page cache off, measured by leaving the cards out). maud writes the same markup in one pass
//! into one string, escaping every value it is given: about 0.9 µs a card, and the page's
//! throughput rose from 6,200 to 8,000–8,400 a second (`scripts/bench-catalog.sh`).

#[cfg(feature = "ssr")]
use maud::{html, Markup, PreEscaped};

use leptos::{prelude::IntoView, view};

use super::{Image, ProductCard};

/// Cards and tiles above the fold load eagerly; the rest wait until the shopper scrolls.
pub(super) const EAGER_IMAGES: usize = 4;

/// What the cards of a list are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CardList {
    /// A page's main list (a collection, a search, new products): the first pictures load at
    /// once, and each card has an add button.
    Main,
    /// Links to other products under a product page: lazy pictures, and the page's own add
    /// button the only one on it.
    Recommended,
}

/// The `<li>` of each card, in order. Pages are rendered on the server only; the browser,
/// which renders nothing outside its islands, never asks for cards.
pub(super) fn product_cards_html(cards: &[ProductCard], list: CardList) -> String {
    #[cfg(feature = "ssr")]
    {
        html! {
            @for (index, card) in cards.iter().enumerate() {
                li { (product_card(card, list == CardList::Main && index < EAGER_IMAGES, list == CardList::Main)) }
            }
        }
        .into_string()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (cards, list);
        String::new()
    }
}

#[cfg(feature = "ssr")]
fn product_card(card: &ProductCard, eager: bool, buy: bool) -> Markup {
    let saving = card.compare_at.and_then(|was| card.price.saving_from(was));
    html! {
        article.product-card data-testid="product-card" {
            a.product-link href={ "/products/" (card.slug) } {
                @if let Some(image) = &card.image {
                    (picture(image, "(min-width: 700px) 25vw, 50vw", eager))
                }
                h3.product-title { (card.title) }
            }
            p.price {
                span.amount { (card.price) }
                @if let Some(was) = card.compare_at {
                    span.visually-hidden { " was " }
                    s.compare-at { (was) }
                }
                @if let Some((saved, percent)) = saving {
                    span.sale-badge data-testid="sale-badge" title={ "Save " (saved) } { "−" (percent) "%" }
                }
            }
            @if buy {
                (add_button(card))
            }
        }
    }
}

/// The card's add button: plain HTML carrying the item it adds in data attributes, which the
/// `CardButtons` island (`cart::view`) reads when it is clicked. Disabled and "Sold out" when
/// the card's variant cannot be bought.
#[cfg(feature = "ssr")]
fn add_button(card: &ProductCard) -> Markup {
    html! {
        @if card.variant_buyable {
            button
                type="button"
                class="add-to-cart"
                data-variant=(card.variant_id)
                data-slug=(card.slug)
                data-title=(card.title)
                data-variant-title=(card.variant_title)
                data-amount=(card.price.amount)
                data-currency=(card.price.currency.code())
                data-image=[card.image.as_ref().map(|i| &i.url)]
            { "Add to cart" }
        } @else {
            button type="button" class="add-to-cart" disabled { "Sold out" }
        }
    }
}

/// A card's picture, its WebP copies offered first (see `pages::webp_source`).
#[cfg(feature = "ssr")]
fn picture(image: &Image, sizes: &'static str, eager: bool) -> Markup {
    // `sizes` and the loading hints are the code's own constants: written as they are.
    let (loading, priority) = if eager {
        ("eager", "high")
    } else {
        ("lazy", "auto")
    };
    html! {
        picture {
            @if let Some(srcset) = &image.webp_srcset {
                source type="image/webp" srcset=(srcset) sizes=(PreEscaped(sizes));
            }
            img
                src=(image.url)
                srcset=[image.srcset.as_deref()]
                sizes=(PreEscaped(sizes))
                alt=(image.alt)
                width=(image.width)
                height=(image.height)
                loading=(PreEscaped(loading))
                fetchpriority=(PreEscaped(priority))
                decoding="async";
        }
    }
}

/// The WebP copies of a picture, offered before its `<img>` inside a `<picture>`: browsers that
/// read WebP take the smaller files, the rest the JPEG or PNG of the `<img>`. For the pictures
/// written with Leptos's `view!` (the gallery, the collection tiles).
pub(super) fn webp_source(image: &Image, sizes: &'static str) -> Option<impl IntoView> {
    image
        .webp_srcset
        .clone()
        .map(|srcset| view! { <source type="image/webp" srcset=srcset sizes=sizes/> })
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};

    fn card(title: &str) -> ProductCard {
        ProductCard {
            slug: "stoneware-mug".into(),
            title: title.into(),
            variant_id: 209,
            variant_buyable: true,
            variant_title: "Cream".into(),
            price: Money::new(1800, Currency::EUR),
            compare_at: None,
            image: Some(Image {
                url: "/media/mug.jpg".into(),
                alt: "A \"cream\" mug".into(),
                width: 600,
                height: 600,
                srcset: Some("/media/mug-320.jpg 320w".into()),
                webp_srcset: Some("/media/mug-320.webp 320w".into()),
            }),
        }
    }

    #[test]
    fn a_card_links_prices_and_carries_its_item_for_the_add_button() {
        let html = product_cards_html(&[card("Stoneware Mug")], CardList::Main);
        assert!(html.starts_with(r#"<li><article class="product-card" data-testid="product-card"><a class="product-link" href="/products/stoneware-mug"><picture><source type="image/webp" srcset="/media/mug-320.webp 320w" sizes="(min-width: 700px) 25vw, 50vw"><img src="/media/mug.jpg" srcset="/media/mug-320.jpg 320w""#), "{html}");
        assert!(html.contains(r#"alt="A &quot;cream&quot; mug" width="600" height="600" loading="eager" fetchpriority="high" decoding="async">"#), "{html}");
        assert!(html.contains(r#"<h3 class="product-title">Stoneware Mug</h3></a><p class="price"><span class="amount">€18.00</span></p>"#), "{html}");
        assert!(html.contains(r#"data-variant="209" data-slug="stoneware-mug" data-title="Stoneware Mug" data-variant-title="Cream" data-amount="1800" data-currency="EUR" data-image="/media/mug.jpg">Add to cart</button></article></li>"#), "{html}");
        assert!(!html.contains("sale-badge"));
    }

    #[test]
    fn text_from_staff_is_escaped() {
        let html = product_cards_html(
            &[card(r#"<script>alert("x")</script> & co"#)],
            CardList::Main,
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</h3>"),
            "{html}"
        );
        assert!(
            html.contains(
                r#"data-title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co""#
            ),
            "{html}"
        );
    }

    #[test]
    fn a_sale_shows_the_old_price_and_the_saving() {
        let mut on_sale = card("Espresso Cup Pair");
        on_sale.price = Money::new(1900, Currency::EUR);
        on_sale.compare_at = Some(Money::new(2600, Currency::EUR));
        let html = product_cards_html(&[on_sale], CardList::Main);
        assert!(html.contains(r#"<span class="amount">€19.00</span><span class="visually-hidden"> was </span><s class="compare-at">€26.00</s><span class="sale-badge" data-testid="sale-badge" title="Save €7.00">−26%</span></p>"#), "{html}");
    }

    #[test]
    fn sold_out_cards_and_recommendations() {
        let mut sold_out = card("Enamel Camp Mug");
        sold_out.variant_buyable = false;
        sold_out.image = None;
        let html = product_cards_html(&[sold_out], CardList::Main);
        assert!(
            html.contains(
                r#"<button type="button" class="add-to-cart" disabled>Sold out</button>"#
            ),
            "{html}"
        );
        assert!(!html.contains("<picture>"), "{html}");

        // Recommendations: lazy pictures, even the first, and no add button.
        let html = product_cards_html(&[card("A"), card("B")], CardList::Recommended);
        assert_eq!(html.matches("<li>").count(), 2);
        assert!(
            html.contains(r#"loading="lazy" fetchpriority="auto""#),
            "{html}"
        );
        assert!(!html.contains("loading=\"eager\""), "{html}");
        assert!(!html.contains("<button"), "{html}");
    }
}
