//! The Windows test set, run under wine by `tests/windows/run` (CI: `.ci/run`): the built
//! agentpipe.exe and the library against the child-side helper `tests/windows/child.c`.
//!
//! What wine cannot show is said where it matters: wine 8 refuses a console control event to a
//! specific process group (`GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pid)` fails), so a TERM
//! or INT step is seen here to fail with its one-line warning and the sequence to go on; its
//! delivery on Windows itself is documented, not tested. Nor can wine close a console under
//! agentpipe: SIGHUP to its wine process ends it outright (as SIGKILL does: the job then ends the
//! command, which `job::` tests), and a pseudo-terminal closed under it reads as the end of
//! input; the console-close event takes the path of Ctrl-Break (every console event but Ctrl-C
//! is SIGTERM), which is not tested either.
#![cfg(windows)]

#[path = "../it/common/base64.rs"]
mod base64;
mod cli;
mod job;
mod library;
mod support;
mod trace;
mod triggers;
