//! The line that says a signal was sent ([`Note::Sent`](super::Note::Sent)): to what, and why,
//! with the flag that changes it; each says what happened and nothing that did not. Beside it,
//! the lines for a scope that could not be seen, which name the same places.

use std::fmt;

use super::{list, seconds};
use crate::duration::format_limit;
use crate::machine::{Cause, Target};
use crate::outcome::{TakenStep, Trigger};
use crate::platform::{GROUP_NOUN, TREE_IS_GROUP};
use crate::scope::{Scope, Unseen};
use crate::sequence::Action;
use crate::signals::Signal;

/// The line for the stop signal sent to what the child left in its scope: the child exited
/// and is named as the one that left them, not as signalled.
pub(super) fn sent_to_left(
    f: &mut fmt::Formatter<'_>,
    signal: Signal,
    target: &Target,
    left: &[u32],
) -> fmt::Result {
    let Target { pid, name, .. } = target;
    let place = place(target.scope);
    write!(
        f,
        "sent {signal} to what {name} (pid {pid}) left {place} when it exited: "
    )?;
    match left {
        [] => f.write_str("whatever is there, unseen")?,
        pids => write!(f, "pid {}", list(pids))?,
    }
    // The default scope was not chosen: say how to leave them alone. A chosen tree or cgroup
    // was asked for to end them.
    if target.scope == Scope::Group {
        f.write_str(" (--scope child leaves them alone)")?;
    }
    Ok(())
}

/// Where the processes a child left in its scope are.
fn place(scope: Scope) -> String {
    match as_carried_out(scope) {
        Scope::Tree => "among its descendants".to_string(),
        Scope::Cgroup => "in its cgroup".to_string(),
        _ => format!("in its {GROUP_NOUN}"),
    }
}

/// The line for a scope no look could see once the child exited: taken for not empty, or
/// (`after_kill`) still unseen after SIGKILL, so that processes may remain.
pub(super) fn unseen(
    f: &mut fmt::Formatter<'_>,
    target: &Target,
    why: Unseen,
    after_kill: bool,
) -> fmt::Result {
    let Target { pid, name, .. } = target;
    let place = place(target.scope);
    let why = why.reason();
    match after_kill {
        false => write!(
            f,
            "cannot see what {name} (pid {pid}) left {place}: {why}; taking the steps as if \
             processes were left"
        ),
        true => write!(
            f,
            "cannot check that nothing {name} (pid {pid}) left {place} survived SIGKILL: \
             {why}; processes may remain"
        ),
    }
}

/// The scope as the platform carries it out, which the words follow: on Windows `tree` is the
/// job, as `group` is.
fn as_carried_out(scope: Scope) -> Scope {
    match scope {
        Scope::Tree if TREE_IS_GROUP => Scope::Group,
        scope => scope,
    }
}

/// The words for what `scope`'s signals reach, in a sentence: `child's process group`.
pub(super) fn scope_words(scope: Scope) -> String {
    match as_carried_out(scope) {
        Scope::Group => format!("child's {GROUP_NOUN}"),
        scope => scope.words().to_string(),
    }
}

/// What started the sequence, as a clause: `agentpipe received SIGINT`.
fn trigger_clause(trigger: Trigger) -> String {
    match trigger {
        Trigger::Eof => "its input ended".into(),
        Trigger::Signal(signal) => format!("agentpipe received {signal}"),
        Trigger::Timeout => "--timeout elapsed".into(),
        Trigger::IdleTimeout => "--idle-timeout elapsed".into(),
        Trigger::OutputIdleTimeout => "--output-idle-timeout elapsed".into(),
        Trigger::ResponseTimeout => "a request waited --response-timeout for its response".into(),
        Trigger::ParentExit => "agentpipe's parent exited".into(),
        Trigger::DownstreamClosed => "the reader of agentpipe's output went away".into(),
        Trigger::Close => "the stream was closed".into(),
        Trigger::ChildExit => "it exited leaving processes in its scope".into(),
    }
}

/// `sort (pid 4242) and its process group`.
pub(super) fn target_words(target: &Target) -> String {
    let Target {
        pid, name, scope, ..
    } = target;
    match as_carried_out(*scope) {
        Scope::Child => format!("{name} (pid {pid})"),
        Scope::Group => format!("{name} (pid {pid}) and its {GROUP_NOUN}"),
        Scope::Tree => format!("{name} (pid {pid}) and its descendants"),
        Scope::Cgroup => format!("{name} (pid {pid}) and the rest of its cgroup"),
    }
}

/// Why a signal was sent, and which flag changes that: the rest of a [`Note::Sent`] line.
pub(super) fn sent_why(
    f: &mut fmt::Formatter<'_>,
    trigger: Trigger,
    cause: Cause,
    previous: Option<TakenStep>,
    stdin_owned: bool,
    listed: bool,
) -> fmt::Result {
    let waited = |step: TakenStep| format_limit(step.wait);
    // What changes the wait: the step flag, or the step of a --sequence that refuses them.
    let changed_by = |flag: &str, step: TakenStep| match listed {
        true => format!(
            "step {} of --sequence waits {}",
            step.index + 1,
            waited(step)
        ),
        false => format!("{flag} {}", waited(step)),
    };
    match (cause, previous) {
        (Cause::Interrupt(signal), _) => write!(
            f,
            ": agentpipe received {signal} while stopping it (each interrupt skips a step)"
        ),
        (Cause::Timeout, _) => f.write_str(": --timeout elapsed"),
        (Cause::Left, _) => Ok(()), // see sent_to_left
        (Cause::Trigger, _) | (Cause::Waited | Cause::Quiet(_), None) => {
            write!(f, ": {}", trigger_clause(trigger))
        }
        (Cause::Quiet(at), Some(step)) => write!(
            f,
            " once it was quiet for {}, {} s after its input ended (--eof-grace {0}; --eof-grace \
             inf lets it finish)",
            waited(step),
            seconds(at.saturating_sub(step.at))
        ),
        (Cause::Waited, Some(step)) => match step.action {
            Action::CloseStdin if trigger == Trigger::Eof => write!(
                f,
                " {} after its input ended (--eof-grace {0}; --eof-grace inf lets it finish)",
                waited(step)
            ),
            Action::CloseStdin if !stdin_owned => write!(
                f,
                " {} after {} (--grace {0}; its stdin is the terminal, which agentpipe leaves \
                 open)",
                waited(step),
                trigger_clause(trigger)
            ),
            Action::CloseStdin => write!(
                f,
                " {} after its stdin was closed, when {} ({})",
                waited(step),
                trigger_clause(trigger),
                changed_by("--grace", step)
            ),
            Action::Wait => write!(
                f,
                " {} after {} ({})",
                waited(step),
                trigger_clause(trigger),
                changed_by("--wait", step)
            ),
            Action::Run(_) => write!(
                f,
                " {} after its stop command ran ({})",
                waited(step),
                changed_by("--term-grace", step)
            ),
            Action::Signal(sent) => write!(
                f,
                " {} after {sent} ({})",
                waited(step),
                changed_by("--term-grace", step)
            ),
            Action::Kill => write!(f, " {} later", waited(step)),
            Action::Shutdown => write!(
                f,
                " {} after it was asked to shut down (the shutdown step)",
                waited(step)
            ),
            Action::Send(_) => write!(
                f,
                " {} after a message was sent to it (the send step)",
                waited(step)
            ),
        },
    }
}
