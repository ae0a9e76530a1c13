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
pub(crate) struct Frame<'a> {
    pub message: Message<'a>,
    /// The first [`HEAD`] bytes of the message (its body: no headers, no final newline).
    pub body: &'a [u8],
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
    /// The first bytes of the frame under way, once it spans feeds (a frame within one feed is
    /// read where it was fed, without a copy).
    head: Vec<u8>,
    len: u64,
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

    /// Takes `bytes` as they were read, and hands `frame` each frame that ended. Returns `true`
    /// when all of `bytes` is to be relayed now, as it is (most feeds): `out` was not called.
    /// Otherwise `out` got what is to be relayed now.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        out: impl FnMut(&[u8]),
        frame: impl FnMut(&Frame<'_>),
    ) -> bool {
        let mut sink = Adapter {
            capture: &mut self.capture,
            out: Out {
                input: bytes,
                passed: 0,
                in_place: true,
                out,
            },
            frame,
            pending: None,
        };
        self.framer.feed(bytes, &mut sink);
        if let Some(pending) = sink.pending {
            sink.capture.keep(pending); // the frame goes on in the next feed
        }
        sink.out.finish()
    }

    /// The stream ended: `out` gets what was held back.
    pub fn finish(&mut self, out: impl FnMut(&[u8])) {
        let mut sink = Adapter {
            capture: &mut self.capture,
            out: Out {
                input: &[],
                passed: 0,
                in_place: false,
                out,
            },
            frame: |_: &Frame<'_>| {},
            pending: None,
        };
        self.framer.finish(&mut sink);
        if !sink.capture.held.is_empty() {
            sink.out.relay(&sink.capture.held);
            sink.capture.held.clear();
        }
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

impl Capture {
    /// Keeps the first [`HEAD`] bytes of a frame's body.
    fn keep(&mut self, bytes: &[u8]) {
        let room = HEAD.saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }
}

/// What a feed relays: as long as every piece is the next part of the input, nothing is
/// copied; once one is not (a stray line set aside, bytes held), what passed so far and every
/// piece after it go to `out`.
struct Out<'a, O> {
    input: &'a [u8],
    passed: usize,
    in_place: bool,
    out: O,
}

impl<O: FnMut(&[u8])> Out<'_, O> {
    fn relay(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let next = &self.input[self.passed..];
        if self.in_place && bytes.len() <= next.len() && std::ptr::eq(bytes.as_ptr(), next.as_ptr())
        {
            self.passed += bytes.len();
            return;
        }
        self.spill();
        (self.out)(bytes);
    }

    fn spill(&mut self) {
        if self.in_place {
            self.in_place = false;
            (self.out)(&self.input[..self.passed]);
        }
    }

    /// Whether all of the input was relayed in place.
    fn finish(mut self) -> bool {
        if self.passed < self.input.len() {
            self.spill();
        }
        self.in_place
    }
}

struct Adapter<'a, 'c, O, F> {
    capture: &'c mut Capture,
    out: Out<'a, O>,
    frame: F,
    /// The body of the frame under way, when it began in this feed.
    pending: Option<&'a [u8]>,
}

impl<O: FnMut(&[u8]), F: FnMut(&Frame<'_>)> Adapter<'_, '_, O, F> {
    /// Passes bytes of a frame on, unless they may be the answer to agentpipe's own request.
    fn pass(&mut self, bytes: &[u8]) {
        let capture = &mut *self.capture;
        if capture.own.is_none() || capture.released {
            return self.out.relay(bytes);
        }
        capture.held.extend_from_slice(bytes);
        if capture.held.len() > HOLD {
            self.out.relay(&capture.held);
            capture.held.clear();
            capture.released = true;
        }
    }
}

impl<'a, O: FnMut(&[u8]), F: FnMut(&Frame<'_>)> Sink<'a> for Adapter<'a, '_, O, F> {
    fn relay(&mut self, bytes: &'a [u8], body: bool) {
        if body {
            self.capture.len += bytes.len() as u64;
            match self.pending.take() {
                None if self.capture.head.is_empty() => self.pending = Some(bytes),
                pending => {
                    if let Some(pending) = pending {
                        self.capture.keep(pending);
                    }
                    self.capture.keep(bytes);
                }
            }
        }
        self.pass(bytes);
    }

    fn held(&mut self, bytes: &[u8]) {
        self.pass(bytes);
    }

    fn stray(&mut self, bytes: &[u8]) {
        if !self.capture.guard {
            return self.out.relay(bytes);
        }
        self.capture.stray.extend_from_slice(bytes);
        self.capture.stray_total += bytes.len() as u64;
    }

    fn end(&mut self) {
        let Capture {
            head,
            len,
            own,
            held,
            released,
            ..
        } = &mut *self.capture;
        let body = match self.pending.take() {
            Some(pending) => &pending[..pending.len().min(HEAD)],
            None => &head[..],
        };
        let message = Message::parse(body, body.len() as u64 == *len);
        let mine =
            !*released && own.is_some() && message.method.is_none() && message.id == own.as_deref();
        if !mine && !held.is_empty() {
            self.out.relay(held);
        }
        if mine {
            *own = None;
        }
        held.clear();
        *released = false;
        let frame = Frame {
            message,
            body,
            len: std::mem::take(len),
            own: mine,
        };
        (self.frame)(&frame);
        drop(frame);
        head.clear();
    }
}
