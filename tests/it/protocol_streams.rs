//! `--protocol mcp` while streams flow both ways: megabytes of frames written at once, which
//! agentpipe relays on a thread per direction (see src/duplex/helper.rs), must come through as
//! they would on one thread: byte for byte, every message in the trace in order, every request
//! paired with its response, and the end of input passed on.

use std::fs;

use crate::common::*;

/// Answers each request line with a response of about 1 KiB, through a 1 MiB buffer (so that
/// its writes are a stream's, not a message's), flushed at the end of its input.
const ANSWER_ALL: &str = r#"
import json, os, sys
out = os.fdopen(1, "wb", buffering=1 << 20)
for line in sys.stdin.buffer:
    request = json.loads(line)
    answer = {"jsonrpc": "2.0", "id": request["id"], "result": {"text": "y" * 1000}}
    out.write(json.dumps(answer, separators=(",", ":")).encode() + b"\n")
out.flush()
"#;

/// Fewer than the requests a conversation keeps waiting (1024): each is answered.
const REQUESTS: usize = 1000;

fn request(id: usize) -> String {
    let padding = "x".repeat(900);
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"p":"{padding}"}}}}"#)
        + "\n"
}

fn response(id: usize) -> String {
    let text = "y".repeat(1000);
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"text":"{text}"}}}}"#) + "\n"
}

#[test]
fn streams_both_ways_keep_every_byte_every_message_in_order_and_every_pair() {
    if !have_tools("python3", &["python3"]) {
        return;
    }
    let sandbox = Sandbox::new("streams");
    let trace = sandbox.path_str("trace.jsonl");
    let report = sandbox.path_str("report.json");
    let options = [
        "--protocol",
        "mcp",
        "--trace",
        &trace,
        "--trace-format",
        "jsonl",
        "--report",
        &report,
    ];
    let command = sandbox.agentpipe(&options, ["python3", "-c", ANSWER_ALL]);
    let mut run = Run::start(sandbox, command);
    let requests: String = (0..REQUESTS).map(request).collect();
    run.write(requests.as_bytes());
    run.close_stdin();
    let finished = run.finish();
    finished.assert_code(0);
    let responses: String = (0..REQUESTS).map(response).collect();
    assert!(
        finished.stdout == responses.as_bytes(),
        "the responses, byte for byte ({} bytes against {})",
        finished.stdout.len(),
        responses.len()
    );

    let records = fs::read_to_string(&trace).unwrap();
    let messages: Vec<serde_json::Value> = records
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .filter(|record| record["event"] == "message")
        .collect();
    for (dir, kind) in [("to_child", "request"), ("from_child", "response")] {
        let ids: Vec<u64> = messages
            .iter()
            .filter(|m| m["dir"] == dir)
            .map(|m| {
                assert_eq!(m["kind"], kind, "{m}");
                assert_eq!(m["method"], "tools/call", "paired: {m}");
                m["id"].as_u64().expect("a numeric id")
            })
            .collect();
        let expected: Vec<u64> = (0..REQUESTS as u64).collect();
        assert!(ids == expected, "{dir}: every message, in order");
    }
    let report = fs::read_to_string(&report).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).expect("the report is JSON");
    assert_eq!(report["unanswered"], serde_json::json!([]), "{report}");
}
