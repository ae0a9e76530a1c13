//! `--trace` and `StreamOptions::trace`: the bytes each way exactly, in order with the events;
//! the tee (pipe to pipe) and copy paths; a trace destination that is full or never read, which
//! never holds the relay back; the size limit; the file's mode; the JSON lines read back.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::thread;
use std::time::Duration;

use agentpipe::{Config, Stream, StreamOptions, Trace, TraceFormat};
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::*;

/// The events of a JSON lines trace, each line parsed on its own.
fn events(trace: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(trace).expect("a JSON lines trace is UTF-8");
    assert!(text.ends_with('\n'), "the trace ends with a whole line");
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}")))
        .collect()
}

fn event(value: &Value) -> &str {
    value["event"].as_str().expect("every event has a name")
}

/// The bytes a JSON lines trace recorded toward `dir` ("to_child", "from_child"), in order.
fn recorded(events: &[Value], dir: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for value in events
        .iter()
        .filter(|v| event(v) == "data" && v["dir"] == dir)
    {
        let chunk = match (value["text"].as_str(), value["base64"].as_str()) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(encoded)) => base64::decode(encoded),
            _ => panic!("a data event has either text or base64: {value}"),
        };
        assert_eq!(value["len"], chunk.len(), "{value}");
        bytes.extend(chunk);
    }
    bytes
}

/// The bytes counted as skipped toward `dir`.
fn skipped(events: &[Value], dir: &str) -> u64 {
    events
        .iter()
        .filter(|v| event(v) == "skipped" && v["dir"] == dir)
        .map(|v| v["len"].as_u64().expect("a count"))
        .sum()
}

/// The bytes of a hex trace toward `arrow` ('>' to the child, '<' from it), read back from the
/// dump lines under each chunk's header.
fn hex_data(trace: &str, arrow: char) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut inside = false;
    for line in trace.lines() {
        if let Some((_, header)) = line.split_once("]: ") {
            inside = header.starts_with(arrow) && header.contains(" bytes ");
        } else if inside {
            let hex = &line[12..line.find("  |").expect("the ASCII column")];
            bytes.extend(
                hex.split_whitespace()
                    .map(|byte| u8::from_str_radix(byte, 16).expect("a hex byte")),
            );
        }
    }
    bytes
}

/// Binary data with every byte value, invalid UTF-8, NULs and escapes, then a partial line.
fn awkward_bytes() -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255u8).collect();
    data.extend(b"\xff\xfe\x00\x1b[31mred\x1b[0m\r\n\xc3\xa9t\xc3\xa9\n");
    data.extend(binary_data(100_000));
    data.extend(b"a partial line, no newline");
    data
}

#[test]
fn binary_data_and_a_partial_line_are_in_the_json_lines_trace_exactly_both_ways() {
    let sandbox = Sandbox::new("trace-jsonl");
    let trace = sandbox.path("trace.jsonl");
    let options = [
        "--trace",
        trace.to_str().unwrap(),
        "--trace-format",
        "jsonl",
    ];
    let command = sandbox.agentpipe(&options, ["cat"]);
    let mut run = Run::start(sandbox, command);
    let data = awkward_bytes();
    run.write(&data);
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(done.stdout, data);
    let events = events(&fs::read(&trace).unwrap());
    assert_eq!(
        recorded(&events, "to_child"),
        data,
        "the bytes to the child"
    );
    assert_eq!(
        recorded(&events, "from_child"),
        data,
        "the bytes from the child"
    );
    assert_eq!(
        (skipped(&events, "to_child"), skipped(&events, "from_child")),
        (0, 0)
    );
    // Every event has its time, never going back, and the first says which schema it is.
    assert_eq!(
        (event(&events[0]), &events[0]["version"]),
        ("trace", &Value::from(1))
    );
    let times: Vec<f64> = events.iter().map(|v| v["t"].as_f64().expect("t")).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
    assert_eq!(event(events.last().unwrap()), "done");
}

