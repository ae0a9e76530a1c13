//! Failing closed: an exit that cannot be read still ends the wait for it.

use super::*;

#[test]
fn a_readable_exit_descriptor_with_no_exit_read_ends_the_child_and_cannot_spin() {
    let mut clock = Clock::default();
    clock.at(0, Input::Close(Trigger::Close));
    let orders = clock.at(100, Input::ExitUnread { left: Vec::new() });
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
            .at(100, Input::ExitUnread { left: Vec::new() })
            .is_empty()
    );
}

#[test]
fn an_unread_exit_with_processes_left_still_ends_them() {
    let mut clock = Clock::default();
    let orders = clock.at(50, Input::ExitUnread { left: vec![7] });
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT], "{orders:?}");
    assert!(clock.machine.exited() && !clock.machine.settled());
}
