//! Durations as the command line writes them: `250ms`, `1.5s`, `1m30s`, a bare number of
//! seconds, or `inf`; shown back exactly.
//!
//! The crate's own parser rather than a dependency's, so that the library parses a
//! [`Sequence`](crate::Sequence) without the command line's crates (see docs/decisions.md).

use std::time::Duration;

use crate::parse_error::ParseError;

/// How long something may wait: `None` means without limit.
pub type Limit = Option<Duration>;

/// Each unit a duration may be written in, with its length in nanoseconds: the one table of
/// the units `--timeout` and `--sequence` accept.
const UNITS: [(&[&str], u128); 8] = [
    (&["ns", "nsec", "nanos"], 1),
    (&["us", "µs", "usec"], 1_000),
    (&["ms", "msec", "millis"], 1_000_000),
    (&["s", "sec", "secs", "second", "seconds"], NANOS_PER_SECOND),
    (
        &["m", "min", "mins", "minute", "minutes"],
        60 * NANOS_PER_SECOND,
    ),
    (
        &["h", "hr", "hrs", "hour", "hours"],
        3_600 * NANOS_PER_SECOND,
    ),
    (&["d", "day", "days"], 86_400 * NANOS_PER_SECOND),
    (
        &["w", "wk", "wks", "week", "weeks"],
        7 * 86_400 * NANOS_PER_SECOND,
    ),
];

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Parses `250ms`, `1.5s`, `1m30s`, `1h 30m`, a bare number of seconds (`2`, `0.5`) or `inf`.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(agentpipe::parse_limit("1m30s"), Ok(Some(Duration::from_secs(90))));
/// assert_eq!(agentpipe::parse_limit("250ms"), Ok(Some(Duration::from_millis(250))));
/// assert_eq!(agentpipe::parse_limit("inf"), Ok(None));
/// assert!(agentpipe::parse_limit("5 parsecs").is_err());
/// ```
pub fn parse_limit(text: &str) -> Result<Limit, ParseError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("inf") || text.eq_ignore_ascii_case("infinity") {
        return Ok(None);
    }
    let invalid = || {
        let text = text.escape_debug();
        ParseError::duration(format!(
            "invalid duration '{text}': use e.g. 250ms, 1.5s, 1m30s, 2 or inf"
        ))
    };
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map(Some)
            .map_err(|_| invalid());
    }
    refuse_long_units(text)?;
    let nanos = spans(text).ok_or_else(invalid)?;
    let seconds = u64::try_from(nanos / NANOS_PER_SECOND).map_err(|_| invalid())?;
    Ok(Some(Duration::new(
        seconds,
        (nanos % NANOS_PER_SECOND) as u32,
    )))
}

/// The nanoseconds of spans such as `1h 30m` or `1.5s`: each a number (with or without a
/// fraction) and a unit, spaces allowed around both; `None` if the text is not that.
fn spans(text: &str) -> Option<u128> {
    let mut rest = text.trim_start();
    let mut total: u128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let ((mantissa, scale), after) = number(rest)?;
        let after = after.trim_start();
        let end = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(end);
        let (_, length) = UNITS.iter().find(|(names, _)| names.contains(&unit))?;
        total = total.checked_add(mantissa.checked_mul(*length)? / scale)?;
        rest = after.trim_start();
    }
    Some(total)
}

/// A number at the start of `text`, with or without a fraction, as its digits and their scale
/// (`1.25` is 125 and 100), and the text after it. Its whole part fits in a `u64` (a larger
/// count of any unit is refused, however small the unit) and its fraction has at most 19
/// digits, so that the digits fit in a `u128`.
fn number(text: &str) -> Option<((u128, u128), &str)> {
    let end = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, rest) = text.split_at(end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.parse::<u64>().is_err()
        || number.ends_with('.')
        || fraction.contains('.')
        || fraction.len() > 19
    {
        return None;
    }
    let mantissa = format!("{whole}{fraction}").parse().ok()?;
    Some(((mantissa, 10u128.pow(fraction.len() as u32)), rest))
}

