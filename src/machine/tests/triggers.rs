//! The end of a file, the idle timeouts, the parent's exit, `run` steps, and what is said
//! when a signal is sent.

use std::time::Duration;

use super::*;

#[test]
fn the_end_of_a_file_starts_nothing_unless_eof_grace_is_given() {
    let mut clock = Clock::default();
    let orders = clock.at(100, Input::Eof { hangup: false });
    assert_eq!(orders, [Order::Tell(Note::DataEnded)]);
    assert_eq!(clock.machine.trigger(), None);
    let mut clock = Clock::new(Settings {
        eof_grace: Some(Some(Duration::from_millis(200))),
        ..Settings::default()
    });
    clock.at(100, Input::Eof { hangup: false });
    assert_eq!(clock.machine.trigger(), Some(Trigger::Eof));
}

#[test]
fn parent_exit_starts_at_step_one_and_changes_nothing_later() {
    let mut clock = Clock::default();
    clock.at(100, Input::ParentExited);
    assert_eq!(clock.machine.trigger(), Some(Trigger::ParentExit));
    assert_eq!(clock.steps(), [(1, 100), (2, 100)]);
    let mut clock = Clock::default();
    clock.at(0, Input::Interrupt(Signal::TERM));
    clock.at(50, Input::ParentExited);
    assert_eq!(clock.machine.trigger(), Some(Trigger::Signal(Signal::TERM)));
}

#[test]
fn idle_timeouts_count_from_the_last_activity_in_their_direction() {
    let config = |both: Option<u64>, output: Option<u64>| Settings {
        idle_timeout: both.map(Duration::from_millis),
        output_idle_timeout: output.map(Duration::from_millis),
        ..Settings::default()
    };
    // Either way: input moving keeps it from firing.
    let mut clock = Clock::new(config(Some(500), None));
    for at in [400, 800] {
        clock.until(at);
        let now = clock.instant(at);
        clock.machine.moved(false, now);
    }
    assert_eq!(clock.machine.deadline(), Some(clock.instant(1300)));
    clock.until(1300);
    assert_eq!(clock.machine.trigger(), Some(Trigger::IdleTimeout));
    assert_eq!(
        clock.machine.quiet_since(),
        Some(Duration::from_millis(800))
    );
    assert_eq!(clock.steps()[0], (1, 1300));
    // Output only: input moving does not count, output does.
    let mut clock = Clock::new(config(None, Some(500)));
    clock.until(300);
    let now = clock.instant(300);
    clock.machine.moved(false, now);
    clock.until(500);
    assert_eq!(clock.machine.trigger(), Some(Trigger::OutputIdleTimeout));
    let mut clock = Clock::new(config(Some(2000), Some(500)));
    clock.until(300);
    let now = clock.instant(300);
    clock.machine.moved(true, now);
    clock.until(799);
    assert_eq!(clock.machine.trigger(), None);
    clock.until(800);
    assert_eq!(clock.machine.trigger(), Some(Trigger::OutputIdleTimeout));
    assert!(
        clock.machine.deadline() < Some(clock.instant(2000)),
        "idle is disarmed"
    );
}

#[test]
fn an_idle_timeout_does_nothing_once_the_sequence_runs_or_the_child_exited() {
    let idle = Settings {
        idle_timeout: Some(Duration::from_millis(500)),
        drain: None,
        ..Settings::default()
    };
    let mut clock = Clock::new(idle.clone());
    clock.at(100, Input::Interrupt(Signal::TERM));
    clock.until(900);
    assert_eq!(clock.machine.trigger(), Some(Trigger::Signal(Signal::TERM)));
    let mut clock = Clock::new(idle);
    clock.at(100, exited(0, &[]));
    assert_eq!(clock.machine.deadline(), None);
}

