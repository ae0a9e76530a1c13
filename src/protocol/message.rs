//! What a frame's message is, read with serde_json from its first bytes: only the members that
//! say what it is (`id`, `method`, `error.code`, a progress token); every other value is
//! skipped without being built.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// The kind of a JSON-RPC message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Request,
    Response,
    /// A response with an `error` member.
    Error,
    Notification,
    /// A JSON array: a batch, not looked into.
    Batch,
    /// Not a JSON-RPC message: not JSON, or an object with neither `id` nor `method`.
    Other,
}

impl Kind {
    /// The trace's name: `request`, `response`, `error` is a response too.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response | Kind::Error => "response",
            Kind::Notification => "notification",
            Kind::Batch => "batch",
            Kind::Other => "other",
        }
    }
}

/// What a message says it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Message {
    /// The id, as JSON text (`3`, `"a"`), as it appeared.
    pub id: Option<String>,
    pub method: Option<String>,
    /// An error response's code.
    pub error: Option<i64>,
    /// A request's `params._meta.progressToken`, or a progress notification's
    /// `params.progressToken`, as JSON text.
    pub progress_token: Option<String>,
    /// Whether the frame was parsed to its end as JSON (`false` for one larger than the part
    /// kept, see [`Message::checked`]).
    pub valid: bool,
    /// Whether the whole frame was there to be checked.
    pub checked: bool,
    batch: bool,
    has_result: bool,
}

impl Message {
    /// Reads the message from `head`, the first bytes of a frame; `whole` when they are all of
    /// it. Only a whole frame can be found valid; a cut one yields what its first bytes say.
    pub fn parse(head: &[u8], whole: bool) -> Message {
        let mut message = Message {
            checked: whole,
            ..Message::default()
        };
        let start = head.iter().position(|byte| !byte.is_ascii_whitespace());
        if start.is_some_and(|at| head[at] == b'[') {
            message.batch = true;
        }
        let mut reader = serde_json::Deserializer::from_slice(head);
        let parsed = match message.batch {
            true => IgnoredAny::deserialize(&mut reader).map(drop),
            false => reader.deserialize_map(Members(&mut message)),
        };
        message.valid = whole && parsed.is_ok() && reader.end().is_ok();
        message
    }

    pub fn kind(&self) -> Kind {
        match (&self.id, &self.method) {
            _ if self.batch => Kind::Batch,
            (Some(_), Some(_)) => Kind::Request,
            (None, Some(_)) => Kind::Notification,
            (Some(_), None) if self.error.is_some() => Kind::Error,
            (Some(_), None) if self.has_result || !self.checked || self.valid => Kind::Response,
            _ => Kind::Other,
        }
    }
}

/// The top-level members, recorded as they are read: what was read stays recorded when the
/// rest fails (a frame cut at [`HEAD`](super::HEAD) bytes).
struct Members<'a>(&'a mut Message);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Member {
    Id,
    Method,
    Error,
    Params,
    Result,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ErrorMember {
    code: Option<i64>,
}

/// `params` (or its `_meta`): its progress token, if it has one; an array has none.
struct Token;

#[derive(Deserialize)]
#[serde(field_identifier)]
enum TokenMember {
    #[serde(rename = "progressToken")]
    Token,
    #[serde(rename = "_meta")]
    Meta,
    #[serde(other)]
    Other,
}

/// The token found, as JSON text.
struct Found(Option<String>);

impl<'de> Deserialize<'de> for Found {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Found, D::Error> {
        deserializer.deserialize_any(Token)
    }
}

impl<'de> Visitor<'de> for Token {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("params")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let mut found = None;
        while let Some(member) = map.next_key::<TokenMember>()? {
            match member {
                TokenMember::Token => found = Some(map.next_value::<Value>()?.to_string()),
                TokenMember::Meta => found = found.or(map.next_value::<Found>()?.0),
                TokenMember::Other => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(Found(found))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found(None))
    }

    // Anything else (a string, a number: not JSON-RPC's params, but JSON) has no token.
    fn visit_unit<E: de::Error>(self) -> Result<Found, E> {
        Ok(Found(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Found, E> {
        Ok(Found(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Found, E> {
        Ok(Found(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Found, E> {
        Ok(Found(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Found, E> {
        Ok(Found(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Found, E> {
        Ok(Found(None))
    }
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let message = self.0;
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Id => match map.next_value::<Value>()? {
                    Value::Null => {}
                    id => message.id = Some(id.to_string()),
                },
                Member::Method => message.method = map.next_value()?,
                Member::Error => {
                    let error = map.next_value::<Option<ErrorMember>>()?;
                    message.error = error.map(|error| error.code.unwrap_or(0));
                }
                Member::Params => message.progress_token = map.next_value::<Found>()?.0,
                Member::Result => {
                    message.has_result = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}