#[test]
fn the_hex_trace_holds_the_exact_bytes_both_ways() {
    let sandbox = Sandbox::new("trace-hex");
    let trace = sandbox.path_str("trace.hex");
    let command = sandbox.agentpipe(&["--trace", &trace, "--trace-format", "hex"], ["cat"]);
    let mut run = Run::start(sandbox, command);
    let data = awkward_bytes();
    run.write(&data);
    run.close_stdin();
    run.finish().assert_code(0);
    let text = fs::read_to_string(&trace).unwrap();
    assert_eq!(hex_data(&text, '>'), data);
    assert_eq!(hex_data(&text, '<'), data);
}

#[test]
fn the_text_trace_escapes_controls_and_invalid_bytes_and_keeps_lines() {
    let sandbox = Sandbox::new("trace-text");
    let trace = sandbox.path_str("trace.txt");
    let command = sandbox.agentpipe(&["--trace", &trace], ["cat"]);
    let mut run = Run::start(sandbox, command);
    run.write(b"{\"id\":1}\n\x1b[1m\xff\tpartial");
    run.close_stdin();
    run.finish().assert_code(0);
    let text = fs::read_to_string(&trace).unwrap();
    let chunk = "  {\"id\":1}\\n\n  \\x1b[1m\\xff\\tpartial\n";
    assert!(
        text.contains(&format!("]: > 22 bytes to the child\n{chunk}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("]: < 22 bytes from the child\n{chunk}")),
        "{text}"
    );
}

/// An agent that answers its first request and ignores the next, its EOF and SIGTERM.
const ONE_ANSWER: &str = "trap '' TERM\nread request\necho \"answer to $request\"\n\
                          read ignored\nwhile :; do sleep 1; done";

#[test]
fn requests_answers_eof_signals_and_exit_come_in_order_each_once_on_stderr() {
    let mut run = Run::agentpipe(
        "trace-order",
        &[
            "--trace",
            "-",
            "-v",
            "--grace",
            "100ms",
            "--term-grace",
            "100ms",
        ],
        sh(ONE_ANSWER),
    );
    run.write(b"one\n");
    run.wait_stdout("answer to one\n");
    run.wait_stderr("< 14 bytes from the child");
    run.write(b"two\n");
    run.wait_stderr("> 4 bytes to the child\n  two\\n\n");
    run.close_stdin();
    let done = run.finish();
    done.assert_signal(Signal::SIGKILL);
    let wanted = [
        "started 'sh' as pid",
        "> 4 bytes to the child",
        "  one\\n",
        "< 14 bytes from the child",
        "  answer to one\\n",
        "> 4 bytes to the child",
        "  two\\n",
        "end of input",
        "step 2 (stdin)",
        "step 3 (TERM)",
        "step 4 (KILL)",
        "killed by SIGKILL",
        "done: ",
    ];
    let lines = done.stderr_lines();
    let mut at = 0;
    for want in wanted {
        let found = lines[at..].iter().position(|line| line.contains(want));
        let found = found.unwrap_or_else(|| panic!("{want:?} not in order in:\n{}", done.stderr));
        at += found + 1;
    }
    // With -v and a text trace on stderr, each event is told once.
    for line in lines.iter().filter(|line| line.starts_with("agentpipe [")) {
        let message = line.split_once("]: ").unwrap().1;
        let told = lines
            .iter()
            .filter(|other| other.split_once("]: ").is_some_and(|(_, m)| m == message))
            .count();
        assert!(
            told == 1 || message.contains(" bytes "),
            "told {told} times: {message}\n{}",
            done.stderr
        );
    }
}

/// Relays `data` through `agentpipe --trace ... -- cat` with stdin and stdout as `kind` says,
/// and returns the JSON lines trace.
fn relay_traced(kind: &str, data: &[u8]) -> Vec<Value> {
    let sandbox = Sandbox::new(&format!("trace-{kind}"));
    let trace = sandbox.path_str("trace.jsonl");
    let input = sandbox.path("input");
    let output = sandbox.path("output");
    fs::write(&input, data).unwrap();
    let options = [
        "--trace",
        &trace,
        "--trace-format",
        "jsonl",
        "--trace-limit",
        "1G",
    ];
    let mut command = sandbox.agentpipe(&options, ["cat"]);
    command.stderr(Stdio::null());
    let status = match kind {
        // Pipes both ways: spliced, the trace's copy made by tee(2).
        "pipes" => {
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let owned = data.to_vec();
            let writer = thread::spawn(move || stdin.write_all(&owned));
            let mut out = Vec::new();
            child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
            writer.join().unwrap().unwrap();
            fs::write(&output, out).unwrap();
            child.wait().unwrap()
        }
        // Regular files both ways: copied through the relay's buffer.
        "files" => command
            .stdin(File::open(&input).unwrap())
            .stdout(File::create(&output).unwrap())
            .status()
            .unwrap(),
        _ => unreachable!(),
    };
    assert!(status.success(), "{kind}: {status}");
    assert_eq!(
        fs::read(&output).unwrap(),
        data,
        "{kind}: the relayed bytes"
    );
    events(&fs::read(&trace).unwrap())
}

#[test]
fn the_tee_and_copy_paths_record_every_byte_relayed() {
    let data = binary_data(3 << 20);
    for kind in ["pipes", "files"] {
        let events = relay_traced(kind, &data);
        assert_eq!(recorded(&events, "to_child"), data, "{kind}: to the child");
        assert_eq!(
            recorded(&events, "from_child"),
            data,
            "{kind}: from the child"
        );
    }
}

#[test]
fn a_full_trace_destination_never_stops_the_relay() {
    let data = binary_data(8 << 20);
    let mut run = Run::agentpipe("trace-full", &["--trace", "/dev/full"], ["cat"]);
    let mut stdin = run.take_stdin();
    let owned = data.clone();
    let writer = thread::spawn(move || stdin.write_all(&owned));
    let done = run.finish_within(Duration::from_secs(30));
    writer.join().unwrap().unwrap();
    done.assert_code(0);
    assert!(done.stdout == data, "the relayed bytes differ");
}

#[test]
fn a_trace_nobody_reads_skips_and_counts_what_it_could_not_keep() {
    let sandbox = Sandbox::new("trace-unread");
    let (mut reader, writer) = io::pipe().unwrap();
    // The child runs on a moment after its input ends, while the test reads the trace: the
    // count of what was skipped is written once the trace catches up.
    let mut command = sandbox.agentpipe(
        &[
            "--trace",
            "/dev/fd/3",
            "--trace-format",
            "jsonl",
            "--trace-limit",
            "1G",
        ],
        sh("cat\nwhile [ ! -e \"$D/go\" ]; do sleep 0.01; done"),
    );
    pass_fd(&mut command, OwnedFd::from(writer), 3);
    let mut run = Run::start(sandbox, command);
    let data = binary_data(32 << 20);
    let mut stdin = run.take_stdin();
    let owned = data.clone();
    let feeder = thread::spawn(move || stdin.write_all(&owned));
    // Nothing reads the trace while 32 MiB pass: far more than its pipe and queue hold.
    wait_until(
        "the relay to pass everything",
        Duration::from_secs(30),
        || (run.stdout.as_ref().unwrap().bytes().len() == data.len()).then_some(()),
    );
    feeder.join().unwrap().unwrap();
    let trace = thread::spawn(move || {
        let mut trace = Vec::new();
        reader.read_to_end(&mut trace).map(|_| trace)
    });
    fs::write(run.sandbox.path("go"), "").unwrap();
    let done = run.finish_within(Duration::from_secs(30));
    done.assert_code(0);
    assert!(done.stdout == data, "the relayed bytes differ");
    let events = events(&trace.join().unwrap().unwrap());
    for dir in ["to_child", "from_child"] {
        let recorded = recorded(&events, dir);
        let skipped = skipped(&events, dir);
        assert!(
            skipped > 0,
            "{dir}: nothing skipped although nobody read the trace"
        );
        assert_eq!(recorded.len() as u64 + skipped, data.len() as u64, "{dir}");
        // Chunks that did not fit are skipped whole, so what follows the first skip is no
        // longer a prefix; the first chunk, recorded into an empty queue, is.
        let first = events
            .iter()
            .find(|v| event(v) == "data" && v["dir"] == dir)
            .and_then(|v| v["len"].as_u64())
            .expect("a first chunk") as usize;
        assert!(data.starts_with(&recorded[..first]), "{dir}");
    }
}

#[test]
fn the_trace_stops_at_its_limit_with_one_line_and_its_file_is_private() {
    let sandbox = Sandbox::new("trace-limit");
    let trace = sandbox.path("trace.txt");
    // An existing file readable by all is truncated and narrowed to 0600 as well.
    fs::write(&trace, "old").unwrap();
    fs::set_permissions(&trace, fs::Permissions::from_mode(0o644)).unwrap();
    let options = ["--trace", trace.to_str().unwrap(), "--trace-limit", "4K"];
    let command = sandbox.agentpipe(&options, ["cat"]);
    let mut run = Run::start(sandbox, command);
    for _ in 0..100 {
        run.write(&[b'x'; 1000]);
    }
    run.close_stdin();
    let done = run.finish();
    done.assert_code(0);
    assert_eq!(
        done.stdout.len(),
        100_000,
        "the relay goes on past the trace's limit"
    );
    let text = fs::read_to_string(&trace).unwrap();
    assert!(text.len() <= 4096, "{} bytes", text.len());
    let last = text.lines().last().unwrap();
    assert!(
        last.ends_with("]: trace stopped: --trace-limit of 4096 bytes reached"),
        "{text}"
    );
    assert_eq!(text.matches("trace stopped").count(), 1);
    let mode = fs::metadata(&trace).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");

    let fresh = Sandbox::new("trace-mode");
    let path = fresh.path_str("new.trace");
    let status = fresh
        .agentpipe(&["--trace", &path], ["true"])
        .status()
        .unwrap();
    assert!(status.success());
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[test]
fn invalid_trace_values_are_usage_errors_naming_the_flag() {
    let sandbox = Sandbox::new("trace-usage");
    for (args, flag) in [
        (vec!["--trace-format", "xml"], "--trace-format"),
        (vec!["--trace-limit", "10"], "--trace-limit"),
        (vec!["--trace-limit", "1T"], "--trace-limit"),
        (vec!["--trace", ""], "--trace"),
        (vec!["--trace", "/nonexistent-dir/trace"], "--trace"),
    ] {
        let output = sandbox
            .agentpipe(&args, ["touch", "$D/started"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(
            !sandbox.path("started").exists(),
            "{args:?} started the command"
        );
    }
}

#[test]
fn the_library_records_its_agents_conversation() {
    let sandbox = Sandbox::new("trace-library");
    let path = sandbox.path("trace.jsonl");
    let trace = Trace::create(&path).unwrap().format(TraceFormat::JsonLines);
    let mut command = sandbox.command("sh");
    command.args(["-c", "read line; echo \"got $line\"; cat >/dev/null"]);
    command.stderr(Stdio::null());
    let options = StreamOptions::new().trace(trace);
    let mut stream = Stream::spawn_with(&mut command, options).unwrap();
    stream.write_all(b"hello\n").unwrap();
    let mut answer = [0; 10];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"got hello\n");
    let outcome = stream.close(&Config::default()).unwrap();
    assert_eq!(outcome.exit, agentpipe::Exit::Code(0));
    let events = events(&fs::read(&path).unwrap());
    assert_eq!(recorded(&events, "to_child"), b"hello\n");
    assert_eq!(recorded(&events, "from_child"), b"got hello\n");
    let names: Vec<&str> = events.iter().map(event).collect();
    let order = [
        "trace",
        "started",
        "data",
        "data",
        "sequence_started",
        "child_exited",
        "done",
    ];
    let mut at = 0;
    for want in order {
        at += names[at..]
            .iter()
            .position(|name| *name == want)
            .unwrap_or_else(|| panic!("{want} not in order in {names:?}"))
            + 1;
    }
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