#[test]
fn a_run_step_starts_its_command_and_ends_it_with_its_step() {
    let mut clock = Clock::with_sequence(r#"stdin 0s, run "pkill -INT agent" 2s, TERM 1s, KILL"#);
    let orders = clock.at(100, Input::Interrupt(Signal::HUP));
    let run = Order::Run {
        command: "pkill -INT agent".into(),
        step: 2,
        trigger: Trigger::Signal(Signal::HUP),
    };
    assert!(has(&orders, &run), "{orders:?}");
    assert!(!has(&orders, &Order::EndRun));
    let orders = clock.until(2100);
    assert_eq!(
        orders.first(),
        Some(&Order::EndRun),
        "ended before the stop signal"
    );
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    // The child exiting during the step ends it too.
    let mut clock = Clock::with_sequence(r#"run "x" 2s, KILL"#);
    clock.at(0, Input::Interrupt(Signal::TERM));
    let orders = clock.at(500, exited(0, &[]));
    assert!(has(&orders, &Order::EndRun), "{orders:?}");
}

#[test]
fn every_signal_sent_is_said_even_without_verbose_with_why_and_the_flag() {
    let mut clock = Clock::default();
    clock.at(0, Input::Eof { hangup: true });
    let lines = sent(&clock.until(3000));
    assert_eq!(
        lines,
        [
            "sent SIGTERM to agent (pid 42) and its process group 1s after its input ended \
             (--eof-grace 1s; --eof-grace inf lets it finish)",
            "sent SIGKILL to agent (pid 42) and its process group 1s after SIGTERM \
             (--term-grace 1s)",
        ]
    );
    let mut clock = Clock::default();
    clock.at(0, Input::Interrupt(Signal::INT));
    let lines = sent(&clock.at(10, Input::Interrupt(Signal::INT)));
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("each interrupt skips a step"),
        "{lines:?}"
    );
    let mut clock = Clock::new(Settings {
        timeout: Some(Duration::from_secs(1)),
        ..Settings::default()
    });
    let lines = sent(&clock.until(2000));
    assert!(
        lines[0].ends_with("1s after its stdin was closed, when --timeout elapsed (--grace 1s)"),
        "{lines:?}"
    );
    let mut clock = Clock::default();
    clock.at(0, Input::OutputClosed);
    let lines = sent(&clock.until(1000));
    assert_eq!(
        lines,
        [
            "sent SIGTERM to agent (pid 42) and its process group 1s after its stdin was closed, \
          when the reader of agentpipe's output went away (--grace 1s)"
        ]
    );
    let mut clock = Clock::default();
    let lines = sent(&clock.at(0, Input::Interrupt(Signal::HUP)));
    assert!(lines.is_empty(), "no signal yet: {lines:?}");
    let lines = sent(&clock.at(10, Input::Interrupt(Signal::HUP)));
    assert!(lines[0].contains("while stopping it"), "{lines:?}");
}

#[test]
fn what_the_child_left_is_named_as_signalled_not_the_child_that_exited() {
    let mut clock = Clock::default();
    let lines = sent(&clock.at(10, exited(0, &[7, 8])));
    assert_eq!(
        lines,
        [
            "sent SIGTERM to what agent (pid 42) left in its process group when it exited: pid 7, \
          8 (--scope child leaves them alone)"
        ]
    );
    // A chosen tree scope was asked for to end them: no hint to leave them alone.
    let tree = Target {
        scope: Scope::Tree,
        ..target()
    };
    let mut clock = Clock::default();
    clock.machine = Machine::new(Settings::default(), tree, clock.start);
    let lines = sent(&clock.at(10, exited(0, &[7])));
    // Where the tree is carried out as the group is (Windows' job), it is named as the group.
    let place = match crate::platform::TREE_IS_GROUP {
        true => "in its process group",
        false => "among its descendants",
    };
    assert_eq!(
        lines,
        [format!(
            "sent SIGTERM to what agent (pid 42) left {place} when it exited: pid 7"
        )]
    );
}

#[test]
fn a_terminal_as_stdin_is_never_said_to_be_closed() {
    let mut clock = Clock::default();
    clock.machine.stdin_is_terminal();
    let orders = clock.at(0, Input::Interrupt(Signal::INT));
    let steps: Vec<String> = orders
        .iter()
        .filter_map(|order| match order {
            Order::Tell(note @ Note::StepTaken { .. }) => Some(note.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        steps[1].starts_with("step 2 (stdin): nothing to close"),
        "{steps:?}"
    );
    let lines = sent(&clock.until(1000));
    assert_eq!(
        lines,
        [
            "sent SIGTERM to agent (pid 42) and its process group 1s after agentpipe received \
          SIGINT (--grace 1s; its stdin is the terminal, which agentpipe leaves open)"
        ]
    );
}

#[test]
fn a_second_interrupt_after_the_exit_drops_the_output_a_stalled_reader_left() {
    let mut clock = Clock::new(Settings {
        drain: None,
        ..Settings::default()
    });
    clock.at(100, exited(0, &[]));
    let first = clock.at(200, Input::Interrupt(Signal::TERM));
    assert!(has(&first, &Order::CutDrain) && !has(&first, &Order::DropOutput));
    let second = clock.at(300, Input::Interrupt(Signal::TERM));
    assert!(has(&second, &Order::DropOutput), "{second:?}");
}
