//! Shipping addresses and email addresses, validated per country with messages a shopper can
//! act on. Plain Rust, run in the browser (instant feedback) and again on the server (the authority).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub line2: String,
    pub city: String,
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub postal_code: String,
    /// State, province or county where the country needs one (US, CA); free text elsewhere.
    #[serde(default, deserialize_with = "crate::input::null_as_default")]
    pub region: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

/// A problem with one field of a form, named as the API names it (`shipping_address.postal_code`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A country the shop can address: its name and postal rules.
pub struct Country {
    pub code: &'static str,
    pub name: &'static str,
    /// Postal code shapes: `9` a digit, `A` a letter, anything else itself. Empty: no postal codes.
    postal_patterns: &'static [&'static str],
    postal_example: &'static str,
    /// Region codes the address must name (US states, Canadian provinces), if any.
    regions: &'static [&'static str],
}

const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR",
];
const CA_PROVINCES: &[&str] = &[
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

macro_rules! country {
    ($code:literal, $name:literal, [$($p:literal),*], $ex:literal) => {
        country!($code, $name, [$($p),*], $ex, &[])
    };
    ($code:literal, $name:literal, [$($p:literal),*], $ex:literal, $regions:expr) => {
        Country { code: $code, name: $name, postal_patterns: &[$($p),*], postal_example: $ex, regions: $regions }
    };
}

/// The countries the checkout offers, by name.
pub const COUNTRIES: &[Country] = &[
    country!("AU", "Australia", ["9999"], "2000"),
    country!("AT", "Austria", ["9999"], "1010"),
    country!("BE", "Belgium", ["9999"], "1000"),
    country!("CA", "Canada", ["A9A 9A9"], "K1A 0B1", CA_PROVINCES),
    country!("DK", "Denmark", ["9999"], "1050"),
    country!("FI", "Finland", ["99999"], "00100"),
    country!("FR", "France", ["99999"], "75001"),
    country!("DE", "Germany", ["99999"], "10115"),
    country!("IE", "Ireland", [], ""),
    country!("IT", "Italy", ["99999"], "00184"),
    country!("JP", "Japan", ["999-9999"], "100-0001"),
    country!("LU", "Luxembourg", ["9999", "L-9999"], "1009"),
    country!("NL", "Netherlands", ["9999 AA"], "1011 AB"),
    country!("PL", "Poland", ["99-999"], "00-001"),
    country!("PT", "Portugal", ["9999-999"], "1000-001"),
    country!("ES", "Spain", ["99999"], "28001"),
    country!("SE", "Sweden", ["999 99"], "111 22"),
    country!("CH", "Switzerland", ["9999"], "8001"),
    country!(
        "GB",
        "United Kingdom",
        ["A9 9AA", "A99 9AA", "AA9 9AA", "AA99 9AA", "A9A 9AA", "AA9A 9AA"],
        "SW1A 1AA"
    ),
    country!(
        "US",
        "United States",
        ["99999", "99999-9999"],
        "94103",
        US_STATES
    ),
];

pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.code == code)
}

