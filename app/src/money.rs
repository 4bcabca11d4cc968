//! Money: integer minor units plus an ISO 4217 currency. No floats anywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code such as `EUR`, always three upper-case ASCII letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("'{0}' is not an ISO 4217 currency code (three letters such as EUR)")]
    BadCurrency(String),
    #[error("cannot combine amounts in {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount is too large")]
    Overflow,
    #[error("'{text}' is not an amount in {currency} such as {example}")]
    BadAmount {
        text: String,
        currency: Currency,
        example: String,
    },
}

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");
    pub const USD: Currency = Currency(*b"USD");

    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(MoneyError::BadCurrency(code.to_string())),
        }
    }

    pub fn code(&self) -> &str {
        // Only ever built from ASCII letters, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (ISO 4217 exponent).
    pub fn minor_digits(&self) -> u32 {
        match self.code() {
            "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XAF" | "XOF" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
            _ => 2,
        }
    }

    fn symbol(&self) -> Option<&'static str> {
        match self.code() {
            "EUR" => Some("€"),
            "USD" => Some("$"),
            "GBP" => Some("£"),
            "JPY" => Some("¥"),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// In the OpenAPI document: a string of three upper-case letters.
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some("ISO 4217 currency code, such as EUR"))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for Currency {}

/// An amount of money in minor units (cents for EUR) of one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

/// The largest amount a price, total or refund may have, in minor units: far beyond any real
/// order, far from where sums of a cart's lines could overflow `i64`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// An amount typed by a person, in the currency's major units with at most its minor
    /// digits: "12", "12.5" and "12.50" are €12.50 apart from the first; "500" in a yen shop is
    /// ¥500, "1.250" Kuwaiti dinar is 1250 fils. Never negative, never above [`MAX_AMOUNT`].
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let digits = currency.minor_digits() as usize;
        let bad = || MoneyError::BadAmount {
            text: text.chars().take(40).collect(),
            currency,
            example: Money::new(1999 * 10i64.pow(digits as u32) / 100, currency).plain_number(),
        };
        let value = text.trim();
        let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 18
            || fraction.len() > digits
            || (value.contains('.') && fraction.is_empty())
            || !plain(whole)
            || !plain(fraction)
        {
            return Err(bad());
        }
        let scale = 10i64.pow(digits as u32);
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let minor: i64 = if digits == 0 {
            0
        } else {
            format!("{fraction:0<digits$}").parse().map_err(|_| bad())?
        };
        let amount = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(minor))
            .filter(|a| *a <= MAX_AMOUNT)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, currency))
    }

    /// The amount as a plain decimal number without symbol ("24.90", "1200", "12.500"): what a
    /// form field shows and [`Money::parse`] reads back.
    pub fn plain_number(&self) -> String {
        let digits = self.currency.minor_digits();
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if digits == 0 {
            format!("{sign}{abs}")
        } else {
            let scale = 10u64.pow(digits);
            format!(
                "{sign}{}.{:0width$}",
                abs / scale,
                abs % scale,
                width = digits as usize
            )
        }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        self.amount
            .checked_add(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(Money::new(
            other.amount.checked_neg().ok_or(MoneyError::Overflow)?,
            other.currency,
        ))
    }

    pub fn times(self, quantity: u32) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(i64::from(quantity))
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn is_negative(&self) -> bool {
        self.amount < 0
    }

    /// What a shopper saves paying `self` instead of the earlier price `was`, and that as a
    /// whole percentage rounded down (a shop must not claim "20 % off" for 19.6 %). `None`
    /// unless `was` is higher, in the same currency.
    pub fn saving_from(self, was: Money) -> Option<(Money, u32)> {
        if was.currency != self.currency || was.amount <= self.amount || self.amount < 0 {
            return None;
        }
        let saved = was.amount - self.amount;
        let percent = (i128::from(saved) * 100 / i128::from(was.amount)) as u32;
        Some((Money::new(saved, self.currency), percent))
    }
}

