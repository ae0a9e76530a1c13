//! What a frame's message is, read from its first bytes without building it: only the members
//! that say what it is (`id`, `method`, `error.code`, a progress token) are looked at, every other
//! value is stepped over (see [`scan`](super::scan)). Whether the frame is valid JSON is asked
//! only by a trace, which shows it ([`valid`]).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::scan::Cursor;

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

/// What a message says it is, borrowed from its bytes: a message passes without an allocation.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Message<'a> {
    /// The id, as JSON text (`3`, `"a"`), as it appeared.
    pub id: Option<&'a str>,
    pub method: Option<Cow<'a, str>>,
    /// An error response's code.
    pub error: Option<i64>,
    /// A request's `params._meta.progressToken`, or a progress notification's
    /// `params.progressToken`, as JSON text.
    pub progress_token: Option<&'a str>,
    /// Whether the whole frame was there to be read (`false` for one larger than the part kept).
    pub checked: bool,
    /// Whether its structure was read to its end: one object (or array) and nothing after it.
    complete: bool,
    /// The text of its `params`, looked into only when a progress token matters.
    params: Option<&'a [u8]>,
    batch: bool,
    has_result: bool,
}

/// Whether `body` is one JSON value: the trace's check (`not JSON`), with serde_json.
pub(crate) fn valid(body: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

impl<'a> Message<'a> {
    /// Reads the message from `head`, the first bytes of a frame; `whole` when they are all of
    /// it. A cut one yields what its first bytes say.
    pub fn parse(head: &'a [u8], whole: bool) -> Message<'a> {
        let mut message = Message {
            checked: whole,
            ..Message::default()
        };
        let mut cursor = Cursor::new(head);
        message.batch = cursor.peek() == Some(b'[');
        let read = match message.batch {
            true => cursor.value().map(drop),
            false => cursor.object(|key, cursor| message.member(key, cursor)),
        };
        message.complete = read.is_some() && cursor.at_end();
        // Only a request's token, or a progress notification's, is ever asked for.
        if message.id.is_some() || message.method.as_deref() == Some(PROGRESS) {
            let params = message.params.map(Cursor::new);
            message.progress_token = params.and_then(|mut params| progress_token(&mut params)?);
        }
        message
    }

    /// Takes in one top-level member: the cursor is at its value, which it steps over.
    fn member(&mut self, key: &[u8], cursor: &mut Cursor<'a>) -> Option<()> {
        let value = cursor.value()?;
        match key {
            b"id" if value != b"null" => self.id = std::str::from_utf8(value).ok(),
            b"method" => self.method = string(value),
            b"error" => self.error = error_code(value),
            b"result" => self.has_result = true,
            b"params" => self.params = Some(value),
            _ => {}
        }
        Some(())
    }

    pub fn kind(&self) -> Kind {
        match (&self.id, &self.method) {
            _ if self.batch => Kind::Batch,
            (Some(_), Some(_)) => Kind::Request,
            (None, Some(_)) => Kind::Notification,
            (Some(_), None) if self.error.is_some() => Kind::Error,
            (Some(_), None) if self.has_result || !self.checked || self.complete => Kind::Response,
            _ => Kind::Other,
        }
    }
}

/// A JSON string's text (`"tools/call"`); its escapes undone by serde_json, if it has any.
fn string(value: &[u8]) -> Option<Cow<'_, str>> {
    let inner = value.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !inner.contains(&b'\\') {
        return std::str::from_utf8(inner).ok().map(Cow::Borrowed);
    }
    serde_json::from_slice::<String>(value).ok().map(Cow::Owned)
}

/// An error member's code: 0 for an error without one, none for `null`.
fn error_code(value: &[u8]) -> Option<i64> {
    #[derive(Deserialize)]
    struct ErrorMember {
        code: Option<i64>,
    }
    let error = serde_json::from_slice::<Option<ErrorMember>>(value).ok()??;
    Some(error.code.unwrap_or(0))
}

/// The method of MCP's progress notification, whose `progressToken` names a request.
pub(crate) const PROGRESS: &str = "notifications/progress";

/// Steps over `params`: its `progressToken`, else its `_meta.progressToken`, as JSON text;
/// positional params (an array) and anything that is no object have none.
fn progress_token<'a>(cursor: &mut Cursor<'a>) -> Option<Option<&'a str>> {
    if cursor.peek() != Some(b'{') {
        cursor.value()?;
        return Some(None);
    }
    let (mut token, mut meta) = (None, None);
    cursor.object(|key, cursor| {
        match key {
            b"progressToken" => token = Some(cursor.value()?),
            b"_meta" => meta = meta.or(progress_token(cursor)?),
            _ => drop(cursor.value()?),
        }
        Some(())
    })?;
    Some(
        token
            .and_then(|token| std::str::from_utf8(token).ok())
            .or(meta),
    )
}
