//! The relay's benchmark: agentpipe side by side with the same work done without it, with the
//! reference relay and spawner of `benches/reference/` (built with `cc` when it is found), and with
//! socat where it is installed; variants alternating in each repetition, medians and ratios
//! printed as a Markdown table at the end.
//!
//! Run it with `cargo bench --bench relay` (Linux). Settings, from the environment:
//!
//! - `AGENTPIPE_BENCH_BYTES`: bytes per throughput run (default 4G; suffixes K, M, G);
//! - `AGENTPIPE_BENCH_REPS`: throughput repetitions (default 5);
//! - `AGENTPIPE_BENCH_ROUNDS`: 64-byte round trips per ping-pong repetition (default 10000);
//! - `AGENTPIPE_BENCH_INSTANCES`: idle agentpipes run at once for the many-instances measure
//!   (default 200);
//! - `AGENTPIPE_BENCH_MESSAGE_BYTES`: bytes of 1 KiB messages per `--protocol` throughput run
//!   (default 256M);
//! - `AGENTPIPE_BENCH_SECTION=protocol`: only the `--protocol` section.
//!
//! It needs `head`, `cat`, `true`, `sh` and `sleep`; `taskset`, `socat` and `cc` are used when
//! found. The "minimal" columns are the reference relay (`benches/reference/relay.c`: poll(2)
//! over two descriptors and splice, its own and its inherited pipes grown to 1 MiB; in the round
//! trip also its copy mode, `relay -c`, read(2) and write(2)) and spawner
//! (`benches/reference/spawn.c`: posix_spawn and wait). How to read the results:
//! `benches/README.md`.

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this without it: no work then.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("relay benchmark: run it with `cargo bench --bench relay`");
        return;
    }
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    println!("relay benchmark: Linux only (it reads /proc and pins processes to a CPU)");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::OsStr;
    use std::io::{Read, Write};
    use std::os::unix::process::ExitStatusExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, ExitStatus, Stdio};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use nix::libc;

    include!("relay/trace.rs");
    include!("relay/protocol.rs");

    const AGENTPIPE: &str = env!("CARGO_BIN_EXE_agentpipe");
    const GIB: u64 = 1 << 30;
    const MIB: f64 = (1u64 << 20) as f64;

    pub fn main() {
        let settings = Settings::from_env();
        let socat = find_in_path("socat");
        let taskset = find_in_path("taskset");
        if std::env::var("AGENTPIPE_BENCH_SECTION").is_ok_and(|section| section == "protocol") {
            return protocol::section(&settings, taskset.as_deref());
        }
        let (minimal, spawner) = match build_references() {
            Ok((relay, spawner)) => (Some(relay), Some(spawner)),
            Err(why) => {
                println!("the minimal relay and spawner are left out: {why}");
                (None, None)
            }
        };
        let tools = Tools {
            socat: socat.as_deref(),
            minimal: minimal.as_deref(),
        };
        let cpus = std::thread::available_parallelism().map_or(0, usize::from);
        println!("agentpipe: {AGENTPIPE}");
        println!(
            "machine: Linux, {cpus} CPUs; {} per throughput run, {} repetitions; {} round trips per repetition",
            format_bytes(settings.bytes),
            settings.reps,
            settings.rounds
        );
        let mut notes = vec![
            "values are medians; a ratio is the median over the repetitions of the ratio within each \
             (the variants of a repetition run back to back); start-up: median of paired differences"
                .to_string(),
        ];
        if socat.is_none() {
            notes.push("socat is not installed: its columns are left empty".to_string());
        }
        if minimal.is_none() {
            notes.push(
                "the reference relay and spawner (benches/reference/*.c) were not built: \
                 their columns are left empty"
                    .to_string(),
            );
        }
        if taskset.is_none() {
            notes.push(
                "taskset is not installed: the ping-pong processes are pinned by inheriting the \
                 benchmark's own CPU affinity"
                    .to_string(),
            );
        }

        let load_before = load_average();
        let throughput = throughput(&settings, &tools);
        let round_trip = round_trip(&settings, &tools, taskset.as_deref());
        let startup = startup(spawner.as_deref());
        let small_rss = small_volume_rss();
        let idle = idle_wakeups();
        let many = many_instances(settings.instances);
        let lateness = step_lateness();
        trace::section(&settings, taskset.as_deref());
        protocol::section(&settings, taskset.as_deref());
        notes.push(format!(
            "load average (1 min) before the run {load_before}, after it {}: other work on the \
             machine shows there",
            load_average()
        ));

        let mut table = Table::default();
        table.throughput(&settings, &throughput);
        table.round_trip(&round_trip);
        table.startup(&startup);
        table.rss(&settings, &throughput, small_rss);
        table.idle(idle);
        table.instances(&many);
        table.lateness(&lateness);
        println!();
        println!("{}", table.render());
        println!("{}", lateness.render());
        for note in notes {
            println!("- {note}");
        }
    }

    struct Settings {
        bytes: u64,
        reps: usize,
        rounds: usize,
        instances: usize,
        /// Bytes of 1 KiB messages per `--protocol` throughput run.
        message_bytes: u64,
    }

    impl Settings {
        fn from_env() -> Settings {
            let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
            let size = |name: &str, default: u64| {
                var(name).map_or(default, |text| {
                    parse_bytes(&text).unwrap_or_else(|| {
                        panic!("{name}={text}: use a byte count such as 4G, 512M or 100000")
                    })
                })
            };
            let bytes = size("AGENTPIPE_BENCH_BYTES", 4 * GIB);
            let number = |name: &str, default: usize| {
                var(name).map_or(default, |text| {
                    text.parse()
                        .ok()
                        .filter(|&n: &usize| n > 0)
                        .unwrap_or_else(|| panic!("{name}={text}: use a positive whole number"))
                })
            };
            Settings {
                bytes,
                reps: number("AGENTPIPE_BENCH_REPS", 5),
                rounds: number("AGENTPIPE_BENCH_ROUNDS", 10_000),
                instances: number("AGENTPIPE_BENCH_INSTANCES", 200),
                message_bytes: size("AGENTPIPE_BENCH_MESSAGE_BYTES", 256 << 20),
            }
        }
    }

    fn parse_bytes(text: &str) -> Option<u64> {
        let text = text.trim();
        let (digits, unit) = match text.char_indices().last()? {
            (at, 'k' | 'K') => (&text[..at], 1 << 10),
            (at, 'm' | 'M') => (&text[..at], 1 << 20),
            (at, 'g' | 'G') => (&text[..at], GIB),
            _ => (text, 1),
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .filter(|&n| n > 0)
    }

    fn format_bytes(bytes: u64) -> String {
        for (unit, name) in [(GIB, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
            if bytes >= unit && bytes.is_multiple_of(unit) {
                return format!("{} {name}", bytes / unit);
            }
        }
        format!("{bytes} bytes")
    }

    /// The one-minute load average, as /proc/loadavg shows it.
    fn load_average() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| text.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "?".to_string())
    }

    fn find_in_path(name: &str) -> Option<PathBuf> {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|path| path.is_file())
    }

    fn median(values: &mut [f64]) -> f64 {
        assert!(!values.is_empty(), "median of nothing");
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        if values.len() % 2 == 1 {
            values[middle]
        } else {
            (values[middle - 1] + values[middle]) / 2.0
        }
    }

    fn max(values: &[f64]) -> f64 {
        values.iter().copied().fold(f64::NAN, f64::max)
    }

    fn check(what: &str, status: ExitStatus) {
        assert!(status.success(), "{what} failed: {status}");
    }

    /// Builds the reference relay and spawner (`benches/reference/*.c`) into the target directory.
    fn build_references() -> Result<(PathBuf, PathBuf), String> {
        let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference");
        let cc = find_in_path("cc").ok_or("no C compiler (cc) on PATH")?;
        let out = Path::new(AGENTPIPE)
            .parent()
            .ok_or("no target directory")?
            .to_path_buf();
        let mut built = Vec::new();
        for name in ["relay", "spawn"] {
            let binary = out.join(format!("reference-{name}"));
            let status = Command::new(&cc)
                .args(["-O2", "-o"])
                .arg(&binary)
                .arg(sources.join(format!("{name}.c")))
                .status()
                .map_err(|error| format!("cannot run cc: {error}"))?;
            if !status.success() {
                return Err(format!("cc failed on {name}.c: {status}"));
            }
            built.push(binary);
        }
        println!(
            "reference relay and spawner: built from {}",
            sources.display()
        );
        let spawner = built.pop().expect("two built");
        Ok((built.pop().expect("two built"), spawner))
    }

    /// The optional programs the variants use.
    struct Tools<'a> {
        socat: Option<&'a Path>,
        minimal: Option<&'a Path>,
    }

    include!("relay/throughput.rs");
    include!("relay/startup.rs");
    include!("relay/instances.rs");
    include!("relay/lateness.rs");
    include!("relay/table.rs");
}
