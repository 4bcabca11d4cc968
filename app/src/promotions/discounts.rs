//! The discount rules, as plain Rust over integer minor units: which discounts apply to a cart,
//! in which order, how much each takes off which line, and what tax is left. Quotes and
//! checkout both call [`apply`], so what the shopper is shown is what they pay.
//!
//! The rules, stated once:
//! - **Classes.** A discount is a *product* discount (a percentage or a fixed amount off chosen
//!   products or collections; buy X get Y), an *order* discount (a percentage or a fixed amount
//!   off the goods) or a *shipping* discount (free shipping, maybe only to some countries or up
//!   to a rate).
//! - **Order of application.** Product discounts first, each on what the line costs after the
//!   ones before; then order discounts on what remains; then shipping. Within a class, codes in
//!   the order entered, then automatic discounts.
//! - **Combining.** Each discount names the classes it combines with. Two discounts apply
//!   together only if each combines with the other's class (two product discounts: each must
//!   combine with `product`). Entered codes come first; an entered code that does not combine
//!   with one before it is refused with a reason. Automatic discounts are then taken best first
//!   (by what each alone would save the shopper), each only if it combines with all taken.
//! - **Exactness.** An order discount is spread over the lines in proportion to what each still
//!   costs, by largest remainder, so the shares add up to the discount exactly. No line, no
//!   shipping and no total goes below zero. Tax is computed per line on the discounted line
//!   total (and on the discounted shipping) by [`pricing::tax_of`]'s rounding rule, whether
//!   prices include tax or not.
//! - **Buy X get Y.** Each use takes the `get` quantity of the cheapest eligible units and the
//!   `buy` quantity of other eligible units, never a unit twice; at most `max_uses` per order.

use serde::{Deserialize, Serialize};

use crate::checkout::pricing::{self, RateBp};
use crate::money::{Currency, Money};

/// Which part of an order a discount takes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Product,
    Order,
    Shipping,
}

/// The classes a discount combines with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combines {
    pub product: bool,
    pub order: bool,
    pub shipping: bool,
}

impl Combines {
    pub fn with(self, class: Class) -> bool {
        match class {
            Class::Product => self.product,
            Class::Order => self.order,
            Class::Shipping => self.shipping,
        }
    }
}

/// Which lines a discount (or one side of buy X get Y) is about: any of these products or any
/// product in these collections; everything when both are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub products: Vec<i64>,
    pub collections: Vec<i64>,
}

impl Selection {
    pub fn is_everything(&self) -> bool {
        self.products.is_empty() && self.collections.is_empty()
    }

    pub fn takes(&self, line: &Line) -> bool {
        self.is_everything()
            || self.products.contains(&line.product_id)
            || line
                .collections
                .iter()
                .any(|c| self.collections.contains(c))
    }
}

/// What a discount does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// `percent_bp` (basis points: 1000 is 10 %) off the chosen lines.
    ProductPercent { percent_bp: u32, on: Selection },
    /// `amount` off each chosen unit (never more than the unit costs).
    ProductAmount { amount: i64, on: Selection },
    /// `percent_bp` off the goods.
    OrderPercent { percent_bp: u32 },
    /// `amount` off the goods (never more than they cost).
    OrderAmount { amount: i64 },
    /// Shipping free, only to these countries (all when empty), only for rates up to
    /// `max_rate` (any when `None`).
    FreeShipping {
        countries: Vec<String>,
        max_rate: Option<i64>,
    },
    /// Buy `buy_quantity` of `buy`, get `get_quantity` of `get` at `percent_bp` off (10000:
    /// free), at most `max_uses` times per order.
    BuyXGetY {
        buy: Selection,
        buy_quantity: u32,
        get: Selection,
        get_quantity: u32,
        percent_bp: u32,
        max_uses: Option<u32>,
    },
}

impl Kind {
    /// The kind as the admin API names it.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::ProductPercent { .. } | Kind::OrderPercent { .. } => "percentage",
            Kind::ProductAmount { .. } | Kind::OrderAmount { .. } => "fixed_amount",
            Kind::FreeShipping { .. } => "free_shipping",
            Kind::BuyXGetY { .. } => "buy_x_get_y",
        }
    }

    /// Whether deciding on it needs the cart's products' collections.
    pub fn mentions_collections(&self) -> bool {
        self.selections()
            .iter()
            .any(|selection| !selection.collections.is_empty())
    }

    /// The products and collections it is about (none for order and shipping discounts).
    pub fn selections(&self) -> Vec<&Selection> {
        match self {
            Kind::ProductPercent { on, .. } | Kind::ProductAmount { on, .. } => vec![on],
            Kind::BuyXGetY { buy, get, .. } => vec![buy, get],
            _ => Vec::new(),
        }
    }

    pub fn class(&self) -> Class {
        match self {
            Kind::ProductPercent { .. } | Kind::ProductAmount { .. } | Kind::BuyXGetY { .. } => {
                Class::Product
            }
            Kind::OrderPercent { .. } | Kind::OrderAmount { .. } => Class::Order,
            Kind::FreeShipping { .. } => Class::Shipping,
        }
    }
}

