//! What every outlet promises, whichever way it writes (`outlet.rs` on Unix,
//! `outlet/threaded.rs` on Windows): both include these tests.

use std::io::Read;

use super::*;

#[test]
fn a_pipe_nobody_reads_queues_then_drops_whole_records_and_delivers_the_rest_in_order() {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut outlet = Outlet::new(writer, 4096, false);
    #[cfg(agentpipe_poll)]
    assert_eq!(outlet.way, Way::Private, "a pipe is reopened non-blocking");
    let record = |n: usize| format!("{n:07}\n").into_bytes();
    let mut taken = Vec::new();
    // Far more than the pipe (64 KiB) and the queue (4 KiB) hold: never blocks.
    for n in 0..100_000 {
        if outlet.push(&record(n)) {
            taken.push(n);
        }
    }
    let dropped = outlet.take_dropped();
    assert!(dropped > 0);
    #[cfg(agentpipe_poll)]
    assert!(outlet.waiting().is_some());
    assert_eq!(taken.len() as u64 + dropped, 100_000);
    let expected: Vec<u8> = taken.iter().flat_map(|&n| record(n)).collect();
    let mut got = vec![0; expected.len()];
    let reading = std::thread::spawn(move || reader.read_exact(&mut got).map(|_| got));
    outlet.drain();
    #[cfg(agentpipe_poll)]
    assert!(outlet.waiting().is_none());
    assert_eq!(reading.join().unwrap().unwrap(), expected);
}

#[test]
fn at_exit_a_destination_nobody_reads_is_given_up_within_the_bound() {
    let (reader, writer) = std::io::pipe().unwrap();
    let mut outlet = Outlet::new(writer, 1 << 20, false);
    let started = Instant::now();
    // More than a pipe holds, and nobody reads.
    let failed = outlet.write_at_exit(&vec![b'x'; 1 << 20]);
    assert_eq!(failed.unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(reader);
}
