//! The one reader of agentpipe's JSON reports (`--report`): serde_json reads the values, and a
//! second pass keeps what serde_json's `Value` drops, each object's keys in the order written
//! (the schema's order is part of what the tests check), refusing duplicate keys.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
pub use serde_json::Value;

/// A report read back. `Display` shows it as agentpipe wrote it, for assertion messages.
pub struct Report {
    json: Value,
    shape: Shape,
    text: String,
}

impl Report {
    /// `text`, which must be one JSON document and nothing else.
    pub fn parse(text: &str) -> Report {
        let json = serde_json::from_str(text)
            .unwrap_or_else(|error| panic!("the report is not JSON ({error}): {text}"));
        let shape = serde_json::from_str(text)
            .unwrap_or_else(|error| panic!("the report's shape ({error}): {text}"));
        Report {
            json,
            shape,
            text: text.to_string(),
        }
    }

    /// The report in the file at `path`: one line.
    pub fn read(path: impl AsRef<Path>) -> Report {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("no report at {}: {error}", path.display()));
        assert!(
            text.ends_with('\n') && text.trim_end().lines().count() == 1,
            "the report is not one line: {text:?}"
        );
        Report::parse(&text)
    }

    /// The one line of `stderr` that is a report (agentpipe's other lines do not start with
    /// `{`).
    pub fn on_stderr(stderr: &str) -> Report {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with('{'))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one report line on stderr:\n{stderr}"
        );
        Report::parse(lines[0])
    }

    /// The value at a dotted path (`exit.code`, `steps.0.at`); the whole report for `""`.
    pub fn at(&self, path: &str) -> &Value {
        if path.is_empty() {
            return &self.json;
        }
        self.json
            .pointer(&format!("/{}", path.replace('.', "/")))
            .unwrap_or_else(|| panic!("no {path} in the report: {self}"))
    }

    /// The keys of the object at `path` (`""`: the report's own), in the order written.
    pub fn keys(&self, path: &str) -> Vec<&str> {
        let mut shape = &self.shape;
        for key in path.split('.').filter(|key| !key.is_empty()) {
            shape = match shape {
                Shape::Object(fields) => fields.iter().find(|(name, _)| name == key).map(|f| &f.1),
                Shape::Array(items) => key.parse().ok().and_then(|index: usize| items.get(index)),
                Shape::Leaf => None,
            }
            .unwrap_or_else(|| panic!("no {path} in the report: {self}"));
        }
        match shape {
            Shape::Object(fields) => fields.iter().map(|(name, _)| name.as_str()).collect(),
            _ => panic!("{path} is not an object in the report: {self}"),
        }
    }

    /// `(step, action, signal)` of each step taken, in order.
    pub fn steps(&self) -> Vec<(u64, String, Option<String>)> {
        self.at("steps")
            .array()
            .iter()
            .map(|step| {
                let step_number = step.at("step").number() as u64;
                let action = step.at("action").str().to_string();
                (
                    step_number,
                    action,
                    step.at("signal").opt_str().map(str::to_string),
                )
            })
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text.trim_end())
    }
}

/// `report["exit"]["code"]`: serde_json's indexing, `null` where nothing is.
impl std::ops::Index<&str> for Report {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        &self.json[key]
    }
}

/// As written, so that `{report:?}` in a message reads as the JSON.
impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Typed access to a JSON value, failing the test with the value when it is not of that type.
pub trait Field {
    /// The value of the field `key` of an object, or item `key` of an array.
    fn at(&self, key: &str) -> &Value;
    fn number(&self) -> f64;
    /// A number, or `None` for `null`.
    fn opt_number(&self) -> Option<f64>;
    fn str(&self) -> &str;
    /// A string, or `None` for `null`.
    fn opt_str(&self) -> Option<&str>;
    fn array(&self) -> &[Value];
    /// An array of strings.
    fn strs(&self) -> Vec<&str>;
}

impl Field for Value {
    fn at(&self, key: &str) -> &Value {
        let found = match self {
            Value::Array(items) => key.parse().ok().and_then(|index: usize| items.get(index)),
            _ => self.get(key),
        };
        found.unwrap_or_else(|| panic!("no {key} in {self}"))
    }

    fn number(&self) -> f64 {
        self.opt_number()
            .unwrap_or_else(|| panic!("not a number: {self}"))
    }

    fn opt_number(&self) -> Option<f64> {
        match self {
            Value::Null => None,
            other => Some(
                other
                    .as_f64()
                    .unwrap_or_else(|| panic!("not a number or null: {other}")),
            ),
        }
    }

    fn str(&self) -> &str {
        self.opt_str()
            .unwrap_or_else(|| panic!("not a string: {self}"))
    }

    fn opt_str(&self) -> Option<&str> {
        match self {
            Value::Null => None,
            other => Some(
                other
                    .as_str()
                    .unwrap_or_else(|| panic!("not a string or null: {other}")),
            ),
        }
    }

    fn array(&self) -> &[Value] {
        self.as_array()
            .unwrap_or_else(|| panic!("not an array: {self}"))
    }

    fn strs(&self) -> Vec<&str> {
        self.array().iter().map(Field::str).collect()
    }
}

/// A JSON document's structure: each object's keys in the order written.
enum Shape {
    Leaf,
    Array(Vec<Shape>),
    Object(Vec<(String, Shape)>),
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Shape, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Leaf)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Leaf)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Leaf)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Leaf)
    }

    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Leaf)
    }

    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Leaf)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Shape::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut fields: Vec<(String, Shape)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Shape>()? {
            if fields.iter().any(|(name, _)| *name == key) {
                return Err(de::Error::custom(format!("duplicate key {key}")));
            }
            fields.push((key, value));
        }
        Ok(Shape::Object(fields))
    }
}
