//! How the lines write times and lists of pids.

use std::time::Duration;

/// `+1.002s`: a time since start, as the timeline shows it.
pub(crate) fn offset(since_start: Duration) -> String {
    format!("+{:.3}s", since_start.as_secs_f64())
}

/// `0.98`, `1`, `12.5`: seconds to the hundredth, without trailing zeros.
pub(super) fn seconds(duration: Duration) -> String {
    let text = format!("{:.2}", duration.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `12, 34`.
pub(super) fn list(pids: &[u32]) -> String {
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    pids.join(", ")
}
