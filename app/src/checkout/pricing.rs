//! How the shop prices a cart: shipping zones and rates, tax rates, and the rounding rule.
//! Plain Rust over integer minor units, shared by quotes and checkout, so both agree to the cent.
//!
//! The rounding rule, stated once: tax is computed **per line** on the line total (unit price ×
//! quantity) and on shipping, each rounded half away from zero to the currency's minor unit, and
//! the order's tax is the sum of those. With tax-inclusive prices the tax is the part contained
//! in the gross price (`gross × rate / (1 + rate)`); otherwise it is added on top (`net × rate`).

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};

/// A tax rate in basis points: 1900 is 19 %.
pub type RateBp = u32;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    pub country: String,
    /// Empty for the whole country; a region code (a US state) wins over the country's rate.
    pub region: String,
    pub name: String,
    pub rate_bp: RateBp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRate {
    pub code: String,
    pub name: String,
    pub price: i64,
    /// Free when the goods (subtotal) reach this amount.
    pub free_above: Option<i64>,
    pub min_days: u32,
    pub max_days: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingZone {
    pub name: String,
    /// ISO country codes, or `*` for every country no other zone names.
    pub countries: Vec<String>,
    pub rates: Vec<ShippingRate>,
}

/// A way to ship this cart to this address, priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShippingOption {
    pub code: String,
    pub name: String,
    pub price: Money,
    pub min_days: u32,
    pub max_days: u32,
}

/// The shop's pricing configuration, loaded from the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopRules {
    /// What the shop calls itself: the header, the page titles.
    pub shop_name: String,
    pub currency: Currency,
    pub prices_include_tax: bool,
    pub reservation_minutes: u32,
    pub zones: Vec<ShippingZone>,
    pub tax_rates: Vec<TaxRate>,
}

impl ShopRules {
    /// The zone naming the country, else the catch-all zone, else none (no shipping there).
    pub fn zone_for(&self, country: &str) -> Option<&ShippingZone> {
        self.zones
            .iter()
            .find(|z| z.countries.iter().any(|c| c == country))
            .or_else(|| {
                self.zones
                    .iter()
                    .find(|z| z.countries.iter().any(|c| c == "*"))
            })
    }

    /// The shipping options for a country, cheapest first.
    pub fn shipping_options(&self, country: &str, subtotal: i64) -> Vec<ShippingOption> {
        let Some(zone) = self.zone_for(country) else {
            return Vec::new();
        };
        let mut options: Vec<ShippingOption> = zone
            .rates
            .iter()
            .map(|rate| {
                let free = rate
                    .free_above
                    .is_some_and(|threshold| subtotal >= threshold);
                ShippingOption {
                    code: rate.code.clone(),
                    name: rate.name.clone(),
                    price: Money::new(if free { 0 } else { rate.price }, self.currency),
                    min_days: rate.min_days,
                    max_days: rate.max_days,
                }
            })
            .collect();
        options.sort_by_key(|o| o.price.amount);
        options
    }

    /// The rate for an address: the region's, else the country's, else none.
    pub fn tax_rate(&self, country: &str, region: &str) -> RateBp {
        let region = region.trim();
        let exact = (!region.is_empty())
            .then(|| {
                self.tax_rates
                    .iter()
                    .find(|r| r.country == country && r.region.eq_ignore_ascii_case(region))
            })
            .flatten();
        exact
            .or_else(|| {
                self.tax_rates
                    .iter()
                    .find(|r| r.country == country && r.region.is_empty())
            })
            .map(|r| r.rate_bp)
            .unwrap_or(0)
    }
}

/// Divides, rounding half away from zero.
fn div_round(numerator: i128, denominator: i128) -> i64 {
    let half = denominator / 2;
    let rounded = if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    };
    rounded as i64
}

/// The tax in an amount, by the rounding rule above.
pub fn tax_of(amount: i64, rate_bp: RateBp, prices_include_tax: bool) -> i64 {
    let (amount, rate) = (amount as i128, rate_bp as i128);
    if prices_include_tax {
        div_round(amount * rate, 10_000 + rate)
    } else {
        div_round(amount * rate, 10_000)
    }
}

/// One line to price: what the database says it costs, how many the shopper takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineAmount {
    pub unit_price: i64,
    pub quantity: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// The goods, as displayed (gross if prices include tax).
    pub subtotal: i64,
    pub shipping: i64,
    pub tax: i64,
    /// What the shopper pays.
    pub total: i64,
    /// Each line's total and tax, in the order given.
    pub lines: Vec<(i64, i64)>,
}

