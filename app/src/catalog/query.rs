//! What a shopper (or an API client) asks of the catalog: filters, a sort and a page.
//! Plain types with their parsing rules, shared by the pages, the JSON API and the SQL.

use serde::{Deserialize, Serialize};

use super::ProductCard;
use crate::money::{Currency, Money};

/// Products per page on collection and search pages.
pub const PAGE_SIZE: i64 = 24;
/// The most an API client may ask for at once.
pub const MAX_PAGE_SIZE: i64 = 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sort {
    /// Most relevant first for a search, the collection's own order otherwise.
    #[default]
    Featured,
    Newest,
    PriceAsc,
    PriceDesc,
    Name,
}

impl Sort {
    pub fn parse(value: &str) -> Result<Sort, String> {
        match value {
            "" | "featured" | "relevance" => Ok(Sort::Featured),
            "newest" => Ok(Sort::Newest),
            "price-asc" => Ok(Sort::PriceAsc),
            "price-desc" => Ok(Sort::PriceDesc),
            "name" => Ok(Sort::Name),
            other => Err(format!(
                "sort '{other}' is not one of featured, newest, price-asc, price-desc, name"
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Sort::Featured => "featured",
            Sort::Newest => "newest",
            Sort::PriceAsc => "price-asc",
            Sort::PriceDesc => "price-desc",
            Sort::Name => "name",
        }
    }

    pub const ALL: [(Sort, &'static str); 5] = [
        (Sort::Featured, "Featured"),
        (Sort::Newest, "Newest"),
        (Sort::PriceAsc, "Price, low to high"),
        (Sort::PriceDesc, "Price, high to low"),
        (Sort::Name, "Name"),
    ];
}

/// A request for one page of products.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductQuery {
    /// Only products in this collection.
    pub collection: Option<String>,
    /// Full-text search over title, description, tags and SKUs.
    pub text: Option<String>,
    /// Price bounds in minor units, inclusive, on the product's lowest price.
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// Option values that some variant must have, such as ("Size", "M").
    pub options: Vec<(String, String)>,
    pub in_stock_only: bool,
    pub sort: Sort,
    /// Where the previous page ended: opaque to clients.
    pub cursor: Option<String>,
    pub limit: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductList {
    pub items: Vec<ProductCard>,
    pub next_cursor: Option<String>,
}

/// The position after the last product of a page: the sort key and the product id, which
/// together are unique, so the next page starts exactly where this one stopped even while
/// products are added (keyset pagination; no OFFSET that slows with depth).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    Int { key: i64, id: i64 },
    Text { key: String, id: i64 },
}

impl Cursor {
    /// Hex keeps the cursor URL-safe without pulling an encoding crate into the WASM.
    pub fn encode(&self) -> String {
        let raw = match self {
            Cursor::Int { key, id } => format!("i:{key}:{id}"),
            Cursor::Text { key, id } => format!("t:{id}:{key}"),
        };
        raw.bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(value: &str) -> Result<Cursor, String> {
        let bad = || "cursor is not valid; start again from the first page".to_string();
        if !value.len().is_multiple_of(2) || value.len() > 2048 {
            return Err(bad());
        }
        let bytes = (0..value.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(value.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())
            })
            .collect::<Result<Vec<u8>, String>>()?;
        let raw = String::from_utf8(bytes).map_err(|_| bad())?;
        if let Some(rest) = raw.strip_prefix("i:") {
            let (key, id) = rest.split_once(':').ok_or_else(bad)?;
            Ok(Cursor::Int {
                key: key.parse().map_err(|_| bad())?,
                id: id.parse().map_err(|_| bad())?,
            })
        } else if let Some(rest) = raw.strip_prefix("t:") {
            let (id, key) = rest.split_once(':').ok_or_else(bad)?;
            Ok(Cursor::Text {
                key: key.to_string(),
                id: id.parse().map_err(|_| bad())?,
            })
        } else {
            Err(bad())
        }
    }
}

/// Splits a search into words: letters and digits only, so nothing the shopper types can
/// change the meaning of the database's full-text query syntax.
pub fn search_terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| w.to_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        for cursor in [
            Cursor::Int { key: -5, id: 42 },
            Cursor::Text {
                key: "Mug: blue / 1".into(),
                id: 7,
            },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
        assert!(Cursor::decode("zz").is_err());
        assert!(Cursor::decode("abc").is_err());
        assert!(Cursor::decode(
            &"x:1:2"
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
        .is_err());
    }

    #[test]
    fn price_filters_are_read_in_the_shops_currency() {
        let params = ListingParams::from_pairs([("min", "500"), ("max", "1000")]);
        let yen = Currency::parse("JPY").unwrap();
        let query = params.parse(None, 24, yen).unwrap();
        assert_eq!((query.min_price, query.max_price), (Some(500), Some(1000)));
        let query = params.parse(None, 24, Currency::EUR).unwrap();
        assert_eq!(query.min_price, Some(50000));
        let cents = ListingParams::from_pairs([("min", "5.50")]);
        assert!(cents.parse(None, 24, yen).is_err());
        assert!(params.needs_currency() && !ListingParams::default().needs_currency());
    }

    #[test]
    fn search_terms_are_plain_words() {
        assert_eq!(search_terms("Merino  beanie!"), vec!["merino", "beanie"]);
        assert_eq!(search_terms("\"a\" OR b* -c"), vec!["a", "or", "b", "c"]);
        assert!(search_terms("  *** ").is_empty());
    }

    #[test]
    fn sorts_parse_from_their_url_names() {
        for (sort, _) in Sort::ALL {
            assert_eq!(Sort::parse(sort.as_str()), Ok(sort));
        }
        assert!(Sort::parse("cheapest").is_err());
    }
}

/// The listing parameters as they arrive in a URL, before validation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingParams {
    pub q: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
    /// `Name:Value` pairs, such as `Size:M`.
    pub options: Vec<String>,
    pub in_stock: bool,
    pub sort: Option<String>,
    pub cursor: Option<String>,
}

impl ListingParams {
    /// Reads the parameters of a page address (`?min=10&option=Size:M&…`).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ListingParams {
        let mut params = ListingParams::default();
        let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        for (key, value) in pairs {
            match key {
                "q" => params.q = text(value),
                "min" => params.min = text(value),
                "max" => params.max = text(value),
                "option" => params.options.extend(text(value)),
                "in_stock" => params.in_stock = matches!(value, "1" | "true" | "on"),
                "sort" => params.sort = text(value),
                "cursor" => params.cursor = text(value),
                _ => {}
            }
        }
        params
    }

