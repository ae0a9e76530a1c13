//! The tokens of the loop's wait.

use crate::duplex::End;
use crate::stderr::StderrEnd;

/// The registrations of the loop's wait, each the token of a slot of its own (as mio's `Token`):
/// a descriptor is registered, and what the wait found for it asked for, by the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Token {
    /// The signals agentpipe received (the command line only).
    Signals,
    /// The child's pidfd, where there is one.
    ChildExit,
    /// agentpipe's parent's pidfd (`--end-with-parent`).
    Parent,
    /// agentpipe's own lines, while a slow reader holds them back.
    OwnStderr,
    /// The trace, likewise.
    Trace,
    Relay(End),
    Stderr(StderrEnd),
}

impl Token {
    pub(super) const COUNT: usize = 13;
}

impl From<Token> for usize {
    fn from(token: Token) -> usize {
        match token {
            Token::Signals => 0,
            Token::ChildExit => 1,
            Token::Parent => 2,
            Token::OwnStderr => 3,
            Token::Trace => 4,
            Token::Relay(End::Input) => 5,
            Token::Relay(End::ChildStdin) => 6,
            Token::Relay(End::ChildStdout) => 7,
            Token::Relay(End::Output) => 8,
            Token::Stderr(StderrEnd::Source) => 9,
            Token::Stderr(StderrEnd::Destination) => 10,
            Token::Stderr(StderrEnd::Control) => 11,
            Token::Relay(End::Helpers) => 12,
        }
    }
}

impl From<End> for Token {
    fn from(end: End) -> Token {
        Token::Relay(end)
    }
}

impl From<StderrEnd> for Token {
    fn from(end: StderrEnd) -> Token {
        Token::Stderr(end)
    }
}
