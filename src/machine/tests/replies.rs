//! The rules about messages: `--response-timeout` with its progress resets, the request named
//! when the sequence starts, the LSP shutdown step and the send step.

use std::time::Duration;

use super::*;
use crate::machine::note::Said;
use crate::scope::Look;

fn awaiting(clock: &Clock, since: u64, request: &str) -> Input {
    Input::Awaiting(Some(Awaiting {
        since: clock.instant(since),
        request: request.into(),
    }))
}

fn response_timeout(ms: u64) -> Clock {
    Clock::new(Settings {
        response_timeout: Some(Duration::from_millis(ms)),
        ..Settings::default()
    })
}

#[test]
fn a_request_unanswered_for_the_response_timeout_starts_the_sequence_and_is_named() {
    let mut clock = response_timeout(500);
    let input = awaiting(&clock, 100, "request 3 tools/call to the child");
    clock.at(100, input);
    assert_eq!(clock.machine.deadline(), Some(clock.instant(600)));
    let orders = clock.until(600);
    assert_eq!(clock.machine.trigger(), Some(Trigger::ResponseTimeout));
    assert!(
        Trigger::ResponseTimeout.is_timeout(),
        "124 or 137, as --timeout"
    );
    assert_eq!(clock.steps(), [(1, 600), (2, 600)]);
    let named = Order::Warn(Note::Protocol(Said::ResponseTimeout {
        request: "request 3 tools/call to the child".into(),
        after: Duration::from_millis(500),
    }));
    assert_eq!(
        orders[0], named,
        "said even without -v, before the sequence"
    );
}

#[test]
fn progress_and_answers_move_the_response_deadline() {
    let mut clock = response_timeout(500);
    let input = awaiting(&clock, 0, "request 1 tools/call to the child");
    clock.at(0, input);
    // A progress notification: the same request, its clock restarted.
    let input = awaiting(&clock, 400, "request 1 tools/call to the child");
    clock.at(400, input);
    clock.until(899);
    assert_eq!(clock.machine.trigger(), None);
    // Answered: nothing waits, nothing is due.
    clock.at(850, Input::Awaiting(None));
    assert_eq!(clock.machine.deadline(), None);
    clock.until(5 * S);
    assert_eq!(clock.machine.trigger(), None);
}

#[test]
fn without_the_flag_or_once_the_sequence_runs_a_waiting_request_starts_nothing() {
    let mut clock = Clock::default();
    let input = awaiting(&clock, 0, "request 1 x to the child");
    clock.at(0, input);
    assert_eq!(clock.machine.deadline(), None);
    let mut clock = response_timeout(500);
    clock.at(0, Input::Interrupt(Signal::TERM));
    let input = awaiting(&clock, 10, "request 1 x to the child");
    clock.at(10, input);
    clock.until(5 * S);
    assert_eq!(clock.machine.trigger(), Some(Trigger::Signal(Signal::TERM)));
}

#[test]
fn a_request_waiting_long_is_named_when_the_sequence_starts() {
    let mut clock = Clock::default();
    let input = awaiting(&clock, 0, "request 2 tools/call to the child");
    clock.at(0, input);
    let orders = clock.at(4 * S, Input::Interrupt(Signal::TERM));
    let named = Order::Tell(Note::Protocol(Said::Waiting {
        request: "request 2 tools/call to the child".into(),
        waited: Duration::from_secs(4),
    }));
    assert!(orders.contains(&named), "{orders:?}");
    let mut clock = Clock::default();
    let input = awaiting(&clock, 0, "request 2 tools/call to the child");
    clock.at(0, input);
    let orders = clock.at(S, Input::Interrupt(Signal::TERM));
    assert!(
        !orders
            .iter()
            .any(|order| matches!(order, Order::Tell(Note::Protocol(_))))
    );
}

#[test]
fn the_shutdown_step_asks_then_sends_exit_once_answered_and_eof_starts_there() {
    let mut clock = Clock::with_sequence("wait 0s, shutdown 2s, stdin 1s, TERM 1s, KILL");
    let orders = clock.at(100, Input::Eof { hangup: true });
    assert!(orders.contains(&Order::SendShutdown), "{orders:?}");
    assert!(
        !orders
            .iter()
            .any(|order| matches!(order, Order::CloseStdin { .. }))
    );
    assert_eq!(clock.steps(), [(2, 100)]);
    let orders = clock.at(300, Input::ShutdownAnswered);
    assert_eq!(orders[0], Order::SendExit);
    // The server ends within the step: nothing more is sent.
    let orders = clock.at(
        400,
        Input::ChildExited {
            exit: Exit::Code(0),
            left: Look::Seen(Vec::new()),
        },
    );
    assert!(!orders.iter().any(|order| matches!(order, Order::Signal(_))));
    assert_eq!(clock.steps(), [(2, 100)]);
    assert!(clock.machine.settled());
}

#[test]
fn an_unanswered_shutdown_goes_on_to_the_stdin_step_after_its_wait() {
    let mut clock = Clock::with_sequence("shutdown 2s, stdin 1s, TERM 1s, KILL");
    clock.at(0, Input::Interrupt(Signal::TERM));
    let orders = clock.until(2 * S);
    assert!(
        orders.contains(&Order::CloseStdin { flush: false }),
        "{orders:?}"
    );
    assert_eq!(clock.steps(), [(1, 0), (2, 2 * S)]);
    // An answer after the step changes nothing.
    let orders = clock.at(2 * S + 100, Input::ShutdownAnswered);
    assert!(!orders.contains(&Order::SendExit));
}

#[test]
fn a_send_step_writes_its_message_and_the_end_of_input_starts_there() {
    let mut clock = Clock::with_sequence(r#"wait 0s, send '{"method":"bye"}' 2s, stdin 1s, KILL"#);
    let orders = clock.at(100, Input::Eof { hangup: true });
    let sent = Order::Send {
        message: r#"{"method":"bye"}"#.into(),
    };
    assert!(orders.contains(&sent), "{orders:?}");
    assert!(!orders.iter().any(|o| matches!(o, Order::CloseStdin { .. })));
    assert_eq!(clock.steps(), [(2, 100)]);
    // Then it waits, and the stdin step follows as after any step.
    let orders = clock.until(2 * S + 100);
    assert!(
        orders.contains(&Order::CloseStdin { flush: true }),
        "{orders:?}"
    );
    assert_eq!(clock.steps(), [(2, 100), (3, 2 * S + 100)]);
}

#[test]
fn the_shutdown_step_sends_nothing_when_the_client_already_shut_down() {
    let mut clock = Clock::with_sequence("shutdown 2s, stdin 1s, TERM 1s, KILL");
    clock.at(0, Input::ClientShutdown);
    let orders = clock.at(100, Input::Eof { hangup: true });
    assert!(!orders.contains(&Order::SendShutdown));
    assert!(
        orders.contains(&Order::CloseStdin { flush: true }),
        "{orders:?}"
    );
    assert_eq!(clock.steps(), [(1, 100), (2, 100)]);
}
