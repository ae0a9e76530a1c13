//! How a trace's records read: text (the `-v` timeline's lines, each chunk's bytes escaped below
//! its header), hex (the same, the bytes as a hex dump) and JSON lines.

use std::fmt;
use std::io::Write as _;
use std::time::{Duration, SystemTime};

#[cfg(feature = "json")]
use serde::Serialize;

#[cfg(feature = "json")]
use super::message::{self, Spoken};
use super::{Direction, TraceFormat};
use crate::machine::note::Note;

/// One record of a trace.
pub(super) enum Record<'a> {
    /// The first record: when agentpipe started, on the wall clock.
    Begin(SystemTime),
    Note(&'a Note),
    /// Bytes relayed in one move.
    Data(Direction, &'a [u8]),
    /// A message of a protocol, in the direction it went.
    #[cfg(feature = "json")]
    Message(Direction, Spoken<'a>),
    /// Bytes relayed and not recorded: the trace's destination was slower than the relay.
    /// Bytes relayed but not recorded; `true` when (some) no pipe could be made to copy them.
    Skipped(Direction, u64, bool),
    /// Events not recorded, for the same reason.
    Lost(u64),
    /// The trace reached its size limit: the last record.
    Stopped(u64),
}

/// `agentpipe [+1.002s]: message`, a line of the `-v` timeline and of a text trace.
pub(crate) fn line(at: Duration, message: impl fmt::Display) -> String {
    format!(
        "agentpipe [{}]: {message}\n",
        crate::machine::note::offset(at)
    )
}

/// Appends `event` at `at` (since agentpipe's start) to `out`, as `format` writes it.
pub(super) fn render(format: TraceFormat, at: Duration, event: &Record<'_>, out: &mut Vec<u8>) {
    match (format, event) {
        #[cfg(feature = "json")]
        (TraceFormat::JsonLines, Record::Message(direction, spoken)) => {
            message::json(at, *direction, spoken, out);
        }
        #[cfg(feature = "json")]
        (TraceFormat::JsonLines, _) => json(at, event, out),
        #[cfg(feature = "json")]
        (_, Record::Message(direction, spoken)) => {
            out.extend(line(at, message::Header(*direction, spoken)).as_bytes());
            message::text(spoken, out);
        }
        (TraceFormat::Text | TraceFormat::Hex, _) => {
            out.extend(line(at, Header(event)).as_bytes());
            match event {
                Record::Data(_, bytes) if format == TraceFormat::Hex => hex(bytes, out),
                Record::Data(_, bytes) => escaped(bytes, out),
                _ => {}
            }
        }
    }
}

/// The text header of an event.
struct Header<'a, 'b>(&'b Record<'a>);

impl fmt::Display for Header<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Record::Begin(time) => write!(
                f,
                "trace started; agentpipe started at {}",
                crate::rfc3339::rfc3339_micros(*time)
            ),
            Record::Note(note) => write!(f, "{note}"),
            Record::Data(direction, bytes) => {
                write!(
                    f,
                    "{} {} bytes {}",
                    direction.arrow(),
                    bytes.len(),
                    direction.words()
                )
            }
            Record::Skipped(direction, count, untapped) => write!(
                f,
                "skipped {count} bytes {}: {}",
                direction.words(),
                match untapped {
                    true => "agentpipe could not create the pipe that copies them for the trace",
                    false => "the trace's destination was slower than the relay",
                }
            ),
            Record::Lost(count) => write!(
                f,
                "{count} events not recorded: the trace's destination was slower than the relay"
            ),
            Record::Stopped(limit) => {
                write!(f, "trace stopped: --trace-limit of {limit} bytes reached")
            }
            #[cfg(feature = "json")]
            Record::Message(direction, spoken) => {
                write!(f, "{}", message::Header(*direction, spoken))
            }
        }
    }
}

