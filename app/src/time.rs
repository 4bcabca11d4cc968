//! Times as people and programs read them: every table keeps Unix seconds; pages show UTC
//! (no time-zone database is needed), the HTTP API RFC 3339.

/// Unix seconds as the UTC date `2026-11-25`.
pub fn format_date(epoch: i64) -> String {
    format_time(epoch)[..10].to_string()
}

/// Unix seconds as `2026-11-25 14:03 UTC` (no time-zone database needed).
pub fn format_time(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Unix seconds as RFC 3339 UTC (`2026-12-01T20:58:03Z`).
pub fn rfc3339(epoch: i64) -> String {
    let text = format_time(epoch); // "2026-12-01 20:58 UTC"
    format!(
        "{}T{}:{:02}Z",
        &text[..10],
        &text[11..16],
        epoch.rem_euclid(60)
    )
}

/// RFC 3339 text (`2026-12-24T18:00:00Z`, any offset) as Unix seconds; `None` if it is not one.
#[cfg(feature = "ssr")]
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_564_800 + 3_723), "2026-11-25 01:02 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_date(1_795_564_800 + 86_399), "2026-11-25");
    }

    #[test]
    fn api_times_are_rfc_3339_in_utc() {
        assert_eq!(rfc3339(1_795_564_800 + 3_723), "2026-11-25T01:02:03Z");
    }
}
