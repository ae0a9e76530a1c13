// Included by benches/relay.rs, inside its `linux` module.

/// The trace's cost: the same throughput pipeline and pinned 64-byte round trip through
/// `agentpipe -- cat`, without a trace and with `--trace` to a file on tmpfs (/dev/shm), the
/// variants alternating in each repetition. The target: with the trace, the relay keeps at least
/// 0.8× its own speed without it. Throughput is measured with the default `--trace-limit`
/// (64 MiB, after which the trace stops and costs nothing): its cost is that of tracing the
/// first 64 MiB, so the ratio grows with `AGENTPIPE_BENCH_BYTES`.
mod trace {
    use std::ffi::OsStr;
    use std::path::Path;

    use super::{
        AGENTPIPE, MIB, Settings, cpu_affinity, cpu_zero, format_bytes, median, paired_ratio,
        ping_pong, pipeline, set_cpu_affinity,
    };

    const TRACE: &str = "/dev/shm/agentpipe-bench.trace";

    /// The variants: their name and the options before `--`.
    const VARIANTS: [(&str, &[&str]); 2] =
        [("no trace", &[]), ("--trace FILE", &["--trace", TRACE])];

    fn argv<'a>(options: &'a [&'a str]) -> Vec<&'a OsStr> {
        let mut argv = vec![OsStr::new(AGENTPIPE)];
        argv.extend(options.iter().map(OsStr::new));
        argv.extend([OsStr::new("--"), OsStr::new("cat")]);
        argv
    }

    fn met(ratio: f64) -> &'static str {
        if ratio >= 0.8 { "yes" } else { "**no**" }
    }

    /// Runs the section and prints its table.
    pub fn section(settings: &Settings, taskset: Option<&Path>) {
        println!("\ntrace: `agentpipe [--trace {TRACE}] -- cat`, throughput and pinned round trip");
        let mut rates = [Vec::new(), Vec::new()];
        for rep in 1..=settings.reps {
            let mut line = format!("  throughput, repetition {rep}:");
            for ((name, options), rates) in VARIANTS.iter().zip(&mut rates) {
                let run = pipeline(settings.bytes, &argv(options));
                let rate = settings.bytes as f64 / MIB / run.seconds;
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
                let trip = median(&mut ping_pong(&pinned, settings.rounds));
                line += &format!(" {name} {trip:.1}µs;");
                trips.push(trip);
            }
            println!("{line}");
        }
        set_cpu_affinity(&original);
        let _ = std::fs::remove_file(TRACE);

        let throughput = paired_ratio(Some(&rates[1]), Some(&rates[0])).unwrap_or(f64::NAN);
        // A round trip's ratio is a speed: the time without the trace over the time with it.
        let round_trip = paired_ratio(Some(&trips[0]), Some(&trips[1])).unwrap_or(f64::NAN);
        println!();
        println!(
            "| `--trace FILE` (tmpfs) | without | with | speed with / without | target | met |"
        );
        println!("|---|---|---|---|---|---|");
        println!(
            "| throughput, {} (MiB/s) | {:.0} | {:.0} | {throughput:.2}× | ≥ 0.8× | {} |",
            format_bytes(settings.bytes),
            median(&mut rates[0].clone()),
            median(&mut rates[1].clone()),
            met(throughput),
        );
        println!(
            "| round trip, 64 B, one CPU (µs) | {:.1} | {:.1} | {round_trip:.2}× | ≥ 0.8× | {} |",
            median(&mut trips[0].clone()),
            median(&mut trips[1].clone()),
            met(round_trip),
        );
    }
}