/// A change of price by a percentage, as staff type it for many products at once: "-10"
/// (ten percent off), "+12.5" or "12,5" (up by 12.5 %). Kept in hundredths of a percent so that
/// no float ever touches a price; from −99.99 % to +1000 %.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PercentChange {
    basis_points: i64,
}

impl PercentChange {
    pub fn parse(text: &str) -> Result<PercentChange, String> {
        let bad = || {
            format!(
                "'{}' is not a percentage such as -10 or 12.5",
                text.chars().take(20).collect::<String>()
            )
        };
        let value = text.trim().trim_end_matches('%').trim().replace(',', ".");
        let (negative, digits) = match value.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, value.strip_prefix('+').unwrap_or(&value)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 5
            || fraction.len() > 2
            || !plain(whole)
            || !plain(fraction)
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
        let size = whole * 100 + fraction;
        let basis_points = if negative { -size } else { size };
        if basis_points == 0 {
            return Err("Enter a change other than 0 %.".into());
        }
        if basis_points <= -10_000 || basis_points > 100_000 {
            return Err("Enter a change between -99.99 % and +1000 %.".into());
        }
        Ok(PercentChange { basis_points })
    }

    /// `amount` changed by this percentage, rounded half away from zero to the currency's minor
    /// unit (€19.99 − 10 % = €17.99, ¥1,999 − 10 % = ¥1,799); `None` beyond [`MAX_AMOUNT`].
    pub fn apply(self, money: Money) -> Option<Money> {
        let scaled = i128::from(money.amount) * i128::from(10_000 + self.basis_points);
        let rounded = (scaled + 5_000) / 10_000;
        i64::try_from(rounded)
            .ok()
            .filter(|a| (0..=MAX_AMOUNT).contains(a))
            .map(|amount| Money::new(amount, money.currency))
    }
}

