//! agentpipe: run a child process behind pipes and end it with a graceful-then-forceful close
//! sequence (wait, close its stdin, signal, SIGKILL), always reaping it.
//!
//! The library's entry point is [`Stream`]: a child seen as a byte stream (`Read` from its
//! stdout, `Write` to its stdin) whose `close` guarantees, when it returns, that the child has
//! terminated and every handle is closed. The `agentpipe` command line drives the same
//! [`Supervisor`] with its own stdin and stdout.

#![cfg(unix)]

pub mod cli;
pub mod exit_status;
pub mod process;
pub mod relay;
pub mod report;
pub mod scope;
pub mod sequence;
pub mod signals;
pub mod stream;
pub mod supervisor;

#[cfg(test)]
mod proptests;

pub use process::{Exit, Scope};
pub use sequence::{Action, Sequence, Step, Trigger};
pub use stream::{Closer, Stream};
pub use supervisor::{Config, Outcome, Supervisor};
