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

impl Sink for Seen {
    fn relay(&mut self, bytes: &[u8], body: bool) {
        self.relayed.extend_from_slice(bytes);
        if body {
            self.body.extend_from_slice(bytes);
        }
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

#[test]
fn newlines_are_found_in_and_across_blocks() {
    let mut bytes = vec![b'x'; 1000];
    assert_eq!(mcp::find_newline(&bytes), None);
    for at in [0, 255, 256, 511, 999] {
        bytes[at] = b'\n';
        assert_eq!(mcp::find_newline(&bytes), Some(at));
        bytes[at] = b'x';
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
    let mut relayed = 0;
    for piece in frame.chunks(65536) {
        let mut now = 0;
        watch.feed(piece, |bytes| now += bytes.len());
        relayed += now;
        assert!(
            now + RESERVE >= piece.len(),
            "a piece is passed on as it comes"
        );
    }
    assert_eq!(relayed, frame.len());
    let frames = watch.take_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].len, big.len() as u64);
    assert_eq!(frames[0].head.len(), HEAD);
    assert_eq!(frames[0].message.id.as_deref(), Some("7"));
    assert_eq!(frames[0].message.kind(), Kind::Response);
    assert!(!frames[0].message.checked);
}

#[test]
fn messages_say_what_they_are() {
    let parse = |text: &str| Message::parse(text.as_bytes(), true);
    let request = parse(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p1"}}}"#,
    );
    assert_eq!(
        (request.kind(), request.id.as_deref()),
        (Kind::Request, Some("3"))
    );
    assert_eq!(request.progress_token.as_deref(), Some("\"p1\""));
    let error = parse(r#"{"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"no"}}"#);
    assert_eq!(
        (error.kind(), error.error, error.id.as_deref()),
        (Kind::Error, Some(-32601), Some("\"a\""))
    );
    let note = parse(
        r#"{"method":"notifications/progress","params":{"progressToken":"p1","progress":1}}"#,
    );
    assert_eq!(
        (note.kind(), note.progress_token.as_deref()),
        (Kind::Notification, Some("\"p1\""))
    );
    let response = parse(r#"{"id":3,"result":null}"#);
    assert!(response.valid);
    assert_eq!(response.kind(), Kind::Response);
    let broken = parse(r#"{"id":3,"result":"#);
    assert!(!broken.valid);
    assert_eq!(broken.id.as_deref(), Some("3"));
    assert!(!parse("{not json}").valid);
    assert_eq!(parse("[1,2]").kind(), Kind::Batch);
    let positional = parse(r#"{"id":1,"method":"m","params":[1,2]}"#);
    assert!(positional.valid && positional.progress_token.is_none());
    for params in [r#""text""#, "3", "-1", "1.5", "true", "null"] {
        let message = parse(&format!(r#"{{"id":1,"method":"m","params":{params}}}"#));
        assert!(message.valid, "params {params} is JSON");
    }
}

#[test]
fn responses_pair_with_requests_each_way_and_progress_restarts_the_clock() {
    let start = Instant::now();
    let at = |ms| start + Duration::from_millis(ms);
    let parse = |text: &str| Message::parse(text.as_bytes(), true);
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
    let mut out = Vec::new();
    for byte in &stream {
        watch.feed(std::slice::from_ref(byte), |bytes| {
            out.extend_from_slice(bytes)
        });
    }
    let mut expected = Protocol::Lsp.frame(r#"{"jsonrpc":"2.0","method":"window/logMessage"}"#);
    expected.extend(&own); // only the first answer is agentpipe's
    assert_eq!(out, expected);
    let own: Vec<bool> = watch.take_frames().iter().map(|frame| frame.own).collect();
    assert_eq!(own, [false, true, false]);
}
