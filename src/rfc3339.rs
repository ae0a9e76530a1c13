//! Wall-clock times as the report and traces write them: RFC 3339 in UTC, to the microsecond
//! (`2026-03-01T09:30:05.250000Z`).

use std::time::{SystemTime, UNIX_EPOCH};

/// `time` in RFC 3339, UTC, with six decimals; a time before 1970 reads as the epoch.
pub(crate) fn rfc3339_micros(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = civil_date(seconds / 86_400);
    let of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60,
        since.subsec_micros()
    )
}

/// The proleptic Gregorian date of day `days` since 1970-01-01 (H. Hinnant's `civil_from_days`,
/// for days on or after the epoch).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01, so that a leap day is the last day of its year.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 is March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_read_as_utc_to_the_microsecond() {
        let at = |seconds: u64, micros: u64| {
            rfc3339_micros(
                UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros),
            )
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z"); // a leap day
        assert_eq!(at(1_709_251_199, 999_999), "2024-02-29T23:59:59.999999Z");
        assert_eq!(at(1_709_251_200, 0), "2024-03-01T00:00:00.000000Z");
        assert_eq!(at(4_102_444_800, 0), "2100-01-01T00:00:00.000000Z");
        assert_eq!(at(4_107_542_399, 0), "2100-02-28T23:59:59.000000Z"); // 2100 is no leap year
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339_micros(UNIX_EPOCH - Duration::from_secs(1)),
            at(0, 0)
        );
    }
}
