//! A watched direction's own thread, which relays it while a stream flows (`--protocol`).
//!
//! Watching frames costs CPU in user space (the tee's copy read back, each message looked at)
//! on top of what relaying costs the kernel; with one thread for both directions, a stream
//! through a filter such as `cat` waits for the other direction's work (0.5–0.7× plain relaying
//! for 1 KiB messages, benches/README.md). A thread per direction runs the two on two CPUs. Only
//! while a stream flows, though: a 64-byte round trip woken on two threads pays a context
//! switch more on a busy CPU (1.3× plain, against 1.0× on one thread), so messages stay the
//! event loop's, and a direction is lent to its thread at a read of a stream's size (see
//! `STREAMING` in relay.rs) and given back at its first read of less.
//!
//! The event loop stays the only one to act on the close sequence: the thread moves bytes,
//! hands the frames to the shared talk, and gives the pump back with what ended the loan (the
//! source's end, a reader gone), which the loop then handles as if it had seen it itself; the
//! loop takes the pump back, at once, before anything else touches the direction.

use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};

use super::talk::{Talk, fill_watched};
use super::{Duplex, Seen};
use crate::poller::{Interest, Poller, Wanted};
use crate::relay::{Event, Pump};
use crate::trace::Direction;

/// What the talk and the loop share with the threads: the messages, and what a thread saw.
pub(crate) struct Shared {
    pub talk: Talk,
    /// What a thread's frames showed, for the loop.
    pub seen: Vec<Seen>,
    /// When a lent direction last moved bytes, by [`Direction::index`], since the loop looked.
    moved: [Option<Instant>; 2],
    /// Whether a lent direction holds bytes its destination does not take now (no idleness).
    waiting: [bool; 2],
}

impl Shared {
    pub fn new(talk: Talk) -> Shared {
        Shared {
            talk,
            seen: Vec::new(),
            moved: [None; 2],
            waiting: [false; 2],
        }
    }

    /// When the lent direction `dir` last showed activity (moved bytes, or held some for a full
    /// destination: now), if it did since the last call.
    pub fn activity(&mut self, dir: Direction, now: Instant) -> Option<Instant> {
        let moved = self.moved[dir.index()].take();
        if self.waiting[dir.index()] {
            Some(now)
        } else {
            moved
        }
    }
}

/// Locks the shared state, going on after a panic on a thread: what it holds stays consistent
/// between two calls.
pub(crate) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What ended a loan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// The stream paused (a read of a message's size), or the loop called the pump back.
    Paused,
    /// A read showed this (an end of the source, a reader gone).
    Read(Event),
    /// The destination's reader is gone (a write said so).
    Closed,
}

/// One direction's thread, started at its first stream.
pub(super) struct Helper {
    lend: Option<Sender<Pump>>,
    back: Receiver<(Pump, Ended)>,
    /// Wakes the thread from its wait, to give the pump back now.
    recall: UnixDatagram,
    /// The pump the loop holds while the real one is lent: no ends, so nothing waits on it.
    spare: Option<Pump>,
    thread: Option<JoinHandle<()>>,
}

/// The descriptors of a thread's wait.
#[derive(Clone, Copy)]
enum Slot {
    Source,
    Destination,
    Recall,
}

impl From<Slot> for usize {
    fn from(slot: Slot) -> usize {
        slot as usize
    }
}

