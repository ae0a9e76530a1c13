//! Newline-delimited frames (MCP's stdio transport): each message is one line of JSON. A line
//! that does not start as JSON does (`{`, or `[` for a batch) is no frame: a log line, a banner.

use super::Sink;

#[derive(Debug, Default)]
pub(crate) struct Lines {
    state: State,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    #[default]
    Boundary,
    /// Inside a frame, until its newline.
    Frame,
    /// Inside a line that is no frame, until its newline.
    Stray,
}

impl Lines {
    pub fn feed<'a>(&mut self, mut bytes: &'a [u8], sink: &mut impl Sink<'a>) {
        while let Some(&first) = bytes.first() {
            if self.state == State::Boundary {
                self.state = match first {
                    b'{' | b'[' => State::Frame,
                    _ => State::Stray,
                };
            }
            let newline = memchr::memchr(b'\n', bytes);
            let (line, rest) = bytes.split_at(newline.map_or(bytes.len(), |at| at + 1));
            bytes = rest;
            let ended = newline.is_some();
            match self.state {
                State::Frame => {
                    let (body, newline) = line.split_at(line.len() - usize::from(ended));
                    if !body.is_empty() {
                        sink.relay(body, true);
                    }
                    if ended {
                        sink.relay(newline, false);
                        sink.end();
                    }
                }
                _ => sink.stray(line),
            }
            if ended {
                self.state = State::Boundary;
            }
        }
    }

    pub fn at_boundary(&self) -> bool {
        self.state == State::Boundary
    }
}