/// A discount as the engine needs it; whether it may be used at all (dates, usage limits,
/// the customer's history) is decided before, by [`check`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub id: i64,
    pub title: String,
    /// `None`: automatic.
    pub code: Option<String>,
    pub kind: Kind,
    pub combines: Combines,
    /// The goods (before discounts) must cost at least this much.
    pub minimum_subtotal: Option<i64>,
    /// At least this many units in the cart.
    pub minimum_quantity: Option<u32>,
}

/// A line of the cart, priced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub variant_id: i64,
    pub product_id: i64,
    pub collections: Vec<i64>,
    pub unit_price: i64,
    pub quantity: u32,
}

impl Line {
    fn total(&self) -> i64 {
        self.unit_price.saturating_mul(i64::from(self.quantity))
    }
}

/// The cart the discounts apply to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart {
    pub lines: Vec<Line>,
    /// The chosen shipping rate's price (0 before one is chosen).
    pub shipping: i64,
    /// Where it ships (ISO code; empty before an address is known).
    pub country: String,
    pub rate_bp: RateBp,
    pub prices_include_tax: bool,
    pub currency: Currency,
}

/// Why a code does not apply, in the shopper's words (each its own message).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    #[error("This code does not exist.")]
    Unknown,
    #[error("This code has expired.")]
    Expired,
    #[error("This code is not valid yet.")]
    NotYet,
    #[error("This code has been used up.")]
    UsedUp,
    #[error("This code is for orders of at least {0}.")]
    MinimumSubtotal(String),
    #[error("This code needs at least {0} items in the cart.")]
    MinimumQuantity(u32),
    #[error("This code is not for the products in your cart.")]
    NotForTheseProducts,
    #[error("You have already used this code.")]
    AlreadyUsed,
    #[error("This code is for a first order only.")]
    FirstOrderOnly,
    #[error("This code cannot be combined with {0}.")]
    DoesNotCombine(String),
    #[error("This code was already entered.")]
    Repeated,
}

/// What one discount took, and from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub discount_id: i64,
    pub title: String,
    pub code: Option<String>,
    /// From each line, in the cart's order.
    pub lines: Vec<i64>,
    pub shipping: i64,
}

impl Applied {
    pub fn amount(&self) -> i64 {
        self.lines.iter().sum::<i64>() + self.shipping
    }
}

/// The cart's totals after discounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub applied: Vec<Applied>,
    /// Codes that did not apply, by their place among those entered.
    pub refused: Vec<(usize, Refusal)>,
    /// The goods before discounts.
    pub subtotal: i64,
    /// Each line's total, discount and tax (on the discounted total).
    pub lines: Vec<LineOutcome>,
    pub shipping: i64,
    pub shipping_discount: i64,
    pub discount_total: i64,
    pub tax: i64,
    pub total: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineOutcome {
    pub total: i64,
    pub discount: i64,
    pub tax: i64,
}

/// Whether `discount`'s own conditions hold for the cart (dates, limits and the customer are
/// [`check`]'s).
fn conditions_hold(discount: &Discount, cart: &Cart) -> Result<(), Refusal> {
    let subtotal: i64 = cart.lines.iter().map(Line::total).sum();
    let units: u32 = cart.lines.iter().map(|l| l.quantity).sum();
    if let Some(minimum) = discount.minimum_subtotal {
        if subtotal < minimum {
            return Err(Refusal::MinimumSubtotal(
                Money::new(minimum, cart.currency).to_string(),
            ));
        }
    }
    if let Some(minimum) = discount.minimum_quantity {
        if units < minimum {
            return Err(Refusal::MinimumQuantity(minimum));
        }
    }
    Ok(())
}

/// Divides, rounding half away from zero (amounts here are never negative).
fn share(amount: i64, numerator: i64, denominator: i64) -> i64 {
    if denominator == 0 {
        return 0;
    }
    let (a, n, d) = (amount as i128, numerator as i128, denominator as i128);
    ((a * n * 2 + d) / (d * 2)) as i64
}

