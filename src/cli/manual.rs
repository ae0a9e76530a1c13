//! The examples that end `--help`. agentpipe(1) shows them too, each with more about it, in its
//! EXAMPLES section (man/agentpipe.1.in); src/cli/generated.rs checks that each is there.

/// An example: what it shows, and the command line.
pub struct Example {
    pub what: &'static str,
    pub command: &'static str,
}

pub const EXAMPLES: &[Example] = &[
    Example {
        what: "An agent behind ssh; Ctrl-C, or the end of the controller's input, ends it in order",
        command: "agentpipe -- ssh -o BatchMode=yes host agent --stdio",
    },
    Example {
        what: "The same through docker exec, which forwards no signal",
        command: "agentpipe -- docker exec -i ctr agent",
    },
    Example {
        what: "git over ssh (git closes ssh's stdin after sending a pack, then waits for the answer)",
        command: "GIT_SSH_COMMAND='agentpipe --eof-grace inf -- ssh' git fetch",
    },
    Example {
        what: "A pipeline stage: the end of input is a plain half-close, a signal ends it in bounded time",
        command: "producer | agentpipe --eof-grace inf -- transform | consumer",
    },
    Example {
        what: "Watch a stubborn agent (it ignores SIGTERM and its input) end, step by step",
        command: "agentpipe -v -- sh -c 'trap \"\" TERM; sleep 100'",
    },
    Example {
        what: "A program that needs a terminal (line editing, job control), on a pseudo-terminal of its own",
        command: "agentpipe --pty -v -- python3 -i",
    },
    Example {
        what: "Keep a record of how a run ended",
        command: "agentpipe --report /tmp/agent-run.json --timeout 10m -- agent",
    },
];

/// The examples that end `--help`.
pub fn help_examples() -> String {
    let mut text = String::from("Examples:");
    for example in EXAMPLES {
        text.push_str(&format!("\n  {}:\n    {}", example.what, example.command));
    }
    text.push_str("\n\nThe close sequence, signals, exit statuses and the report: man agentpipe");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_ends_with_the_examples() {
        let help = help_examples();
        for wanted in [
            "ssh",
            "docker exec",
            "GIT_SSH_COMMAND",
            "| consumer",
            "-v --",
            "--pty",
        ] {
            assert!(help.contains(wanted), "{wanted} missing from {help}");
        }
    }
}
