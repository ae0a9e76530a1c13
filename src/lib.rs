//! agentpipe: run a child process behind pipes and end it with a graceful-then-forceful close
//! sequence (wait, close its stdin, signal, SIGKILL), always reaping it.
//!
//! The library's entry point is [`Stream`]: a child seen as a byte stream (`Read` from its
//! stdout, `Write` to its stdin) whose `close` guarantees, when it returns, that the child has
//! terminated and every handle is closed. The `agentpipe` command line drives the same event
//! loop and close sequence with its own stdin and stdout.

#![cfg(unix)]

#[doc(hidden)]
pub mod cli;
mod config;
mod duplex;
mod duration;
mod event_loop;
mod exit_status;
mod hook;
mod machine;
mod outcome;
mod outlet;
mod platform;
mod poller;
mod private;
mod process;
mod relay;
mod report;
mod scope;
mod sequence;
mod signals;
mod stderr;
mod stream;
mod timeline;
mod trace;

#[cfg(test)]
mod proptests;

pub use config::Config;
pub use outcome::{Bytes, Exit, Outcome, TakenStep, Trigger};
pub use scope::{CgroupUsage, Scope};
pub use sequence::{Action, Limit, Sequence, Step};
pub use signals::Signal;
pub use stream::{Closer, Stream, StreamOptions};
pub use trace::{Trace, TraceFormat};