impl Helper {
    /// Starts the thread of `dir`; it rings `wake` when it gives a pump back or saw something
    /// for the loop. `None` when the system refuses a thread or a socket: the loop relays.
    pub fn start(dir: Direction, shared: &Arc<Mutex<Shared>>, wake: &UnixDatagram) -> Option<Self> {
        let (recall, recalled) = UnixDatagram::pair().ok()?;
        let wake = wake.try_clone().ok()?;
        for socket in [&recall, &recalled, &wake] {
            socket.set_nonblocking(true).ok()?;
        }
        let (lend, lent) = mpsc::channel();
        let (give_back, back) = mpsc::channel();
        let shared = Arc::clone(shared);
        let thread = std::thread::Builder::new()
            .name(format!("agentpipe-{dir:?}"))
            .spawn(move || {
                // Signals stay the event loop's: its waits are the ones they must interrupt.
                let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None);
                while let Ok(mut pump) = lent.recv() {
                    let ended = relay(&mut pump, dir, &shared, &recalled, &wake);
                    // A call back that crossed an end of the loan's own is answered by this
                    // end (one that comes later ends the next loan early: never a loan that
                    // misses its call).
                    while recalled.recv(&mut [0; 16]).is_ok() {}
                    if give_back.send((pump, ended)).is_err() {
                        return;
                    }
                    let _ = wake.send(&[0]);
                }
            })
            .ok()?;
        Some(Helper {
            lend: Some(lend),
            back,
            recall,
            spare: Some(Pump::new(None, None)),
            thread: Some(thread),
        })
    }

    /// Whether the thread holds the direction's pump.
    pub fn lent(&self) -> bool {
        self.spare.is_none()
    }

    /// Hands `pump` to the thread, leaving a pump without ends in its place.
    pub fn lend(&mut self, pump: &mut Pump) {
        if let (Some(lend), Some(spare)) = (&self.lend, self.spare.take()) {
            let lent = std::mem::replace(pump, spare);
            if let Err(mpsc::SendError(lent)) = lend.send(lent) {
                self.spare = Some(std::mem::replace(pump, lent));
            }
        }
    }

    /// Puts the pump back in `pump` if the thread gave it back (at once with `recall`, waiting
    /// for it); returns what ended the loan. A thread that died took its pump's ends with it.
    pub fn take_back(&mut self, pump: &mut Pump, recall: bool) -> Option<Ended> {
        if !self.lent() {
            return None;
        }
        let back = if recall {
            let _ = self.recall.send(&[0]);
            self.back.recv().ok()
        } else {
            match self.back.try_recv() {
                Err(mpsc::TryRecvError::Empty) => return None,
                back => back.ok(),
            }
        };
        let (returned, ended) =
            back.unwrap_or_else(|| (Pump::new(None, None), Ended::Read(Event::SourceEnded)));
        self.spare = Some(std::mem::replace(pump, returned));
        Some(ended)
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if self.lent() {
            let mut pump = Pump::new(None, None);
            self.take_back(&mut pump, true);
        }
        self.lend = None; // the thread's wait for a pump ends
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Relays `pump` as the loop would, until the stream pauses, the loop calls it back (`recall`
/// readable), or a read or write ends something.
fn relay(
    pump: &mut Pump,
    dir: Direction,
    shared: &Mutex<Shared>,
    recall: &UnixDatagram,
    wake: &UnixDatagram,
) -> Ended {
    let mut poller = Poller::default();
    loop {
        let mut wanted: Wanted<Slot, 3> = Wanted::new();
        wanted.set(Slot::Source, pump.source_want());
        wanted.set(Slot::Destination, pump.destination_want());
        wanted.set(Slot::Recall, Some((recall.as_fd(), Interest::Read)));
        let Ok(found) = poller.wait(wanted, None) else {
            return Ended::Paused;
        };
        if found.get(Slot::Recall).ready {
            return Ended::Paused;
        }
        let (relayed, mut seen) = (pump.relayed, Vec::new());
        let mut ended = None;
        if found.get(Slot::Source).ready {
            ended = match fill_watched(pump, dir, shared, &mut seen) {
                Event::Progress if !pump.streams() => Some(Ended::Paused),
                Event::Progress => None,
                event => Some(Ended::Read(event)),
            };
        }
        let destination = found.get(Slot::Destination);
        if ended.is_none()
            && (destination.ready || pump.can_write_now())
            && pump.write_ready(destination.failed)
        {
            ended = Some(Ended::Closed);
        }
        let mut shared = lock(shared);
        if pump.relayed != relayed {
            shared.moved[dir.index()] = Some(Instant::now());
        }
        shared.waiting[dir.index()] = ended.is_none() && pump.wants_write();
        if !seen.is_empty() {
            shared.seen.append(&mut seen);
            let _ = wake.send(&[0]);
        }
        if let Some(ended) = ended {
            return ended;
        }
    }
}

impl Duplex {
    /// Whether the direction `dir` is lent to its thread.
    pub(super) fn lent(&self, dir: Direction) -> bool {
        self.helpers[dir.index()].as_ref().is_some_and(Helper::lent)
    }

    /// At a turn: empties the ring when it `rang`, takes back the pumps their threads gave
    /// back, and passes on what the threads saw.
    pub(super) fn answer_ring(&mut self, rang: bool) {
        if let Some((ring, _)) = self.wake.as_ref().filter(|_| rang) {
            while ring.recv(&mut [0; 64]).is_ok() {}
        }
        self.take_back_lent(false);
    }

    /// Takes back the pumps lent to their threads (see [`Duplex::take_back`]), and handles what
    /// ended each loan as the loop would have, had it read or written that itself.
    pub(super) fn take_back_lent(&mut self, recall: bool) {
        if self.helpers.iter().all(Option::is_none) {
            return; // no stream yet: a message's turn costs nothing more
        }
        for dir in [Direction::ToChild, Direction::FromChild] {
            let Some(helper) = &mut self.helpers[dir.index()] else {
                continue;
            };
            let pump = dir.pick(&mut self.to_child, &mut self.from_child);
            match (dir, helper.take_back(pump, recall)) {
                (_, None | Some(Ended::Paused)) => {}
                (Direction::ToChild, Some(Ended::Read(event))) => self.input_event(event),
                (Direction::FromChild, Some(Ended::Read(event))) => self.child_output_event(event),
                (Direction::ToChild, Some(Ended::Closed)) => self.child_stdin_closed(),
                (Direction::FromChild, Some(Ended::Closed)) => self.output_closed(),
            }
        }
        if let Some(shared) = &self.talk {
            self.seen.append(&mut lock(shared).seen);
        }
    }

    /// Lends each direction through which a stream flows now to its thread, started if need be
    /// (a system that refuses one leaves the direction to the loop).
    pub(super) fn lend_streams(&mut self) {
        let Some(shared) = &self.talk else {
            return;
        };
        for dir in [Direction::ToChild, Direction::FromChild] {
            let pump = dir.pick(&mut self.to_child, &mut self.from_child);
            if !pump.streams() {
                continue;
            }
            if self.wake.is_none() {
                self.wake = UnixDatagram::pair()
                    .ok()
                    .filter(|(ring, _)| ring.set_nonblocking(true).is_ok());
            }
            let helper = &mut self.helpers[dir.index()];
            if helper.is_none()
                && let Some((_, wake)) = &self.wake
            {
                *helper = Helper::start(dir, shared, wake);
            }
            if let Some(helper) = helper.as_mut().filter(|helper| !helper.lent()) {
                helper.lend(pump);
            }
        }
    }

    /// `at` (by [`Direction::index`]: when each direction showed activity in this turn), with
    /// each lent direction's latest activity on its thread.
    pub(super) fn lent_activity(
        &self,
        mut at: [Option<Instant>; 2],
        now: Instant,
    ) -> [Option<Instant>; 2] {
        if let Some(shared) = &self.talk {
            for dir in [Direction::ToChild, Direction::FromChild] {
                if self.lent(dir) {
                    let index = dir.index();
                    at[index] = at[index].max(lock(shared).activity(dir, now));
                }
            }
        }
        at
    }
}
