//! Failing closed: an exit that cannot be read still ends the wait for it.

use super::*;
use crate::scope::Look;

#[test]
fn a_readable_exit_descriptor_with_no_exit_read_ends_the_child_and_cannot_spin() {
    let mut clock = Clock::default();
    clock.at(0, Input::Close(Trigger::Close));
    let orders = clock.at(
        100,
        Input::ExitUnread {
            left: Look::Seen(Vec::new()),
        },
    );
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
            .at(
                100,
                Input::ExitUnread {
                    left: Look::Seen(Vec::new())
                }
            )
            .is_empty()
    );
}

#[test]
fn an_unread_exit_with_processes_left_still_ends_them() {
    let mut clock = Clock::default();
    let orders = clock.at(
        50,
        Input::ExitUnread {
            left: Look::Seen(vec![7]),
        },
    );
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

/// Lets time pass to `ms` as the loop does, answering every look with `look`.
fn answering(clock: &mut Clock, ms: u64, look: &Look) -> Vec<Order> {
    let mut orders = Vec::new();
    for at in (clock.now..=ms).step_by(5) {
        let due = clock.until(at);
        let asked = due.contains(&Order::LookAtScope);
        orders.extend(due);
        if asked {
            let now = clock.instant(at);
            orders.extend(clock.machine.handle(Input::ScopeLooked(look.clone()), now));
        }
    }
    orders
}

#[test]
fn a_scope_no_look_can_see_is_never_empty_and_is_given_up_on_only_after_sigkill() {
    let unseen = || Look::Unseen(crate::scope::Unseen::NoProc);
    let warned = |orders: &[Order]| {
        orders
            .iter()
            .filter(|order| {
                matches!(
                    order,
                    Order::Warn(Note::ScopeUnseen {
                        after_kill: false,
                        ..
                    })
                )
            })
            .count()
    };
    let mut clock = Clock::default();
    let exit = Input::ChildExited {
        exit: Exit::Code(3),
        left: unseen(),
    };
    let orders = clock.at(0, exit);
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT], "{orders:?}");
    assert_eq!(warned(&orders), 1, "said once, even without -v: {orders:?}");
    // Looks that still cannot see keep the step's wait, and say nothing again.
    let orders = answering(&mut clock, S - 1, &unseen());
    assert!(
        signals(&orders).is_empty() && warned(&orders) == 0,
        "{orders:?}"
    );
    assert!(!clock.machine.settled());
    let orders = answering(&mut clock, S, &unseen());
    let sent = signals(&orders);
    assert!(
        !sent.is_empty() && sent.iter().all(|&s| s == Signal::KILL),
        "{orders:?}"
    );
    // After SIGKILL, the looks go on for a while (the kernel may say the scope went)...
    let after = UNSEEN_AFTER_KILL.as_millis() as u64;
    let orders = answering(&mut clock, S + after - 5, &unseen());
    assert!(!clock.machine.settled(), "{orders:?}");
    assert!(clock.machine.unchecked().is_none());
    // ... then the run ends, saying processes may remain.
    let orders = answering(&mut clock, S + after + 20, &unseen());
    let unchecked = orders.iter().any(|order| {
        matches!(
            order,
            Order::Warn(Note::ScopeUnseen {
                after_kill: true,
                ..
            })
        )
    });
    assert!(unchecked && clock.machine.settled(), "{orders:?}");
    assert_eq!(
        clock.machine.unchecked(),
        Some(crate::scope::Unseen::NoProc)
    );
}

#[test]
fn a_look_that_sees_again_takes_the_scope_for_what_it_shows() {
    let mut clock = Clock::default();
    let exit = Input::ChildExited {
        exit: Exit::Code(3),
        left: Look::Unseen(crate::scope::Unseen::NoDescriptor),
    };
    clock.at(0, exit);
    let orders = clock.at(30, Input::ScopeLooked(Look::Seen(Vec::new())));
    assert!(clock.machine.settled(), "{orders:?}");
    assert!(clock.machine.unchecked().is_none());
    assert!(has(&orders, &Order::Tell(Note::ScopeEmpty)), "{orders:?}");
}
