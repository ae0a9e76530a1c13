use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::conversation::Observed;
use super::*;
use crate::direction::Direction;

/// What a framer made of a stream.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    relayed: Vec<u8>,
    bodies: Vec<Vec<u8>>,
    body: Vec<u8>,
    stray: Vec<u8>,
}

impl Sink<'_> for Seen {
    fn relay(&mut self, bytes: &[u8], body: bool) {
        self.relayed.extend_from_slice(bytes);
        if body {
            self.body.extend_from_slice(bytes);
        }
    }
    fn held(&mut self, bytes: &[u8]) {
        self.relayed.extend_from_slice(bytes);
    }
    fn stray(&mut self, bytes: &[u8]) {
        self.stray.extend_from_slice(bytes);
    }
    fn end(&mut self) {
        self.bodies.push(std::mem::take(&mut self.body));
    }
}

fn feed(protocol: Protocol, pieces: &[&[u8]]) -> Seen {
    let mut framer = Framer::new(protocol);
    let mut seen = Seen::default();
    for piece in pieces {
        framer.feed(piece, &mut seen);
    }
    framer.finish(&mut seen);
    seen
}

/// A stream of frames (`Ok`) and stray lines (`Err`), and the frames' bodies.
fn stream(protocol: Protocol, items: &[Result<String, String>]) -> (Vec<u8>, Vec<u8>) {
    let (mut bytes, mut stray) = (Vec::new(), Vec::new());
    for item in items {
        match item {
            Ok(body) => bytes.extend(protocol.frame(body)),
            Err(line) => {
                bytes.extend(line.as_bytes());
                stray.extend(line.as_bytes());
            }
        }
    }
    (bytes, stray)
}

fn body() -> impl Strategy<Value = String> {
    // JSON text with no raw newline; an LSP body may hold one.
    (0u32..1000, "[a-z/ é\\\\\"]{0,40}").prop_map(|(id, text)| {
        let text = serde_json::to_string(&text).unwrap();
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":{text}}}"#)
    })
}

fn stray_line() -> impl Strategy<Value = String> {
    "[A-Zb-z0-9 :.-]{0,30}\n"
}

fn items() -> impl Strategy<Value = Vec<Result<String, String>>> {
    prop::collection::vec(
        prop_oneof![3 => body().prop_map(Ok), 1 => stray_line().prop_map(Err)],
        0..12,
    )
}

/// Splits `bytes` at the given cut points.
fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        pieces.push(&bytes[from..cut]);
        from = cut;
    }
    pieces
}

proptest! {
    #[test]
    fn any_split_of_any_frames_parses_the_same(
        items in items(),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
        lsp in any::<bool>(),
    ) {
        let protocol = if lsp { Protocol::Lsp } else { Protocol::Mcp };
        let (bytes, stray) = stream(protocol, &items);
        let whole = feed(protocol, &[&bytes]);
        let pieces = feed(protocol, &split(&bytes, &cuts));
        prop_assert_eq!(&whole, &pieces);
        let bodies: Vec<Vec<u8>> = items.iter().filter_map(|item| item.clone().ok())
            .map(String::into_bytes).collect();
        prop_assert_eq!(&whole.bodies, &bodies);
        prop_assert_eq!(&whole.stray, &stray);
        // What is relayed is exactly the frames, byte for byte and in order.
        let frames: Vec<u8> = bodies.iter()
            .flat_map(|body| protocol.frame(std::str::from_utf8(body).unwrap())).collect();
        prop_assert_eq!(whole.relayed, frames);
    }
}

proptest! {
    #[test]
    fn a_watch_relays_exactly_the_frames_in_place_or_through_its_out(
        items in items(),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
        lsp in any::<bool>(),
    ) {
        let protocol = if lsp { Protocol::Lsp } else { Protocol::Mcp };
        let (bytes, stray) = stream(protocol, &items);
        let mut watch = Watch::new(protocol, true);
        let (mut relayed, mut bodies) = (Vec::new(), Vec::new());
        for piece in split(&bytes, &cuts) {
            let mut out = Vec::new();
            let in_place = watch.feed(
                piece,
                |bytes| out.extend_from_slice(bytes),
                |frame| bodies.push(frame.body.to_vec()),
            );
            if in_place {
                prop_assert!(out.is_empty());
                out = piece.to_vec();
            }
            relayed.extend(out);
        }
        watch.finish(|bytes| relayed.extend_from_slice(bytes));
        let mut set_aside = Vec::new();
        watch.take_stray(|bytes| set_aside.extend_from_slice(bytes));
        prop_assert_eq!(set_aside, stray);
        let expected: Vec<Vec<u8>> = items.iter().filter_map(|item| item.clone().ok())
            .map(String::into_bytes).collect();
        let frames: Vec<u8> = expected.iter()
            .flat_map(|body| protocol.frame(std::str::from_utf8(body).unwrap())).collect();
        prop_assert_eq!(relayed, frames);
        prop_assert_eq!(bodies, expected);
    }
}

