//! The cart's rules, as plain Rust shared by browser and server.

use serde::{Deserialize, Serialize};

use crate::money::Money;

pub use crate::checkout::MAX_LINE_QUANTITY;

/// What the shopper saw when adding a variant. Names and prices are kept for showing the cart
/// offline; the server re-prices every line before anything is charged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub variant_id: i64,
    pub product_slug: String,
    pub title: String,
    pub variant_title: String,
    pub unit_price: Money,
    pub image_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    #[serde(flatten)]
    pub item: CartItem,
    pub quantity: u32,
}

/// A line as of an edit: `quantity` 0 is a removal, kept so it can win over older edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StampedLine {
    pub variant_id: i64,
    pub quantity: u32,
    /// When the edit was made (milliseconds since the epoch, by the device that made it).
    pub edited_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    /// The account this cart is kept with (see [`super::sync`]); `None` for a guest's cart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<i64>,
    /// Edits to a kept cart the server has not confirmed yet (made offline, or in flight).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsent: Vec<StampedLine>,
    /// What the merge at sign-in changed, shown until dismissed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// Discount codes the shopper entered: kept offline too, checked by every quote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// The discounts the server's last quote gave, and the lines it priced: the mini-cart
    /// shows them while the lines are still those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priced: Option<PricedDiscounts>,
}

/// Discounts as a quote applied them to some lines (variant, quantity).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedDiscounts {
    pub lines: Vec<(i64, u32)>,
    pub discounts: Vec<crate::promotions::DiscountLine>,
}

impl Cart {
    /// Adds to the line for this variant, or starts one; quantities stop at the maximum.
    pub fn add(&mut self, item: CartItem, quantity: u32) {
        if quantity == 0 {
            return;
        }
        match self
            .lines
            .iter_mut()
            .find(|l| l.item.variant_id == item.variant_id)
        {
            Some(line) => {
                line.quantity = line
                    .quantity
                    .saturating_add(quantity)
                    .min(MAX_LINE_QUANTITY);
                // The newest snapshot is the best offline guess of name and price.
                line.item = item;
            }
            None => self.lines.push(CartLine {
                item,
                quantity: quantity.min(MAX_LINE_QUANTITY),
            }),
        }
    }

    /// Sets a line's quantity; zero removes the line.
    pub fn set_quantity(&mut self, variant_id: i64, quantity: u32) {
        if quantity == 0 {
            return self.remove(variant_id);
        }
        if let Some(line) = self
            .lines
            .iter_mut()
            .find(|l| l.item.variant_id == variant_id)
        {
            line.quantity = quantity.min(MAX_LINE_QUANTITY);
        }
    }

    pub fn remove(&mut self, variant_id: i64) {
        self.lines.retain(|l| l.item.variant_id != variant_id);
    }

    pub fn item_count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Keeps an entered code, unless it is already there (in any case) or the cart holds as
    /// many as a quote takes. `Err` says why not, in the shopper's words.
    pub fn add_code(&mut self, code: &str) -> Result<(), String> {
        use crate::promotions::{code_key, code_problem, MAX_CODES};
        if let Some(problem) = code_problem(code) {
            return Err(problem);
        }
        if self.codes.iter().any(|c| code_key(c) == code_key(code)) {
            return Err("This code was already entered.".into());
        }
        if self.codes.len() >= MAX_CODES {
            return Err(format!("Enter at most {MAX_CODES} codes."));
        }
        self.codes.push(code.trim().to_string());
        Ok(())
    }

    pub fn remove_code(&mut self, code: &str) {
        let key = crate::promotions::code_key(code);
        self.codes.retain(|c| crate::promotions::code_key(c) != key);
    }

