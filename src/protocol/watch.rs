//! One direction's stream of frames, watched as it is relayed: each byte is passed on as soon as
//! the framer knows it belongs to a frame, stray bytes are set aside, and each frame's first
//! [`HEAD`] bytes are kept to say what its message is once it ends.

use super::{Framer, HEAD, Message, Protocol, Sink};

/// While agentpipe waits for the answer to a request of its own, each frame from the child is
/// held until it is known not to be that answer, up to this many bytes (the answer is small).
const HOLD: usize = 4096;

/// The most a watch may pass on beyond what it was just fed: a held header block and a held
/// frame. A relay's buffer keeps this much room free before it reads.
pub(crate) const RESERVE: usize = 8 * 1024;

/// A frame that ended: what its message is, its first bytes, and its length.
#[derive(Debug)]
pub(crate) struct Frame {
    pub message: Message,
    /// The first [`HEAD`] bytes of the message (its body: no headers, no final newline).
    pub head: Vec<u8>,
    pub len: u64,
    /// The answer to agentpipe's own request: not relayed.
    pub own: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Watch {
    framer: Framer,
    capture: Capture,
}

#[derive(Debug, Default)]
struct Capture {
    head: Vec<u8>,
    len: u64,
    frames: Vec<Frame>,
    /// The id (JSON text) of agentpipe's own request whose answer is not relayed.
    own: Option<String>,
    held: Vec<u8>,
    /// The frame under way was too long to be that answer: its bytes pass on.
    released: bool,
    stray: Vec<u8>,
    stray_total: u64,
    /// Stray bytes are set aside (the child's stdout); without the guard they are relayed as
    /// they are (the client's bytes toward the child are the client's business).
    guard: bool,
}

impl Watch {
    /// A watch over one direction; with `guard`, bytes that are no frame are set aside instead
    /// of relayed (see [`Watch::take_stray`]).
    pub fn new(protocol: Protocol, guard: bool) -> Watch {
        Watch {
            framer: Framer::new(protocol),
            capture: Capture {
                guard,
                ..Capture::default()
            },
        }
    }

    /// Takes `bytes` as they were read; `out` gets what is to be relayed, now.
    pub fn feed(&mut self, bytes: &[u8], out: impl FnMut(&[u8])) {
        let mut sink = Adapter {
            capture: &mut self.capture,
            out,
        };
        self.framer.feed(bytes, &mut sink);
    }

    /// The stream ended: `out` gets what was held back.
    pub fn finish(&mut self, out: impl FnMut(&[u8])) {
        let mut sink = Adapter {
            capture: &mut self.capture,
            out,
        };
        self.framer.finish(&mut sink);
        if !sink.capture.held.is_empty() {
            (sink.out)(&sink.capture.held);
            sink.capture.held.clear();
        }
    }

    /// The frames that ended since the last call.
    pub fn take_frames(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.capture.frames)
    }

    /// The stray bytes set aside since the last call, for `out`.
    pub fn take_stray(&mut self, out: impl FnOnce(&[u8])) {
        if !self.capture.stray.is_empty() {
            out(&self.capture.stray);
            self.capture.stray.clear();
        }
    }

    /// Every stray byte so far.
    pub fn stray_total(&self) -> u64 {
        self.capture.stray_total
    }

    /// From now on, the answer to the request with this id (JSON text) is not relayed.
    pub fn swallow(&mut self, id: String) {
        self.capture.own = Some(id);
    }

    pub fn at_boundary(&self) -> bool {
        self.framer.at_boundary()
    }
}

struct Adapter<'a, F> {
    capture: &'a mut Capture,
    out: F,
}

impl<F: FnMut(&[u8])> Sink for Adapter<'_, F> {
    fn relay(&mut self, bytes: &[u8], body: bool) {
        let capture = &mut *self.capture;
        if body {
            capture.len += bytes.len() as u64;
            let room = HEAD.saturating_sub(capture.head.len());
            capture
                .head
                .extend_from_slice(&bytes[..room.min(bytes.len())]);
        }
        if capture.own.is_none() || capture.released {
            return (self.out)(bytes);
        }
        capture.held.extend_from_slice(bytes);
        if capture.held.len() > HOLD {
            (self.out)(&capture.held);
            capture.held.clear();
            capture.released = true;
        }
    }

    fn stray(&mut self, bytes: &[u8]) {
        if !self.capture.guard {
            return (self.out)(bytes);
        }
        self.capture.stray.extend_from_slice(bytes);
        self.capture.stray_total += bytes.len() as u64;
    }

    fn end(&mut self) {
        let capture = &mut *self.capture;
        let whole = capture.head.len() as u64 == capture.len;
        let message = Message::parse(&capture.head, whole);
        let own = !capture.released
            && capture.own.is_some()
            && message.method.is_none()
            && message.id == capture.own;
        if !own && !capture.held.is_empty() {
            (self.out)(&capture.held);
        }
        if own {
            capture.own = None;
        }
        capture.held.clear();
        capture.released = false;
        let head = std::mem::take(&mut capture.head);
        capture.frames.push(Frame {
            message,
            head,
            len: std::mem::take(&mut capture.len),
            own,
        });
    }
}
