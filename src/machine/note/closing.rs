//! The lines every front end ends a run with.

use super::Note;
use crate::outcome::Outcome;

impl Note {
    /// The last lines of a run, from what it came to: the child's stderr relayed (when it passed
    /// through agentpipe), then the exit and the bytes each way. Every front end ends with them.
    pub(crate) fn closing(outcome: &Outcome) -> Vec<Note> {
        let relayed = outcome.stderr.map(|bytes| Note::StderrRelayed {
            bytes,
            kept: outcome.stderr_tail.len(),
        });
        let done = Note::Done {
            exit: outcome.exit,
            to_child: outcome.to_child,
            from_child: outcome.from_child,
        };
        relayed.into_iter().chain([done]).collect()
    }
}
