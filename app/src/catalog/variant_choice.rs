//! Choosing a variant one option at a time: a picker per option ("Colour", "Size") instead of
//! one list of every combination. Plain rules shared by the server (which renders the picker
//! and reads the form sent without JavaScript) and the buy box island (which answers a click).

use super::{Image, Variant};

/// Whether a value, combined with the shopper's other choices, can be bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueStock {
    /// The combination exists and can be bought now (or ordered, with backorders).
    Available,
    /// The combination exists but none is left: still selectable, to see it and (later) ask to
    /// be told when it is back.
    SoldOut,
    /// No variant has this value together with the other choices; choosing it moves the other
    /// choices to the closest combination that exists.
    Unavailable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionValue {
    pub value: String,
    pub selected: bool,
    pub stock: ValueStock,
}

/// One option's picker: its name and its values, in the order the variants list them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionGroup {
    pub name: String,
    pub values: Vec<OptionValue>,
}

/// The pickers for `selected`: for each option, every value the product has, each marked by
/// what the shopper would get with it and the other options as they are now chosen.
pub fn option_groups(
    names: &[String],
    variants: &[Variant],
    selected: &Variant,
) -> Vec<OptionGroup> {
    names
        .iter()
        .enumerate()
        .map(|(position, name)| {
            let mut values: Vec<&str> = Vec::new();
            for variant in variants {
                if let Some(value) = variant.options.get(position) {
                    if !values.contains(&value.as_str()) {
                        values.push(value);
                    }
                }
            }
            let values = values
                .into_iter()
                .map(|value| OptionValue {
                    value: value.to_string(),
                    selected: selected.options.get(position).map(String::as_str) == Some(value),
                    stock: value_stock(variants, selected, position, value),
                })
                .collect();
            OptionGroup {
                name: name.clone(),
                values,
            }
        })
        .collect()
}

/// What the shopper would get by choosing `value` for the option at `position`, keeping the
/// other options of `selected`.
pub fn value_stock(
    variants: &[Variant],
    selected: &Variant,
    position: usize,
    value: &str,
) -> ValueStock {
    let combination = variants.iter().find(|v| {
        v.options.len() == selected.options.len()
            && v.options.iter().enumerate().all(|(i, o)| {
                if i == position {
                    o == value
                } else {
                    Some(o) == selected.options.get(i)
                }
            })
    });
    match combination {
        Some(v) if v.can_buy() => ValueStock::Available,
        Some(_) => ValueStock::SoldOut,
        None => ValueStock::Unavailable,
    }
}

/// The variant closest to the values wanted (one per option, `None` for "any"): the one
/// matching the most of them, then one that can be bought, then the first listed. With
/// `required`, only variants matching the value at that position count: the option the shopper
/// just clicked is the one that must not change.
pub fn closest<'a>(
    variants: &'a [Variant],
    wanted: &[Option<&str>],
    required: Option<usize>,
) -> Option<&'a Variant> {
    let matches = |v: &Variant, i: usize| {
        wanted
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|w| v.options.get(i).map(String::as_str) == Some(w))
    };
    let mut best: Option<(&Variant, (usize, bool))> = None;
    for variant in variants {
        if required.is_some_and(|i| !matches(variant, i)) {
            continue;
        }
        let score = (
            (0..wanted.len()).filter(|i| matches(variant, *i)).count(),
            variant.can_buy(),
        );
        if best.is_none_or(|(_, top)| score > top) {
            best = Some((variant, score));
        }
    }
    best.map(|(variant, _)| variant)
}

/// The variant the shopper gets by setting the option at `position` to `value`, keeping the
/// other choices of `current` where a variant has them.
pub fn choose<'a>(
    variants: &'a [Variant],
    current: &Variant,
    position: usize,
    value: &str,
) -> Option<&'a Variant> {
    let wanted: Vec<Option<&str>> = current
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| Some(if i == position { value } else { o.as_str() }))
        .collect();
    closest(variants, &wanted, Some(position))
}

/// Which of the product's pictures shows `variant`: its own, else the picture of another variant
/// with the same first option (a picture is usually bound to one variant of a colour and shows
/// that colour in every size), else the first.
pub fn picture_of(variant: &Variant, variants: &[Variant], images: &[Image]) -> usize {
    let url = variant.image_url.as_ref().or_else(|| {
        let first = variant.options.first()?;
        variants
            .iter()
            .filter(|v| v.options.first() == Some(first))
            .find_map(|v| v.image_url.as_ref())
    });
    url.and_then(|url| images.iter().position(|i| &i.url == url))
        .unwrap_or(0)
}