    /// The subtotal at the prices last seen, or `None` if lines disagree on currency (or the sum
    /// overflows). Only an estimate: checkout asks the server.
    pub fn estimated_subtotal(&self) -> Option<Money> {
        let first = self.lines.first()?;
        self.lines
            .iter()
            .try_fold(Money::zero(first.item.unit_price.currency), |sum, line| {
                sum.checked_add(line.item.unit_price.times(line.quantity).ok()?)
                    .ok()
            })
    }

    /// What the server is asked to price: variants and quantities, with the price last seen
    /// (only so the server can say "the price changed").
    pub fn quote_lines(&self) -> Vec<crate::checkout::LineRequest> {
        self.lines
            .iter()
            .map(|line| crate::checkout::LineRequest {
                variant_id: line.item.variant_id,
                quantity: line.quantity,
                seen_price: Some(line.item.unit_price),
            })
            .collect()
    }

    /// Brings the cart in line with a fresh quote: current names, pictures and prices (kept for
    /// the next time the shop is unreachable), quantities lowered to the stock left, and lines
    /// the shop no longer sells removed. Returns whether anything changed.
    pub fn apply_quote(&mut self, quote: &crate::checkout::Quote) -> bool {
        let before = self.clone();
        let asked: Vec<i64> = self.lines.iter().map(|l| l.item.variant_id).collect();
        self.lines.retain_mut(|line| {
            match quote
                .lines
                .iter()
                .find(|q| q.variant_id == line.item.variant_id)
            {
                Some(priced) => {
                    line.item.title = priced.title.clone();
                    line.item.variant_title = priced.variant_title.clone();
                    line.item.product_slug = priced.product_slug.clone();
                    line.item.unit_price = priced.unit_price;
                    if priced.image_url.is_some() {
                        line.item.image_url = priced.image_url.clone();
                    }
                    line.quantity = line.quantity.min(priced.quantity);
                    line.quantity > 0
                }
                // Only drop what the quote was asked about and said is gone.
                None => {
                    !asked.contains(&line.item.variant_id)
                        || !quote.notices.iter().any(|n| {
                            n.variant_id == line.item.variant_id
                                && n.kind == crate::checkout::NoticeKind::Unavailable
                        })
                }
            }
        });
        self.priced = (!quote.discounts.is_empty()).then(|| PricedDiscounts {
            lines: quote
                .lines
                .iter()
                .map(|l| (l.variant_id, l.quantity))
                .collect(),
            discounts: quote.discounts.clone(),
        });
        *self != before
    }

    /// Puts a kept cart back: each item at least at its kept quantity (following the link twice
    /// adds nothing), the codes kept too.
    pub fn restore(&mut self, items: Vec<(CartItem, u32)>, codes: &[String]) {
        for (item, quantity) in items {
            let variant_id = item.variant_id;
            match self.lines.iter().find(|l| l.item.variant_id == variant_id) {
                Some(line) if line.quantity >= quantity => {}
                Some(_) => self.set_quantity(variant_id, quantity),
                None => self.add(item, quantity),
            }
        }
        for code in codes {
            let _ = self.add_code(code);
        }
    }

    /// The discounts the last quote gave, while the cart still holds exactly what it priced.
    pub fn priced_discounts(&self) -> &[crate::promotions::DiscountLine] {
        match &self.priced {
            Some(priced)
                if priced.lines.len() == self.lines.len()
                    && priced
                        .lines
                        .iter()
                        .zip(&self.lines)
                        .all(|((id, quantity), line)| {
                            *id == line.item.variant_id && *quantity == line.quantity
                        }) =>
            {
                &priced.discounts
            }
            _ => &[],
        }
    }

