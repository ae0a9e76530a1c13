//! The library's `Stream` on Windows.

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use agentpipe::{Action, Config, Exit, Stream, StreamOptions, Trace, TraceFormat};

use crate::support::*;

#[test]
fn a_stream_carries_a_mebibyte_both_ways_exactly_and_reports_the_exit_code() {
    let data = random_bytes(1 << 20);
    let stream = Stream::spawn(Command::new(helper()).arg("cat")).unwrap();
    let back = std::thread::scope(|scope| {
        let stream = &stream;
        let reading = scope.spawn(move || {
            let mut back = Vec::new();
            let mut reader = stream;
            reader.read_to_end(&mut back).unwrap();
            back
        });
        let mut writer = stream;
        writer.write_all(&data).unwrap();
        stream.close_stdin();
        reading.join().unwrap()
    });
    assert!(back == data, "{} bytes back of {}", back.len(), data.len());
    let outcome = stream.close(&Config::default()).unwrap();
    assert_eq!(outcome.exit, Exit::Code(0));
    // The child exited at its input's end: no signal was needed.
    assert!(!outcome.killed, "{:?}", outcome.steps);
    assert_eq!(outcome.to_child.relayed, 1 << 20);
}

#[test]
fn a_child_exit_code_is_the_outcome() {
    let stream = Stream::spawn(Command::new(helper()).args(["exit", "7"])).unwrap();
    let outcome = stream.close(&Config::default()).unwrap();
    assert_eq!(outcome.exit, Exit::Code(7));
}

#[test]
fn a_stubborn_child_and_its_grandchild_are_ended_by_the_job_and_a_pending_read_unblocked() {
    let dir = scratch("stubborn");
    let pidfile = dir.join("pids");
    let stream = Stream::spawn(
        Command::new(helper()).args(["stubborn", &windows_path(pidfile.to_str().unwrap())]),
    )
    .unwrap();
    let pids = pids(&pidfile);
    let closer = stream.closer();
    let started = Instant::now();
    let outcome = std::thread::scope(|scope| {
        let reading = scope.spawn(|| (&stream).read(&mut [0; 16]));
        let config = Config::default().sequence("stdin 500ms, TERM 500ms, KILL".parse().unwrap());
        let outcome = closer.close(&config).unwrap();
        assert!(
            reading.join().unwrap().is_err(),
            "the pending read was unblocked"
        );
        outcome
    });
    let took = started.elapsed();
    assert_eq!(outcome.exit, Exit::Code(137));
    assert!(outcome.killed);
    let actions: Vec<Action> = outcome.steps.iter().map(|step| step.action).collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    for process in &pids {
        assert!(process.gone(), "pid {} outlived the job", process.pid);
    }
}

#[test]
fn a_stream_traces_both_ways_and_its_close_and_refuses_what_it_cannot_do_yet() {
    let dir = scratch("library-trace");
    let path = dir.join("trace.jsonl");
    let trace = Trace::create(&path).unwrap().format(TraceFormat::JsonLines);
    let options = StreamOptions::new().trace(trace);
    let mut stream = Stream::spawn_with(Command::new(helper()).arg("cat"), options).unwrap();
    stream.write_all(b"ping\n").unwrap();
    let mut back = [0; 5];
    stream.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping\n");
    let outcome = stream.close(&Config::default()).unwrap();
    assert_eq!(outcome.exit, Exit::Code(0));
    let text = std::fs::read_to_string(&path).unwrap();
    for wanted in [
        r#""event":"data","dir":"to_child","len":5,"text":"ping\n""#,
        r#""event":"data","dir":"from_child","len":5,"text":"ping\n""#,
        r#""event":"started""#,
        r#""event":"closed_child_stdin""#,
        r#""event":"done""#,
    ] {
        assert!(text.contains(wanted), "{wanted} not in\n{text}");
    }

    // Not carried out on Windows yet: refused at the spawn, never ignored.
    let options = StreamOptions::new().idle_timeout(Duration::from_secs(1));
    let refused = Stream::spawn_with(Command::new(helper()).arg("cat"), options).err();
    let kind = refused.as_ref().map(std::io::Error::kind);
    assert_eq!(kind, Some(std::io::ErrorKind::Unsupported), "{refused:?}");
}
