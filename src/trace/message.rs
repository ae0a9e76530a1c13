//! How a trace shows a message of a protocol (`--protocol`): one record per message instead of
//! the chunks it came in. Text: a header (`> request 3 tools/call (412 bytes)`, `< response 3
//! tools/call 23.4ms (23 bytes)`), then the JSON on one line as it was sent; JSON lines: an
//! event `message` with the JSON itself as a value (see "Messages" in the README).

use std::fmt;
use std::io::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::Direction;

/// A message as the trace records it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spoken<'a> {
    /// `request`, `response`, `notification`, `batch` or `other`.
    pub kind: &'static str,
    /// As JSON text, as it appeared.
    pub id: Option<&'a str>,
    /// For a response: its request's, when it was paired.
    pub method: Option<&'a str>,
    /// For a response: since its request.
    pub latency: Option<Duration>,
    /// For an error response: its code.
    pub error: Option<i64>,
    /// The message's length (its body: no headers, no final newline).
    pub len: u64,
    /// Its first bytes: all of it unless `cut`.
    pub body: &'a [u8],
    /// Parsed to its end as JSON; `false` for a frame that is not JSON, or `cut`.
    pub valid: bool,
    pub cut: bool,
    /// agentpipe's own: a request it sent, or the answer to it, which is not relayed.
    pub own: bool,
}

/// The text header: `> request 3 tools/call (412 bytes)`.
pub(super) struct Header<'a>(pub Direction, pub &'a Spoken<'a>);

impl fmt::Display for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Header(direction, message) = self;
        let error = if message.error.is_some() {
            "error "
        } else {
            ""
        };
        write!(f, "{} {error}{}", direction.arrow(), message.kind)?;
        for word in [message.id, message.method].into_iter().flatten() {
            write!(f, " {word}")?;
        }
        if let Some(code) = message.error {
            write!(f, " (code {code})")?;
        }
        if let Some(latency) = message.latency {
            write!(f, " {:.1}ms", latency.as_secs_f64() * 1e3)?;
        }
        write!(f, " ({} bytes", message.len)?;
        match () {
            _ if message.cut => write!(f, ", the first {} shown", message.body.len())?,
            _ if !message.valid => f.write_str(", not JSON")?,
            _ => {}
        }
        if message.own {
            f.write_str(", agentpipe's own")?;
        }
        f.write_str(")")
    }
}

/// Below the header, indented: valid JSON as it was sent, on one line (a newline in JSON can
/// only be whitespace, shown as a space); anything else escaped as chunks are.
pub(super) fn text(message: &Spoken<'_>, out: &mut Vec<u8>) {
    if message.valid {
        out.extend_from_slice(b"  ");
        out.extend(message.body.iter().map(|&byte| match byte {
            b'\n' | b'\r' => b' ',
            byte => byte,
        }));
        out.push(b'\n');
    } else {
        super::format::escaped(message.body, out);
    }
}

#[derive(Serialize)]
struct Record<'a> {
    t: f64,
    event: &'static str,
    dir: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<i64>,
    len: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    invalid: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cut: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    own: bool,
    /// A message that is not valid JSON, or cut: its first bytes as text, where they are UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    message: String,
}

/// One JSON object on one line; valid JSON goes in as the value of `json`, as it was sent.
pub(super) fn json(at: Duration, direction: Direction, message: &Spoken<'_>, out: &mut Vec<u8>) {
    let record = Record {
        t: at.as_micros() as f64 / 1e6,
        event: "message",
        dir: direction.name(),
        kind: message.kind,
        id: message.id.and_then(|id| serde_json::from_str(id).ok()),
        method: message.method,
        latency: message.latency.map(|l| l.as_micros() as f64 / 1e6),
        error: message.error,
        len: message.len,
        invalid: !message.valid && !message.cut,
        cut: message.cut,
        own: message.own,
        text: (!message.valid).then(|| String::from_utf8_lossy(message.body).into_owned()),
        message: Header(direction, message).to_string(),
    };
    let _ = serde_json::to_writer(&mut *out, &record);
    if message.valid {
        // The object's closing brace gives way to the message itself, unchanged but for its
        // newlines (whitespace in JSON), so that the record stays one line.
        out.pop();
        out.extend_from_slice(b",\"json\":");
        out.extend(message.body.iter().map(|&byte| match byte {
            b'\n' | b'\r' => b' ',
            byte => byte,
        }));
        out.push(b'}');
    }
    let _ = out.write_all(b"\n");
}