impl fmt::Display for Money {
    /// `€24.90`, `-$3.00`, `¥1200`, `12.500 KWD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.amount < 0 { "-" } else { "" };
        let number = Money::new(self.amount.saturating_abs(), self.currency).plain_number();
        match self.currency.symbol() {
            Some(symbol) => write!(f, "{sign}{symbol}{number}"),
            None => write!(f, "{sign}{number} {}", self.currency),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percent_change_reads_what_staff_type() {
        let bp = |t: &str| PercentChange::parse(t).map(|p| p.basis_points);
        assert_eq!(bp("-10"), Ok(-1000));
        assert_eq!(bp("+12.5"), Ok(1250));
        assert_eq!(bp("12,5 %"), Ok(1250));
        assert_eq!(bp("0.01"), Ok(1));
        assert_eq!(bp("1000"), Ok(100_000));
        for bad in [
            "", "-", "ten", "1.234", "-100", "1000.01", "0", "1e3", "--5", "5-",
        ] {
            assert!(bp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_percent_change_rounds_to_the_minor_unit() {
        let change = |t: &str| PercentChange::parse(t).unwrap();
        let eur = |a| Money::new(a, Currency::EUR);
        let jpy = |a| Money::new(a, Currency::parse("JPY").unwrap());
        assert_eq!(change("-10").apply(eur(1999)), Some(eur(1799)));
        assert_eq!(change("-10").apply(jpy(1999)), Some(jpy(1799)));
        assert_eq!(change("+10").apply(eur(1995)), Some(eur(2195)));
        assert_eq!(change("-50").apply(eur(1)), Some(eur(1)));
        assert_eq!(change("-99.99").apply(eur(10_000)), Some(eur(1)));
        assert_eq!(change("+1000").apply(eur(MAX_AMOUNT)), None);
        assert_eq!(change("-10").apply(eur(0)), Some(eur(0)));
    }

    #[test]
    fn a_saving_is_the_difference_and_a_percentage_rounded_down() {
        let eur = |a| Money::new(a, Currency::EUR);
        assert_eq!(eur(1600).saving_from(eur(2200)), Some((eur(600), 27)));
        assert_eq!(eur(1960).saving_from(eur(2450)), Some((eur(490), 20)));
        assert_eq!(eur(1).saving_from(eur(1000)), Some((eur(999), 99)));
        assert_eq!(eur(2200).saving_from(eur(2200)), None);
        assert_eq!(eur(2500).saving_from(eur(2200)), None);
        assert_eq!(eur(100).saving_from(Money::new(2200, Currency::USD)), None);
    }

    #[test]
    fn currency_codes_are_three_letters_and_normalised() {
        assert_eq!(Currency::parse("eur").unwrap(), Currency::EUR);
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("E1R").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn formats_with_the_currency_exponent() {
        assert_eq!(Money::new(2490, Currency::EUR).to_string(), "€24.90");
        assert_eq!(Money::new(5, Currency::USD).to_string(), "$0.05");
        assert_eq!(Money::new(-300, Currency::USD).to_string(), "-$3.00");
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::new(1200, yen).to_string(), "¥1200");
        let dinar = Currency::parse("KWD").unwrap();
        assert_eq!(Money::new(12500, dinar).to_string(), "12.500 KWD");
        let franc = Currency::parse("CHF").unwrap();
        assert_eq!(Money::new(1000, franc).to_string(), "10.00 CHF");
    }

    #[test]
    fn typed_amounts_follow_the_currencys_minor_digits() {
        let yen = Currency::parse("JPY").unwrap();
        let dinar = Currency::parse("KWD").unwrap();
        let eur = |text| Money::parse(text, Currency::EUR).map(|m| m.amount);
        assert_eq!(eur("500"), Ok(50000));
        assert_eq!(eur("12.5"), Ok(1250));
        assert_eq!(eur(" 0.99 "), Ok(99));
        assert_eq!(Money::parse("500", yen).unwrap().amount, 500);
        assert!(
            Money::parse("500.5", yen).is_err(),
            "yen have no minor unit"
        );
        assert_eq!(Money::parse("1.25", dinar).unwrap().amount, 1250);
        assert_eq!(Money::parse("1.250", dinar).unwrap().amount, 1250);
        for bad in [
            "", "-1", "1.999", "1.", ".5", "abc", "1e3", "1,50", "٣", "+1",
        ] {
            assert!(eur(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(eur("99999999999999999999").is_err());
        assert!(eur("10000000000000000").is_err(), "above MAX_AMOUNT");
        assert!(eur("9223372036854775807").is_err());
        // What is printed reads back.
        for (amount, currency) in [(2490, Currency::EUR), (1200, yen), (12500, dinar)] {
            let money = Money::new(amount, currency);
            assert_eq!(Money::parse(&money.plain_number(), currency), Ok(money));
        }
    }

    #[test]
    fn adding_different_currencies_is_an_error() {
        let eur = Money::new(100, Currency::EUR);
        let usd = Money::new(100, Currency::USD);
        assert_eq!(
            eur.checked_add(usd),
            Err(MoneyError::CurrencyMismatch(Currency::EUR, Currency::USD))
        );
        assert_eq!(
            eur.checked_add(eur).unwrap(),
            Money::new(200, Currency::EUR)
        );
        assert_eq!(eur.checked_sub(eur).unwrap(), Money::zero(Currency::EUR));
    }

    #[test]
    fn multiplication_by_quantity_detects_overflow() {
        assert_eq!(Money::new(250, Currency::EUR).times(3).unwrap().amount, 750);
        assert_eq!(
            Money::new(i64::MAX / 2, Currency::EUR).times(3),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn serialises_as_amount_and_currency() {
        let json = serde_json::to_string(&Money::new(1999, Currency::EUR)).unwrap();
        assert_eq!(json, r#"{"amount":1999,"currency":"EUR"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Money::new(1999, Currency::EUR));
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"EURO"}"#).is_err());
    }
}