#[test]
fn lsp_headers_in_any_case_with_a_content_type_and_a_body_with_newlines() {
    let stream = b"content-length: 9\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{\n\"a\":1}\n";
    let seen = feed(Protocol::Lsp, &[stream]);
    assert_eq!(seen.bodies, [b"{\n\"a\":1}\n".to_vec()]);
    assert_eq!(seen.relayed, stream);
    assert!(seen.stray.is_empty());
}

#[test]
fn lines_that_cannot_start_a_header_block_are_stray() {
    let frame = Protocol::Lsp.frame("{}");
    let mut stream = b"Connecting to the index...\nContent-Length: x\r\n\r\n".to_vec();
    stream.extend(&frame);
    let seen = feed(Protocol::Lsp, &[&stream]);
    assert_eq!(
        seen.stray,
        b"Connecting to the index...\nContent-Length: x\r\n\r\n"
    );
    assert_eq!(seen.relayed, frame);
}

#[test]
fn mcp_lines_that_do_not_start_as_json_are_stray() {
    let seen = feed(
        Protocol::Mcp,
        &[b"Server ready\n\n{\"id\":1}\n  {\"x\":2}\n"],
    );
    assert_eq!(seen.stray, b"Server ready\n\n  {\"x\":2}\n");
    assert_eq!(seen.relayed, b"{\"id\":1}\n");
}

#[test]
fn a_ten_mib_frame_passes_as_it_comes_and_only_its_head_is_kept() {
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":7,"result":{{"text":"{}"}}}}"#,
        "x".repeat(10 << 20)
    );
    let frame = Protocol::Lsp.frame(&big);
    let mut watch = Watch::new(Protocol::Lsp, true);
    let (mut relayed, mut frames) = (0, Vec::new());
    for piece in frame.chunks(65536) {
        let mut now = 0;
        let in_place = watch.feed(
            piece,
            |bytes| now += bytes.len(),
            |frame| {
                let message = &frame.message;
                let id = message.id.map(str::to_owned);
                frames.push((
                    frame.len,
                    frame.body.len(),
                    id,
                    message.kind(),
                    message.checked,
                ));
            },
        );
        if in_place {
            now = piece.len();
        }
        relayed += now;
        assert!(
            now + RESERVE >= piece.len(),
            "a piece is passed on as it comes"
        );
    }
    assert_eq!(relayed, frame.len());
    assert_eq!(
        frames,
        [(
            big.len() as u64,
            HEAD,
            Some("7".into()),
            Kind::Response,
            false
        )]
    );
}

