//! Which processes the close sequence reaches, the one table of their names, and what a cgroup
//! scope accounted for. Listing, signalling and reading them is platform code, which imports
//! these types from here.

/// Which processes the close sequence's signals reach, and which may not outlive agentpipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// The child alone.
    Child,
    /// The child's process group: the child and whatever it started that stayed in its group.
    Group,
    /// Linux: every descendant of agentpipe, including those that left the child's group
    /// (setsid, double fork), since agentpipe is their subreaper.
    Tree,
    /// Linux, cgroup v2: the processes of a cgroup created for the command, whatever they do
    /// (double fork, setsid, fork racing the signals).
    Cgroup,
}

/// Each scope with its name (on the command line and in the report), the words messages use
/// for it, and a line of help.
const SCOPES: [(Scope, &str, &str, &str); 4] = [
    (Scope::Child, "child", "child", "The command alone."),
    (
        Scope::Group,
        "group",
        "child's process group",
        "The command's process group.",
    ),
    (
        Scope::Tree,
        "tree",
        "child and its descendants",
        "Every descendant of the command (Linux).",
    ),
    (
        Scope::Cgroup,
        "cgroup",
        "child's cgroup",
        "Every process of a cgroup created for the command (Linux, cgroup v2).",
    ),
];

impl Scope {
    /// Every scope, in the order `--help` lists them.
    pub(crate) const ALL: [Scope; 4] = [Scope::Child, Scope::Group, Scope::Tree, Scope::Cgroup];

    fn entry(self) -> (Scope, &'static str, &'static str, &'static str) {
        SCOPES[self as usize]
    }

    /// `group`: the name `--scope` takes and the report gives.
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// `child's process group`: what the scope's signals reach, in a sentence.
    pub(crate) fn words(self) -> &'static str {
        self.entry().2
    }

    /// One line of help, for `--help` and the completions.
    pub(crate) fn help(self) -> &'static str {
        self.entry().3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order_and_names_are_unique() {
        for (index, scope) in Scope::ALL.into_iter().enumerate() {
            assert_eq!(scope.entry().0, scope);
            assert!(
                !Scope::ALL[..index]
                    .iter()
                    .any(|other| other.name() == scope.name())
            );
        }
    }
}

/// The CPU time and memory of the processes of a cgroup (`--scope cgroup`), from its
/// `cpu.stat` and `memory.peak`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgroupUsage {
    /// CPU time, user and system, in microseconds.
    pub cpu_usec: u64,
    /// CPU time in user mode, in microseconds.
    pub user_usec: u64,
    /// CPU time in the kernel, in microseconds.
    pub system_usec: u64,
    /// The most memory in use at once, in bytes; `None` where the memory controller is not
    /// enabled for the cgroup.
    pub memory_peak: Option<u64>,
}

/// Why a look at the scope could not see its processes: it is then never taken for empty (the
/// processes it could not see may be there), only for what the kernel still says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unseen {
    /// /proc does not show agentpipe itself: not mounted, covered, or another PID namespace's.
    NoProc,
    /// agentpipe had no descriptor left to read it with (EMFILE, ENFILE), its reserve included.
    NoDescriptor,
    /// The system refused to let it be read (EACCES, EPERM: /proc mounted with `hidepid`).
    Denied,
    /// Another error, by its number.
    Error(i32),
}

impl Unseen {
    /// What could not be done, for the line that says so.
    pub(crate) fn reason(self) -> String {
        match self {
            Unseen::NoProc => "/proc does not show agentpipe, covered or not mounted".into(),
            Unseen::NoDescriptor => "no file descriptor was left to look with".into(),
            Unseen::Denied => "the system refused the look".into(),
            Unseen::Error(number) => format!("the look failed with error {number}"),
        }
    }
}

/// What a look at the scope found: the processes other than the child it saw, or why it could
/// not see them (and the kernel did not say the scope is empty either).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Look {
    Seen(Vec<u32>),
    Unseen(Unseen),
}

impl Look {
    /// The processes seen (none when unseen: they are not known).
    pub fn pids(&self) -> &[u32] {
        match self {
            Look::Seen(pids) => pids,
            Look::Unseen(_) => &[],
        }
    }
}
