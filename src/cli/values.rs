//! The flags' values: their parsers, and the types clap parses them into.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::ValueEnum;
use clap::builder::{OsStringValueParser, PossibleValue, TypedValueParser};

use super::size;
use crate::duration::{self, Limit};
use crate::parse_error::ParseError;
use crate::protocol::Protocol;
use crate::scope::Scope;
use crate::signals::{self, Signal};
use crate::trace::TraceFormat;

/// A duration argument: `None` is `inf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(pub Limit);

pub(super) fn duration(text: &str) -> Result<Wait, ParseError> {
    duration::parse_limit(text).map(Wait)
}

/// Where the command's stderr goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StderrTarget {
    Inherit,
    Null,
    File(PathBuf),
}

pub(super) fn stderr_target(value: OsString) -> Result<StderrTarget, String> {
    Ok(match value.to_str() {
        Some("inherit" | "-") => StderrTarget::Inherit,
        Some("null") => StderrTarget::Null,
        Some("") => return Err("give inherit, null or a file path".to_string()),
        _ => StderrTarget::File(PathBuf::from(value)),
    })
}

/// The most `--stderr-tail` keeps: a report is read by scripts, and agentpipe's memory stays
/// small whatever the volume.
const MAX_TAIL: u64 = 1 << 20;

pub(super) fn tail_size(text: &str) -> Result<usize, String> {
    match size::parse_size(text)? {
        size if size <= MAX_TAIL => Ok(size as usize),
        _ => Err("at most 1MiB (1048576 bytes) of stderr is kept".to_string()),
    }
}

pub(super) fn stop_signal(text: &str) -> Result<Signal, String> {
    signals::step_signal(text.trim().parse::<Signal>().map_err(|e| e.to_string())?)
}

pub(super) fn forward_signal(text: &str) -> Result<Signal, String> {
    signals::forwardable(text.trim().parse::<Signal>().map_err(|e| e.to_string())?)
}

/// `--protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// Newline-delimited JSON-RPC: MCP's stdio transport.
    Mcp,
    /// Content-Length-framed JSON-RPC: LSP, DAP.
    Lsp,
}

impl ProtocolArg {
    pub fn protocol(self) -> Protocol {
        match self {
            ProtocolArg::Mcp => Protocol::Mcp,
            ProtocolArg::Lsp => Protocol::Lsp,
        }
    }
}

/// `--trace-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceFormatArg {
    /// Readable text: a header line per event, a chunk's bytes below it, escaped.
    Text,
    /// As text, with each chunk's bytes as a hex dump.
    Hex,
    /// One JSON object per line and event.
    Jsonl,
}

impl TraceFormatArg {
    pub fn format(self) -> TraceFormat {
        match self {
            TraceFormatArg::Text => TraceFormat::Text,
            TraceFormatArg::Hex => TraceFormat::Hex,
            TraceFormatArg::Jsonl => TraceFormat::JsonLines,
        }
    }
}

/// `--trace-limit`: a size as `--stderr-tail` takes it, at least 1K (the trace's first lines).
pub(super) fn trace_limit(text: &str) -> Result<u64, String> {
    match size::parse_size(text)? {
        bytes if bytes >= 1024 => Ok(bytes),
        _ => Err(format!(
            "'{text}' is too small for a trace: give at least 1K"
        )),
    }
}

/// Parses a value as text, over the raw argument: a value that is not UTF-8 then gets an error
/// that names its flag, as any other invalid value does.
pub(super) fn text<T: Clone + Send + Sync + 'static, E: std::fmt::Display + 'static>(
    parse: fn(&str) -> Result<T, E>,
) -> impl TypedValueParser<Value = T> {
    OsStringValueParser::new().try_map(move |value: OsString| match value.to_str() {
        Some(text) => parse(text).map_err(|error| error.to_string()),
        None => Err(format!("'{}' is not valid UTF-8", value.to_string_lossy())),
    })
}

/// `--scope`: a [`Scope`], named and explained as its table says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeArg(pub(super) Scope);

impl ValueEnum for ScopeArg {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [ScopeArg; 4] = [
            ScopeArg(Scope::ALL[0]),
            ScopeArg(Scope::ALL[1]),
            ScopeArg(Scope::ALL[2]),
            ScopeArg(Scope::ALL[3]),
        ];
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.help()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_limits_are_sizes_of_at_least_1k() {
        assert_eq!(trace_limit("64M"), Ok(64 << 20));
        assert_eq!(trace_limit("1k"), Ok(1024));
        for bad in ["", "M", "-1K", "12Q", "100", "0K"] {
            assert!(trace_limit(bad).is_err(), "{bad}");
        }
    }
}