/// Spreads `amount` over `weights` in proportion, by largest remainder: the parts add up to
/// `amount` exactly and none exceeds its weight (when `amount` does not exceed their sum).
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| *w as i128).sum();
    if total <= 0 || amount <= 0 {
        return vec![0; weights.len()];
    }
    let amount = (amount as i128).min(total);
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, weight) in weights.iter().enumerate() {
        let exact = amount * (*weight as i128);
        parts.push((exact / total) as i64);
        remainders.push((exact % total, i));
    }
    let mut left = amount as i64 - parts.iter().sum::<i64>();
    // Largest remainder first; ties to the earlier line, so the result is deterministic.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        if parts[i] < weights[i] {
            parts[i] += 1;
            left -= 1;
        }
    }
    parts
}

/// What `discount` takes from each line and from shipping, given what each line still costs.
fn take(
    discount: &Discount,
    cart: &Cart,
    remaining: &[i64],
    shipping_left: i64,
) -> (Vec<i64>, i64) {
    let none = vec![0; cart.lines.len()];
    match &discount.kind {
        Kind::ProductPercent { percent_bp, on } => {
            let lines = cart
                .lines
                .iter()
                .zip(remaining)
                .map(|(line, left)| {
                    if on.takes(line) {
                        share(*left, i64::from((*percent_bp).min(10_000)), 10_000).min(*left)
                    } else {
                        0
                    }
                })
                .collect();
            (lines, 0)
        }
        Kind::ProductAmount { amount, on } => {
            let lines = cart
                .lines
                .iter()
                .zip(remaining)
                .map(|(line, left)| {
                    if on.takes(line) {
                        amount
                            .max(&0)
                            .saturating_mul(i64::from(line.quantity))
                            .min(*left)
                    } else {
                        0
                    }
                })
                .collect();
            (lines, 0)
        }
        Kind::OrderPercent { percent_bp } => {
            let goods: i64 = remaining.iter().sum();
            let amount = share(goods, i64::from((*percent_bp).min(10_000)), 10_000);
            (allocate(amount, remaining), 0)
        }
        Kind::OrderAmount { amount } => ((allocate((*amount).max(0), remaining)), 0),
        Kind::FreeShipping {
            countries,
            max_rate,
        } => {
            let country_ok = countries.is_empty()
                || countries
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&cart.country));
            let rate_ok = max_rate.is_none_or(|max| cart.shipping <= max);
            (
                none,
                if country_ok && rate_ok {
                    shipping_left
                } else {
                    0
                },
            )
        }
        Kind::BuyXGetY {
            buy,
            buy_quantity,
            get,
            get_quantity,
            percent_bp,
            max_uses,
        } => (
            buy_x_get_y(
                cart,
                remaining,
                (buy, *buy_quantity),
                (get, *get_quantity),
                *percent_bp,
                *max_uses,
            ),
            0,
        ),
    }
}

/// Buy X get Y over single units: each use takes the cheapest `get` units and other `buy`
/// units, never one unit twice. The discount of each line is capped at what it still costs.
fn buy_x_get_y(
    cart: &Cart,
    remaining: &[i64],
    (buy, buy_quantity): (&Selection, u32),
    (get, get_quantity): (&Selection, u32),
    percent_bp: u32,
    max_uses: Option<u32>,
) -> Vec<i64> {
    let mut taken = vec![0i64; cart.lines.len()];
    if buy_quantity == 0 || get_quantity == 0 {
        return taken;
    }
    // Units still free to use, per line; the price of a unit is what the line still costs
    // per unit (earlier product discounts included).
    let mut free: Vec<u32> = cart.lines.iter().map(|l| l.quantity).collect();
    let unit_left = |i: usize| remaining[i] / i64::from(cart.lines[i].quantity.max(1));
    let mut get_order: Vec<usize> = (0..cart.lines.len())
        .filter(|&i| get.takes(&cart.lines[i]))
        .collect();
    get_order.sort_by_key(|&i| (unit_left(i), i));
    let mut buy_order: Vec<usize> = (0..cart.lines.len())
        .filter(|&i| buy.takes(&cart.lines[i]))
        .collect();
    // The dearest units pay for the offer, leaving the cheap ones to be discounted.
    buy_order.sort_by_key(|&i| (std::cmp::Reverse(unit_left(i)), i));
    let limit = max_uses.unwrap_or(u32::MAX);
    let mut uses = 0;
    let mut discounted_units = vec![0u32; cart.lines.len()];
    while uses < limit {
        // Tentatively take the get units, then see whether enough buy units remain.
        let mut trial = free.clone();
        let mut got = Vec::new();
        let mut need = get_quantity;
        for &i in &get_order {
            while need > 0 && trial[i] > 0 {
                trial[i] -= 1;
                got.push(i);
                need -= 1;
            }
        }
        if need > 0 {
            break;
        }
        let mut need = buy_quantity;
        for &i in &buy_order {
            while need > 0 && trial[i] > 0 {
                trial[i] -= 1;
                need -= 1;
            }
        }
        if need > 0 {
            break;
        }
        free = trial;
        for i in got {
            discounted_units[i] += 1;
        }
        uses += 1;
    }
    for (i, units) in discounted_units.iter().enumerate() {
        let value = unit_left(i).saturating_mul(i64::from(*units));
        taken[i] = share(value, i64::from(percent_bp.min(10_000)), 10_000).min(remaining[i]);
    }
    taken
}

