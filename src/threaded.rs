//! The front end of Windows, where there is no readiness wait over pipes: a thread per
//! direction of the relay (`pump`) and a waiter on the child's process handle, all feeding one
//! channel that the driver (`driver`) reads with the machine's next deadline as its timeout. The
//! close sequence is the same `machine::Machine` the Unix event loop drives.
//!
//! The library's [`Stream`] (`stream`) and the command line (`cli/run_windows.rs`) are built
//! on it; the child runs in a Job Object (`platform::spawn_contained`).

mod driver;
mod handoff;
// The stream's public face is one for both front ends, as its options are.
#[path = "stream/handle.rs"]
mod handle;
// The library's options are one struct for both front ends: the file lives with the Unix stream.
#[path = "stream/options.rs"]
mod options;
mod pump;
mod stream;
mod tail;

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::machine::Input;
use crate::machine::note::Note;
pub use handle::{Closer, Stream};
pub use options::StreamOptions;
#[cfg(not(feature = "cli"))]
use pump::Way;
use stream::Inner;
#[cfg(feature = "cli")]
pub(crate) use {
    driver::{Driver, Pumps},
    pump::{Pump, Sink, Way},
    tail::Tail,
};

/// What a pump or a waiter saw, for the driver.
#[derive(Debug)]
pub(crate) enum Event {
    /// Bytes moved this way (activity, for the idle timeouts).
    Moved(Way),
    /// The destination of this way failed: its reader or the child went away.
    SinkGone(Way),
    /// The source of this way ended.
    SourceEnded(Way),
    /// The child's process ended.
    Exited,
    /// A trigger from outside: an interrupt, the parent's exit, a close.
    Input(Input),
}

/// Where the driver tells its notes: `true` for a warning, shown without `-v`.
pub(crate) type Tell = Box<dyn FnMut(&Note, bool) + Send>;

/// Locks a mutex, going on after a panic elsewhere: the data are handles and counts, always
/// consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
