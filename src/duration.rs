//! Durations as the command line writes them: `250ms`, `1.5s`, `1m30s`, a bare number of
//! seconds, or `inf`; shown back exactly.

use std::time::Duration;

/// How long something may wait: `None` means without limit.
pub type Limit = Option<Duration>;

/// Parses `250ms`, `1.5s`, `1m30s`, a bare number of seconds (`2`, `0.5`) or `inf`.
pub fn parse_duration(text: &str) -> Result<Limit, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("inf") || text.eq_ignore_ascii_case("infinity") {
        return Ok(None);
    }
    let invalid = || {
        let text = text.escape_debug();
        format!("invalid duration '{text}': use e.g. 250ms, 1.5s, 1m30s, 2 or inf")
    };
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map(Some)
            .map_err(|_| invalid());
    }
    refuse_long_units(text)?;
    humantime::parse_duration(text)
        .map(Some)
        .map_err(|_| invalid())
}

/// Refuses month and year units: `5M` is almost always meant as five minutes, and a month or a
/// year has no fixed length.
fn refuse_long_units(text: &str) -> Result<(), String> {
    let units = text.split(|c: char| !c.is_ascii_alphabetic());
    for unit in units.filter(|unit| !unit.is_empty()) {
        let hint = match unit {
            "M" | "month" | "months" => {
                let minutes = text.replace(unit, "m");
                format!("did you mean {minutes}, minutes? (write days for longer: 30d)")
            }
            "y" | "year" | "years" => "write days instead, e.g. 365d".to_string(),
            _ => continue,
        };
        let text = text.escape_debug();
        return Err(format!(
            "invalid duration '{text}': month and year units are not accepted; {hint}"
        ));
    }
    Ok(())
}

/// Formats a limit the way it is written on the command line, exactly: `250us`, `1s500ms`,
/// `40d1h`, `inf`. Days are the largest unit, so that the text reads back through
/// [`parse_duration`] whatever units it refuses.
pub fn format_limit(limit: Limit) -> String {
    const DAY: u64 = 86_400;
    let Some(duration) = limit else {
        return "inf".to_string();
    };
    let days = duration.as_secs() / DAY;
    let rest = duration - Duration::from_secs(days * DAY);
    let mut text = if days > 0 {
        format!("{days}d")
    } else {
        String::new()
    };
    if days == 0 || !rest.is_zero() {
        text.extend(
            humantime::format_duration(rest)
                .to_string()
                .split_whitespace(),
        );
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
            assert_eq!(parse_duration(text), Ok(limit), "{text}");
        }
    }

    #[test]
    fn month_and_year_units_are_refused_with_a_hint() {
        let five = parse_duration("5M").unwrap_err();
        assert!(five.contains("did you mean 5m, minutes?"), "{five}");
        for text in ["1month", "2months", "1y", "1year", "3years", "1d2M"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
        assert_eq!(parse_duration("5m"), Ok(Some(Duration::from_secs(300))));
        assert_eq!(parse_duration("1min"), Ok(Some(Duration::from_secs(60))));
    }
}
