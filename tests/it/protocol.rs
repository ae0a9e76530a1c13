//! `--protocol mcp|lsp` through the binary, against servers of the tests' own
//! (`tests/it/servers/`): bytes relayed exactly and at once in protocol mode, the trace as a
//! conversation, a noisy server's stdout kept valid, a server that hangs on one tool
//! (unanswered requests, `--response-timeout`, progress), and agentpipe's own LSP shutdown.

use std::fs;
use std::time::Duration;

use crate::common::*;

const MCP_SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/servers/mcp_server.py"
);
const LSP_SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/servers/lsp_server.py"
);

fn mcp(mode: &str) -> Vec<String> {
    vec!["python3".into(), MCP_SERVER.into(), mode.into()]
}

fn request(id: u32, method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#) + "\n"
}

fn lsp_frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// The `message` events of a JSON-lines trace.
fn messages(trace: &str) -> Vec<serde_json::Value> {
    trace
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .filter(|record| record["event"] == "message")
        .collect()
}

fn read_report(run: &Run) -> serde_json::Value {
    let text = fs::read_to_string(run.sandbox.path("report.json")).expect("the report");
    serde_json::from_str(&text).expect("the report is JSON")
}

#[test]
fn protocol_mode_relays_every_byte_unchanged_in_pieces_and_a_large_frame_as_it_comes() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    for protocol in ["mcp", "lsp"] {
        // A sequence without the LSP shutdown step: cat would echo agentpipe's own request.
        let options = [
            "--protocol",
            protocol,
            "--sequence",
            "stdin 5s, TERM 1s, KILL",
        ];
        let mut run = Run::agentpipe("exact", &options, ["cat"]);
        let frame = |body: &str| match protocol {
            "mcp" => format!("{body}\n").into_bytes(),
            _ => lsp_frame(body),
        };
        let mut sent: Vec<u8> = Vec::new();
        // Several frames in one write, then one frame in 7-byte pieces, with escapes and
        // UTF-8 that must not change.
        let mut many = Vec::new();
        for id in 0..50 {
            many.extend(frame(&format!(
                r#"{{"id":{id},"method":"m","params":"a\\b é"}}"#
            )));
        }
        run.write(&many);
        sent.extend(&many);
        for piece in frame(r#"{"id":"x","method":"split","params":[1,2]}"#).chunks(7) {
            run.write(piece);
            sent.extend(piece);
        }
        // A 3 MiB frame: its first half comes out before its second half is written.
        let big = format!(
            r#"{{"id":99,"result":"FIRST{}SECOND"}}"#,
            "y".repeat(3 << 20)
        );
        let big = frame(&big);
        let half = big.len() / 2;
        run.write(&big[..half]);
        run.wait_stdout("FIRST");
        run.write(&big[half..]);
        sent.extend(&big);
        run.close_stdin();
        let finished = run.finish();
        finished.assert_code(0);
        assert!(
            finished.stdout == sent,
            "{protocol}: bytes changed in protocol mode"
        );
    }
}

