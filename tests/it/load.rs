//! Load: 200 agentpipes at once, each relaying its own 1 MiB stream both ways with a checksum,
//! all intact, all exited, no zombie left; one agentpipe relaying 8 GiB with flat memory.

use std::fs;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::robust::Watchdog;
use nix::libc;
use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// How many agentpipes run at once, and what each relays each way.
const INSTANCES: usize = 200;
const STREAM: usize = 1 << 20;

/// The 8 GiB run, and the small run it is compared with.
const LARGE: u64 = 8 << 30;
const SMALL: u64 = 64 << 20;

/// The variable that tells a process started by [`own_process`] which test it runs.
const OWN_PROCESS: &str = "AGENTPIPE_TEST_OWN_PROCESS";

/// Whether the caller, the test `name` of this module, is to run its body here: yes in a process
/// of its own, started by this function; elsewhere (among the other tests of this binary) it
/// runs the test in such a process, one test at a time, and asserts that it passed. A child
/// started from this binary's own big, shared process would inherit its peak RSS and its
/// children would be mixed with the other tests'.
fn own_process(name: &str) -> bool {
    let test = format!("load::{name}");
    if std::env::var_os(OWN_PROCESS).is_some_and(|value| value == test.as_str()) {
        return true;
    }
    let _alone = heavy();
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([&test, "--exact", "--nocapture", "--test-threads=1"])
        .env(OWN_PROCESS, &test)
        .stdin(Stdio::null())
        .output()
        .expect("start the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{}{stdout}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{test} failed in its own process");
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test} did not run in its own process"
    );
    false
}

/// Makes this test process the subreaper of everything it starts: a child that an agentpipe
/// left unreaped when it exited comes here, where it is seen (and then reaped).
fn become_subreaper() {
    // SAFETY: prctl with an integer argument changes only this process's attribute.
    let result = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(result, 0, "PR_SET_CHILD_SUBREAPER");
}

/// Children of this process, other than `expected`, with their state: orphans handed to the
/// subreaper. Zombies among them are reaped on the way, so that nothing is left either way.
fn strays(expected: &[i32]) -> Vec<String> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Some(stat) = stat(pid) else { continue };
        if stat.ppid != me || expected.contains(&pid) {
            continue;
        }
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        found.push(format!("{pid} {} ({})", comm.trim(), stat.state));
        if stat.state == 'Z' {
            // SAFETY: reaping a zombie child of this process.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        }
    }
    found
}

/// A checksum of a byte stream, fed in any chunking (Fletcher-64 over bytes, as two u64 sums).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Checksum {
    sum: u64,
    weighted: u64,
    length: u64,
}

impl Checksum {
    fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.sum = self.sum.wrapping_add(byte as u64 + 1);
            self.weighted = self.weighted.wrapping_add(self.sum);
        }
        self.length += bytes.len() as u64;
    }
}

