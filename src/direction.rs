//! Which way bytes go through the relay: plain data, for the trace, the protocol watch and
//! the front ends.

/// A direction of the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    ToChild,
    FromChild,
}

impl Direction {
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// `to_child` or `from_child`, whichever goes this way (two fields of one holder, borrowed
    /// apart from its others).
    pub(crate) fn pick<T>(self, to_child: T, from_child: T) -> T {
        match self {
            Direction::ToChild => to_child,
            Direction::FromChild => from_child,
        }
    }

    /// The JSON lines name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Direction::ToChild => "to_child",
            Direction::FromChild => "from_child",
        }
    }

    pub(crate) fn words(self) -> &'static str {
        match self {
            Direction::ToChild => "to the child",
            Direction::FromChild => "from the child",
        }
    }

    /// `>` toward the child, `<` from it, as in a diff or a shell redirection.
    pub(crate) fn arrow(self) -> char {
        match self {
            Direction::ToChild => '>',
            Direction::FromChild => '<',
        }
    }
}