/// Whether two discounts may apply together.
fn compatible(a: &Discount, b: &Discount) -> bool {
    a.combines.with(b.kind.class()) && b.combines.with(a.kind.class())
}

/// What `discount` alone would save on the cart.
fn value_alone(discount: &Discount, cart: &Cart) -> i64 {
    let remaining: Vec<i64> = cart.lines.iter().map(Line::total).collect();
    let (lines, shipping) = take(discount, cart, &remaining, cart.shipping);
    lines.iter().sum::<i64>() + shipping
}

/// Applies the entered `codes` (already looked up and [`check`]ed: `Err` says why one cannot
/// be used) and the `automatic` discounts whose conditions hold, by the rules above.
pub fn apply(cart: &Cart, codes: &[Result<Discount, Refusal>], automatic: &[Discount]) -> Outcome {
    let mut refused = Vec::new();
    let mut chosen: Vec<Discount> = Vec::new();
    for (place, code) in codes.iter().enumerate() {
        let discount = match code {
            Ok(discount) => discount,
            Err(refusal) => {
                refused.push((place, refusal.clone()));
                continue;
            }
        };
        if chosen.iter().any(|c| c.id == discount.id) {
            refused.push((place, Refusal::Repeated));
            continue;
        }
        if let Err(refusal) = conditions_hold(discount, cart) {
            refused.push((place, refusal));
            continue;
        }
        if value_alone(discount, cart) == 0 && discount.kind.class() != Class::Shipping {
            refused.push((place, Refusal::NotForTheseProducts));
            continue;
        }
        if let Some(other) = chosen.iter().find(|c| !compatible(c, discount)) {
            refused.push((place, Refusal::DoesNotCombine(other.title.clone())));
            continue;
        }
        chosen.push(discount.clone());
    }
    let mut candidates: Vec<(&Discount, i64)> = automatic
        .iter()
        .filter(|d| conditions_hold(d, cart).is_ok())
        .map(|d| (d, value_alone(d, cart)))
        .filter(|(_, value)| *value > 0)
        .collect();
    // Best for the shopper first; ties to the older discount.
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    for (discount, _) in candidates {
        if chosen.iter().all(|c| compatible(c, discount)) {
            chosen.push(discount.clone());
        }
    }
    // Product, then order, then shipping; within a class, as chosen (codes first).
    chosen.sort_by_key(|d| d.kind.class());

    let mut remaining: Vec<i64> = cart.lines.iter().map(Line::total).collect();
    let mut shipping_left = cart.shipping.max(0);
    let mut applied = Vec::new();
    for discount in &chosen {
        let (lines, shipping) = take(discount, cart, &remaining, shipping_left);
        for (left, took) in remaining.iter_mut().zip(&lines) {
            *left -= took;
        }
        shipping_left -= shipping;
        if lines.iter().any(|l| *l > 0) || shipping > 0 {
            applied.push(Applied {
                discount_id: discount.id,
                title: discount.title.clone(),
                code: discount.code.clone(),
                lines,
                shipping,
            });
        }
    }

    let subtotal: i64 = cart.lines.iter().map(Line::total).sum();
    let lines: Vec<LineOutcome> = cart
        .lines
        .iter()
        .zip(&remaining)
        .map(|(line, left)| LineOutcome {
            total: line.total(),
            discount: line.total() - left,
            tax: pricing::tax_of(*left, cart.rate_bp, cart.prices_include_tax),
        })
        .collect();
    let shipping_discount = cart.shipping.max(0) - shipping_left;
    let tax = lines.iter().map(|l| l.tax).sum::<i64>()
        + pricing::tax_of(shipping_left, cart.rate_bp, cart.prices_include_tax);
    let discount_total = applied.iter().map(Applied::amount).sum();
    let mut total = remaining.iter().sum::<i64>() + shipping_left;
    if !cart.prices_include_tax {
        total += tax;
    }
    Outcome {
        applied,
        refused,
        subtotal,
        lines,
        shipping: cart.shipping,
        shipping_discount,
        discount_total,
        tax,
        total,
    }
}

/// What decides whether a discount may be used now by this shopper, beyond the cart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Unix seconds.
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub active: bool,
    pub usage_limit: Option<u32>,
    pub times_used: u32,
    pub once_per_customer: bool,
    /// This customer (or, for a guest, this email) has used it before.
    pub used_by_customer: bool,
    pub first_order_only: bool,
    /// This customer (or email) has ordered before.
    pub has_ordered: bool,
}

