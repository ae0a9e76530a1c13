//! Quiet time after the end of input: the grace the end of input started is extended while the
//! command works (CPU or output), and never for another trigger.

use std::time::Duration;

use super::*;

const MS: fn(u64) -> Duration = Duration::from_millis;

impl Clock {
    /// Lets time pass to `ms`, where the period ends: the machine must order a look at the
    /// scope's work there, which is answered with `cpu_ms` of CPU time used in all.
    fn look(&mut self, ms: u64, cpu_ms: Option<u64>) -> Vec<Order> {
        let mut orders = self.until(ms - 1);
        let now = self.instant(ms);
        assert_eq!(
            self.machine.deadline(),
            Some(now),
            "the period ends at {ms}"
        );
        let ticked = self.machine.tick(now);
        assert!(
            has(&ticked, &Order::LookAtWork),
            "a look at {ms}: {ticked:?}"
        );
        assert!(signals(&ticked).is_empty(), "{ticked:?}");
        orders.extend(ticked);
        orders.extend(self.machine.handle(
            Input::WorkLooked {
                cpu: cpu_ms.map(MS),
                waited: None,
            },
            now,
        ));
        self.now = ms;
        orders
    }

    /// The end of input at `ms`, answering the first look (the starting point) with `cpu_ms`.
    fn eof(&mut self, ms: u64, cpu_ms: u64) -> Vec<Order> {
        let mut orders = self.at(ms, Input::Eof { hangup: true });
        assert!(has(&orders, &Order::LookAtWork), "{orders:?}");
        orders.extend(self.machine.handle(
            Input::WorkLooked {
                cpu: Some(MS(cpu_ms)),
                waited: None,
            },
            self.instant(ms),
        ));
        orders
    }
}

fn told_working(orders: &[Order]) -> Vec<String> {
    let working = orders.iter().filter_map(|order| match order {
        Order::Tell(note @ Note::StillWorking(_)) => Some(note.to_string()),
        _ => None,
    });
    working.collect()
}

#[test]
fn a_command_that_works_after_its_input_ended_gets_its_grace_again_until_quiet() {
    let mut clock = Clock::default();
    clock.eof(100, 40);
    // 0.98 s of CPU in the period: working, said once with the figure.
    let orders = clock.look(1100, Some(1020));
    assert_eq!(
        told_working(&orders),
        [
            "still working: 0.98 s of CPU in the last 1 s; waiting until it is quiet for its grace \
          (--eof-grace)"
        ]
    );
    assert!(signals(&orders).is_empty());
    // A tenth of the period is still work; not said again.
    let orders = clock.look(2100, Some(1120));
    assert!(told_working(&orders).is_empty() && signals(&orders).is_empty());
    // Less is quiet: the next step, saying how long it worked.
    let orders = clock.look(3100, Some(1219));
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    assert_eq!(
        sent(&orders),
        [
            "sent SIGTERM to agent (pid 42) and its process group once it was quiet for 1s, 3 s \
          after its input ended (--eof-grace 1s; --eof-grace inf lets it finish)"
        ]
    );
    assert_eq!(clock.steps(), [(2, 100), (3, 3100)]);
}

#[test]
fn an_idle_command_is_ended_after_its_grace_as_before() {
    let mut clock = Clock::default();
    clock.eof(0, 500);
    let orders = clock.look(1000, Some(509));
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    assert!(told_working(&orders).is_empty());
    assert!(
        sent(&orders)[0]
            .ends_with("1s after its input ended (--eof-grace 1s; --eof-grace inf lets it finish)"),
        "{orders:?}"
    );
    // CPU time that went down (a process exited unwaited-for) is no work either.
    let mut clock = Clock::default();
    clock.eof(0, 500);
    let orders = clock.look(1000, Some(100));
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
}

#[test]
fn output_during_the_period_is_work_even_without_a_cpu_figure() {
    let mut clock = Clock::new(Settings {
        eof_grace: Some(Some(MS(500))),
        ..Settings::default()
    });
    clock.eof(0, 0);
    assert!(clock.machine.watches_idle(), "output is worth telling now");
    clock.until(300);
    let now = clock.instant(300);
    clock.machine.moved(false, now); // input moving is not the command's work
    let orders = clock.look(500, None);
    assert_eq!(
        signals(&orders),
        [Signal::TERM, Signal::CONT],
        "no output yet"
    );

    let mut clock = Clock::new(Settings {
        eof_grace: Some(Some(MS(500))),
        ..Settings::default()
    });
    clock.eof(0, 0);
    clock.until(300);
    let now = clock.instant(300);
    clock.machine.moved(true, now);
    let orders = clock.look(500, None);
    assert_eq!(
        told_working(&orders),
        [
            "still working: no CPU figure and output in the last 0.5 s; waiting until it is quiet \
          for its grace (--eof-grace)"
        ]
    );
    let orders = clock.look(1000, None);
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
}