#[test]
fn the_trace_shows_the_conversation_with_pairs_both_ways_and_json_as_sent() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    let sandbox = Sandbox::new("conversation");
    let text = sandbox.path_str("trace.txt");
    let jsonl = sandbox.path_str("trace.jsonl");
    for (path, format) in [(&text, "text"), (&jsonl, "jsonl")] {
        let options = [
            "--protocol",
            "mcp",
            "--trace",
            path,
            "--trace-format",
            format,
        ];
        let command = sandbox.agentpipe(&options, mcp("ask"));
        let mut run = Run::start(Sandbox::new("conversation-run"), command);
        run.write(request(1, "initialize", r#"{"path":"C:\\dir"}"#).as_bytes());
        run.wait_stdout("sampling/createMessage");
        run.write(b"{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"result\":{\"ok\":true}}\n");
        run.wait_stdout(r#""echo":"initialize""#);
        run.write(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
        run.write(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}\n");
        run.wait_stdout(r#""echo":"nope""#);
        run.close_stdin();
        run.finish().assert_code(0);
    }
    let text = fs::read_to_string(&text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| {
        let found = lines.iter().position(|line| line.contains(needle));
        found.unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
    };
    let sent_at = at("> request 1 initialize (");
    // The JSON as it was sent: one backslash stays two characters, never four.
    assert_eq!(
        lines[sent_at + 1],
        r#"  {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"path":"C:\\dir"}}"#
    );
    at(r#"< request "s1" sampling/createMessage ("#);
    at(r#"> response "s1" sampling/createMessage "#);
    assert!(
        lines[at("< response 1 initialize ")].contains("ms ("),
        "{text}"
    );
    at("> notification notifications/initialized (");
    assert!(
        !text.contains("bytes to the child"),
        "messages replace chunks:\n{text}"
    );

    let jsonl = fs::read_to_string(&jsonl).unwrap();
    let messages = messages(&jsonl);
    let response = messages
        .iter()
        .find(|m| m["dir"] == "from_child" && m["kind"] == "response")
        .expect("a response");
    assert_eq!(response["id"], 1);
    assert_eq!(response["method"], "initialize");
    assert!(response["latency"].as_f64().is_some_and(|l| l > 0.0));
    let sent = messages
        .iter()
        .find(|m| m["id"] == 1 && m["kind"] == "request")
        .unwrap();
    assert_eq!(sent["json"]["params"]["path"], "C:\\dir");
    let body = request(1, "initialize", r#"{"path":"C:\\dir"}"#);
    assert_eq!(
        sent["len"],
        body.len() - 1,
        "the length of the JSON, without its newline"
    );
    let asked = messages
        .iter()
        .find(|m| m["id"] == "s1" && m["kind"] == "response")
        .unwrap();
    assert_eq!(
        (&asked["dir"], &asked["method"]),
        (&"to_child".into(), &"sampling/createMessage".into())
    );
}

#[test]
fn a_noisy_servers_stray_output_goes_to_stderr_and_stdout_stays_frames() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    let mut run = Run::agentpipe("noisy", &["--protocol", "mcp"], mcp("noisy"));
    for id in 1..=3 {
        run.write(request(id, "tools/list", "{}").as_bytes());
    }
    run.wait_stdout(r#""id":3"#);
    run.close_stdin();
    let finished = run.finish();
    finished.assert_code(0);
    for line in finished.stdout_text().lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("only frames on stdout");
    }
    assert_eq!(finished.stdout_text().lines().count(), 3);
    let stderr = &finished.stderr;
    assert!(
        stderr.contains("Starting the server, version 1.0\n"),
        "{stderr}"
    );
    assert!(stderr.contains("handling tools/list\n"), "{stderr}");
    assert_eq!(
        stderr.matches("no mcp frame").count(),
        1,
        "warned once: {stderr}"
    );
    let stray = "Starting the server, version 1.0\n".len() + 3 * "handling tools/list\n".len();
    assert!(
        stderr.contains(&format!(
            "{stray} bytes of the child's stdout were no frame"
        )),
        "{stderr}"
    );

    // With --stderr FILE, stray output goes there with the command's stderr.
    let sandbox = Sandbox::new("noisy-file");
    let log = sandbox.path_str("server.log");
    let command = sandbox.agentpipe(&["--protocol", "mcp", "--stderr", &log], mcp("noisy"));
    let mut run = Run::start(sandbox, command);
    run.write(request(1, "tools/list", "{}").as_bytes());
    run.wait_stdout(r#""id":1"#);
    run.close_stdin();
    run.finish().assert_code(0);
    let logged = fs::read_to_string(&log).unwrap();
    assert!(logged.contains("Starting the server") && logged.contains("handling tools/list"));
}

#[test]
fn a_flood_of_frames_with_stray_lines_between_them_keeps_only_the_frames_on_stdout() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    // Megabytes in large writes: read from the child's pipe by a duplicate first (frames then
    // pass pipe to pipe), with stray lines in most of what is read at once.
    let mut run = Run::agentpipe("flood", &["--protocol", "mcp"], mcp("flood"));
    run.close_stdin();
    let finished = run.finish_within(Duration::from_secs(60));
    finished.assert_code(0);
    let frames = fs::read(run.sandbox.path("frames")).unwrap();
    let stray = fs::read_to_string(run.sandbox.path("stray")).unwrap();
    assert!(frames.len() > 3 << 20, "{} bytes of frames", frames.len());
    assert!(
        finished.stdout == frames,
        "stdout is the frames, byte for byte ({} bytes against {})",
        finished.stdout.len(),
        frames.len()
    );
    let (own, set_aside): (Vec<&str>, Vec<&str>) = finished
        .stderr
        .lines()
        .partition(|line| line.starts_with("agentpipe"));
    assert_eq!(
        set_aside.join("\n") + "\n",
        stray,
        "the stray lines, in order, on stderr"
    );
    let count = format!("{} bytes of the child's stdout were no frame", stray.len());
    assert!(own.iter().any(|line| line.contains(&count)), "{own:?}");
}

#[test]
fn a_send_step_writes_its_message_as_agentpipe_and_the_server_ends_on_it() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    let sandbox = Sandbox::new("send-step");
    let trace = sandbox.path_str("trace.txt");
    let bye = r#"{"jsonrpc":"2.0","method":"bye"}"#;
    let sequence = format!("send '{bye}' 20s, stdin 1s, TERM 1s, KILL");
    let options = [
        "--protocol",
        "mcp",
        "--sequence",
        &sequence,
        "--trace",
        &trace,
        "-v",
    ];
    let command = sandbox.agentpipe(&options, mcp("echo"));
    let mut run = Run::start(sandbox, command);
    run.write(request(1, "tools/list", "{}").as_bytes());
    run.wait_stdout(r#""id":1"#);
    // The end of input starts the sequence at the send step, right before stdin.
    let closed = run.close_stdin();
    let finished = run.finish();
    finished.assert_code(0);
    assert!(
        finished.since(closed) < Duration::from_secs(15),
        "the server ended on the message, within the step's 20s"
    );
    let log = fs::read_to_string(run.sandbox.path("log")).unwrap();
    assert!(log.contains("got bye"), "{log}");
    let sent = format!(
        "sent the step's message to the child ({} bytes)",
        bye.len() + 1
    );
    assert!(finished.stderr.contains(&sent), "{}", finished.stderr);
    assert!(!finished.stderr.contains("SIGTERM"), "{}", finished.stderr);
    let trace = fs::read_to_string(&trace).unwrap();
    assert!(
        trace.contains("> notification bye (32 bytes, agentpipe's own)"),
        "{trace}"
    );

    // Without --protocol there is no frame to write it as: one line, before anything starts.
    let sandbox = Sandbox::new("send-step-plain");
    let mut command = sandbox.agentpipe(&["--sequence", &sequence], ["true"]);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("a send step writes its message as a frame of --protocol"));

    // A message that is not JSON would reach the server as it is: refused the same way.
    let sandbox = Sandbox::new("send-step-not-json");
    let options = [
        "--protocol",
        "mcp",
        "--sequence",
        "send '{\"id\":' 1s, KILL",
    ];
    let output = sandbox.agentpipe(&options, ["true"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("the message of a send step is not JSON"),
        "{stderr}"
    );
}

#[test]
fn an_unanswered_request_is_named_at_exit_and_in_the_report() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    let sandbox = Sandbox::new("unanswered");
    let report = sandbox.path_str("report.json");
    let options = ["--protocol", "mcp", "-v", "--report", &report];
    let command = sandbox.agentpipe(&options, mcp("hang"));
    let mut run = Run::start(sandbox, command);
    run.write(request(1, "tools/call", r#"{"name":"fast"}"#).as_bytes());
    run.write(request(2, "tools/call", r#"{"name":"slow"}"#).as_bytes());
    run.sandbox.wait_log("hanging");
    run.wait_stdout(r#""id":1"#);
    run.close_stdin();
    let finished = run.finish();
    finished.assert_code(0);
    assert!(
        finished
            .stderr
            .contains("unanswered at exit: request 2 tools/call to the child"),
        "{}",
        finished.stderr
    );
    let unanswered = &read_report(&run)["unanswered"];
    assert_eq!(unanswered.as_array().map(Vec::len), Some(1), "{unanswered}");
    assert_eq!(unanswered[0]["id"], 2);
    assert_eq!(unanswered[0]["method"], "tools/call");
    assert_eq!(unanswered[0]["dir"], "to_child");
    assert!(unanswered[0]["since"].as_f64().is_some());
}

#[test]
fn a_response_timeout_ends_a_server_that_hangs_on_one_tool_and_names_the_request() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    let sandbox = Sandbox::new("response-timeout");
    let report = sandbox.path_str("report.json");
    let options = [
        "--protocol",
        "mcp",
        "--response-timeout",
        "1s",
        "--report",
        &report,
    ];
    let command = sandbox.agentpipe(&options, mcp("hang"));
    let mut run = Run::start(sandbox, command);
    run.write(request(1, "tools/call", r#"{"name":"fast"}"#).as_bytes());
    run.wait_stdout(r#""id":1"#);
    run.write(request(2, "tools/call", r#"{"name":"slow"}"#).as_bytes());
    run.sandbox.wait_log("hanging");
    let hung = std::time::Instant::now();
    let finished = run.finish();
    // The sequence closes its stdin, and it ends: 124, as after --timeout.
    finished.assert_code(124);
    assert_within(
        finished.since(hung),
        0.8,
        6.0,
        "a second, then the sequence",
    );
    assert!(
        finished
            .stderr
            .contains("request 2 tools/call to the child had no response for 1s"),
        "{}",
        finished.stderr
    );
    let report = read_report(&run);
    assert_eq!(report["trigger"], "response-timeout");
    assert_eq!(report["unanswered"][0]["id"], 2);
}

#[test]
fn progress_notifications_keep_a_long_request_alive_past_the_response_timeout() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    let options = ["--protocol", "mcp", "--response-timeout", "1.5s"];
    let mut run = Run::agentpipe("progress", &options, mcp("hang"));
    // Three seconds of work, with progress every quarter of a second.
    let params = r#"{"name":"progress","_meta":{"progressToken":"t7"}}"#;
    run.write(request(1, "tools/call", params).as_bytes());
    run.wait_stdout(r#""id":1,"result""#);
    run.close_stdin();
    let finished = run.finish();
    finished.assert_code(0);
    assert!(
        !finished.stderr.contains("had no response"),
        "{}",
        finished.stderr
    );
}

#[test]
fn lsp_a_closed_stdin_gets_agentpipes_own_shutdown_and_exit_and_no_signal() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    let sandbox = Sandbox::new("lsp-shutdown");
    let trace = sandbox.path_str("trace");
    let options = ["--protocol", "lsp", "-v", "--trace", &trace];
    let command = sandbox.agentpipe(&options, ["python3", LSP_SERVER]);
    let mut run = Run::start(sandbox, command);
    run.write(&lsp_frame(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
    ));
    run.wait_stdout("capabilities");
    let pid = run.pid();
    run.close_stdin();
    let finished = run.finish();
    finished.assert_code(0);
    let log = run.sandbox.log();
    let own = format!("shutdown \"agentpipe-shutdown-{pid}\"");
    assert_eq!(
        log,
        ["initialize 1", own.as_str(), "exit null"],
        "the server's log"
    );
    // Its answer is agentpipe's: not relayed.
    assert!(
        !finished.stdout_text().contains("agentpipe-shutdown"),
        "{}",
        finished.stdout_text()
    );
    assert!(!finished.stderr.contains("SIGTERM"), "{}", finished.stderr);
    assert!(
        finished.stderr.contains("step 2 (shutdown)"),
        "{}",
        finished.stderr
    );
    let trace = fs::read_to_string(&trace).unwrap();
    assert!(
        trace.contains(&format!("< response \"agentpipe-shutdown-{pid}\" shutdown")),
        "{trace}"
    );
}

#[test]
fn lsp_a_client_that_shut_down_itself_gets_no_second_shutdown() {
    if !have_tools("the protocol servers", &["python3"]) {
        return;
    }
    let mut run = Run::agentpipe(
        "lsp-client-shutdown",
        &["--protocol", "lsp"],
        ["python3", LSP_SERVER],
    );
    run.write(&lsp_frame(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
    ));
    run.write(&lsp_frame(
        r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#,
    ));
    run.wait_stdout(r#""id": 2"#);
    run.write(&lsp_frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
    run.sandbox.wait_log("exit null");
    run.close_stdin();
    let finished = run.finish_within(Duration::from_secs(20));
    finished.assert_code(0);
    assert_eq!(
        run.sandbox.log(),
        ["initialize 1", "shutdown 2", "exit null"]
    );
}

#[test]
fn the_library_traces_messages_and_names_the_unanswered_requests() {
    use agentpipe::{Config, Protocol, Stream, StreamOptions, Trace, TraceFormat};
    use std::io::{BufRead, BufReader, Read, Write};

    let sandbox = Sandbox::new("library");
    let (mut reader, writer) = std::io::pipe().unwrap();
    let trace = Trace::to_fd(writer).format(TraceFormat::JsonLines);
    let options = StreamOptions::new().protocol(Protocol::Mcp).trace(trace);
    let mut command = std::process::Command::new("python3");
    command.args([MCP_SERVER, "hang"]).env("D", &sandbox.dir);
    let mut stream = Stream::spawn_with(&mut command, options).unwrap();
    stream
        .write_all(request(1, "tools/call", r#"{"name":"fast"}"#).as_bytes())
        .unwrap();
    // Split over two writes: the frame is still one message.
    let slow = request(2, "tools/call", r#"{"name":"slow"}"#);
    stream.write_all(&slow.as_bytes()[..10]).unwrap();
    stream.write_all(&slow.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).unwrap();
    assert!(answer.contains(r#""id":1"#), "{answer}");
    sandbox.wait_log("hanging");
    let outcome = stream.close(&Config::default()).unwrap();
    assert_eq!(outcome.unanswered.len(), 1, "{:?}", outcome.unanswered);
    let waiting = &outcome.unanswered[0];
    assert_eq!(
        (
            waiting.id.as_str(),
            waiting.method.as_str(),
            waiting.to_child
        ),
        ("2", "tools/call", true)
    );
    let mut trace = String::new();
    reader.read_to_string(&mut trace).unwrap();
    let messages = messages(&trace);
    assert_eq!(
        messages.len(),
        3,
        "two requests and a response, not chunks: {trace}"
    );
    assert_eq!(messages[2]["kind"], "response");
    assert_eq!(messages[2]["method"], "tools/call");
    assert!(!trace.contains(r#""event":"data""#), "{trace}");
}

#[test]
fn the_library_response_timeout_closes_a_stream_whose_server_hangs_on_one_request() {
    use agentpipe::{Config, Protocol, Stream, StreamOptions, Trigger};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::time::Instant;

    let sandbox = Sandbox::new("library-response-timeout");
    let options = StreamOptions::new()
        .protocol(Protocol::Mcp)
        .response_timeout(Duration::from_secs(1));
    let mut command = std::process::Command::new("python3");
    command.args([MCP_SERVER, "hang"]).env("D", &sandbox.dir);
    let mut stream = Stream::spawn_with(&mut command, options).unwrap();
    // The server runs (its start is no wait for an answer), then answered requests never trip
    // the timeout, however long the stream then stays idle.
    sandbox.wait_pid("server");
    stream
        .write_all(request(1, "tools/call", r#"{"name":"fast"}"#).as_bytes())
        .unwrap();
    let mut reader = BufReader::new(&stream);
    let mut answer = String::new();
    reader.read_line(&mut answer).unwrap();
    assert!(answer.contains(r#""id":1"#), "{answer}");
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    (&stream)
        .write_all(request(2, "tools/call", r#"{"name":"slow"}"#).as_bytes())
        .unwrap();
    // The stream closes itself: the pending read ends (a close of the test's own bounds it).
    let closer = stream.closer();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        let _ = closer.close(&Config::default());
    });
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    let outcome = stream.close(&Config::default()).unwrap();
    assert_eq!(outcome.trigger, Some(Trigger::ResponseTimeout));
    assert_eq!(outcome.unanswered.len(), 1, "{:?}", outcome.unanswered);
    assert_eq!(outcome.unanswered[0].id, "2");

    // Without a protocol there are no requests to time.
    let options = StreamOptions::new().response_timeout(Duration::from_secs(1));
    let spawned = Stream::spawn_with(&mut std::process::Command::new("true"), options);
    let error = spawned.err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}
