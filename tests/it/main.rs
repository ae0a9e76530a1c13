//! The integration tests, as one test binary: each module was a test file of its own, and all of
//! them share [`common`] (and [`robust`]), which is compiled once. `cargo test --test it` runs
//! them; `cargo test --test it MODULE::TEST` runs one.

mod common;
mod robust;
// Shared with the crate's own property tests (src/proptests.rs).
mod inputs;

mod adversaries;
mod bad_input;
mod containment;
mod ended;
mod exit_status;
mod fail_closed;
mod fail_closed_lib;
mod fail_closed_scope;
mod faults;
mod generated;
mod import_graph;
mod load;
mod never_blocks;
mod own_messages;
mod processes;
mod protocol;
mod protocol_streams;
mod pty;
mod quiet;
mod real_servers;
mod relay;
mod report;
mod sequence;
mod spawn;
mod stalls;
mod stderr;
mod stream;
mod stream_core;
mod surprises;
mod terminal_signals;
#[cfg(feature = "tokio")]
mod tokio_stream;
mod trace;
mod transport;
mod usage;