#[test]
fn a_command_that_wants_the_cpu_is_working_whatever_cpu_time_it_got() {
    let answer = |clock: &mut Clock, ms: u64, cpu: u64, waited: u64| {
        clock.until(ms - 1);
        let now = clock.instant(ms);
        assert!(has(&clock.machine.tick(now), &Order::LookAtWork));
        clock.now = ms;
        let (cpu, waited) = (Some(MS(cpu)), Some(MS(waited)));
        clock.machine.handle(Input::WorkLooked { cpu, waited }, now)
    };
    let mut clock = Clock::default();
    clock.at(0, Input::Eof { hangup: true });
    let start = Input::WorkLooked {
        cpu: Some(MS(100)),
        waited: Some(MS(1000)),
    };
    clock.machine.handle(start, clock.instant(0));
    // 50 ms of CPU, 600 ms more waiting for it (starved, or niced on a loaded machine).
    let orders = answer(&mut clock, 1000, 150, 1600);
    assert!(signals(&orders).is_empty(), "{orders:?}");
    assert_eq!(
        told_working(&orders),
        [
            "still working: 0.05 s of CPU (0.6 s more waiting for one) in the last 1 s; waiting \
          until it is quiet for its grace (--eof-grace)"
        ]
    );
    // A poller that waited a little on each wake-up (40 ms in all) wants no CPU.
    let orders = answer(&mut clock, 2000, 155, 1640);
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
}

#[test]
fn one_look_per_period_during_the_sequence_only() {
    let mut clock = Clock::default();
    assert_eq!(
        clock.machine.deadline(),
        None,
        "nothing wakes an idle agentpipe"
    );
    let mut orders = clock.eof(0, 0);
    for (at, cpu) in [(1000, 500), (2000, 1000), (3000, 1000)] {
        orders.extend(clock.look(at, Some(cpu)));
    }
    let looks = orders.iter().filter(|o| **o == Order::LookAtWork).count();
    assert_eq!(looks, 4, "the starting point and one per period");
    assert_eq!(clock.steps(), [(2, 0), (3, 3000)]);
    // The signal step's wait measures nothing.
    let orders = clock.until(4000);
    assert!(!has(&orders, &Order::LookAtWork), "{orders:?}");
    assert_eq!(clock.steps().last(), Some(&(4, 4000)));
}

#[test]
fn signals_and_timeouts_are_never_extended() {
    // A signal's sequence: its stdin step's wait is a plain wait.
    let mut clock = Clock::default();
    let orders = clock.at(0, Input::Interrupt(Signal::TERM));
    let later = clock.until(1000);
    assert!(!has(&orders, &Order::LookAtWork) && !has(&later, &Order::LookAtWork));
    assert_eq!(signals(&later), [Signal::TERM, Signal::CONT]);
    // --timeout during an extended grace jumps to the stop signal at once.
    let mut clock = Clock::new(Settings {
        timeout: Some(MS(1500)),
        ..Settings::default()
    });
    clock.eof(0, 0);
    clock.look(1000, Some(900));
    let orders = clock.until(1500);
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    assert_eq!(clock.steps(), [(2, 0), (3, 1500)]);
    // So does an interrupt: it skips to the next step.
    let mut clock = Clock::default();
    clock.eof(0, 0);
    clock.look(1000, Some(900));
    let orders = clock.at(1200, Input::Interrupt(Signal::INT));
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    assert!(
        !has(&clock.until(1500), &Order::LookAtWork),
        "no look after the step"
    );
}

#[test]
fn a_front_end_that_cannot_look_and_a_zero_grace_wait_as_before() {
    // The look is not answered: the next tick takes the step.
    let mut clock = Clock::default();
    clock.at(0, Input::Eof { hangup: true });
    let orders = clock.until(1000);
    assert!(has(&orders, &Order::LookAtWork));
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
    assert_eq!(clock.steps(), [(2, 0), (3, 1000)]);
    // --eof-grace 0 measures nothing.
    let mut clock = Clock::new(Settings {
        eof_grace: Some(Some(Duration::ZERO)),
        ..Settings::default()
    });
    let orders = clock.at(0, Input::Eof { hangup: true });
    assert!(!has(&orders, &Order::LookAtWork), "{orders:?}");
    assert_eq!(signals(&orders), [Signal::TERM, Signal::CONT]);
}
