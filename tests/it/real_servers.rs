//! `--protocol` with real implementations: the official MCP Python SDK's client against an SDK
//! server through agentpipe, and python-lsp-server (pylsp) with a small client here, whose
//! stdin closes without a shutdown: agentpipe's own shutdown and exit end it, with no signal.
//!
//! They run in the Python virtual environment `.ci/run` creates (`target/venv`, with `pip
//! install mcp python-lsp-server`). When it is missing, the tests fail under CI (`CI` set) and
//! are skipped with a message elsewhere, as [`have_tools`] does.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

const SERVERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/servers");

/// The virtual environment's `bin` directory, if it has both packages.
fn venv(test: &str) -> Option<PathBuf> {
    let bin = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/venv/bin"));
    let ready = Command::new(bin.join("python"))
        .args(["-c", "import mcp, pylsp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if ready {
        return Some(bin);
    }
    let why = "no target/venv with mcp and python-lsp-server (python3 -m venv target/venv && \
               target/venv/bin/pip install mcp python-lsp-server)";
    assert!(
        !under_ci(),
        "{test}: {why}; CI must install them (.ci/run does)"
    );
    skipped(test, why);
    None
}

fn trace_messages(path: &str) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(path).expect("the trace");
    let records = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"));
    records
        .filter(|record: &serde_json::Value| record["event"] == "message")
        .collect()
}

#[test]
fn the_mcp_sdks_client_and_server_talk_through_agentpipe() {
    let Some(bin) = venv("mcp sdk") else { return };
    let sandbox = Sandbox::new("mcp-sdk");
    let python = bin.join("python");
    let (trace, report) = (sandbox.path_str("trace"), sandbox.path_str("report"));
    let mut command = sandbox.command(&python);
    command.arg(format!("{SERVERS}/sdk_client.py")).arg(BIN);
    command.args([
        "--protocol",
        "mcp",
        "--trace",
        &trace,
        "--trace-format",
        "jsonl",
    ]);
    command.args(["--report", &report, "--grace", "10s", "--"]);
    command.arg(&python).arg(format!("{SERVERS}/sdk_server.py"));
    let mut run = Run::start(sandbox, command);
    run.close_stdin();
    let finished = run.finish_within(Duration::from_secs(90));
    finished.assert_code(0);
    assert_eq!(
        finished.stdout_text(),
        "tools: add\nresult: 5\n",
        "{}",
        finished.stderr
    );
    let messages = trace_messages(&trace);
    for method in ["initialize", "tools/list", "tools/call"] {
        let paired = messages
            .iter()
            .any(|m| m["kind"] == "response" && m["method"] == method && m["latency"].is_number());
        assert!(paired, "no response to {method} in {messages:?}");
    }
    let call = messages
        .iter()
        .find(|m| m["method"] == "tools/call" && m["kind"] == "response");
    assert_eq!(
        call.unwrap()["json"]["result"]["structuredContent"]["result"],
        5
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["unanswered"], serde_json::json!([]));
    // The SDK's client ends a server by closing its stdin (then SIGTERM after 2 s): the server
    // exits on its own, at the stdin step.
    assert_eq!(report["exit"]["code"], 0, "{report}");
}

/// Reads the frames of an LSP stream so far: their JSON bodies.
fn lsp_frames(mut bytes: &[u8]) -> Vec<serde_json::Value> {
    let mut frames = Vec::new();
    while let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
        let headers = String::from_utf8_lossy(&bytes[..end]).to_lowercase();
        let length: usize = headers
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .expect("a Content-Length header");
        let body = &bytes[end + 4..];
        if body.len() < length {
            break;
        }
        frames.push(serde_json::from_slice(&body[..length]).expect("a JSON body"));
        bytes = &body[length..];
    }
    frames
}

fn send(run: &mut Run, body: serde_json::Value) {
    let body = body.to_string();
    // In 7-byte pieces, as a slow client might.
    let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes();
    for piece in frame.chunks(7) {
        run.write(piece);
    }
}

fn wait_response(run: &Run, id: u64) -> serde_json::Value {
    let stdout = run.stdout.as_ref().expect("collected stdout");
    wait_until(
        &format!("pylsp's response {id}"),
        Duration::from_secs(60),
        || {
            let frames = lsp_frames(&stdout.bytes());
            frames.into_iter().find(|frame| frame["id"] == id)
        },
    )
}

#[test]
fn pylsp_answers_through_agentpipe_and_a_closed_stdin_ends_it_with_agentpipes_shutdown() {
    let Some(bin) = venv("pylsp") else { return };
    let sandbox = Sandbox::new("pylsp");
    let (trace, report) = (sandbox.path_str("trace"), sandbox.path_str("report"));
    let options = [
        "--protocol",
        "lsp",
        "--trace",
        &trace,
        "--trace-format",
        "jsonl",
    ];
    let options = [&options[..], &["--report", &report]].concat();
    let pylsp = bin.join("pylsp");
    let command = sandbox.agentpipe(&options, [pylsp.to_str().unwrap()]);
    let mut run = Run::start(sandbox, command);
    let uri = "file:///tmp/agentpipe_hover.py";
    send(
        &mut run,
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"processId": null, "rootUri": null, "capabilities": {}}}),
    );
    wait_response(&run, 1);
    send(
        &mut run,
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    send(
        &mut run,
        serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
        "text": "def greet():\n    \"\"\"Says hello.\"\"\"\n\ngreet()\n"}}}),
    );
    send(
        &mut run,
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover",
        "params": {"textDocument": {"uri": uri}, "position": {"line": 3, "character": 1}}}),
    );
    let hover = wait_response(&run, 2);
    assert!(hover.to_string().contains("Says hello"), "{hover}");
    // The editor goes away without shutdown: only its stdin closes.
    let pid = run.pid();
    run.close_stdin();
    let finished = run.finish_within(Duration::from_secs(30));
    finished.assert_code(0);
    let own = format!("agentpipe-shutdown-{pid}");
    assert!(
        !finished.stdout_text().contains(&own),
        "agentpipe's own answer is not relayed"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["shutdown"],
        "pylsp ended within the shutdown step: {report}"
    );
    assert_eq!(report["exit"]["code"], 0, "{report}");
    let messages = trace_messages(&trace);
    let answered = messages.iter().any(|m| {
        m["dir"] == "from_child"
            && m["id"] == own.as_str()
            && m["method"] == "shutdown"
            && m["own"] == true
    });
    assert!(
        answered,
        "pylsp answered agentpipe's shutdown: {messages:?}"
    );
    let exit = messages
        .iter()
        .any(|m| m["dir"] == "to_child" && m["method"] == "exit");
    assert!(exit, "agentpipe sent exit: {messages:?}");
}