/// The bytes as text, indented by two spaces: UTF-8 as it is, except `\\`, control characters
/// (`\n`, `\r`, `\t`, `\0`, `\x1b`, `\u{85}`) and invalid bytes (`\xff`), escaped. After each
/// `\n` the text goes on on a new line; the last line ends with a newline that is not in the
/// data (the header's length says where the data ends). Runs that need no escape are copied
/// whole: tracing a text protocol costs little more than copying it.
pub(super) fn escaped(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + bytes.len() / 8 + 8);
    out.extend_from_slice(b"  ");
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        let mut run = 0; // where the bytes not yet copied start
        let mut at = 0;
        while at < valid.len() {
            let byte = valid[at];
            // A C1 control (U+0080 to U+009F) is 0xC2 then 0x80 to 0x9F in UTF-8.
            let c1 = byte == 0xc2 && valid.get(at + 1).is_some_and(|&next| next < 0xa0);
            if (0x20..0x7f).contains(&byte) && byte != b'\\' || byte >= 0x80 && !c1 {
                at += 1;
                continue;
            }
            out.extend_from_slice(&valid[run..at]);
            match byte {
                b'\n' => out.extend_from_slice(b"\\n\n  "),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\0' => out.extend_from_slice(b"\\0"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                _ if c1 => {
                    let _ = write!(out, "\\u{{{:x}}}", valid[at + 1]);
                    at += 1;
                }
                _ => hex_escape(byte, out),
            }
            at += 1;
            run = at;
        }
        out.extend_from_slice(&valid[run..]);
        for &byte in chunk.invalid() {
            hex_escape(byte, out);
        }
    }
    if out.ends_with(b"\n  ") {
        out.truncate(out.len() - 2);
    } else {
        out.push(b'\n');
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `\xff`.
fn hex_escape(byte: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[(byte >> 4) as usize],
        HEX[(byte & 15) as usize],
    ]);
}

/// The bytes as `hexdump -C` shows them, indented by two spaces: offset, 16 bytes in hex, and
/// the same bytes as ASCII, `.` for anything else.
fn hex(bytes: &[u8], out: &mut Vec<u8>) {
    for (row, line) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "  {:08x} ", row * 16);
        for column in 0..16 {
            if column == 8 {
                out.push(b' ');
            }
            match line.get(column) {
                Some(&byte) => out.extend_from_slice(&[
                    b' ',
                    HEX[(byte >> 4) as usize],
                    HEX[(byte & 15) as usize],
                ]),
                None => out.extend_from_slice(b"   "),
            }
        }
        out.extend_from_slice(b"  |");
        out.extend(line.iter().map(|&byte| {
            if byte.is_ascii_graphic() || byte == b' ' {
                byte
            } else {
                b'.'
            }
        }));
        out.extend_from_slice(b"|\n");
    }
}

#[cfg(feature = "json")]
/// One JSON object per event, on one line; see the README's "Seeing what an agent said".
#[derive(Serialize)]
struct JsonRecord<'a> {
    t: f64,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    len: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
}

#[cfg(feature = "json")]
fn json(at: Duration, event: &Record<'_>, out: &mut Vec<u8>) {
    let mut record = JsonRecord {
        // To the microsecond, as the report gives times.
        t: at.as_micros() as f64 / 1e6,
        event: "",
        dir: None,
        len: None,
        text: None,
        base64: None,
        message: None,
        start: None,
        version: None,
    };
    match event {
        Record::Begin(time) => {
            record.event = "trace";
            record.version = Some(1);
            record.start = Some(crate::rfc3339::rfc3339_micros(*time));
        }
        Record::Note(note) => {
            record.event = kind(note);
            record.message = Some(note.to_string());
        }
        Record::Data(direction, bytes) => {
            record.event = "data";
            record.dir = Some(direction.name());
            record.len = Some(bytes.len() as u64);
            match std::str::from_utf8(bytes) {
                Ok(text) => record.text = Some(text),
                Err(_) => record.base64 = Some(base64(bytes)),
            }
        }
        Record::Skipped(direction, count, _) => {
            record.event = "skipped";
            record.dir = Some(direction.name());
            record.len = Some(*count);
        }
        Record::Lost(count) => {
            record.event = "lost";
            record.len = Some(*count);
        }
        Record::Stopped(limit) => {
            record.event = "stopped";
            record.len = Some(*limit);
        }
        Record::Message(..) => unreachable!("written by message::json"),
    }
    if event_is_text(event) {
        record
            .message
            .get_or_insert_with(|| Header(event).to_string());
    }
    let _ = serde_json::to_writer(&mut *out, &record);
    let _ = out.write_all(b"\n");
}

