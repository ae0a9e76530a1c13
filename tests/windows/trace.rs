//! `--trace` on Windows: the same records as on Unix (the formatting is shared), from the
//! threaded relay, each chunk with its exact bytes, and `--trace-limit`.

use crate::support::*;

/// The `[+1.234s]` stamps of a text trace, as `[+T]`: the rest is exact.
fn unstamped(text: &str) -> String {
    text.lines()
        .map(|line| match (line.find("agentpipe [+"), line.find("]: ")) {
            (Some(0), Some(end)) => format!("agentpipe [+T]{}", &line[end + 1..]),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_text_trace_shows_each_chunk_both_ways_with_its_bytes_escaped() {
    let dir = scratch("trace-text");
    let trace = dir.join("trace");
    let input = b"hello\n\tw\xc3\xb6rld\x01\xff\\";
    let (output, stderr, code) = run_with_input(&["--trace", &win(&trace)], &["cat"], input);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(output, input);
    let text = unstamped(&std::fs::read_to_string(&trace).unwrap());
    let chunk = |arrow: &str, words: &str| {
        format!(
            "agentpipe [+T]: {arrow} 16 bytes {words}\n  hello\\n\n  \\tw\u{f6}rld\\x01\\xff\\\\"
        )
    };
    assert!(
        text.starts_with("agentpipe [+T]: trace started; agentpipe started at "),
        "{text}"
    );
    assert!(text.contains(&chunk(">", "to the child")), "{text}");
    assert!(text.contains(&chunk("<", "from the child")), "{text}");
    // The timeline's notes are records too, in order with the data.
    let started = text.find("]: started '").expect("the start is traced");
    let sent = text.find("]: > 16 bytes").unwrap();
    assert!(started < sent, "{text}");
    assert!(text.contains("]: end of input"), "{text}");
    assert!(
        stderr.is_empty(),
        "a trace to a file says nothing on stderr: {stderr}"
    );
}

/// The bytes of a JSON lines `data` record.
fn data_of(record: &serde_json::Value) -> Vec<u8> {
    match (record["text"].as_str(), record["base64"].as_str()) {
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, Some(encoded)) => crate::base64::decode(encoded),
        _ => panic!("a data record without its bytes: {record}"),
    }
}

#[test]
fn a_jsonl_trace_holds_every_byte_relayed_each_way_exactly() {
    let dir = scratch("trace-jsonl");
    let trace = dir.join("trace.jsonl");
    let input = random_bytes(256 << 10);
    let (output, stderr, code) = run_with_input(
        &["--trace", &win(&trace), "--trace-format", "jsonl"],
        &["cat"],
        &input,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        output == input,
        "{} bytes back of {}",
        output.len(),
        input.len()
    );
    let text = std::fs::read_to_string(&trace).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records[0]["event"], "trace");
    let mut both = [Vec::new(), Vec::new()];
    for record in records.iter().filter(|record| record["event"] == "data") {
        let bytes = data_of(record);
        assert_eq!(record["len"], bytes.len(), "{record}");
        let way = usize::from(record["dir"] == "from_child");
        both[way].extend_from_slice(&bytes);
    }
    assert!(
        both[0] == input,
        "{} bytes traced to the child",
        both[0].len()
    );
    assert!(
        both[1] == input,
        "{} bytes traced from the child",
        both[1].len()
    );
    assert!(
        !text.contains("\"skipped\""),
        "a file keeps up: nothing skipped"
    );
    let events: Vec<&str> = records.iter().filter_map(|r| r["event"].as_str()).collect();
    assert!(
        events.contains(&"started") && events.contains(&"done"),
        "{events:?}"
    );
}

#[test]
fn trace_limit_stops_the_trace_with_a_last_record_and_a_trace_to_stderr_is_the_timeline() {
    let dir = scratch("trace-limit");
    let trace = dir.join("trace");
    let input = random_bytes(64 << 10);
    let (output, stderr, code) = run_with_input(
        &["--trace", &win(&trace), "--trace-limit", "2000"],
        &["cat"],
        &input,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(output == input, "the relay goes on past the trace's limit");
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.len() <= 2000, "{} bytes", text.len());
    let last = text.lines().last().unwrap();
    assert!(
        last.ends_with("]: trace stopped: --trace-limit of 2000 bytes reached"),
        "{last}"
    );

    // To stderr, with -v: each note once (the trace's record is the timeline's line).
    let (_, stderr, code) = run_with_input(&["-v", "--trace", "-"], &["cat"], b"ping\n");
    assert_eq!(code, 0, "{stderr}");
    let stderr = unstamped(&stderr);
    assert!(
        stderr.contains("agentpipe [+T]: > 5 bytes to the child\n  ping\\n\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("agentpipe [+T]: < 5 bytes from the child\n  ping\\n\n"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("]: started '").count(), 1, "{stderr}");
}