/// The distinct stream of instance `index`.
fn stream_of(index: usize) -> Vec<u8> {
    let seed = 0x9E37_79B9_7F4A_7C15u64 ^ (index as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
    seeded_data(STREAM, seed)
}

/// Kills (by pid) and reaps every child it holds when dropped before they were waited for.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

#[test]
fn two_hundred_agentpipes_at_once_relay_distinct_streams_intact_and_leave_no_zombie() {
    if !own_process(
        "two_hundred_agentpipes_at_once_relay_distinct_streams_intact_and_leave_no_zombie",
    ) {
        return;
    }
    become_subreaper();
    // 200 instances hold 600 pipe ends here: make room whatever the soft limit.
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    let sandbox = Sandbox::new("load-200");
    let _watchdog = Watchdog::arm("200 at once", &[&sandbox.tag], Duration::from_secs(180));
    let started = Instant::now();
    let mut children = Children(Vec::with_capacity(INSTANCES));
    for _ in 0..INSTANCES {
        let mut command = sandbox.agentpipe(&["--eof-grace", "inf"], ["cat"]);
        command.stderr(Stdio::inherit());
        children.0.push(command.spawn().expect("start agentpipe"));
    }
    let pids: Vec<i32> = children.0.iter().map(|child| child.id() as i32).collect();
    // All at once: every agentpipe has started its cat before any byte is sent.
    wait_until("200 cats started", Duration::from_secs(60), || {
        let cats = sandbox
            .live_processes()
            .into_iter()
            .filter(|&pid| {
                fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "cat")
            })
            .count();
        (cats == INSTANCES).then_some(())
    });
    let at_once = sandbox.live_processes().len();
    assert!(
        at_once >= 2 * INSTANCES,
        "only {at_once} processes alive at once"
    );

    let barrier = Barrier::new(2 * INSTANCES);
    let results: Vec<(Checksum, Checksum)> = thread::scope(|scope| {
        let mut handles = Vec::new();
        for (index, child) in children.0.iter_mut().enumerate() {
            let mut stdin = child.stdin.take().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let barrier = &barrier;
            let sent = scope.spawn(move || {
                let data = stream_of(index);
                let mut checksum = Checksum::default();
                checksum.feed(&data);
                barrier.wait();
                for chunk in data.chunks(64 * 1024) {
                    stdin.write_all(chunk).expect("write to agentpipe");
                }
                drop(stdin); // EOF: cat ends, then agentpipe
                checksum
            });
            let received = scope.spawn(move || {
                let mut checksum = Checksum::default();
                let mut buffer = vec![0; 64 * 1024];
                barrier.wait();
                loop {
                    match stdout.read(&mut buffer) {
                        Ok(0) => break,
                        Ok(count) => checksum.feed(&buffer[..count]),
                        Err(error) => panic!("reading instance {index}: {error}"),
                    }
                }
                checksum
            });
            handles.push((sent, received));
        }
        handles
            .into_iter()
            .map(|(sent, received)| (sent.join().unwrap(), received.join().unwrap()))
            .collect()
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    for (index, child) in children.0.iter_mut().enumerate() {
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "instance {index} still running");
            thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(status.code(), Some(0), "instance {index}: {status:?}");
    }
    for (index, (sent, received)) in results.iter().enumerate() {
        assert_eq!(sent.length, STREAM as u64);
        assert_eq!(sent, received, "instance {index}: the stream was altered");
    }
    // Distinct streams: no two instances sent the same bytes.
    let mut sums: Vec<(u64, u64)> = results.iter().map(|(s, _)| (s.sum, s.weighted)).collect();
    sums.sort_unstable();
    sums.dedup();
    assert_eq!(sums.len(), INSTANCES, "streams are not distinct");

    let strays = strays(&pids);
    assert!(
        strays.is_empty(),
        "processes left to the subreaper: {strays:?}"
    );
    sandbox.assert_nothing_left();
    eprintln!(
        "{INSTANCES} agentpipes at once ({at_once} processes), {} bytes checked each way, in {:.1}s",
        INSTANCES * STREAM,
        started.elapsed().as_secs_f64()
    );
}

/// `head -c BYTES /dev/zero | agentpipe -- cat | wc -c`, with agentpipe's peak RSS (from
/// wait4) and the count `wc` saw.
fn relay_zeros(sandbox: &Sandbox, bytes: u64) -> (u64, u64, Duration) {
    let mut head = Command::new("head")
        .args(["-c", &bytes.to_string(), "/dev/zero"])
        .env(TAG_VAR, &sandbox.tag)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start head");
    let source = head.stdout.take().unwrap();
    let mut agentpipe = sandbox.agentpipe(&["--report", &sandbox.path_str("report.json")], ["cat"]);
    agentpipe.stdin(source).stderr(Stdio::inherit());
    let mut agentpipe = agentpipe.spawn().expect("start agentpipe");
    let output = agentpipe.stdout.take().unwrap();
    let wc = Command::new("wc")
        .arg("-c")
        .env(TAG_VAR, &sandbox.tag)
        .stdin(output)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start wc");
    let pid = agentpipe.id() as i32;
    let mut guard = Children(vec![head, wc]);
    let started = Instant::now();

    // wait4 in a thread, so that the wait is bounded here.
    let (sender, receiver) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut status = 0;
        // SAFETY: a zeroed rusage is valid; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child, with valid pointers.
        let result = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let _ = sender.send((result, status, usage.ru_maxrss as u64 * 1024));
    });
    let waited = receiver.recv_timeout(Duration::from_secs(240));
    let Ok((result, status, peak)) = waited else {
        let _ = agentpipe.kill();
        panic!("relaying {bytes} bytes took over 240s");
    };
    let elapsed = started.elapsed();
    std::mem::forget(agentpipe); // reaped by wait4 above
    assert_eq!(result, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "agentpipe ended with wait status {status:#x}"
    );
    let wc = guard.0.pop().unwrap();
    let counted = wc.wait_with_output().expect("wc");
    let counted: u64 = String::from_utf8_lossy(&counted.stdout)
        .trim()
        .parse()
        .expect("wc -c prints a number");
    let report = Report::read(sandbox.path("report.json"));
    for direction in ["to_child", "from_child"] {
        assert_eq!(
            report.at(&format!("bytes.{direction}.relayed")).number(),
            bytes as f64,
            "the report does not count {bytes} bytes {direction}: {report}"
        );
    }
    (peak, counted, elapsed)
}

#[test]
fn eight_gib_through_one_agentpipe_with_flat_memory() {
    if !own_process("eight_gib_through_one_agentpipe_with_flat_memory") {
        return;
    }
    let sandbox = Sandbox::new("load-8g");
    let _watchdog = Watchdog::arm("8 GiB", &[&sandbox.tag], Duration::from_secs(300));
    let (small_peak, small_count, _) = relay_zeros(&sandbox, SMALL);
    assert_eq!(small_count, SMALL);
    let (large_peak, large_count, elapsed) = relay_zeros(&sandbox, LARGE);
    assert_eq!(large_count, LARGE, "bytes lost or added in 8 GiB");
    // Flat: 128 times the volume costs no more than a few pages more memory.
    assert!(
        large_peak <= small_peak + (1 << 20),
        "peak RSS grew with the volume: {small_peak} bytes for 64 MiB, {large_peak} for 8 GiB"
    );
    assert!(
        large_peak <= 16 << 20,
        "peak RSS {large_peak} bytes for 8 GiB"
    );
    sandbox.assert_nothing_left();
    eprintln!(
        "8 GiB in {:.1}s ({:.2} GiB/s); agentpipe's peak RSS {} KiB (64 MiB: {} KiB)",
        elapsed.as_secs_f64(),
        LARGE as f64 / (1u64 << 30) as f64 / elapsed.as_secs_f64(),
        large_peak / 1024,
        small_peak / 1024
    );
}
