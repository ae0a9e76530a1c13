//! JSON-RPC over stdio, seen as messages: where each frame begins and ends (newline-delimited
//! for MCP, `Content-Length` headers for LSP and DAP), what each message is (request, response,
//! notification; its id and method), and which requests still wait for their answer.
//!
//! Platform-neutral: it works on bytes handed to it, in whatever pieces they came, and never
//! holds a frame back to parse it. The relay hands every byte it reads to a [`Watch`], which
//! passes frame bytes on at once, sets aside bytes that are no frame (a stray log line), and
//! keeps only the first [`HEAD`] bytes of each frame for parsing.

mod conversation;
mod lsp;
pub(crate) mod mcp;
mod message;
mod scan;
mod watch;

#[cfg(test)]
mod tests;

pub(crate) use conversation::{Conversation, describe};
pub(crate) use message::{Kind, Message, valid};
pub(crate) use watch::{Frame, RESERVE, Watch};

/// The framing of the JSON-RPC messages a child speaks on its stdin and stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// Newline-delimited JSON-RPC 2.0: MCP's stdio transport, and many agents'.
    Mcp,
    /// JSON-RPC 2.0 framed by `Content-Length` headers: the Language Server Protocol, and the
    /// Debug Adapter Protocol.
    Lsp,
}

impl Protocol {
    /// The command line's name: `mcp`, `lsp`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Mcp => "mcp",
            Protocol::Lsp => "lsp",
        }
    }

    /// A frame holding `body`, as this protocol writes it.
    pub(crate) fn frame(self, body: &str) -> Vec<u8> {
        match self {
            Protocol::Mcp => format!("{body}\n").into_bytes(),
            Protocol::Lsp => format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes(),
        }
    }
}

/// The bytes of a frame kept for parsing: a message larger than this is relayed whole, and
/// parsed as far as its first bytes go (its id and method usually come first).
pub(crate) const HEAD: usize = 64 * 1024;

/// Where a framer puts the bytes it was fed (`'a`: those of one feed).
pub(crate) trait Sink<'a> {
    /// Bytes of a frame, to relay now, a part of what was fed; `body` when they are the message
    /// itself (not its headers, nor the newline that ends it).
    fn relay(&mut self, bytes: &'a [u8], body: bool);
    /// Bytes of a frame's headers that the framer held back from an earlier feed, to relay now.
    fn held(&mut self, bytes: &[u8]);
    /// Bytes that are not a frame.
    fn stray(&mut self, bytes: &[u8]);
    /// The frame whose bytes were relayed since the last end is complete.
    fn end(&mut self);
}

/// A protocol's framer: the state of the byte stream between two feeds.
#[derive(Debug)]
pub(crate) enum Framer {
    Mcp(mcp::Lines),
    Lsp(lsp::Headers),
}

impl Framer {
    pub fn new(protocol: Protocol) -> Framer {
        match protocol {
            Protocol::Mcp => Framer::Mcp(mcp::Lines::default()),
            Protocol::Lsp => Framer::Lsp(lsp::Headers::default()),
        }
    }

    /// Takes the next bytes of the stream, in whatever pieces they come.
    pub fn feed<'a>(&mut self, bytes: &'a [u8], sink: &mut impl Sink<'a>) {
        match self {
            Framer::Mcp(lines) => lines.feed(bytes, sink),
            Framer::Lsp(headers) => headers.feed(bytes, sink),
        }
    }

    /// The stream ended: what is held back (part of a header) is relayed as it is.
    pub fn finish<'a>(&mut self, sink: &mut impl Sink<'a>) {
        if let Framer::Lsp(headers) = self {
            headers.finish(sink);
        }
    }

    /// Whether the stream stands between two frames, where a frame of agentpipe's own may go.
    pub fn at_boundary(&self) -> bool {
        match self {
            Framer::Mcp(lines) => lines.at_boundary(),
            Framer::Lsp(headers) => headers.at_boundary(),
        }
    }
}
