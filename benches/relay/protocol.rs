// Included by benches/relay.rs, inside its `linux` module.

/// `--protocol mcp`'s cost: `agentpipe --protocol mcp -- cat` against `agentpipe -- cat`, the
/// variants alternating in each repetition. The goals: a pinned 64-byte message round trip
/// within 1.15× of plain relaying, 1 KiB messages (a JSON-RPC line each, written 64 to a write)
/// at 0.7× its throughput or more; and the peak RSS while a 10 MiB message passes, 4 MiB or less.
/// Protocol mode copies through the relay's buffer (the framer sees every byte); plain relaying
/// between pipes splices.
mod protocol {
    use std::ffi::OsStr;
    use std::io::{Read, Write};
    use std::path::Path;
    use std::process::Stdio;
    use std::time::Instant;

    use super::{
        AGENTPIPE, MIB, Settings, command, cpu_affinity, cpu_zero, format_bytes, median,
        paired_ratio, ping_pong_with, set_cpu_affinity, vm_hwm,
    };

    /// The variants: their name and the options before `--`.
    const VARIANTS: [(&str, &[&str]); 2] = [("plain", &[]), ("--protocol mcp", &["--protocol", "mcp"])];

    fn argv<'a>(options: &'a [&'a str]) -> Vec<&'a OsStr> {
        let mut argv = vec![OsStr::new(AGENTPIPE)];
        argv.extend(options.iter().map(OsStr::new));
        argv.extend([OsStr::new("--"), OsStr::new("cat")]);
        argv
    }

    /// A JSON-RPC notification of exactly `size` bytes, newline included.
    fn message(size: usize) -> Vec<u8> {
        let head = br#"{"jsonrpc":"2.0","method":"notifications/message","params":{"data":""#;
        let tail = b"\"}}\n";
        let mut message = head.to_vec();
        message.resize(size - tail.len(), b'y');
        message.extend(tail);
        message
    }

    /// Seconds to relay `bytes` of 1 KiB messages through `argv`, written 64 KiB at a time.
    fn throughput(argv: &[&OsStr], bytes: u64) -> f64 {
        let chunk: Vec<u8> = (0..64).flat_map(|_| message(1024)).collect();
        let mut child = command(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {argv:?}: {error}"));
        let mut input = child.stdin.take().expect("stdin");
        let mut output = child.stdout.take().expect("stdout");
        let start = Instant::now();
        let reader = std::thread::spawn(move || {
            let (mut buffer, mut total) = (vec![0; 1 << 16], 0u64);
            loop {
                match output.read(&mut buffer).expect("read the output") {
                    0 => return total,
                    count => total += count as u64,
                }
            }
        });
        for _ in 0..bytes / chunk.len() as u64 {
            input.write_all(&chunk).expect("write messages");
        }
        drop(input);
        let total = reader.join().expect("the reader");
        let seconds = start.elapsed().as_secs_f64();
        assert_eq!(total, bytes / chunk.len() as u64 * chunk.len() as u64, "{argv:?} lost bytes");
        super::finish(&mut child, &format!("{argv:?}"));
        seconds
    }

    /// agentpipe's peak RSS (bytes) after a message of 10 MiB passed through it.
    fn peak_rss_with_a_large_message() -> u64 {
        let argv = argv(VARIANTS[1].1);
        let mut child = command(&argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("agentpipe");
        let mut input = child.stdin.take().expect("stdin");
        let mut output = child.stdout.take().expect("stdout");
        let big = message(10 << 20);
        let length = big.len();
        let reader = std::thread::spawn(move || {
            let mut got = vec![0; length];
            output.read_exact(&mut got).expect("the message back");
            output
        });
        input.write_all(&big).expect("write the message");
        let output = reader.join().expect("the reader");
        let peak = vm_hwm(child.id()).unwrap_or(0);
        drop((input, output));
        super::finish(&mut child, "agentpipe --protocol mcp -- cat");
        peak
    }

    fn met(met: bool) -> &'static str {
        if met { "yes" } else { "**no**" }
    }

    /// Runs the section and prints its table.
    pub fn section(settings: &Settings, taskset: Option<&Path>) {
        let bytes = settings.message_bytes;
        println!("\nprotocol: `agentpipe [--protocol mcp] -- cat`, 1 KiB messages and a pinned round trip");
        let mut rates = [Vec::new(), Vec::new()];
        for rep in 1..=settings.reps {
            let mut line = format!("  throughput, repetition {rep}:");
            for ((name, options), rates) in VARIANTS.iter().zip(&mut rates) {
                let rate = bytes as f64 / MIB / throughput(&argv(options), bytes);
                line += &format!(" {name} {rate:.0} MiB/s;");
                rates.push(rate);
            }
            println!("{line}");
        }
        let original = cpu_affinity();
        set_cpu_affinity(&cpu_zero());
        let mut trips = [Vec::new(), Vec::new()];
        for rep in 1..=settings.reps {
            let mut line = format!("  round trip, repetition {rep}:");
            for ((name, options), trips) in VARIANTS.iter().zip(&mut trips) {
                let mut pinned: Vec<&OsStr> = Vec::new();
                if let Some(taskset) = taskset {
                    pinned.extend([taskset.as_os_str(), OsStr::new("-c"), OsStr::new("0")]);
                }
                pinned.extend(argv(options));
                let trip = median(&mut ping_pong_with(&pinned, settings.rounds, &message(64)));
                line += &format!(" {name} {trip:.1}µs;");
                trips.push(trip);
            }
            println!("{line}");
        }
        set_cpu_affinity(&original);
        let peak = peak_rss_with_a_large_message();

        let throughput = paired_ratio(Some(&rates[1]), Some(&rates[0])).unwrap_or(f64::NAN);
        // A round trip's ratio is a time: with the protocol over without it.
        let round_trip = paired_ratio(Some(&trips[1]), Some(&trips[0])).unwrap_or(f64::NAN);
        println!();
        println!("| `--protocol mcp` | plain | protocol | ratio | goal | met |");
        println!("|---|---|---|---|---|---|");
        println!(
            "| throughput, 1 KiB messages, {} (MiB/s) | {:.0} | {:.0} | {throughput:.2}× | ≥ 0.7× | {} |",
            format_bytes(bytes),
            median(&mut rates[0].clone()),
            median(&mut rates[1].clone()),
            met(throughput >= 0.7),
        );
        println!(
            "| round trip, 64 B message, one CPU (µs) | {:.1} | {:.1} | {round_trip:.2}× | ≤ 1.15× | {} |",
            median(&mut trips[0].clone()),
            median(&mut trips[1].clone()),
            met(round_trip <= 1.15),
        );
        println!(
            "| peak RSS, a 10 MiB message passing (KiB) | | {} | | ≤ 4096 | {} |",
            peak / 1024,
            met(peak <= 4 << 20),
        );
    }
}
