//! Which processes the close sequence reaches. Listing and signalling them is platform code.

/// Which processes the close sequence's signals reach, and which may not outlive agentpipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The child alone.
    Child,
    /// The child's process group: the child and whatever it started that stayed in its group.
    Group,
    /// Linux: every descendant of agentpipe, including those that left the child's group
    /// (setsid, double fork), since agentpipe is their subreaper.
    Tree,
}
