//! The relay's messages, with `--protocol`: each frame that ended is paired, recorded in the
//! trace and checked for what the machine must know (a request waiting, the client's own
//! shutdown, the answer to agentpipe's); stray output goes to stderr; agentpipe's own LSP
//! `shutdown` and `exit` are made here.

use std::process;
use std::time::Instant;

use std::sync::{Arc, Mutex};

use super::helper::{Shared, lock};
use super::{Duplex, Seen};
use crate::machine::note::{Note, Said};
use crate::machine::{Awaiting, Input};
use crate::outcome::Unanswered;
use crate::outlet::{Outlet, own_stderr};
use crate::protocol::{Conversation, Frame, Kind, Message, Protocol, Watch, valid};
use crate::relay::{Event, Pump};
use crate::trace::{Direction, Recorder, Spoken};

/// The messages each way. See the module documentation.
pub(crate) struct Talk {
    protocol: Protocol,
    conversation: Conversation,
    trace: Option<Recorder>,
    /// Where stray output goes: the `--stderr` file, or agentpipe's own stderr (`None`).
    stray: Option<Outlet>,
    stray_told: bool,
    stray_bytes: usize,
    /// The oldest request waiting, as the machine last heard of it.
    told: Option<Awaiting>,
    client_shut: bool,
}

impl Talk {
    pub fn new(protocol: Protocol, stray: Option<Outlet>, trace: Option<Recorder>) -> Talk {
        Talk {
            protocol,
            conversation: Conversation::default(),
            trace,
            stray,
            stray_told: false,
            stray_bytes: 0,
            told: None,
            client_shut: false,
        }
    }

    /// Takes in a frame that ended going `dir` at `now`.
    pub fn frame(&mut self, dir: Direction, frame: &Frame<'_>, now: Instant, seen: &mut Vec<Seen>) {
        let message = &frame.message;
        let observed = self.conversation.observe(dir, message, now);
        let method = message.method.as_deref();
        let shuts = match message.kind() {
            Kind::Request => method == Some("shutdown"),
            Kind::Notification => method == Some("exit"),
            _ => false,
        };
        if dir == Direction::ToChild && shuts && !frame.own && !self.client_shut {
            self.client_shut = true;
            seen.push(Seen::Input(Input::ClientShutdown));
        }
        if frame.own && dir == Direction::FromChild {
            seen.push(Seen::Input(Input::ShutdownAnswered));
        }
        if let Some(trace) = &self.trace {
            let spoken = Spoken {
                kind: message.kind().name(),
                id: message.id,
                method: observed.method.as_deref().or(method),
                latency: observed.latency,
                error: message.error,
                len: frame.len,
                body: frame.body,
                // Checked only here: a message that is not traced is relayed whatever it is.
                valid: message.checked && valid(frame.body),
                cut: !message.checked,
                own: frame.own,
            };
            trace.message(dir, &spoken);
        }
    }

    /// After the frames of a read: tells the machine of the oldest request waiting, when that
    /// changed (most messages change nothing there).
    pub fn settle(&mut self, seen: &mut Vec<Seen>) {
        if self.conversation.oldest_since() != self.told.as_ref().map(|told| told.since) {
            let oldest = self.conversation.oldest();
            let oldest = oldest.map(|(since, request)| Awaiting { since, request });
            self.told.clone_from(&oldest);
            seen.push(Seen::Input(Input::Awaiting(oldest)));
        }
    }

    /// Bytes of the child's stdout that are no frame: to stderr, said once the first line of
    /// them ended (the warning never cuts it in two).
    pub fn stray(&mut self, bytes: &[u8], seen: &mut Vec<Seen>) {
        match &mut self.stray {
            Some(outlet) => drop(outlet.push(bytes)),
            None => drop(own_stderr().push(bytes)),
        }
        self.stray_bytes += bytes.len();
        if !self.stray_told && bytes.contains(&b'\n') {
            self.stray_told = true;
            let protocol = self.protocol.name();
            let bytes = self.stray_bytes;
            let said = Said::Stray { protocol, bytes };
            seen.push(Seen::Warn(Note::Protocol(said)));
        }
    }

    /// Writes what waits for the `--stderr` file, as far as it takes it now.
    pub fn flush(&mut self) {
        if let Some(outlet) = &mut self.stray {
            outlet.flush();
        }
    }

    /// A message of agentpipe's own to the child, recorded as sent, as any other: only once its
    /// frame was queued, so that the trace and the unanswered requests never hold one that the
    /// child could not be sent.
    pub fn sent_own(&mut self, body: &str) {
        let frame = Frame {
            message: Message::parse(body.as_bytes(), true),
            body: body.as_bytes(),
            len: body.len() as u64,
            own: true,
        };
        let mut unused = Vec::new();
        self.frame(Direction::ToChild, &frame, Instant::now(), &mut unused);
    }

    pub fn unanswered(&self, start: Instant) -> Vec<Unanswered> {
        self.conversation.unanswered(start)
    }