    /// Reads a URL query string (with or without the leading `?`).
    #[cfg(feature = "ssr")]
    pub fn from_query_string(query: &str) -> Result<ListingParams, String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.trim_start_matches('?'))
                .map_err(|_| "the address's query string is not valid".to_string())?;
        Ok(ListingParams::from_pairs(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    }

    /// Whether anything narrows the listing beyond its collection or search (price bounds,
    /// options, stock): an empty page then says to loosen them, not that nothing is for sale.
    pub fn is_filtered(&self) -> bool {
        self.active_filters() > 0
    }

    /// How many filters are set, for "Filter and sort (2)": the price range counts once, each
    /// option and "in stock only" once each.
    pub fn active_filters(&self) -> usize {
        usize::from(self.min.is_some() || self.max.is_some())
            + self.options.len()
            + usize::from(self.in_stock)
    }

    /// Whether [`ListingParams::parse`] needs the shop's currency (a price filter is set).
    pub fn needs_currency(&self) -> bool {
        self.min.is_some() || self.max.is_some()
    }

    /// Validates into a query, with messages a shopper can act on. Prices are read in
    /// `currency`'s major units ("500" in a yen shop is ¥500).
    pub fn parse(
        &self,
        collection: Option<String>,
        limit: i64,
        currency: Currency,
    ) -> Result<ProductQuery, String> {
        let mut texts = [&self.q, &self.min, &self.max, &self.sort, &self.cursor]
            .into_iter()
            .flatten()
            .chain(&self.options);
        if !texts.all(|text| crate::input::is_storable(text)) {
            return Err("the search contains a NUL character".to_string());
        }
        let price = |v: &Option<String>| {
            v.as_deref()
                .map(|text| {
                    Money::parse(text, currency)
                        .map(|m| m.amount)
                        .map_err(|e| e.to_string())
                })
                .transpose()
        };
        let min_price = price(&self.min)?;
        let max_price = price(&self.max)?;
        if let (Some(min), Some(max)) = (min_price, max_price) {
            if min > max {
                return Err("the lowest price is above the highest".to_string());
            }
        }
        let options = self
            .options
            .iter()
            .take(6)
            .map(|pair| {
                pair.split_once(':')
                    .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                    .filter(|(n, v)| !n.is_empty() && !v.is_empty())
                    .ok_or_else(|| format!("option '{pair}' should look like Size:M"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(q) = &self.q {
            if q.chars().count() > 200 {
                return Err("the search is too long (200 characters at most)".to_string());
            }
        }
        Ok(ProductQuery {
            collection,
            text: self.q.clone(),
            min_price,
            max_price,
            options,
            in_stock_only: self.in_stock,
            sort: Sort::parse(self.sort.as_deref().unwrap_or_default())?,
            cursor: self.cursor.clone(),
            limit,
        })
    }

    /// The address query for exactly these parameters.
    pub fn query_string(&self) -> String {
        self.to_query_string(self.cursor.as_deref())
    }

    /// The address query for these parameters with another cursor (`None`: the first page).
    pub fn to_query_string(&self, cursor: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(q) = &self.q {
            pairs.push(("q", q));
        }
        if let Some(min) = &self.min {
            pairs.push(("min", min));
        }
        if let Some(max) = &self.max {
            pairs.push(("max", max));
        }
        for option in &self.options {
            pairs.push(("option", option));
        }
        if self.in_stock {
            pairs.push(("in_stock", "1"));
        }
        if let Some(sort) = &self.sort {
            pairs.push(("sort", sort));
        }
        if let Some(cursor) = cursor {
            pairs.push(("cursor", cursor));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Encodes a query-string value (RFC 3986 unreserved characters stay as they are).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod params_tests {
    use super::*;

    #[test]
    fn filters_are_counted_as_a_shopper_set_them() {
        let count = |pairs: &[(&str, &str)]| {
            ListingParams::from_pairs(pairs.iter().copied()).active_filters()
        };
        assert_eq!(
            count(&[("sort", "name"), ("q", "wool"), ("cursor", "x")]),
            0
        );
        assert_eq!(count(&[("min", "10"), ("max", "20")]), 1);
        assert_eq!(
            count(&[
                ("max", "20"),
                ("option", "Size:M"),
                ("option", "Colour:Navy")
            ]),
            3
        );
        assert_eq!(count(&[("in_stock", "1"), ("option", "")]), 1);
        assert!(!ListingParams::from_pairs([("sort", "name")]).is_filtered());
    }

    #[test]
    fn url_parameters_become_a_validated_query() {
        let params = ListingParams::from_pairs([
            ("min", "10"),
            ("max", "49.5"),
            ("option", "Size:M"),
            ("option", ""),
            ("in_stock", "1"),
            ("sort", "price-desc"),
            ("utm_source", "x"),
        ]);
        let query = params
            .parse(Some("apparel".into()), 24, Currency::EUR)
            .unwrap();
        assert_eq!(query.min_price, Some(1000));
        assert_eq!(query.max_price, Some(4950));
        assert_eq!(query.options, vec![("Size".to_string(), "M".to_string())]);
        assert!(query.in_stock_only);
        assert_eq!(query.sort, Sort::PriceDesc);
    }

    #[test]
    fn bad_parameters_say_what_is_wrong() {
        let err = |pairs: &[(&str, &str)]| {
            ListingParams::from_pairs(pairs.iter().copied())
                .parse(None, 24, Currency::EUR)
                .unwrap_err()
        };
        assert!(err(&[("min", "ten")]).contains("not an amount"));
        assert!(err(&[("min", "50"), ("max", "10")]).contains("above"));
        assert!(err(&[("option", "Size")]).contains("Size:M"));
        assert!(err(&[("sort", "random")]).contains("sort"));
        assert!(err(&[("q", "tee\0")]).contains("NUL"));
        assert!(err(&[("option", "Size:\0")]).contains("NUL"));
    }

    #[test]
    fn query_strings_round_trip() {
        let params = ListingParams::from_pairs([
            ("q", "wool & co"),
            ("option", "Colour:Forest"),
            ("sort", "name"),
        ]);
        let qs = params.to_query_string(Some("abc"));
        assert_eq!(
            qs,
            "q=wool%20%26%20co&option=Colour%3AForest&sort=name&cursor=abc"
        );
    }
}
