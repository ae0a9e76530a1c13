//! The support every integration test uses, by concern; everything is re-exported here, so a
//! test file starts with `use crate::common::*;`.
//!
//! - [`sandbox`]: a temporary directory (`$D` in the child's scripts) and a tag put in the
//!   environment of every process a test starts; dropping it SIGKILLs every live process that
//!   carries the tag (agentpipe, the child, grandchildren, whatever it left) and removes the
//!   directory, so a failing test leaves nothing behind. The tag also tells a recycled pid from
//!   one of ours.
//! - [`run`]: agentpipe started with piped stdin, and stdout and stderr collected by threads;
//!   every wait has a deadline, and dropping a run SIGKILLs an agentpipe still running. How it
//!   ended ([`Finished`]) and its checks.
//! - [`scripts`]: the shell children that misbehave on purpose (traps, pid files, a log).
//! - [`processes`]: what /proc says of a process, and how the command starts (signals ignored
//!   or blocked).
//! - [`descriptors`]: pipes, ptys, descriptors passed or closed.
//! - [`report`]: the one reader of agentpipe's JSON (`--report`), with serde_json.
//! - [`tools`]: scenarios that need a program (python3, ssh): a failure under CI when it is
//!   missing, a skip with a message elsewhere.
//! - [`data`]: test data.

pub mod base64;
pub mod data;
pub mod descriptors;
pub mod processes;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod scripts;
pub mod tools;

pub use data::*;
pub use descriptors::*;
pub use processes::*;
pub use report::*;
pub use run::*;
pub use sandbox::*;
pub use scripts::*;
pub use tools::*;

use std::thread;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_agentpipe");

/// The environment variable that marks every process a test started.
pub const TAG_VAR: &str = "AGENTPIPE_TEST_TAG";

/// The longest any single wait of a test may take before the test fails.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Every flag that takes a duration.
pub const DURATION_FLAGS: [&str; 6] = [
    "--wait",
    "--grace",
    "--eof-grace",
    "--term-grace",
    "--timeout",
    "--drain",
];

/// How often a condition is looked at while waiting for it.
const POLL: Duration = Duration::from_millis(5);

/// Polls `check` until it gives a value, failing the test after `limit`.
pub fn wait_until<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        thread::sleep(POLL);
    }
}

/// Asserts that `elapsed` lies within `[low, high]` seconds.
pub fn assert_within(elapsed: Duration, low: f64, high: f64, what: &str) {
    let seconds = elapsed.as_secs_f64();
    assert!(
        (low..=high).contains(&seconds),
        "{what}: took {seconds:.3}s, expected between {low}s and {high}s"
    );
}

/// Asserts that something due `due` seconds after its cause happened on time: not early, and
/// late by at most 1.5 s (a loaded machine).
pub fn assert_due(elapsed: Duration, due: f64, what: &str) {
    assert_within(elapsed, (due - 0.05).max(0.0), due + 1.5, what);
}