/// Where a discount stands at `now`, as staff read it: `inactive` (turned off), `scheduled`,
/// `expired`, `used_up` or `active`.
pub fn status(usage: &Usage, now: i64) -> &'static str {
    match check(usage, now) {
        Err(Refusal::Unknown) => "inactive",
        Err(Refusal::NotYet) => "scheduled",
        Err(Refusal::Expired) => "expired",
        Err(Refusal::UsedUp) => "used_up",
        _ => "active",
    }
}

/// Whether a discount may be used at `now` by this shopper; the first reason it may not.
pub fn check(usage: &Usage, now: i64) -> Result<(), Refusal> {
    if !usage.active {
        return Err(Refusal::Unknown);
    }
    if usage.starts_at.is_some_and(|at| now < at) {
        return Err(Refusal::NotYet);
    }
    if usage.ends_at.is_some_and(|at| now >= at) {
        return Err(Refusal::Expired);
    }
    if usage
        .usage_limit
        .is_some_and(|limit| usage.times_used >= limit)
    {
        return Err(Refusal::UsedUp);
    }
    if usage.once_per_customer && usage.used_by_customer {
        return Err(Refusal::AlreadyUsed);
    }
    if usage.first_order_only && usage.has_ordered {
        return Err(Refusal::FirstOrderOnly);
    }
    Ok(())
}

/// A discount as the shop stores it: what it does, and what decides whether it may be used.
/// The customer's part of [`Usage`] (`used_by_customer`, `has_ordered`) is filled in by
/// [`choose`] from the shopper's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub discount: Discount,
    pub usage: Usage,
}

impl Offer {
    /// Whether deciding on it needs the shopper's history.
    pub fn asks_about_customer(&self) -> bool {
        self.usage.once_per_customer || self.usage.first_order_only
    }
}

/// What the shop knows of the shopper's past, for once-per-customer and first-order discounts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Discounts this customer (or email) holds a use of.
    pub used: Vec<i64>,
    pub has_ordered: bool,
}