/// Prices lines and shipping at one tax rate. `None` if an amount overflows (absurd input).
pub fn totals(
    lines: &[LineAmount],
    shipping: i64,
    rate_bp: RateBp,
    prices_include_tax: bool,
) -> Option<Totals> {
    let mut subtotal: i64 = 0;
    let mut tax: i64 = 0;
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        let line_total = line.unit_price.checked_mul(line.quantity as i64)?;
        let line_tax = tax_of(line_total, rate_bp, prices_include_tax);
        subtotal = subtotal.checked_add(line_total)?;
        tax = tax.checked_add(line_tax)?;
        priced.push((line_total, line_tax));
    }
    tax = tax.checked_add(tax_of(shipping, rate_bp, prices_include_tax))?;
    let mut total = subtotal.checked_add(shipping)?;
    if !prices_include_tax {
        total = total.checked_add(tax)?;
    }
    Some(Totals {
        subtotal,
        shipping,
        tax,
        total,
        lines: priced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(include: bool) -> ShopRules {
        ShopRules {
            shop_name: "Kassa".into(),
            currency: Currency::EUR,
            prices_include_tax: include,
            reservation_minutes: 15,
            zones: vec![
                ShippingZone {
                    name: "Germany".into(),
                    countries: vec!["DE".into()],
                    rates: vec![
                        ShippingRate {
                            code: "express".into(),
                            name: "Express".into(),
                            price: 990,
                            free_above: None,
                            min_days: 1,
                            max_days: 1,
                        },
                        ShippingRate {
                            code: "standard".into(),
                            name: "Standard".into(),
                            price: 490,
                            free_above: Some(5000),
                            min_days: 1,
                            max_days: 3,
                        },
                    ],
                },
                ShippingZone {
                    name: "World".into(),
                    countries: vec!["*".into()],
                    rates: vec![ShippingRate {
                        code: "world".into(),
                        name: "International".into(),
                        price: 1990,
                        free_above: None,
                        min_days: 5,
                        max_days: 14,
                    }],
                },
            ],
            tax_rates: vec![
                TaxRate {
                    country: "DE".into(),
                    region: "".into(),
                    name: "MwSt.".into(),
                    rate_bp: 1900,
                },
                TaxRate {
                    country: "US".into(),
                    region: "CA".into(),
                    name: "Sales tax".into(),
                    rate_bp: 725,
                },
            ],
        }
    }

    #[test]
    fn a_named_country_wins_over_the_catch_all_zone() {
        let rules = rules(true);
        assert_eq!(rules.zone_for("DE").unwrap().name, "Germany");
        assert_eq!(rules.zone_for("JP").unwrap().name, "World");
    }

    #[test]
    fn no_catch_all_means_no_shipping_to_unknown_countries() {
        let mut rules = rules(true);
        rules.zones.pop();
        assert!(rules.shipping_options("JP", 100).is_empty());
    }

    #[test]
    fn options_come_cheapest_first_and_standard_is_free_above_the_threshold() {
        let rules = rules(true);
        let below = rules.shipping_options("DE", 4999);
        assert_eq!(below[0].code, "standard");
        assert_eq!(below[0].price.amount, 490);
        assert_eq!(below[1].price.amount, 990);
        let above = rules.shipping_options("DE", 5000);
        assert_eq!(above[0].price.amount, 0);
    }

    #[test]
    fn a_region_rate_wins_and_unknown_places_pay_no_tax() {
        let rules = rules(false);
        assert_eq!(rules.tax_rate("US", "ca"), 725);
        assert_eq!(rules.tax_rate("US", "TX"), 0);
        assert_eq!(rules.tax_rate("DE", "BY"), 1900);
        assert_eq!(rules.tax_rate("JP", ""), 0);
    }

    #[test]
    fn included_tax_is_the_part_of_the_gross_price() {
        // 19 % of 119.00 gross is 19.00.
        assert_eq!(tax_of(11900, 1900, true), 1900);
        // 10.00 gross: 1.5966… rounds to 1.60.
        assert_eq!(tax_of(1000, 1900, true), 160);
    }

    #[test]
    fn tax_on_top_rounds_half_away_from_zero() {
        // 0.50 at 7.25 % is 0.03625 → 0.04; 0.10 at 5 % is exactly 0.005 → 0.01.
        assert_eq!(tax_of(50, 725, false), 4);
        assert_eq!(tax_of(10, 500, false), 1);
        assert_eq!(tax_of(-10, 500, false), -1);
    }

    #[test]
    fn totals_add_up_with_included_tax() {
        let lines = [
            LineAmount {
                unit_price: 2500,
                quantity: 2,
            },
            LineAmount {
                unit_price: 999,
                quantity: 1,
            },
        ];
        let t = totals(&lines, 490, 1900, true).unwrap();
        assert_eq!(t.subtotal, 5999);
        assert_eq!(t.total, 5999 + 490);
        // Per line: 5000 → 798.3 → 798; 999 → 159.5 → 160; shipping 490 → 78.2 → 78.
        assert_eq!(t.lines, vec![(5000, 798), (999, 160)]);
        assert_eq!(t.tax, 798 + 160 + 78);
    }

    #[test]
    fn totals_add_tax_on_top_when_prices_exclude_it() {
        let lines = [LineAmount {
            unit_price: 1000,
            quantity: 3,
        }];
        let t = totals(&lines, 500, 725, false).unwrap();
        assert_eq!(t.tax, 218 + 36);
        assert_eq!(t.total, 3000 + 500 + 254);
    }

    #[test]
    fn absurd_amounts_are_refused_not_wrapped() {
        let lines = [LineAmount {
            unit_price: i64::MAX / 2,
            quantity: 3,
        }];
        assert!(totals(&lines, 0, 1900, true).is_none());
    }
}