/// The name of the query parameter that carries the value of the option at `position` when the
/// picker is sent as a form without JavaScript: `option1`, `option2`, … as in a product CSV.
pub fn option_param(position: usize) -> String {
    format!("option{}", position + 1)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::money::{Currency, Money};

    /// A variant at €10.00 with `available` units, its title its options.
    pub(in crate::catalog) fn variant(id: i64, options: &[&str], available: i64) -> Variant {
        Variant {
            id,
            sku: format!("SKU-{id}"),
            title: options.join(" / "),
            options: options.iter().map(|o| o.to_string()).collect(),
            price: Money::new(1000, Currency::EUR),
            compare_at: None,
            available,
            backorder: false,
            image_url: None,
        }
    }

    /// Navy in S and M, Red only in M (sold out), Green in S and L.
    fn hoodie() -> Vec<Variant> {
        vec![
            variant(1, &["Navy", "S"], 4),
            variant(2, &["Navy", "M"], 0),
            variant(3, &["Red", "M"], 0),
            variant(4, &["Green", "S"], 2),
            variant(5, &["Green", "L"], 7),
        ]
    }

    fn names() -> Vec<String> {
        vec!["Colour".into(), "Size".into()]
    }

    fn stock_of(group: &OptionGroup) -> Vec<(&str, ValueStock, bool)> {
        group
            .values
            .iter()
            .map(|v| (v.value.as_str(), v.stock, v.selected))
            .collect()
    }

    #[test]
    fn every_value_is_listed_once_in_the_variants_order_and_marked_for_the_current_choice() {
        let all = hoodie();
        let groups = option_groups(&names(), &all, &all[0]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].name, "Colour");
        use ValueStock::*;
        // With size S chosen: Navy S has stock, there is no Red S, Green S has stock.
        assert_eq!(
            stock_of(&groups[0]),
            vec![
                ("Navy", Available, true),
                ("Red", Unavailable, false),
                ("Green", Available, false)
            ]
        );
        // With Navy chosen: S in stock, M sold out, no Navy L.
        assert_eq!(
            stock_of(&groups[1]),
            vec![
                ("S", Available, true),
                ("M", SoldOut, false),
                ("L", Unavailable, false)
            ]
        );
    }

    #[test]
    fn a_sold_out_selection_is_shown_as_selected_and_sold_out() {
        let all = hoodie();
        let groups = option_groups(&names(), &all, &all[2]);
        assert_eq!(groups[0].values[1].value, "Red");
        assert!(groups[0].values[1].selected);
        assert_eq!(groups[0].values[1].stock, ValueStock::SoldOut);
        // Navy M exists but is sold out too; Green M does not exist.
        assert_eq!(groups[0].values[0].stock, ValueStock::SoldOut);
        assert_eq!(groups[0].values[2].stock, ValueStock::Unavailable);
    }

    #[test]
    fn choosing_a_value_keeps_the_other_choices_when_that_combination_exists() {
        let all = hoodie();
        assert_eq!(choose(&all, &all[0], 1, "M").map(|v| v.id), Some(2));
        assert_eq!(choose(&all, &all[1], 0, "Red").map(|v| v.id), Some(3));
    }

    #[test]
    fn choosing_a_value_without_that_combination_moves_the_others_preferring_stock() {
        let all = hoodie();
        // Navy S → Red: there is only Red M.
        assert_eq!(choose(&all, &all[0], 0, "Red").map(|v| v.id), Some(3));
        // Red M → Green: neither Green M; Green S and Green L match one value each, both in
        // stock: the first listed.
        assert_eq!(choose(&all, &all[2], 0, "Green").map(|v| v.id), Some(4));
        // Navy S → L: only Green L has it.
        assert_eq!(choose(&all, &all[0], 1, "L").map(|v| v.id), Some(5));
        // A value the product does not have changes nothing.
        assert_eq!(choose(&all, &all[0], 0, "Purple"), None);
    }

    #[test]
    fn closest_prefers_more_matches_then_stock_then_order() {
        let all = hoodie();
        assert_eq!(
            closest(&all, &[Some("Navy"), Some("M")], None).map(|v| v.id),
            Some(2)
        );
        // Only the colour given: Navy S (in stock) before Navy M (sold out).
        assert_eq!(
            closest(&all, &[Some("Navy"), None], None).map(|v| v.id),
            Some(1)
        );
        // Only M given: Navy M and Red M are both sold out, the first wins.
        assert_eq!(
            closest(&all, &[None, Some("M")], None).map(|v| v.id),
            Some(2)
        );
        // Nothing matches: the first that can be bought.
        assert_eq!(
            closest(&all, &[Some("Pink"), Some("XXL")], None).map(|v| v.id),
            Some(1)
        );
        assert_eq!(closest(&[], &[Some("Navy")], None), None);
    }

    #[test]
    fn a_product_without_options_has_no_pickers() {
        let single = vec![variant(9, &[], 3)];
        assert!(option_groups(&[], &single, &single[0]).is_empty());
        assert_eq!(closest(&single, &[], None).map(|v| v.id), Some(9));
    }

    #[test]
    fn a_variant_shows_its_own_picture_or_its_colours() {
        let picture = |url: &str| Image {
            url: url.to_string(),
            alt: String::new(),
            width: 600,
            height: 600,
            srcset: None,
            webp_srcset: None,
        };
        let images = vec![
            picture("/navy.jpg"),
            picture("/green.jpg"),
            picture("/red.jpg"),
        ];
        let mut all = hoodie();
        all[0].image_url = Some("/navy.jpg".into());
        all[3].image_url = Some("/green.jpg".into());
        assert_eq!(picture_of(&all[0], &all, &images), 0);
        // Navy M has no picture of its own: Navy S's.
        assert_eq!(picture_of(&all[1], &all, &images), 0);
        assert_eq!(picture_of(&all[4], &all, &images), 1);
        // Red has none at all (the red picture belongs to no variant): the first.
        assert_eq!(picture_of(&all[2], &all, &images), 0);
        all[2].image_url = Some("/red.jpg".into());
        assert_eq!(picture_of(&all[2], &all, &images), 2);
    }

    #[test]
    fn the_form_names_options_from_one() {
        assert_eq!(option_param(0), "option1");
        assert_eq!(option_param(2), "option3");
    }
}
