//! The steps, the interrupts, the drain and the leftovers.

use std::time::Duration;

use super::*;
use crate::scope::Look;

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
        (Input::Close(Trigger::Close), Trigger::Close),
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
    let mut clock = Clock::new(Settings {
        timeout: Some(Duration::from_millis(300)),
        ..Settings::default()
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
        let mut clock = Clock::new(Settings {
            eof_grace,
            ..Settings::default()
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
    let mut clock = Clock::new(Settings {
        eof_grace: Some(None),
        ..Settings::default()
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
    let mut clock = Clock::new(Settings {
        sequence: Sequence::parse("wait 10s, stdin 10s, INT 10s, TERM 10s, KILL").unwrap(),
        timeout: Some(Duration::from_secs(1)),
        ..Settings::default()
    });
    clock.at(100, Input::Interrupt(Signal::HUP));
    let orders = clock.until(1000);
    assert_eq!(signals(&orders), [Signal::INT, Signal::CONT]);
    assert_eq!(clock.steps(), [(1, 100), (3, 1000)]);
    assert_eq!(clock.machine.trigger(), Some(Trigger::Signal(Signal::HUP)));
}

#[test]
fn timeout_at_the_kill_step_takes_no_second_kill() {
    let mut clock = Clock::new(Settings {
        sequence: Sequence::parse("KILL").unwrap(),
        timeout: Some(Duration::from_secs(1)),
        ..Settings::default()
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
        Input::Close(Trigger::Close),
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
    clock.at(120, Input::ScopeLooked(Look::Seen(vec![8])));
    let orders = clock.until(1100);
    assert_eq!(signals(&orders), [Signal::KILL]);
    clock.at(1150, Input::ScopeLooked(Look::Seen(vec![])));
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
        let mut clock = Clock::new(Settings {
            drain,
            ..Settings::default()
        });
        let mut orders = clock.at(100, exited(0, &[]));
        orders.extend(clock.until(60 * S));
        let cut = has(&orders, &Order::CutDrain);
        assert_eq!(cut, cut_at.is_some(), "--drain {drain:?}");
        assert_eq!(clock.machine.drain_cut(), cut_at.is_some());
        if let Some(at) = cut_at.filter(|&at| at > 100) {
            let mut again = Clock::new(Settings {
                drain,
                ..Settings::default()
            });
            again.at(100, exited(0, &[]));
            assert_eq!(again.machine.deadline(), Some(again.instant(at)));
        }
    }
}

#[test]
fn an_interrupt_after_the_exit_ends_the_drain_at_once() {
    let mut clock = Clock::new(Settings {
        drain: None,
        ..Settings::default()
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
    clock.at(2000, Input::Interrupt(Signal::TERM));
    assert!(
        !clock.machine.abandoned(),
        "not before the survivors are named"
    );
    let orders = clock.until(6000);
    assert!(has(&orders, &Order::NameSurvivors));
    assert_eq!(clock.machine.deadline(), None, "named once");
    let orders = clock.at(7000, Input::Interrupt(Signal::INT));
    assert!(
        orders.contains(&Order::Warn(Note::Received(Signal::INT, Received::GivesUp))),
        "{orders:?}"
    );
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
    orders = clock.at(1011, Input::ScopeLooked(Look::Seen(vec![7])));
    assert_eq!(signals(&orders), [Signal::KILL]);
    clock.at(1030, Input::ScopeLooked(Look::Seen(vec![])));
    assert!(clock.machine.settled());
    assert_eq!(clock.machine.left_behind(), [] as [u32; 0]);
    assert_eq!(clock.machine.trigger(), Some(Trigger::Signal(Signal::TERM)));
}

/// The stdin step left for the next step orders the hangup (the loop hangs a terminal up, and
/// has nothing more to close on a pipe), before that step's signal; an interrupt skipping it
/// does the same. A child gone during the step leaves no terminal to hang up.
#[test]
fn leaving_the_stdin_step_for_another_orders_the_hangup_first() {
    let hangup_then_term = |orders: &[Order]| {
        let hangup = orders.iter().position(|order| *order == Order::HangUp);
        let term = orders
            .iter()
            .position(|order| *order == Order::Signal(Signal::TERM));
        matches!((hangup, term), (Some(hangup), Some(term)) if hangup < term)
    };
    let mut clock = Clock::default();
    let orders = clock.at(100, Input::Eof { hangup: true });
    assert!(!has(&orders, &Order::HangUp), "{orders:?}");
    let orders = clock.until(1100);
    assert!(hangup_then_term(&orders), "{orders:?}");
    assert_eq!(orders.iter().filter(|o| **o == Order::HangUp).count(), 1);

    let mut clock = Clock::default();
    clock.at(100, Input::Interrupt(Signal::TERM));
    let orders = clock.at(200, Input::Interrupt(Signal::TERM));
    assert!(hangup_then_term(&orders), "{orders:?}");

    let mut clock = Clock::default();
    clock.at(100, Input::Eof { hangup: true });
    let orders = clock.at(200, exited(0, &[]));
    assert!(!has(&orders, &Order::HangUp), "{orders:?}");
    let orders = clock.until(3000);
    assert!(!has(&orders, &Order::HangUp), "{orders:?}");
}