/// The entered `codes` (each found among `found` by its key, or refused as unknown) and the
/// `automatic` offers that may be used at `now` by a shopper with `history`: what [`apply`]
/// takes.
pub fn choose(
    codes: &[String],
    found: &[Offer],
    automatic: &[Offer],
    history: &History,
    now: i64,
) -> (Vec<Result<Discount, Refusal>>, Vec<Discount>) {
    let usable = |offer: &Offer| {
        let usage = Usage {
            used_by_customer: history.used.contains(&offer.discount.id),
            has_ordered: history.has_ordered,
            ..offer.usage.clone()
        };
        check(&usage, now)
    };
    let entered = codes
        .iter()
        .map(|code| {
            let key = super::code_key(code);
            let offer = found
                .iter()
                .find(|o| o.discount.code.as_deref().map(super::code_key) == Some(key.clone()))
                .ok_or(Refusal::Unknown)?;
            usable(offer)?;
            Ok(offer.discount.clone())
        })
        .collect();
    let automatic = automatic
        .iter()
        .filter(|o| o.discount.code.is_none() && usable(o).is_ok())
        .map(|o| o.discount.clone())
        .collect();
    (entered, automatic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(variant_id: i64, product_id: i64, unit_price: i64, quantity: u32) -> Line {
        Line {
            variant_id,
            product_id,
            collections: vec![product_id % 3],
            unit_price,
            quantity,
        }
    }

    fn cart(lines: Vec<Line>, shipping: i64) -> Cart {
        Cart {
            lines,
            shipping,
            country: "DE".into(),
            rate_bp: 1900,
            prices_include_tax: true,
            currency: Currency::EUR,
        }
    }

    fn everything() -> Combines {
        Combines {
            product: true,
            order: true,
            shipping: true,
        }
    }

    fn discount(id: i64, kind: Kind) -> Discount {
        Discount {
            id,
            title: format!("Discount {id}"),
            code: None,
            kind,
            combines: everything(),
            minimum_subtotal: None,
            minimum_quantity: None,
        }
    }

    #[test]
    fn an_order_discount_is_spread_by_largest_remainder_and_adds_up() {
        // 10 off three lines of 1/3 each: 3.34 + 3.33 + 3.33.
        assert_eq!(allocate(1000, &[3000, 3000, 3000]), vec![334, 333, 333]);
        assert_eq!(allocate(1, &[1, 1_000_000]), vec![0, 1]);
        assert_eq!(
            allocate(500, &[100, 200]),
            vec![100, 200],
            "never more than a line"
        );
        assert_eq!(allocate(0, &[5, 5]), vec![0, 0]);
    }

    #[test]
    fn product_discounts_come_before_order_discounts_on_what_remains() {
        let cart = cart(vec![line(1, 10, 10_000, 1), line(2, 20, 5_000, 1)], 490);
        let product = discount(
            1,
            Kind::ProductPercent {
                percent_bp: 2_000,
                on: Selection {
                    products: vec![10],
                    collections: vec![],
                },
            },
        );
        let order = discount(2, Kind::OrderPercent { percent_bp: 1_000 });
        // Order discount listed first: it still applies second.
        let outcome = apply(&cart, &[Ok(order), Ok(product)], &[]);
        assert_eq!(outcome.applied[0].discount_id, 1);
        assert_eq!(outcome.applied[0].lines, vec![2_000, 0]);
        // 10 % of (8,000 + 5,000) = 1,300, spread 800 / 500.
        assert_eq!(outcome.applied[1].lines, vec![800, 500]);
        assert_eq!(outcome.discount_total, 3_300);
        assert_eq!(outcome.total, 15_000 - 3_300 + 490);
    }

    #[test]
    fn discounts_that_do_not_combine_say_so_and_the_best_automatic_one_wins() {
        let cart = cart(vec![line(1, 10, 10_000, 1)], 0);
        let mut ten = discount(1, Kind::OrderPercent { percent_bp: 1_000 });
        ten.combines = Combines::default();
        let mut fifteen = discount(2, Kind::OrderAmount { amount: 1_500 });
        fifteen.combines = Combines::default();
        let outcome = apply(&cart, &[], &[ten.clone(), fifteen.clone()]);
        assert_eq!(outcome.applied.len(), 1);
        assert_eq!(outcome.applied[0].discount_id, 2, "15.00 beats 10 %");
        let mut code = ten;
        code.code = Some("TEN".into());
        let outcome = apply(&cart, &[Ok(fifteen.clone()), Ok(code)], &[]);
        assert_eq!(
            outcome.refused,
            vec![(1, Refusal::DoesNotCombine("Discount 2".into()))]
        );
    }

    #[test]
    fn buy_two_get_one_free_takes_the_cheapest_and_never_a_unit_twice() {
        let everyone = Selection::default();
        let offer = discount(
            1,
            Kind::BuyXGetY {
                buy: everyone.clone(),
                buy_quantity: 2,
                get: everyone,
                get_quantity: 1,
                percent_bp: 10_000,
                max_uses: None,
            },
        );
        // Five units: one use (three units), the cheapest free; two units left are not enough.
        let cart = cart(vec![line(1, 10, 3_000, 3), line(2, 20, 1_000, 2)], 0);
        let outcome = apply(&cart, &[], std::slice::from_ref(&offer));
        assert_eq!(outcome.applied[0].lines, vec![0, 1_000]);
        // Six units: two uses, the two cheapest free.
        let cart = self::cart(vec![line(1, 10, 3_000, 3), line(2, 20, 1_000, 3)], 0);
        let outcome = apply(&cart, &[], &[offer]);
        assert_eq!(outcome.applied[0].lines, vec![0, 2_000]);
    }

    #[test]
    fn free_shipping_only_where_and_up_to_what_it_says() {
        let mut cart = cart(vec![line(1, 10, 1_000, 1)], 490);
        let free = discount(
            1,
            Kind::FreeShipping {
                countries: vec!["DE".into()],
                max_rate: Some(500),
            },
        );
        assert_eq!(
            apply(&cart, &[], std::slice::from_ref(&free)).shipping_discount,
            490
        );
        cart.country = "FR".into();
        assert_eq!(
            apply(&cart, &[], std::slice::from_ref(&free)).shipping_discount,
            0
        );
        cart.country = "DE".into();
        cart.shipping = 990;
        assert_eq!(apply(&cart, &[], &[free]).shipping_discount, 0);
    }

    #[test]
    fn each_reason_a_code_cannot_be_used_is_its_own() {
        let now = 1_000;
        let usage = Usage {
            active: true,
            ..Usage::default()
        };
        assert_eq!(check(&usage, now), Ok(()));
        let cases = [
            (
                Usage {
                    active: false,
                    ..usage.clone()
                },
                Refusal::Unknown,
            ),
            (
                Usage {
                    starts_at: Some(2_000),
                    ..usage.clone()
                },
                Refusal::NotYet,
            ),
            (
                Usage {
                    ends_at: Some(1_000),
                    ..usage.clone()
                },
                Refusal::Expired,
            ),
            (
                Usage {
                    usage_limit: Some(10),
                    times_used: 10,
                    ..usage.clone()
                },
                Refusal::UsedUp,
            ),
            (
                Usage {
                    once_per_customer: true,
                    used_by_customer: true,
                    ..usage.clone()
                },
                Refusal::AlreadyUsed,
            ),
            (
                Usage {
                    first_order_only: true,
                    has_ordered: true,
                    ..usage.clone()
                },
                Refusal::FirstOrderOnly,
            ),
        ];
        for (usage, refusal) in cases {
            assert_eq!(check(&usage, now), Err(refusal));
        }
        let cart = cart(vec![line(1, 10, 1_000, 1)], 0);
        let mut minimum = discount(1, Kind::OrderPercent { percent_bp: 1_000 });
        minimum.minimum_subtotal = Some(5_000);
        let outcome = apply(&cart, &[Ok(minimum)], &[]);
        assert_eq!(
            outcome.refused,
            vec![(
                0,
                Refusal::MinimumSubtotal(Money::new(5_000, Currency::EUR).to_string())
            )]
        );
        let other = discount(
            2,
            Kind::ProductPercent {
                percent_bp: 1_000,
                on: Selection {
                    products: vec![99],
                    collections: vec![],
                },
            },
        );
        let outcome = apply(&cart, &[Ok(other)], &[]);
        assert_eq!(outcome.refused, vec![(0, Refusal::NotForTheseProducts)]);
    }

    fn kinds() -> impl Strategy<Value = Kind> {
        let selection = (
            prop::collection::vec(1i64..6, 0..3),
            prop::collection::vec(0i64..3, 0..2),
        )
            .prop_map(|(products, collections)| Selection {
                products,
                collections,
            });
        prop_oneof![
            (0u32..=10_000, selection.clone())
                .prop_map(|(percent_bp, on)| Kind::ProductPercent { percent_bp, on }),
            (0i64..5_000, selection.clone())
                .prop_map(|(amount, on)| Kind::ProductAmount { amount, on }),
            (0u32..=10_000).prop_map(|percent_bp| Kind::OrderPercent { percent_bp }),
            (0i64..50_000).prop_map(|amount| Kind::OrderAmount { amount }),
            (prop::option::of(0i64..1_000)).prop_map(|max_rate| Kind::FreeShipping {
                countries: vec![],
                max_rate
            }),
            (
                selection.clone(),
                1u32..4,
                selection,
                1u32..3,
                0u32..=10_000,
                prop::option::of(1u32..4)
            )
                .prop_map(
                    |(buy, buy_quantity, get, get_quantity, percent_bp, max_uses)| {
                        Kind::BuyXGetY {
                            buy,
                            buy_quantity,
                            get,
                            get_quantity,
                            percent_bp,
                            max_uses,
                        }
                    }
                ),
        ]
    }

    fn discounts() -> impl Strategy<Value = Vec<Discount>> {
        prop::collection::vec((kinds(), any::<(bool, bool, bool)>()), 0..6).prop_map(|items| {
            items
                .into_iter()
                .enumerate()
                .map(|(i, (kind, (product, order, shipping)))| Discount {
                    combines: Combines {
                        product,
                        order,
                        shipping,
                    },
                    ..discount(i as i64 + 1, kind)
                })
                .collect()
        })
    }

    fn carts() -> impl Strategy<Value = Cart> {
        (
            prop::collection::vec((1i64..6, 1i64..100_000, 1u32..6), 1..8),
            0i64..2_000,
            prop_oneof![Just(0u32), Just(700), Just(1_900), Just(2_500)],
            any::<bool>(),
            // Amounts are minor units whatever the currency's decimals: 0 (yen), 2, 3 (dinar).
            prop_oneof![Just("JPY"), Just("EUR"), Just("KWD")],
        )
            .prop_map(
                |(lines, shipping, rate_bp, prices_include_tax, currency)| Cart {
                    lines: lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, (product, price, quantity))| {
                            line(i as i64, product, price, quantity)
                        })
                        .collect(),
                    shipping,
                    country: "DE".into(),
                    rate_bp,
                    prices_include_tax,
                    currency: Currency::parse(currency).expect("a currency code"),
                },
            )
    }

    proptest! {
        /// Whatever the cart and the discounts: the shares add up, nothing goes below zero,
        /// tax is on the discounted amounts, and discounts that do not combine never apply
        /// together.
        #[test]
        fn the_discount_rules_hold_for_any_cart(cart in carts(), automatic in discounts(), codes in discounts()) {
            let codes: Vec<Result<Discount, Refusal>> = codes
                .into_iter()
                .map(|d| Ok(Discount { id: d.id + 100, code: Some(format!("C{}", d.id)), ..d }))
                .collect();
            let outcome = apply(&cart, &codes, &automatic);
            let mut line_discounts = vec![0i64; cart.lines.len()];
            for applied in &outcome.applied {
                for (sum, took) in line_discounts.iter_mut().zip(&applied.lines) {
                    prop_assert!(*took >= 0);
                    *sum += took;
                }
                prop_assert!(applied.shipping >= 0);
            }
            for ((outcome_line, line), discounted) in outcome.lines.iter().zip(&cart.lines).zip(&line_discounts) {
                prop_assert_eq!(outcome_line.discount, *discounted, "the shares add up per line");
                prop_assert!(outcome_line.discount <= line.total(), "no line below zero");
                let net = outcome_line.total - outcome_line.discount;
                prop_assert_eq!(outcome_line.tax, pricing::tax_of(net, cart.rate_bp, cart.prices_include_tax));
            }
            prop_assert_eq!(
                outcome.discount_total,
                line_discounts.iter().sum::<i64>() + outcome.shipping_discount
            );
            prop_assert!(outcome.shipping_discount <= cart.shipping);
            prop_assert!(outcome.total >= 0);
            let goods: i64 = cart.lines.iter().map(Line::total).sum();
            let expected = goods - line_discounts.iter().sum::<i64>() + cart.shipping - outcome.shipping_discount
                + if cart.prices_include_tax { 0 } else { outcome.tax };
            prop_assert_eq!(outcome.total, expected);
            // Every pair applied together combines both ways.
            let all: Vec<&Discount> = codes.iter().filter_map(|c| c.as_ref().ok()).chain(&automatic).collect();
            for a in &outcome.applied {
                for b in &outcome.applied {
                    if a.discount_id != b.discount_id {
                        let da = all.iter().find(|d| d.id == a.discount_id).unwrap();
                        let db = all.iter().find(|d| d.id == b.discount_id).unwrap();
                        prop_assert!(compatible(da, db));
                    }
                }
            }
        }

        /// An order discount allocated over any lines adds up exactly and never exceeds a line.
        #[test]
        fn allocation_is_exact(amount in 0i64..1_000_000, weights in prop::collection::vec(0i64..100_000, 1..20)) {
            let parts = allocate(amount, &weights);
            let total: i64 = weights.iter().sum();
            prop_assert_eq!(parts.iter().sum::<i64>(), amount.min(total));
            for (part, weight) in parts.iter().zip(&weights) {
                prop_assert!(*part >= 0 && part <= weight);
            }
        }

        /// Buy X get Y with one set for both never discounts more units than the uses allow.
        #[test]
        fn buy_x_get_y_is_never_over_applied(
            quantities in prop::collection::vec(1u32..6, 1..5),
            buy_quantity in 1u32..4,
            get_quantity in 1u32..3,
            max_uses in prop::option::of(1u32..4),
        ) {
            let lines: Vec<Line> = quantities.iter().enumerate().map(|(i, q)| line(i as i64, 1, 1_000, *q)).collect();
            let cart = cart(lines, 0);
            let offer = discount(1, Kind::BuyXGetY {
                buy: Selection::default(), buy_quantity,
                get: Selection::default(), get_quantity,
                percent_bp: 10_000, max_uses,
            });
            let outcome = apply(&cart, &[], &[offer]);
            let units: u32 = quantities.iter().sum();
            let uses = (units / (buy_quantity + get_quantity)).min(max_uses.unwrap_or(u32::MAX));
            prop_assert_eq!(outcome.discount_total, i64::from(uses * get_quantity) * 1_000);
        }
    }

    #[test]
    fn codes_are_found_without_regard_to_case_and_refused_with_their_reason() {
        let mut welcome = discount(1, Kind::OrderPercent { percent_bp: 1_000 });
        welcome.code = Some("Welcome".into());
        let offer = Offer {
            discount: welcome,
            usage: Usage {
                active: true,
                once_per_customer: true,
                ..Usage::default()
            },
        };
        let mut auto = offer.clone();
        auto.discount.id = 2;
        auto.discount.code = None;
        auto.usage.once_per_customer = false;
        auto.usage.ends_at = Some(100);
        let codes = vec!["WELCOME".to_string(), "nope".to_string()];
        let fresh = History::default();
        let (entered, automatic) = choose(
            &codes,
            std::slice::from_ref(&offer),
            std::slice::from_ref(&auto),
            &fresh,
            50,
        );
        assert_eq!(entered[0].as_ref().map(|d| d.id), Ok(1));
        assert_eq!(entered[1], Err(Refusal::Unknown));
        assert_eq!(automatic.len(), 1);
        let used = History {
            used: vec![1],
            has_ordered: true,
        };
        let (entered, automatic) = choose(&codes[..1], &[offer], &[auto], &used, 100);
        assert_eq!(entered[0], Err(Refusal::AlreadyUsed));
        assert!(automatic.is_empty(), "the automatic one ended at 100");
    }
}