#[test]
fn messages_say_what_they_are() {
    fn parse(text: &str) -> Message<'_> {
        Message::parse(text.as_bytes(), true)
    }
    let request = parse(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p1"}}}"#,
    );
    assert_eq!((request.kind(), request.id), (Kind::Request, Some("3")));
    assert_eq!(request.progress_token, Some("\"p1\""));
    let error = parse(r#"{"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"no"}}"#);
    assert_eq!(
        (error.kind(), error.error, error.id),
        (Kind::Error, Some(-32601), Some("\"a\""))
    );
    let note = parse(
        r#"{"method":"notifications/progress","params":{"progressToken":"p1","progress":1}}"#,
    );
    assert_eq!(
        (note.kind(), note.progress_token),
        (Kind::Notification, Some("\"p1\""))
    );
    let response = parse(r#"{"id":3,"result":null}"#);
    assert_eq!(response.kind(), Kind::Response);
    let broken = parse(r#"{"id":3,"result":"#);
    assert_eq!(broken.id, Some("3"));
    assert!(!valid(br#"{"id":3,"result":"#) && !valid(b"{not json}"));
    assert_eq!(parse("{not json}").kind(), Kind::Other);
    assert_eq!(parse(r#"{"id":3} x"#).kind(), Kind::Other);
    assert_eq!(parse(r#"{"id":3}"#).kind(), Kind::Response);
    assert_eq!(parse("[1,2]").kind(), Kind::Batch);
    let positional = parse(r#"{"id":1,"method":"m","params":[1,2]}"#);
    assert_eq!(positional.kind(), Kind::Request);
    assert!(positional.progress_token.is_none());
    for params in [r#""text""#, "3", "-1", "1.5", "true", "null"] {
        let text = format!(r#"{{"id":1,"method":"m","params":{params}}}"#);
        let message = parse(&text);
        assert_eq!(message.kind(), Kind::Request, "params {params}");
        assert!(message.method.is_some() && message.progress_token.is_none());
    }
    // Strings are stepped over whatever they hold; escapes in a method are undone.
    let tricky = parse(r#"{"params":{"text":"}{\"id\":9,"},"method":"a\/b","id":"x\"y"}"#);
    assert_eq!(tricky.method.as_deref(), Some("a/b"));
    assert_eq!(tricky.id, Some(r#""x\"y""#));
    assert_eq!(tricky.kind(), Kind::Request);
}

#[test]
fn responses_pair_with_requests_each_way_and_progress_restarts_the_clock() {
    let start = Instant::now();
    let at = |ms| start + Duration::from_millis(ms);
    fn parse(text: &str) -> Message<'_> {
        Message::parse(text.as_bytes(), true)
    }
    let mut talk = Conversation::default();
    talk.observe(
        Direction::ToChild,
        &parse(r#"{"id":1,"method":"tools/call","params":{"_meta":{"progressToken":9}}}"#),
        at(0),
    );
    talk.observe(
        Direction::FromChild,
        &parse(r#"{"id":1,"method":"sampling/createMessage"}"#),
        at(10),
    );
    assert_eq!(talk.oldest().unwrap().0, at(0));
    talk.observe(
        Direction::FromChild,
        &parse(r#"{"method":"notifications/progress","params":{"progressToken":9}}"#),
        at(20),
    );
    assert_eq!(
        talk.oldest(),
        Some((
            at(10),
            "request 1 sampling/createMessage from the child".into()
        ))
    );
    // The child's own request is answered toward it, not by its own messages.
    let answer = talk.observe(
        Direction::FromChild,
        &parse(r#"{"id":1,"result":{}}"#),
        at(30),
    );
    assert_eq!(
        answer,
        Observed {
            method: Some("tools/call".into()),
            latency: Some(Duration::from_millis(30))
        }
    );
    let unanswered = talk.unanswered(start);
    assert_eq!(unanswered.len(), 1);
    assert_eq!(
        (unanswered[0].method.as_str(), unanswered[0].to_child),
        ("sampling/createMessage", false)
    );
    let answer = talk.observe(
        Direction::ToChild,
        &parse(r#"{"id":1,"error":{"code":-1}}"#),
        at(40),
    );
    assert_eq!(answer.latency, Some(Duration::from_millis(30)));
    assert!(talk.unanswered(start).is_empty() && talk.oldest().is_none());
}

#[test]
fn the_answer_to_agentpipes_own_request_is_swallowed() {
    let mut watch = Watch::new(Protocol::Lsp, true);
    watch.swallow("\"own\"".into());
    let mut stream = Protocol::Lsp.frame(r#"{"jsonrpc":"2.0","method":"window/logMessage"}"#);
    let own = Protocol::Lsp.frame(r#"{"jsonrpc":"2.0","id":"own","result":null}"#);
    stream.extend(&own);
    stream.extend(Protocol::Lsp.frame(r#"{"jsonrpc":"2.0","id":"own","result":null}"#));
    let (mut out, mut owns) = (Vec::new(), Vec::new());
    for byte in &stream {
        let byte = std::slice::from_ref(byte);
        let in_place = watch.feed(
            byte,
            |bytes| out.extend_from_slice(bytes),
            |frame| owns.push(frame.own),
        );
        if in_place {
            out.extend_from_slice(byte);
        }
    }
    let mut expected = Protocol::Lsp.frame(r#"{"jsonrpc":"2.0","method":"window/logMessage"}"#);
    expected.extend(&own); // only the first answer is agentpipe's
    assert_eq!(out, expected);
    assert_eq!(owns, [false, true, false]);
}

#[test]
fn strings_of_every_length_and_escape_position_are_stepped_over() {
    for len in 0..24usize {
        for escape in [None, Some(0), Some(len / 2), Some(len.saturating_sub(1))] {
            let mut text: String = "abcdefghijklmnopqrstuvwxyz"[..len].into();
            if let Some(at) = escape.filter(|&at| at < len) {
                text.replace_range(at..=at, "\"");
            }
            let method = serde_json::to_string(&text).unwrap();
            for body in [
                format!(r#"{{"method":{method},"id":7}}"#),
                format!(r#"{{"id":7,"method":{method}}}"#),
            ] {
                let message = Message::parse(body.as_bytes(), true);
                assert_eq!(message.method.as_deref(), Some(text.as_str()), "{body}");
                assert_eq!((message.id, message.kind()), (Some("7"), Kind::Request));
            }
        }
    }
}
