//! `Content-Length`-framed messages (LSP, DAP): headers, a blank line, then exactly that many
//! bytes of JSON. The headers are held back until their blank line (a peer cannot act on part
//! of them); the body is passed on as it comes. A line that cannot begin a header block (the
//! spec knows `Content-Length` and `Content-Type`) is no frame: a log line, a banner.

use super::Sink;

/// The longest header block taken for one: anything longer is no frame.
const MAX_HEADERS: usize = 1024;

const NAMES: [&[u8]; 2] = [b"content-length", b"content-type"];

#[derive(Debug, Default)]
pub(crate) struct Headers {
    state: State,
    /// The header block so far.
    held: Vec<u8>,
    /// Where its current line starts.
    line: usize,
    length: Option<usize>,
}

/// What a line of the header block was.
enum Line {
    Header,
    /// The blank line that ends the block.
    Blank,
    Bad,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Headers,
    /// This many bytes of the body are still to come.
    Body(usize),
    /// Inside a line that is no frame, until its newline.
    Stray,
}

impl Headers {
    pub fn feed<'a>(&mut self, input: &'a [u8], sink: &mut impl Sink<'a>) {
        // Where in `input` the header block under way starts, if it starts in this feed: its
        // bytes are then relayed from there, as a part of what was fed.
        let mut block = None;
        let mut bytes = input;
        while !bytes.is_empty() {
            let at = input.len() - bytes.len();
            match self.state {
                State::Headers => {
                    if self.held.is_empty() {
                        block = Some(at);
                    }
                    bytes = &bytes[1..];
                    let block = block.map(|start| &input[start..=at]);
                    self.header_byte(input[at], block, sink);
                }
                State::Body(left) => {
                    let (body, rest) = bytes.split_at(left.min(bytes.len()));
                    bytes = rest;
                    sink.relay(body, true);
                    self.body_taken(left - body.len(), sink);
                }
                State::Stray => {
                    let newline = memchr::memchr(b'\n', bytes);
                    let (line, rest) = bytes.split_at(newline.map_or(bytes.len(), |at| at + 1));
                    bytes = rest;
                    sink.stray(line);
                    if newline.is_some() {
                        self.state = State::Headers;
                    }
                }
            }
        }
    }

    fn body_taken<'a>(&mut self, left: usize, sink: &mut impl Sink<'a>) {
        if left == 0 {
            sink.end();
            self.state = State::Headers;
        } else {
            self.state = State::Body(left);
        }
    }

    /// Takes one byte of a header block; `block` is the block so far (this byte included) when
    /// all of it is in the feed under way.
    fn header_byte<'a>(&mut self, byte: u8, block: Option<&'a [u8]>, sink: &mut impl Sink<'a>) {
        self.held.push(byte);
        let line = match byte {
            b'\n' => self.line_ended(),
            _ if self.held.len() <= MAX_HEADERS && header_prefix(&self.held[self.line..]) => {
                return;
            }
            _ => Line::Bad,
        };
        match line {
            Line::Header => {}
            Line::Blank => {
                // The headers go on, and the body follows.
                let length = self.length.unwrap_or(0);
                match block {
                    Some(block) => sink.relay(block, false),
                    None => sink.held(&self.held),
                }
                self.reset();
                self.body_taken(length, sink);
            }
            Line::Bad => {
                sink.stray(&self.held);
                self.reset();
                if byte != b'\n' {
                    self.state = State::Stray;
                }
            }
        }
    }

    /// A line of the header block ended.
    fn line_ended(&mut self) -> Line {
        let line = &self.held[self.line..];
        let line = line
            .strip_suffix(b"\r\n")
            .unwrap_or(&line[..line.len() - 1]);
        self.line = self.held.len();
        if line.is_empty() {
            return match self.length {
                Some(_) => Line::Blank,
                None => Line::Bad,
            };
        }
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            return Line::Bad;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let known = if name.eq_ignore_ascii_case(NAMES[0]) {
            let value = std::str::from_utf8(value).ok().map(str::trim);
            self.length = value.and_then(|value| value.parse().ok());
            self.length.is_some()
        } else {
            name.eq_ignore_ascii_case(NAMES[1])
        };
        if known { Line::Header } else { Line::Bad }
    }

    fn reset(&mut self) {
        self.held.clear();
        self.line = 0;
        self.length = None;
        self.state = State::Headers;
    }

    pub fn finish<'a>(&mut self, sink: &mut impl Sink<'a>) {
        if !self.held.is_empty() {
            sink.held(&self.held);
            self.reset();
        }
    }

    pub fn at_boundary(&self) -> bool {
        self.state == State::Headers && self.held.is_empty()
    }
}

/// Whether `line` (a header line not yet ended) may still become one of the spec's headers.
fn header_prefix(line: &[u8]) -> bool {
    if line == b"\r" {
        return true; // the blank line, or the end of one
    }
    let name = match line.iter().position(|&byte| byte == b':') {
        Some(colon) => return NAMES.iter().any(|n| line[..colon].eq_ignore_ascii_case(n)),
        None => line,
    };
    NAMES
        .iter()
        .any(|n| n.len() >= name.len() && n[..name.len()].eq_ignore_ascii_case(name))
}
