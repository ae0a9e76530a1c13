//! Every process of the scope other than the command that agentpipe saw, and the last signal
//! the scope's steps sent it: what the report names as ended, with the signal that ended it or
//! none when it was gone before any. Kept by each front end as it looks at and signals the scope
//! (the Unix event loop's child, the Windows driver).

use crate::outcome::EndedProcess;
use crate::platform::Member;
use crate::signals::Signal;

/// One process seen in the scope.
#[derive(Clone, Debug)]
struct Record {
    member: Member,
    /// The last signal sent while it was in the scope.
    signal: Option<Signal>,
}

/// The processes seen, in the order first seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ended {
    seen: Vec<Record>,
}

impl Ended {
    /// Notes that `members` were in the scope, and got `signal` if one is being sent.
    pub fn saw(&mut self, members: Vec<Member>, signal: Option<Signal>) {
        for member in members {
            let known = self
                .seen
                .iter_mut()
                .find(|record| record.member.is(&member));
            match known {
                Some(record) => record.signal = signal.or(record.signal),
                None => self.seen.push(Record { member, signal }),
            }
        }
    }

    /// Whether `pid` was seen already (so that a look need not read it again).
    pub fn knows(&self, pid: u32) -> bool {
        self.seen.iter().any(|record| record.member.pid == pid)
    }

    pub fn list(&self) -> Vec<EndedProcess> {
        let ended = self.seen.iter().map(|record| EndedProcess {
            pid: record.member.pid,
            name: record.member.name.clone(),
            signal: record.signal,
        });
        ended.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(pid: u32, start: u64) -> Member {
        Member {
            pid,
            start,
            name: format!("p{pid}"),
        }
    }

    #[test]
    fn each_process_keeps_the_last_signal_it_got_and_a_reused_pid_is_another() {
        let mut ended = Ended::default();
        ended.saw(vec![member(7, 100)], None);
        ended.saw(vec![member(7, 100), member(8, 100)], Some(Signal::TERM));
        ended.saw(vec![member(8, 100)], Some(Signal::KILL));
        ended.saw(vec![member(8, 100)], None); // a look after: the signal stays
        ended.saw(vec![member(9, 100), member(7, 555)], None);
        let list: Vec<(u32, Option<Signal>)> =
            ended.list().iter().map(|e| (e.pid, e.signal)).collect();
        assert_eq!(
            list,
            [
                (7, Some(Signal::TERM)),
                (8, Some(Signal::KILL)),
                (9, None),
                (7, None)
            ]
        );
        assert!(ended.knows(9) && !ended.knows(10));
    }
}