    /// When the request waiting longest for its response last showed life.
    pub fn oldest_since(&self) -> Option<Instant> {
        self.conversation.oldest_since()
    }
}

impl Duplex {
    /// Watches the messages of `protocol` both ways, recorded in `trace` instead of the chunks;
    /// the child's stdout bytes that are no frame go to `stray` (`None`: agentpipe's stderr).
    /// With `hold_eof`, the end of the input does not close the child's stdin: the sequence's
    /// steps do, after the shutdown step wrote to it.
    pub fn speak(
        &mut self,
        protocol: Protocol,
        stray: Option<Outlet>,
        trace: Option<&Recorder>,
        hold_eof: bool,
    ) {
        self.to_child.set_watch(Watch::new(protocol, false));
        self.from_child.set_watch(Watch::new(protocol, true));
        self.forward_eof &= !hold_eof;
        let talk = Talk::new(protocol, stray, trace.cloned());
        self.talk = Some(Arc::new(Mutex::new(Shared::new(talk))));
    }

    /// Reads what the source of `dir` has through its watch, if there is one.
    pub(super) fn fill_watched(&mut self, dir: Direction) -> Option<Event> {
        let shared = self.talk.as_ref()?;
        let pump = dir.pick(&mut self.to_child, &mut self.from_child);
        Some(fill_watched(pump, dir, shared, &mut self.seen))
    }

    /// Runs `act` on the talk, if there is one.
    fn talk<T>(&self, act: impl FnOnce(&mut Talk) -> T) -> Option<T> {
        self.talk.as_ref().map(|shared| act(&mut lock(shared).talk))
    }

    /// The shutdown step: agentpipe's own `shutdown` request to the child, once what was read
    /// for it is written; the answer is not relayed. Nothing more is read from agentpipe's input.
    pub fn send_shutdown(&mut self) -> Vec<Seen> {
        let id = format!("\"agentpipe-shutdown-{}\"", process::id());
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"shutdown"}}"#);
        let said = match self.send_own(&body) {
            Some(_) => {
                if let Some(watch) = self.from_child.watch() {
                    watch.swallow(id.clone());
                }
                Said::ShutdownSent { id }
            }
            None => Said::ShutdownUnsendable,
        };
        self.tell(Note::Protocol(said));
        std::mem::take(&mut self.seen)
    }

    /// A send step: its message to the child as a frame of agentpipe's own, as the shutdown
    /// step sends its request.
    pub fn send_message(&mut self, message: &str) -> Vec<Seen> {
        let said = match self.send_own(message) {
            Some(bytes) => Said::MessageSent { bytes },
            None => Said::MessageUnsendable,
        };
        self.tell(Note::Protocol(said));
        std::mem::take(&mut self.seen)
    }

    /// Writes `body` as a frame of agentpipe's own to the child once what was read for it is
    /// written, which is only possible between two frames; nothing more is read from
    /// agentpipe's input (the sequence has begun). Returns the frame's size, when it went.
    fn send_own(&mut self, body: &str) -> Option<usize> {
        self.take_back(true);
        self.to_child.close_source();
        let at_boundary = self
            .to_child
            .watch()
            .is_some_and(|watch| watch.at_boundary());
        match at_boundary {
            true => self.queue_own(body),
            false => None,
        }
    }

    /// The `exit` notification that follows the answer to agentpipe's `shutdown`.
    pub fn send_exit(&mut self) {
        self.take_back(true);
        self.queue_own(r#"{"jsonrpc":"2.0","method":"exit"}"#);
    }

    /// Queues `body`, framed, for the child, and records it as sent when it fits; returns the
    /// frame's size then.
    fn queue_own(&mut self, body: &str) -> Option<usize> {
        let frame = self.talk(|talk| talk.protocol.frame(body))?;
        self.to_child.inject(&frame).then(|| {
            self.talk(|talk| talk.sent_own(body));
            frame.len()
        })
    }

    /// The requests still without a response, times counted from `start`.
    pub fn unanswered(&self, start: Instant) -> Vec<Unanswered> {
        self.talk(|talk| talk.unanswered(start)).unwrap_or_default()
    }

    /// Bytes of the child's stdout that were no frame.
    pub fn stray_total(&mut self) -> u64 {
        self.take_back(true);
        self.from_child
            .watch()
            .map_or(0, |watch| watch.stray_total())
    }
}

/// Reads what the source of `pump` (going `dir`) has through its watch: the frames that ended
/// are taken in by the talk, stray output goes to stderr. The talk is locked for each frame, not
/// across the reads, so that the other direction's thread relays meanwhile.
pub(super) fn fill_watched(
    pump: &mut Pump,
    dir: Direction,
    shared: &Mutex<Shared>,
    seen: &mut Vec<Seen>,
) -> Event {
    let now = Instant::now();
    let event = pump.fill_watched(|frame| lock(shared).talk.frame(dir, frame, now, seen));
    let talk = &mut lock(shared).talk;
    if let Some(watch) = pump.watch() {
        watch.take_stray(|bytes| talk.stray(bytes, seen));
    }
    talk.settle(seen);
    talk.flush();
    event
}