/// Refuses month and year units: `5M` is almost always meant as five minutes, and a month or a
/// year has no fixed length.
fn refuse_long_units(text: &str) -> Result<(), ParseError> {
    let units = text.split(|c: char| !c.is_ascii_alphabetic());
    for unit in units.filter(|unit| !unit.is_empty()) {
        let hint = match unit {
            "M" | "month" | "months" => {
                let minutes = text.replace(unit, "m");
                format!("did you mean {minutes}, minutes? (write days for longer: 30d)")
            }
            "y" | "yr" | "yrs" | "year" | "years" => "write days instead, e.g. 365d".to_string(),
            _ => continue,
        };
        let text = text.escape_debug();
        return Err(ParseError::duration(format!(
            "invalid duration '{text}': month and year units are not accepted; {hint}"
        )));
    }
    Ok(())
}

/// Formats a limit the way it is written on the command line, exactly: `250us`, `1s500ms`,
/// `40d1h`, `inf`. Days are the largest unit, so that the text reads back through
/// [`parse_limit`] whatever units it refuses.
pub fn format_limit(limit: Limit) -> String {
    let Some(duration) = limit else {
        return "inf".to_string();
    };
    if duration.is_zero() {
        return "0s".to_string();
    }
    let mut nanos = duration.as_nanos();
    let mut text = String::new();
    // Every unit of the table but weeks, largest first, each by its first name.
    for (names, length) in UNITS.iter().rev().filter(|(names, _)| names[0] != "w") {
        let count = nanos / length;
        if count > 0 {
            text.push_str(&format!("{count}{}", names[0]));
        }
        nanos %= length;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_show_exactly_and_read_back() {
        let cases = [
            (Some(Duration::from_micros(250)), "250us"),
            (Some(Duration::from_nanos(1_000_500_000)), "1s500us"),
            (Some(Duration::from_millis(1500)), "1s500ms"),
            (Some(Duration::ZERO), "0s"),
            (Some(Duration::from_secs(90)), "1m30s"),
            (Some(Duration::from_secs(40 * 86_400 + 3600)), "40d1h"),
            (Some(Duration::from_secs(2 * 86_400)), "2d"),
            (None, "inf"),
        ];
        for (limit, text) in cases {
            assert_eq!(format_limit(limit), text);
            assert_eq!(parse_limit(text), Ok(limit), "{text}");
        }
    }

    #[test]
    fn every_unit_and_spelling_of_the_table_reads() {
        let ms = |n: u64| Ok(Some(Duration::from_millis(n)));
        let cases = [
            ("1h 30m", ms(5_400_000)),
            ("1h30m", ms(5_400_000)),
            ("1.5s", ms(1_500)),
            ("1.5 s", ms(1_500)),
            ("0.25min", ms(15_000)),
            ("2weeks", ms(2 * 7 * 86_400_000)),
            ("1day 2hrs", ms(93_600_000)),
            ("3sec 4msec", ms(3_004)),
            ("5 seconds", ms(5_000)),
            ("250µs", Ok(Some(Duration::from_micros(250)))),
            ("7nsec", Ok(Some(Duration::from_nanos(7)))),
            ("  90  ", ms(90_000)),
            ("INF", Ok(None)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_limit(text), expected, "{text}");
        }
        // The first is one more than u64::MAX nanoseconds.
        for bad in [
            "18446744073709551616ns",
            "",
            "s",
            "1x",
            "1.s",
            ".5s",
            "1..5s",
            "1s2",
            "-1s",
            "1 h m",
            "1e3s",
        ] {
            let error = parse_limit(bad).expect_err(bad);
            assert_eq!(
                error.kind(),
                crate::parse_error::ParseErrorKind::Duration,
                "{bad}"
            );
            assert!(
                error.to_string().starts_with("invalid duration"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn month_and_year_units_are_refused_with_a_hint() {
        let five = parse_limit("5M").unwrap_err().to_string();
        assert!(five.contains("did you mean 5m, minutes?"), "{five}");
        for text in ["1month", "2months", "1y", "1year", "3years", "1d2M"] {
            assert!(parse_limit(text).is_err(), "{text}");
        }
        assert_eq!(parse_limit("5m"), Ok(Some(Duration::from_secs(300))));
        assert_eq!(parse_limit("1min"), Ok(Some(Duration::from_secs(60))));
    }
}