#[cfg(feature = "json")]
/// Whether the JSON record carries the text header as its `message`: every event but data.
fn event_is_text(event: &Record<'_>) -> bool {
    !matches!(event, Record::Data(..))
}

#[cfg(feature = "json")]
/// The `event` name of a note in JSON lines: its variant, in snake case.
fn kind(note: &Note) -> &'static str {
    match note {
        Note::Started { .. } => "started",
        Note::Armed { .. } => "armed",
        Note::EndOfInput => "end_of_input",
        Note::ClosedChildStdin { .. } => "closed_child_stdin",
        Note::ForwardedEof => "forwarded_eof",
        Note::SentTerminalEof { .. } => "sent_terminal_eof",
        Note::HungUp { .. } => "hung_up",
        Note::Resized { .. } => "resized",
        Note::ChildClosedStdin { .. } => "child_closed_stdin",
        Note::ChildOutputEnded => "child_output_ended",
        Note::ClosedOutput => "closed_output",
        Note::OutputReaderGone { .. } => "output_reader_gone",
        Note::DrainOver => "drain_over",
        Note::OutputDropped { .. } => "output_dropped",
        Note::StderrDrainOver => "stderr_drain_over",
        Note::StderrRelayed { .. } => "stderr_relayed",
        Note::InputDiscarded(_) => "input_discarded",
        Note::Forwarding(_) => "forwarding",
        Note::CommandsSignal(_) => "commands_signal",
        Note::Suspending => "suspending",
        Note::Resumed => "resumed",
        Note::StoppedByTerminal { .. } => "stopped_by_terminal",
        Note::RunStarted { .. } => "run_started",
        Note::RunFailed { .. } => "run_failed",
        Note::RunExited { .. } => "run_exited",
        Note::RunEnded { .. } => "run_ended",
        Note::SignalFailed { .. } => "signal_failed",
        Note::Unkillable { .. } => "unkillable",
        Note::Done { .. } => "done",
        Note::SequenceStarted { .. } => "sequence_started",
        Note::StepTaken { .. } => "step",
        Note::Received(..) => "received",
        Note::Sent { .. } => "sent",
        Note::TimeoutElapsed => "timeout",
        Note::StillWorking(_) => "still_working",
        Note::EofGraceInf => "eof_grace_inf",
        Note::DataEnded => "data_ended",
        Note::ChildExited { .. } => "child_exited",
        Note::StillInScope(_) => "still_in_scope",
        Note::ScopeEmpty => "scope_empty",
        Note::ScopeUnseen { .. } => "scope_unseen",
        Note::LinesDropped(_) => "lines_dropped",
        Note::TraceFailed(_) => "trace_failed",
        Note::Protocol(said) => said.kind(),
    }
}

#[cfg(feature = "json")]
/// Standard base64 (RFC 4648, with padding): a dozen lines, where a crate would add a dependency
/// for one call.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &byte)| n | (byte as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "json")]
    #[test]
    fn base64_matches_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn text_escapes_controls_and_invalid_bytes_and_breaks_after_newlines() {
        let text = |bytes: &[u8]| {
            let mut out = Vec::new();
            escaped(bytes, &mut out);
            String::from_utf8(out).expect("escaped text is UTF-8")
        };
        assert_eq!(
            text(b"a\\b\tc\r\n\x1b[0m\xff\xc3\xa9\xc2\x85\0end\x7f"),
            "  a\\\\b\\tc\\r\\n\n  \\x1b[0m\\xffé\\u{85}\\0end\\x7f\n"
        );
        assert_eq!(text(b"line\n"), "  line\\n\n");
        assert_eq!(text(b"\xc2"), "  \\xc2\n");
    }

    #[test]
    fn hex_rows_show_offset_bytes_and_ascii() {
        let mut out = Vec::new();
        hex(b"0123456789abcdef\x00z", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n  \
             00000010  00 7a                                             |.z|\n"
        );
    }
}
