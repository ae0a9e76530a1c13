//! The error of every parser the crate offers: a [`Sequence`](crate::Sequence), a
//! [`Signal`](crate::Signal), a duration ([`parse_limit`](crate::parse_limit)).

use std::fmt;

/// Text that does not parse: its message says what is wrong and what to write instead, in one
/// line, as `agentpipe` shows it after `agentpipe: `.
///
/// ```
/// use agentpipe::{ParseErrorKind, Sequence};
///
/// let error = "stdin 5s, TERM".parse::<Sequence>().unwrap_err();
/// assert_eq!(error.kind(), ParseErrorKind::Sequence);
/// let error: Box<dyn std::error::Error> = Box::new(error); // for `?` in a program
/// assert!(!error.to_string().is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    message: String,
}

/// What a [`ParseError`] was parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A close sequence, such as `stdin 5s, TERM 2s, KILL`.
    Sequence,
    /// A signal name or number, such as `TERM`, `SIGINT` or `9`.
    Signal,
    /// A duration, such as `250ms`, `1m30s` or `inf`.
    Duration,
}

impl ParseError {
    pub(crate) fn sequence(message: String) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Sequence,
            message,
        }
    }

    pub(crate) fn signal(message: String) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Signal,
            message,
        }
    }

    pub(crate) fn duration(message: String) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Duration,
            message,
        }
    }

    /// What was being parsed.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}
