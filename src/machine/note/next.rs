//! The step a timeline line announces after the one just taken, with how to skip ahead to it:
//! its wording kept beside the data, since the two change together.

use std::fmt;
use std::time::Duration;

use super::offset;
use crate::duration::{Limit, format_limit};
use crate::sequence::Action;
use crate::signals::Signal;

/// The step that follows one just taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Next {
    pub action: Action,
    /// The wait of the step just taken.
    pub wait: Limit,
    /// When the next step is due, since start (never, if `None`).
    pub at: Option<Duration>,
    /// How many interrupts reach SIGKILL from here.
    pub interrupts_to_kill: usize,
}

impl fmt::Display for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.action {
            Action::Wait => f.write_str("waiting")?,
            Action::CloseStdin => f.write_str("closing stdin")?,
            Action::Run(_) => f.write_str("running a command")?,
            Action::Shutdown => f.write_str("asking the server to shut down")?,
            Action::Send(_) => f.write_str("sending a message")?,
            Action::Signal(signal) => write!(f, "{signal}")?,
            Action::Kill => write!(f, "{}", Signal::KILL)?,
        }
        let skip = match self.interrupts_to_kill {
            1 => "interrupt to skip ahead".to_string(),
            n => format!("interrupt to skip ahead ({n} interrupts reach SIGKILL)"),
        };
        match (self.at, self.wait) {
            (_, Some(Duration::ZERO)) => f.write_str(" next"),
            (Some(at), wait) => write!(
                f,
                " in {} (at {}) unless the processes are gone; {skip}",
                format_limit(wait),
                offset(at)
            ),
            (None, _) => write!(f, " only when interrupted; {skip}"),
        }
    }
}
