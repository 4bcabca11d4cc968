//! What clients send, read leniently where that is safe and refused early where it is not.

use serde::{Deserialize, Deserializer};

/// Whether the database can hold this text: anything but NUL. Postgres refuses text containing
/// NUL with an error (not a miss), so text from a request is checked before it reaches SQL: a
/// slug or token holding one names nothing (404), a search holding one is refused (400).
/// Server-side, `%00` in an address is refused for every route at once (`kassa::http`).
pub fn is_storable(text: &str) -> bool {
    !text.contains('\0')
}

/// For optional fields: `null` reads as the default, as absence does (with `#[serde(default)]`).
/// JSON clients send `null` for an empty optional field.
///
/// `#[serde(default, deserialize_with = "crate::input::null_as_default")]`
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[test]
    fn nul_cannot_be_stored() {
        assert!(super::is_storable("ridge-fleece-hoodie"));
        assert!(super::is_storable("\u{202e}Grüße"));
        assert!(!super::is_storable("tee\0"));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Form {
        name: String,
        #[serde(default, deserialize_with = "super::null_as_default")]
        note: String,
    }

    #[test]
    fn null_and_absence_read_alike() {
        let read = |json: &str| serde_json::from_str::<Form>(json).unwrap().note;
        assert_eq!(read(r#"{"name": "a", "note": null}"#), "");
        assert_eq!(read(r#"{"name": "a"}"#), "");
        assert_eq!(read(r#"{"name": "a", "note": "x"}"#), "x");
        assert!(serde_json::from_str::<Form>(r#"{"name": null}"#).is_err());
        assert!(serde_json::from_str::<Form>(r#"{"name": "a", "note": 1}"#).is_err());
    }
}