    /// Repairs a cart read from storage: merges duplicate variants, drops empty lines and clamps
    /// quantities, since storage can be edited by hand or written by an older version.
    pub fn normalised(self) -> Cart {
        let mut clean = Cart {
            owner: self.owner,
            unsent: self.unsent,
            notices: self.notices,
            priced: self.priced,
            ..Cart::default()
        };
        for line in self.lines {
            clean.add(line.item, line.quantity);
        }
        // Codes keep their order; a malformed or repeated one (edited by hand) is dropped.
        for code in &self.codes {
            let _ = clean.add_code(code);
        }
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn entered_codes_survive_a_reload_and_bad_ones_do_not() {
        let saved = Cart {
            codes: vec![
                "WELCOME".into(),
                "welcome".into(),
                "not valid!".into(),
                "X2".into(),
            ],
            ..Cart::default()
        };
        assert_eq!(saved.normalised().codes, vec!["WELCOME", "X2"]);
        let mut cart = Cart::default();
        assert!(cart.add_code(" Summer ").is_ok());
        assert!(
            cart.add_code("SUMMER").is_err(),
            "the same code in another case"
        );
        cart.remove_code("summer");
        assert!(cart.codes.is_empty());
    }

    fn item(variant_id: i64, cents: i64) -> CartItem {
        CartItem {
            variant_id,
            product_slug: format!("p{variant_id}"),
            title: format!("Product {variant_id}"),
            variant_title: "M".into(),
            unit_price: Money::new(cents, Currency::EUR),
            image_url: None,
        }
    }

    #[test]
    fn adding_the_same_variant_twice_adds_to_one_line() {
        let mut cart = Cart::default();
        cart.add(item(1, 500), 1);
        cart.add(item(1, 500), 2);
        cart.add(item(2, 300), 1);
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(cart.item_count(), 4);
        assert_eq!(
            cart.estimated_subtotal(),
            Some(Money::new(1800, Currency::EUR))
        );
    }

    #[test]
    fn quantities_stop_at_the_maximum() {
        let mut cart = Cart::default();
        cart.add(item(1, 500), 90);
        cart.add(item(1, 500), 90);
        assert_eq!(cart.item_count(), MAX_LINE_QUANTITY);
        cart.set_quantity(1, 1000);
        assert_eq!(cart.item_count(), MAX_LINE_QUANTITY);
    }

    #[test]
    fn quantity_zero_removes_the_line() {
        let mut cart = Cart::default();
        cart.add(item(1, 500), 1);
        cart.set_quantity(1, 0);
        assert!(cart.is_empty());
        cart.add(item(1, 500), 0);
        assert!(cart.is_empty());
    }

    #[test]
    fn mixed_currencies_have_no_subtotal() {
        let mut cart = Cart::default();
        cart.add(item(1, 500), 1);
        let mut dollars = item(2, 500);
        dollars.unit_price = Money::new(500, Currency::USD);
        cart.add(dollars, 1);
        assert_eq!(cart.estimated_subtotal(), None);
    }

    fn quote_for(
        lines: Vec<crate::checkout::QuoteLine>,
        notices: Vec<crate::checkout::Notice>,
    ) -> crate::checkout::Quote {
        let zero = Money::zero(Currency::EUR);
        crate::checkout::Quote {
            lines,
            subtotal: zero,
            shipping: None,
            discounts: vec![],
            discount_total: zero,
            tax: zero,
            total: zero,
            gift_cards: vec![],
            amount_due: zero,
            prices_include_tax: true,
            tax_label: String::new(),
            rounding: String::new(),
            shipping_options: vec![],
            shipping_method: None,
            notices,
        }
    }

    fn priced(variant_id: i64, cents: i64, quantity: u32) -> crate::checkout::QuoteLine {
        crate::checkout::QuoteLine {
            variant_id,
            product_slug: format!("p{variant_id}"),
            title: format!("Renamed {variant_id}"),
            variant_title: "M".into(),
            image_url: None,
            unit_price: Money::new(cents, Currency::EUR),
            quantity,
            line_total: Money::new(cents * quantity as i64, Currency::EUR),
            discount: Money::zero(Currency::EUR),
            tax: Money::zero(Currency::EUR),
        }
    }

    #[test]
    fn a_quote_updates_prices_lowers_quantities_and_drops_what_is_gone() {
        use crate::checkout::{Notice, NoticeKind};
        let mut cart = Cart::default();
        cart.add(item(1, 500), 1);
        cart.add(item(2, 300), 5);
        cart.add(item(3, 300), 1);
        let quote = quote_for(
            vec![priced(1, 550, 1), priced(2, 300, 2)],
            vec![Notice {
                variant_id: 3,
                kind: NoticeKind::Unavailable,
                message: "gone".into(),
            }],
        );
        assert!(cart.apply_quote(&quote));
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(cart.lines[0].item.unit_price.amount, 550);
        assert_eq!(cart.lines[0].item.title, "Renamed 1");
        assert_eq!(cart.lines[1].quantity, 2);
        // Applying the same quote again changes nothing (no endless re-quoting).
        assert!(!cart.apply_quote(&quote));
    }

    #[test]
    fn a_restored_cart_comes_back_once_whatever_the_link_is_followed() {
        let mut cart = Cart::default();
        cart.add(item(1, 500), 3);
        let kept = vec![(item(1, 500), 2), (item(2, 300), 1)];
        cart.restore(kept.clone(), &["SAVE".to_string()]);
        cart.restore(kept, &["save".to_string()]);
        let lines: Vec<(i64, u32)> = cart
            .lines
            .iter()
            .map(|l| (l.item.variant_id, l.quantity))
            .collect();
        assert_eq!(lines, vec![(1, 3), (2, 1)]);
        assert_eq!(cart.codes, vec!["SAVE"]);
    }

    #[test]
    fn the_mini_cart_shows_discounts_only_for_the_lines_they_priced() {
        let mut cart = Cart::default();
        cart.add(item(1, 500), 2);
        let mut quote = quote_for(vec![priced(1, 500, 2)], vec![]);
        quote.discounts = vec![crate::promotions::DiscountLine {
            code: Some("TEN".into()),
            title: "Ten off".into(),
            amount: Money::new(100, Currency::EUR),
        }];
        cart.apply_quote(&quote);
        assert_eq!(cart.priced_discounts().len(), 1);
        let kept = serde_json::to_string(&cart).unwrap();
        let reloaded: Cart = serde_json::from_str::<Cart>(&kept).unwrap().normalised();
        assert_eq!(reloaded.priced_discounts(), cart.priced_discounts());
        cart.set_quantity(1, 3);
        assert!(
            cart.priced_discounts().is_empty(),
            "a changed cart waits for its quote"
        );
        cart.set_quantity(1, 2);
        assert_eq!(cart.priced_discounts().len(), 1);
        cart.apply_quote(&quote_for(vec![priced(1, 500, 2)], vec![]));
        assert!(cart.priced_discounts().is_empty());
    }

    #[test]
    fn lines_added_after_the_quote_was_asked_for_are_kept() {
        let mut cart = Cart::default();
        cart.add(item(1, 500), 1);
        cart.add(item(9, 500), 1);
        let quote = quote_for(vec![priced(1, 500, 1)], vec![]);
        cart.apply_quote(&quote);
        assert_eq!(cart.lines.len(), 2);
    }

    #[test]
    fn a_stored_cart_is_repaired_on_load() {
        let stored = r#"{"lines":[
            {"variant_id":1,"product_slug":"a","title":"A","variant_title":"","unit_price":{"amount":100,"currency":"EUR"},"image_url":null,"quantity":2},
            {"variant_id":1,"product_slug":"a","title":"A","variant_title":"","unit_price":{"amount":100,"currency":"EUR"},"image_url":null,"quantity":3},
            {"variant_id":2,"product_slug":"b","title":"B","variant_title":"","unit_price":{"amount":100,"currency":"EUR"},"image_url":null,"quantity":0}
        ]}"#;
        let cart = serde_json::from_str::<Cart>(stored).unwrap().normalised();
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(cart.item_count(), 5);
    }
}
