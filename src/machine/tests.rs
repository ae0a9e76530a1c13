//! The close sequence's rules, one test each (agentpipe(1), CLOSE SEQUENCE), run against the
//! state machine with a fake clock: no process, no sleep.

use std::time::{Duration, Instant};

use super::*;
use crate::process::Scope;
use crate::sequence::Sequence;

const S: u64 = 1000;

/// A machine and a fake clock, in milliseconds since start.
struct Clock {
    machine: Machine,
    start: Instant,
    now: u64,
}

impl Clock {
    fn new(config: Config) -> Clock {
        let start = Instant::now();
        Clock {
            machine: Machine::new(config, target(), start),
            start,
            now: 0,
        }
    }

    fn default() -> Clock {
        Clock::new(Config::default())
    }

    fn with_sequence(text: &str) -> Clock {
        Clock::new(Config {
            sequence: Sequence::parse(text).expect("valid sequence"),
            ..Config::default()
        })
    }

    fn instant(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// Hands `input` to the machine at `ms`, after every deadline before it.
    fn at(&mut self, ms: u64, input: Input) -> Vec<Order> {
        let mut orders = self.until(ms);
        orders.extend(self.machine.handle(input, self.instant(ms)));
        orders
    }

    /// Lets time pass to `ms`, waking the machine at each deadline as the loop does.
    fn until(&mut self, ms: u64) -> Vec<Order> {
        let mut orders = Vec::new();
        while let Some(due) = self.machine.deadline() {
            if due > self.instant(ms) {
                break;
            }
            let due_ms = (due - self.start).as_millis() as u64;
            assert!(
                due_ms >= self.now,
                "a deadline in the past: {due_ms} < {}",
                self.now
            );
            self.now = due_ms;
            orders.extend(self.machine.tick(due));
        }
        self.now = ms;
        orders
    }

    /// The steps taken so far: (step number from 1, ms since start).
    fn steps(&self) -> Vec<(usize, u64)> {
        let steps = self.machine.steps().iter();
        steps
            .map(|step| (step.index + 1, step.at.as_millis() as u64))
            .collect()
    }
}

fn target() -> Target {
    Target {
        pid: 42,
        name: "agent".into(),
        scope: Scope::Group,
    }
}

/// The signals among `orders`, in order.
fn signals(orders: &[Order]) -> Vec<Signal> {
    orders
        .iter()
        .filter_map(|order| match order {
            Order::Signal(signal) => Some(*signal),
            _ => None,
        })
        .collect()
}

fn has(orders: &[Order], wanted: &Order) -> bool {
    orders.contains(wanted)
}

fn exited(code: i32, left: &[u32]) -> Input {
    Input::ChildExited {
        exit: Exit::Code(code),
        left: left.to_vec(),
    }
}

#[test]
fn every_trigger_but_eof_starts_at_step_one_and_the_default_list_runs_to_sigkill() {
    let triggers = [
        (Input::Interrupt(Signal::INT), Trigger::Signal(Signal::INT)),
        (
            Input::Interrupt(Signal::TERM),
            Trigger::Signal(Signal::TERM),
        ),
        (Input::Interrupt(Signal::HUP), Trigger::Signal(Signal::HUP)),
        (Input::OutputClosed, Trigger::DownstreamClosed),
        (Input::Close, Trigger::Close),
    ];
    for (input, trigger) in triggers {
        let mut clock = Clock::default();
        let first = clock.at(100, input.clone());
        assert!(
            has(&first, &Order::CloseStdin { flush: false }),
            "{input:?}: {first:?}"
        );
        assert_eq!(signals(&first), [], "{input:?}");
        let later = clock.until(100 + 5 * S);
        assert_eq!(
            signals(&later),
            [Signal::TERM, Signal::CONT, Signal::KILL],
            "{input:?}"
        );
        assert_eq!(clock.machine.trigger(), Some(trigger));
        // wait 0s, stdin 1s, TERM 1s, KILL: steps 1 and 2 at once, then a second apart.
        assert_eq!(
            clock.steps(),
            [(1, 100), (2, 100), (3, 1100), (4, 2100)],
            "{input:?}"
        );
    }
}

#[test]
fn timeout_starts_the_sequence_at_step_one_at_its_time() {
    let mut clock = Clock::new(Config {
        timeout: Some(Duration::from_millis(300)),
        ..Config::default()
    });
    assert_eq!(clock.machine.deadline(), Some(clock.instant(300)));
    let orders = clock.until(299);
    assert!(orders.is_empty(), "{orders:?}");
    let orders = clock.until(300);
    assert!(has(&orders, &Order::Tell(Note::TimeoutElapsed)));
    assert_eq!(clock.machine.trigger(), Some(Trigger::Timeout));
    assert_eq!(clock.steps(), [(1, 300), (2, 300)]);
}

#[test]
fn eof_starts_at_the_stdin_step_with_eof_grace_and_flushes_what_was_read() {
    for (eof_grace, term_at) in [(None, 1100), (Some(Some(Duration::from_millis(300))), 400)] {
        let mut clock = Clock::new(Config {
            eof_grace,
            ..Config::default()
        });
        let orders = clock.at(100, Input::Eof { hangup: true });
        assert!(
            has(&orders, &Order::CloseStdin { flush: true }),
            "{orders:?}"
        );
        assert_eq!(clock.machine.trigger(), Some(Trigger::Eof));
        clock.until(term_at + 1);
        assert_eq!(
            clock.steps(),
            [(2, 100), (3, term_at)],
            "--eof-grace {eof_grace:?}"
        );
    }
}

#[test]
fn eof_grace_inf_makes_the_end_of_input_a_plain_half_close() {
    let mut clock = Clock::new(Config {
        eof_grace: Some(None),
        ..Config::default()
    });
    let orders = clock.at(100, Input::Eof { hangup: true });
    assert_eq!(orders, [Order::Tell(Note::EofGraceInf)]);
    assert_eq!(clock.machine.deadline(), None, "nothing is due");
    // Another trigger still starts the sequence.
    clock.at(200, Input::Interrupt(Signal::TERM));
    assert_eq!(clock.steps(), [(1, 200), (2, 200)]);
}

#[test]
fn each_interrupt_skips_to_the_next_step_and_three_reach_sigkill() {
    let mut clock = Clock::default();
    clock.at(0, Input::Interrupt(Signal::INT));
    assert_eq!(clock.steps(), [(1, 0), (2, 0)]);
    let orders = clock.at(10, Input::Interrupt(Signal::INT));
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    let orders = clock.at(20, Input::Interrupt(Signal::INT));
    assert_eq!(signals(&orders), [Signal::KILL]);
    assert_eq!(clock.steps(), [(1, 0), (2, 0), (3, 10), (4, 20)]);
    assert!(
        clock.machine.interrupted(),
        "SIGINT before the child exited"
    );
}

#[test]
fn timeout_during_the_sequence_jumps_to_the_first_signal_step_not_taken() {
    let mut clock = Clock::new(Config {
        sequence: Sequence::parse("wait 10s, stdin 10s, INT 10s, TERM 10s, KILL").unwrap(),
        timeout: Some(Duration::from_secs(1)),
        ..Config::default()
    });
    clock.at(100, Input::Interrupt(Signal::HUP));
    let orders = clock.until(1000);
    assert_eq!(signals(&orders), [Signal::INT, Signal::CONT]);
    assert_eq!(clock.steps(), [(1, 100), (3, 1000)]);
    assert_eq!(clock.machine.trigger(), Some(Trigger::Signal(Signal::HUP)));
}

#[test]
fn timeout_at_the_kill_step_takes_no_second_kill() {
    let mut clock = Clock::new(Config {
        sequence: Sequence::parse("KILL").unwrap(),
        timeout: Some(Duration::from_secs(1)),
        ..Config::default()
    });
    clock.at(100, Input::Interrupt(Signal::TERM));
    let before = clock.steps();
    let orders = clock.until(1500);
    assert_eq!(signals(&orders), [], "{orders:?}");
    assert_eq!(clock.steps(), before);
    // The survivors are still named on time, 5 s after the one SIGKILL.
    let orders = clock.until(100 + 5 * S);
    assert!(has(&orders, &Order::NameSurvivors), "{orders:?}");
}

#[test]
fn eof_and_a_closed_output_during_the_sequence_change_nothing() {
    for input in [
        Input::Eof { hangup: true },
        Input::OutputClosed,
        Input::Close,
    ] {
        let mut clock = Clock::default();
        clock.at(0, Input::Interrupt(Signal::TERM));
        let orders = clock.at(500, input.clone());
        assert!(signals(&orders).is_empty(), "{input:?}: {orders:?}");
        clock.until(1001);
        assert_eq!(clock.steps(), [(1, 0), (2, 0), (3, 1000)], "{input:?}");
        assert_eq!(clock.machine.trigger(), Some(Trigger::Signal(Signal::TERM)));
    }
}

#[test]
fn a_wait_ends_the_moment_the_scope_is_empty() {
    let mut clock = Clock::default();
    clock.at(0, Input::Interrupt(Signal::TERM));
    clock.at(300, exited(0, &[]));
    assert!(clock.machine.settled());
    let orders = clock.until(10 * S);
    assert!(signals(&orders).is_empty(), "{orders:?}");
    assert_eq!(clock.steps(), [(1, 0), (2, 0)]);
    assert_eq!(clock.machine.exited_at(), Some(Duration::from_millis(300)));
}

#[test]
fn a_child_that_exits_alone_needs_no_sequence() {
    let mut clock = Clock::default();
    let orders = clock.at(50, exited(3, &[]));
    assert!(signals(&orders).is_empty());
    assert!(clock.machine.settled());
    assert_eq!(clock.machine.trigger(), None);
}

#[test]
fn processes_left_after_the_child_exits_get_the_stop_signal_then_sigkill() {
    let mut clock = Clock::default();
    let orders = clock.at(100, exited(0, &[7, 8]));
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    assert_eq!(clock.machine.trigger(), Some(Trigger::ChildExit));
    assert!(has(&orders, &Order::Tell(Note::StillInScope(vec![7, 8]))));
    assert!(!clock.machine.settled());
    // The scope is looked at every LEFTOVER_CHECK while something is left in it.
    let orders = clock.until(100 + LEFTOVER_CHECK.as_millis() as u64);
    assert_eq!(orders, [Order::LookAtScope]);
    clock.at(120, Input::ScopeLooked(vec![8]));
    let orders = clock.until(1100);
    assert_eq!(signals(&orders), [Signal::KILL]);
    clock.at(1150, Input::ScopeLooked(vec![]));
    assert!(clock.machine.settled());
    assert_eq!(clock.machine.left_behind(), [7, 8]);
}

#[test]
fn leftovers_during_a_signal_step_wait_out_that_step() {
    let mut clock = Clock::default();
    clock.at(0, Input::Interrupt(Signal::TERM));
    clock.until(1000); // TERM taken at 1000
    let orders = clock.at(1200, exited(143, &[9]));
    assert!(signals(&orders).is_empty(), "no second TERM: {orders:?}");
    let orders = clock.until(2000);
    assert!(signals(&orders).contains(&Signal::KILL));
}

#[test]
fn output_after_the_exit_drains_for_drain_then_is_cut() {
    let cases = [
        (Some(Duration::from_secs(1)), Some(1100)),
        (Some(Duration::ZERO), Some(100)),
        (None, None),
    ];
    for (drain, cut_at) in cases {
        let mut clock = Clock::new(Config {
            drain,
            ..Config::default()
        });
        let mut orders = clock.at(100, exited(0, &[]));
        orders.extend(clock.until(60 * S));
        let cut = has(&orders, &Order::CutDrain);
        assert_eq!(cut, cut_at.is_some(), "--drain {drain:?}");
        assert_eq!(clock.machine.drain_cut(), cut_at.is_some());
        if let Some(at) = cut_at.filter(|&at| at > 100) {
            let mut again = Clock::new(Config {
                drain,
                ..Config::default()
            });
            again.at(100, exited(0, &[]));
            assert_eq!(again.machine.deadline(), Some(again.instant(at)));
        }
    }
}

#[test]
fn an_interrupt_after_the_exit_ends_the_drain_at_once() {
    let mut clock = Clock::new(Config {
        drain: None,
        ..Config::default()
    });
    clock.at(100, exited(0, &[]));
    let orders = clock.at(200, Input::Interrupt(Signal::INT));
    assert!(has(&orders, &Order::CutDrain), "{orders:?}");
    assert!(!clock.machine.interrupted(), "the child had exited already");
}

#[test]
fn survivors_of_sigkill_are_named_and_one_more_interrupt_gives_up() {
    let mut clock = Clock::with_sequence("TERM 1s, KILL");
    clock.at(0, Input::Interrupt(Signal::TERM));
    let orders = clock.until(1000);
    assert_eq!(signals(&orders), [Signal::KILL]);
    let orders = clock.at(2000, Input::Interrupt(Signal::TERM));
    assert!(
        !has(&orders, &Order::GiveUp),
        "not before the survivors are named"
    );
    let orders = clock.until(6000);
    assert!(has(&orders, &Order::NameSurvivors));
    assert_eq!(clock.machine.deadline(), None, "named once");
    let orders = clock.at(7000, Input::Interrupt(Signal::INT));
    assert!(has(&orders, &Order::GiveUp), "{orders:?}");
    assert!(clock.machine.abandoned() && clock.machine.settled());
}

#[test]
fn a_step_that_waits_without_limit_moves_on_only_when_interrupted() {
    let mut clock = Clock::with_sequence("stdin inf, TERM 1s, KILL");
    clock.at(0, Input::Interrupt(Signal::TERM));
    assert_eq!(clock.machine.deadline(), None);
    assert!(clock.until(3600 * S).is_empty());
    let orders = clock.at(3600 * S, Input::Interrupt(Signal::TERM));
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
}

#[test]
fn a_stop_signal_is_followed_by_sigcont_unless_it_is_sigcont() {
    for (text, expected) in [
        ("INT 1s, KILL", vec![Signal::INT, Signal::CONT]),
        ("CONT 1s, KILL", vec![Signal::CONT]),
    ] {
        let mut clock = Clock::with_sequence(text);
        let orders = clock.at(0, Input::Interrupt(Signal::HUP));
        assert_eq!(signals(&orders), expected, "{text}");
    }
}

#[test]
fn only_sigint_before_the_exit_counts_as_interrupted() {
    for (signal, interrupted) in [
        (Signal::INT, true),
        (Signal::TERM, false),
        (Signal::HUP, false),
    ] {
        let mut clock = Clock::default();
        clock.at(0, Input::Interrupt(signal));
        assert_eq!(clock.machine.interrupted(), interrupted, "{signal}");
    }
}

#[test]
fn the_timeline_says_what_comes_next_and_how_many_interrupts_reach_sigkill() {
    let mut clock = Clock::default();
    let orders = clock.at(0, Input::Interrupt(Signal::TERM));
    let lines: Vec<String> = orders
        .iter()
        .filter_map(|order| match order {
            Order::Tell(note) => Some(note.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        lines.contains(&"step 2 (stdin): closing the child's stdin; SIGTERM in 1s (at +1.000s) unless the processes are gone; interrupt to skip ahead (2 interrupts reach SIGKILL)".to_string()),
        "{lines:#?}"
    );
    assert!(lines[0].starts_with("received SIGTERM"), "{lines:#?}");
}

#[test]
fn the_deadline_is_the_next_due_instant_exactly() {
    let mut clock = Clock::default();
    clock.at(0, Input::Interrupt(Signal::TERM));
    assert_eq!(clock.machine.deadline(), Some(clock.instant(1000)));
    clock.until(1000);
    assert_eq!(clock.machine.deadline(), Some(clock.instant(2000)));
    clock.until(2000);
    assert_eq!(clock.machine.deadline(), Some(clock.instant(2000 + 5 * S)));
}

#[test]
fn processes_killed_with_the_child_are_not_left_behind_but_watched_and_killed_again() {
    let mut clock = Clock::with_sequence("TERM 1s, KILL");
    clock.at(0, Input::Interrupt(Signal::TERM));
    clock.until(1000); // SIGKILL to the scope
    let orders = clock.at(1001, exited(-9, &[5, 6]));
    assert!(
        !orders
            .iter()
            .any(|o| matches!(o, Order::Tell(Note::StillInScope(_))))
    );
    assert!(!clock.machine.settled());
    // A racer forked after the SIGKILL is found by a look: it gets SIGKILL too.
    let mut orders = clock.until(1011);
    assert!(has(&orders, &Order::LookAtScope), "{orders:?}");
    orders = clock.at(1011, Input::ScopeLooked(vec![7]));
    assert_eq!(signals(&orders), [Signal::KILL]);
    clock.at(1030, Input::ScopeLooked(vec![]));
    assert!(clock.machine.settled());
    assert_eq!(clock.machine.left_behind(), [] as [u32; 0]);
    assert_eq!(clock.machine.trigger(), Some(Trigger::Signal(Signal::TERM)));
}

#[test]
fn the_end_of_a_file_starts_nothing_unless_eof_grace_is_given() {
    let mut clock = Clock::default();
    let orders = clock.at(100, Input::Eof { hangup: false });
    assert_eq!(orders, [Order::Tell(Note::DataEnded)]);
    assert_eq!(clock.machine.trigger(), None);
    let mut clock = Clock::new(Config {
        eof_grace: Some(Some(Duration::from_millis(200))),
        ..Config::default()
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
    let config = |both: Option<u64>, output: Option<u64>| Config {
        idle_timeout: both.map(Duration::from_millis),
        output_idle_timeout: output.map(Duration::from_millis),
        ..Config::default()
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
    let idle = Config {
        idle_timeout: Some(Duration::from_millis(500)),
        drain: None,
        ..Config::default()
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
    let sent = |orders: &[Order]| -> Vec<String> {
        orders
            .iter()
            .filter_map(|order| match order {
                Order::Warn(note @ Note::Sent { .. }) => Some(note.to_string()),
                _ => None,
            })
            .collect()
    };
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
    let mut clock = Clock::new(Config {
        timeout: Some(Duration::from_secs(1)),
        ..Config::default()
    });
    let lines = sent(&clock.until(2000));
    assert!(
        lines[0].ends_with("1s after its stdin was closed on timeout (--grace 1s)"),
        "{lines:?}"
    );
    let mut clock = Clock::default();
    let lines = sent(&clock.at(10, exited(0, &[7])));
    assert!(
        lines[0].contains("left in its scope when it exited"),
        "{lines:?}"
    );
}
