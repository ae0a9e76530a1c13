//! Failing closed: an exit that cannot be read still ends the wait for it.

use crate::scope::Look;
use super::*;

#[test]
fn a_readable_exit_descriptor_with_no_exit_read_ends_the_child_and_cannot_spin() {
    let mut clock = Clock::default();
    clock.at(0, Input::Close(Trigger::Close));
    let orders = clock.at(100, Input::ExitUnread { left: Look::Seen(Vec::new()) });
    assert!(
        clock.machine.exited() && clock.machine.settled(),
        "{orders:?}"
    );
    let told = orders.iter().any(|order| {
        matches!(
            order,
            Order::Tell(Note::ChildExited {
                exit: Exit::Unknown,
                ..
            })
        )
    });
    assert!(told, "the exit is told as unknown: {orders:?}");
    // Nothing is due now (only the output's drain, later): the loop has no reason to turn again
    // at once, and telling it again changes nothing.
    let now = clock.instant(100);
    assert!(clock.machine.deadline().is_none_or(|due| due > now));
    assert!(clock.machine.tick(now).is_empty());
    assert!(
        clock
            .at(100, Input::ExitUnread { left: Look::Seen(Vec::new()) })
            .is_empty()
    );
}

#[test]
fn an_unread_exit_with_processes_left_still_ends_them() {
    let mut clock = Clock::default();
    let orders = clock.at(50, Input::ExitUnread { left: Look::Seen(vec![7]) });
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT], "{orders:?}");
    assert!(clock.machine.exited() && !clock.machine.settled());
}

#[test]
fn an_interrupt_that_comes_with_a_steps_deadline_counts_for_that_step_and_skips_no_other() {
    let mut clock = Clock::default();
    clock.at(0, Input::Close(Trigger::Close));
    // The stdin step's wait (1s) ends: TERM is sent; a supervisor's TERM lands at once after.
    let orders = clock.until(S);
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    let orders = clock.at(S, Input::Interrupt(Signal::TERM));
    assert!(
        signals(&orders).is_empty(),
        "no SIGKILL in the same instant: {orders:?}"
    );
    let counted = Order::Tell(Note::Received(Signal::TERM, Received::CountsForStep));
    assert!(has(&orders, &counted), "{orders:?}");
    // The next interrupt skips as always, and so does one that comes later.
    let orders = clock.at(S + 1, Input::Interrupt(Signal::TERM));
    assert_eq!(signals(&orders), [Signal::KILL]);
    assert_eq!(clock.steps(), [(1, 0), (2, 0), (3, S), (4, S + 1)]);
}

#[test]
fn an_interrupt_well_after_a_steps_deadline_skips_to_the_next_step() {
    let mut clock = Clock::default();
    clock.at(0, Input::Close(Trigger::Close));
    clock.until(S);
    let later = S + INTERRUPT_MERGE.as_millis() as u64;
    let orders = clock.at(later, Input::Interrupt(Signal::TERM));
    assert_eq!(signals(&orders), [Signal::KILL], "{orders:?}");
}
