//! A small JSON writer for the `--report` object: values are built as a tree, then written in
//! one compact line.
//!
//! - Strings are written as UTF-8 with `"` and `\` escaped, the control characters U+0000 to
//!   U+001F as `\b`, `\f`, `\n`, `\r`, `\t` or `\u00XX`, and U+007F, U+2028 and U+2029 as
//!   `\uXXXX` (valid JSON either way, but safe to paste into a terminal or JavaScript).
//! - Text that is not UTF-8 (a command argument, a path) is converted lossily by the caller:
//!   every invalid sequence becomes U+FFFD.
//! - Durations are written as seconds with six decimals (`1.002345`): exact decimal text, no
//!   floating-point rounding, never `NaN`.

use std::fmt::{self, Write};
use std::time::Duration;

/// A JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// A duration, written as a number of seconds with six decimals.
    Seconds(Duration),
    Str(String),
    Array(Vec<Json>),
    /// Fields in the order given, which is the order they are written in.
    Object(Vec<(&'static str, Json)>),
}

impl Json {
    /// A string value.
    pub fn str(text: impl Into<String>) -> Json {
        Json::Str(text.into())
    }

    /// `value` as a JSON value, or `null`.
    pub fn or_null<T>(value: Option<T>, convert: impl FnOnce(T) -> Json) -> Json {
        value.map_or(Json::Null, convert)
    }

    /// Writes the value in one line, without spaces.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Json::Int(value) => {
                let _ = write!(out, "{value}");
            }
            Json::Seconds(duration) => {
                let _ = write!(
                    out,
                    "{}.{:06}",
                    duration.as_secs(),
                    duration.subsec_micros()
                );
            }
            Json::Str(text) => write_string(out, text),
            Json::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (index, (name, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write_string(out, name);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out);
        f.write_str(&out)
    }
}

/// Writes `text` as a JSON string, quotes included. See the module documentation.
pub fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{0}'..='\u{1f}' | '\u{7f}' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> String {
        let mut out = String::new();
        write_string(&mut out, text);
        out
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(string("plain"), r#""plain""#);
        assert_eq!(string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(
            string("\u{0}\u{1}\u{1b}[0m\u{1f}"),
            r#""\u0000\u0001\u001b[0m\u001f""#
        );
        assert_eq!(string("\u{7f}\u{2028}\u{2029}"), r#""\u007f\u2028\u2029""#);
        assert_eq!(string("é €  𝄞 /"), "\"é €  𝄞 /\"");
    }

    #[test]
    fn invalid_utf8_arrives_as_replacement_characters() {
        let lossy = String::from_utf8_lossy(b"a\xffb");
        assert_eq!(string(&lossy), "\"a\u{fffd}b\"");
    }

    #[test]
    fn values_are_written_compactly_in_field_order() {
        let value = Json::Object(vec![
            ("null", Json::Null),
            ("yes", Json::Bool(true)),
            ("no", Json::Bool(false)),
            ("int", Json::Int(-42)),
            ("at", Json::Seconds(Duration::from_micros(1_002_345))),
            ("zero", Json::Seconds(Duration::ZERO)),
            ("list", Json::Array(vec![Json::Int(1), Json::str("x")])),
            ("empty", Json::Array(Vec::new())),
            ("object", Json::Object(Vec::new())),
        ]);
        assert_eq!(
            value.to_string(),
            r#"{"null":null,"yes":true,"no":false,"int":-42,"at":1.002345,"zero":0.000000,"list":[1,"x"],"empty":[],"object":{}}"#
        );
    }

    #[test]
    fn seconds_truncate_below_a_microsecond() {
        let value = Json::Seconds(Duration::new(3, 999_999_999));
        assert_eq!(value.to_string(), "3.999999");
    }
}