/// Upper-cases and collapses runs of spaces, so "sw1a  1aa" reads as "SW1A 1AA".
fn normalise_postal(code: &str) -> String {
    code.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

fn matches_pattern(value: &str, pattern: &str) -> bool {
    value.len() == pattern.len()
        && value.chars().zip(pattern.chars()).all(|(v, p)| match p {
            '9' => v.is_ascii_digit(),
            'A' => v.is_ascii_alphabetic(),
            other => v == other,
        })
}

/// Inserts the space some countries write inside their codes when the shopper left it out
/// ("1011AB" → "1011 AB", "SW1A1AA" → "SW1A 1AA").
fn with_expected_space(value: &str, pattern: &str) -> Option<String> {
    let space = pattern.find(' ')?;
    if value.contains(' ') || value.len() + 1 != pattern.len() {
        return None;
    }
    let mut spaced = value.to_string();
    spaced.insert(space, ' ');
    Some(spaced)
}

fn trimmed(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks an address and returns it tidied (trimmed, codes upper-cased), or every problem at once.
/// `prefix` names the form (`shipping_address`) in the field names.
pub fn validate_address(address: &Address, prefix: &str) -> Result<Address, Vec<FieldError>> {
    let field = |name: &str| format!("{prefix}.{name}");
    let mut errors = Vec::new();
    let mut tidy = Address {
        name: trimmed(&address.name),
        line1: trimmed(&address.line1),
        line2: trimmed(&address.line2),
        city: trimmed(&address.city),
        postal_code: normalise_postal(&address.postal_code),
        region: trimmed(&address.region),
        country: address.country.trim().to_ascii_uppercase(),
    };
    // Single lines on a label: no control characters (a NUL could not even be stored).
    for (name, value) in [
        ("name", &tidy.name),
        ("line1", &tidy.line1),
        ("line2", &tidy.line2),
        ("city", &tidy.city),
        ("postal_code", &tidy.postal_code),
        ("region", &tidy.region),
    ] {
        if value.chars().any(char::is_control) {
            errors.push(FieldError::new(
                field(name),
                "Remove the control characters from this field.",
            ));
        }
    }
    for (name, value, label) in [
        ("name", &tidy.name, "the recipient's name"),
        ("line1", &tidy.line1, "the street and house number"),
        ("city", &tidy.city, "the town or city"),
    ] {
        if value.is_empty() {
            errors.push(FieldError::new(field(name), format!("Enter {label}.")));
        } else if value.chars().count() > 200 {
            errors.push(FieldError::new(
                field(name),
                "Keep this under 200 characters.",
            ));
        }
    }
    if tidy.line2.chars().count() > 200 {
        errors.push(FieldError::new(
            field("line2"),
            "Keep this under 200 characters.",
        ));
    }
    let Some(country) = country(&tidy.country) else {
        errors.push(FieldError::new(
            field("country"),
            "Choose a country from the list; we cannot ship there yet.",
        ));
        return Err(errors);
    };
    if !country.postal_patterns.is_empty() {
        let code = &tidy.postal_code;
        let fitting = country.postal_patterns.iter().find_map(|pattern| {
            if matches_pattern(code, pattern) {
                Some(code.clone())
            } else {
                with_expected_space(code, pattern).filter(|spaced| matches_pattern(spaced, pattern))
            }
        });
        match fitting {
            Some(code) => tidy.postal_code = code,
            None if code.is_empty() => errors.push(FieldError::new(
                field("postal_code"),
                format!(
                    "Enter a postal code (for example {}).",
                    country.postal_example
                ),
            )),
            None => errors.push(FieldError::new(
                field("postal_code"),
                format!(
                    "“{code}” is not a postal code in {}; it looks like {}.",
                    country.name, country.postal_example
                ),
            )),
        }
    } else if tidy.postal_code.len() > 12 {
        errors.push(FieldError::new(
            field("postal_code"),
            "This postal code is too long.",
        ));
    }
    if !country.regions.is_empty() {
        tidy.region = tidy.region.to_ascii_uppercase();
        if !country.regions.contains(&tidy.region.as_str()) {
            let what = if country.code == "CA" {
                "province"
            } else {
                "state"
            };
            errors.push(FieldError::new(
                field("region"),
                format!(
                    "Choose the {what} as its two-letter code (for example {}).",
                    country.regions[0]
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(tidy)
    } else {
        Err(errors)
    }
}

/// A plausible email address: something@domain.tld, no spaces, at most 254 characters. Whether it
/// exists only a delivered email can tell.
pub fn validate_email(email: &str) -> Result<String, FieldError> {
    let email = email.trim();
    let bad = || FieldError::new("email", "Enter an email address like name@example.com.");
    if email.is_empty() || email.len() > 254 || email.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@');
    if local.is_empty() || !domain_ok {
        return Err(bad());
    }
    Ok(email.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(country: &str, postal: &str, region: &str) -> Address {
        Address {
            name: " Erika  Mustermann ".into(),
            line1: "Heidestraße 17".into(),
            line2: String::new(),
            city: "Köln".into(),
            postal_code: postal.into(),
            region: region.into(),
            country: country.into(),
        }
    }

    #[test]
    fn a_good_german_address_is_tidied() {
        let ok = validate_address(&address("de", " 51147 ", ""), "a").unwrap();
        assert_eq!(ok.name, "Erika Mustermann");
        assert_eq!(ok.country, "DE");
        assert_eq!(ok.postal_code, "51147");
    }

    #[test]
    fn postal_codes_follow_the_country() {
        let err = validate_address(&address("DE", "5114", ""), "shipping_address").unwrap_err();
        assert_eq!(err[0].field, "shipping_address.postal_code");
        assert!(err[0].message.contains("10115"), "{}", err[0].message);
        assert!(validate_address(&address("NL", "1011ab", ""), "a").is_ok());
        assert_eq!(
            validate_address(&address("GB", "sw1a1aa", ""), "a")
                .unwrap()
                .postal_code,
            "SW1A 1AA"
        );
        assert!(validate_address(&address("IE", "", ""), "a").is_ok());
    }

    #[test]
    fn control_characters_are_refused_by_field() {
        let mut nul = address("IE", "D02\0X285", "Dublin\u{1}");
        nul.line2 = "Flat\u{7f}2".into();
        let fields: Vec<_> = validate_address(&nul, "a")
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["a.line2", "a.postal_code", "a.region"]);
        // Line breaks and tabs are only whitespace, tidied away.
        let mut spaced = address("IE", "D02 X285", "\u{202e}Dublin");
        spaced.line2 = "Flat\n\t2".into();
        assert_eq!(validate_address(&spaced, "a").unwrap().line2, "Flat 2");
    }

    #[test]
    fn us_addresses_need_a_state() {
        let err = validate_address(&address("US", "94103", ""), "a").unwrap_err();
        assert_eq!(err[0].field, "a.region");
        let ok = validate_address(&address("US", "94103-1234", "ca"), "a").unwrap();
        assert_eq!(ok.region, "CA");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let empty = Address {
            country: "DE".into(),
            ..Address::default()
        };
        let fields: Vec<_> = validate_address(&empty, "a")
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["a.name", "a.line1", "a.city", "a.postal_code"]);
    }

    #[test]
    fn unknown_countries_are_refused() {
        let err = validate_address(&address("XX", "1", ""), "a").unwrap_err();
        assert_eq!(err.last().unwrap().field, "a.country");
    }

    #[test]
    fn emails_need_a_domain() {
        assert_eq!(validate_email(" a@b.de ").unwrap(), "a@b.de");
        for bad in ["", "a", "a@b", "@b.de", "a b@c.de", "a@.de", "a@b..de"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
