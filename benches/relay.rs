//! The relay's benchmark: agentpipe side by side with the same work done without it, with the
//! reference relay and spawner of `benches/reference/` (built with `cc` when it is found), and with
//! socat where it is installed; variants alternating in each repetition, medians and ratios
//! printed as a Markdown table at the end.
//!
//! Run it with `cargo bench --bench relay` (Linux). Settings, from the environment:
//!
//! - `AGENTPIPE_BENCH_BYTES`: bytes per throughput run (default 4G; suffixes K, M, G);
//! - `AGENTPIPE_BENCH_REPS`: throughput repetitions (default 5);
//! - `AGENTPIPE_BENCH_ROUNDS`: 64-byte round trips per ping-pong repetition (default 10000).
//!
//! It needs `head`, `cat`, `true`, `sh` and `sleep`; `taskset`, `socat` and `cc` are used when
//! found. The "minimal" columns are the reference relay (`benches/reference/relay.c`: poll(2)
//! over two descriptors and splice, its own and its inherited pipes grown to 1 MiB) and spawner
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

    const AGENTPIPE: &str = env!("CARGO_BIN_EXE_agentpipe");
    const GIB: u64 = 1 << 30;
    const MIB: f64 = (1u64 << 20) as f64;

    pub fn main() {
        let settings = Settings::from_env();
        let socat = find_in_path("socat");
        let taskset = find_in_path("taskset");
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
        let lateness = step_lateness();
        trace::section(&settings, taskset.as_deref());
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
    }

    impl Settings {
        fn from_env() -> Settings {
            let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
            let bytes = var("AGENTPIPE_BENCH_BYTES").map_or(4 * GIB, |text| {
                parse_bytes(&text).unwrap_or_else(|| {
                    panic!(
                        "AGENTPIPE_BENCH_BYTES={text}: use a byte count such as 4G, 512M or 100000"
                    )
                })
            });
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

    // ---------------------------------------------------------------------------------------------
    // Throughput and peak RSS: head -c N /dev/zero | MIDDLE | cat >/dev/null

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Variant {
        Direct,
        Agentpipe,
        Minimal,
        Socat,
    }

    impl Variant {
        /// The variants to run, in the order of each repetition.
        fn all(tools: &Tools<'_>) -> Vec<Variant> {
            let mut all = vec![Variant::Direct, Variant::Agentpipe];
            if tools.minimal.is_some() {
                all.push(Variant::Minimal);
            }
            if tools.socat.is_some() {
                all.push(Variant::Socat);
            }
            all
        }

        /// The command for the relayed stage: plain `cat`, `agentpipe -- cat`, `relay -- cat`
        /// or `socat - EXEC:cat`.
        fn argv<'a>(self, tools: &Tools<'a>) -> Vec<&'a OsStr> {
            match self {
                Variant::Direct => vec![OsStr::new("cat")],
                Variant::Agentpipe => {
                    vec![OsStr::new(AGENTPIPE), OsStr::new("--"), OsStr::new("cat")]
                }
                Variant::Minimal => vec![
                    tools.minimal.expect("minimal relay").as_os_str(),
                    OsStr::new("-p"),
                    OsStr::new(MINIMAL_PIPE_SIZE),
                    OsStr::new("--"),
                    OsStr::new("cat"),
                ],
                Variant::Socat => vec![
                    tools
                        .socat
                        .expect("socat variant without socat")
                        .as_os_str(),
                    OsStr::new("-"),
                    OsStr::new("EXEC:cat"),
                ],
            }
        }
    }

    /// The pipe size the minimal relay grows its own and its inherited pipes to (`-p`): the size
    /// agentpipe grows them to once a stream flows.
    const MINIMAL_PIPE_SIZE: &str = "1048576";

    /// The stage's command.
    fn command(argv: &[&OsStr]) -> Command {
        let mut command = Command::new(argv[0]);
        command.args(&argv[1..]);
        command
    }

    /// One run of the pipeline: its wall time and the middle stage's peak RSS (VmHWM, bytes).
    struct PipelineRun {
        seconds: f64,
        peak_rss: u64,
    }

    fn pipeline(bytes: u64, middle: &[&OsStr]) -> PipelineRun {
        let start = Instant::now();
        let mut head = Command::new("head")
            .arg("-c")
            .arg(bytes.to_string())
            .arg("/dev/zero")
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot run head");
        let mut stage = command(middle)
            .stdin(head.stdout.take().expect("head's stdout"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {middle:?}: {error}"));
        let mut tail = Command::new("cat")
            .stdin(stage.stdout.take().expect("the stage's stdout"))
            .stdout(Stdio::null())
            .spawn()
            .expect("cannot run cat");
        let stage_pid = stage.id();
        let done = AtomicBool::new(false);
        let (seconds, peak_rss) = std::thread::scope(|scope| {
            // The stage is reaped only after this sampler stops, so its pid stays its own meanwhile.
            let sampler = scope.spawn(|| {
                let mut peak = 0;
                while !done.load(Ordering::Relaxed) {
                    peak = peak.max(vm_hwm(stage_pid).unwrap_or(0));
                    std::thread::sleep(Duration::from_millis(10));
                }
                peak
            });
            check(
                "the pipeline's last cat",
                tail.wait().expect("wait for cat"),
            );
            let seconds = start.elapsed().as_secs_f64();
            done.store(true, Ordering::Relaxed);
            (seconds, sampler.join().expect("the RSS sampler"))
        });
        check(
            &format!("{middle:?}"),
            stage.wait().expect("wait for the stage"),
        );
        check("head", head.wait().expect("wait for head"));
        PipelineRun { seconds, peak_rss }
    }

    /// A process's peak resident set size, in bytes, while it is alive (not yet a zombie).
    fn vm_hwm(pid: u32) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status_field(&status, "VmHWM:").map(|kib| kib * 1024)
    }

    fn status_field(status: &str, name: &str) -> Option<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse().ok())
    }

    struct Throughput {
        /// Per variant: wall times in seconds and peak RSS of the middle stage, one per repetition.
        runs: Vec<(Variant, Vec<PipelineRun>)>,
    }

    impl Throughput {
        /// MiB/s of each repetition, in order.
        fn rates(&self, variant: Variant, bytes: u64) -> Option<Vec<f64>> {
            let (_, runs) = self.runs.iter().find(|(v, _)| *v == variant)?;
            Some(
                runs.iter()
                    .map(|run| bytes as f64 / MIB / run.seconds)
                    .collect(),
            )
        }

        fn peak_rss(&self, variant: Variant) -> Option<u64> {
            let (_, runs) = self.runs.iter().find(|(v, _)| *v == variant)?;
            runs.iter().map(|run| run.peak_rss).max()
        }
    }

    fn throughput(settings: &Settings, tools: &Tools<'_>) -> Throughput {
        let variants = Variant::all(tools);
        let mut runs: Vec<(Variant, Vec<PipelineRun>)> =
            variants.iter().map(|&v| (v, Vec::new())).collect();
        println!(
            "\nthroughput: head -c {} /dev/zero | STAGE | cat >/dev/null",
            settings.bytes
        );
        for rep in 1..=settings.reps {
            let mut line = format!("  repetition {rep}:");
            for (variant, results) in &mut runs {
                let run = pipeline(settings.bytes, &variant.argv(tools));
                line += &format!(
                    " {variant:?} {:.2}s ({:.0} MiB/s, RSS {:.1} MiB);",
                    run.seconds,
                    settings.bytes as f64 / MIB / run.seconds,
                    run.peak_rss as f64 / MIB
                );
                results.push(run);
            }
            println!("{line}");
        }
        Throughput { runs }
    }

    /// Peak RSS of agentpipe relaying a small volume, to compare with the full one.
    fn small_volume_rss() -> (u64, u64) {
        let bytes = 16 << 20;
        let tools = Tools {
            socat: None,
            minimal: None,
        };
        let run = pipeline(bytes, &Variant::Agentpipe.argv(&tools));
        (bytes, run.peak_rss)
    }

    // ---------------------------------------------------------------------------------------------
    // Round trip: 64-byte ping-pong, every process on CPU 0

    fn cpu_affinity() -> libc::cpu_set_t {
        // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for this thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let result = libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set);
            assert_eq!(result, 0, "sched_getaffinity failed");
            set
        }
    }

    fn set_cpu_affinity(set: &libc::cpu_set_t) {
        // SAFETY: `set` is a valid cpu_set_t of the size given.
        let result = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), set) };
        assert_eq!(result, 0, "sched_setaffinity failed");
    }

    fn cpu_zero() -> libc::cpu_set_t {
        // SAFETY: cpu_set_t is plain data; CPU_SET writes one bit of it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            set
        }
    }

    /// Round-trip times, in microseconds, of `rounds` 64-byte messages through `argv`.
    fn ping_pong(argv: &[&OsStr], rounds: usize) -> Vec<f64> {
        const WARM_UP: usize = 200;
        let mut child = command(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {argv:?}: {error}"));
        let mut input = child.stdin.take().expect("the child's stdin");
        let mut output = child.stdout.take().expect("the child's stdout");
        let message = [b'x'; 64];
        let mut answer = [0u8; 64];
        let mut times = Vec::with_capacity(rounds);
        for round in 0..WARM_UP + rounds {
            let start = Instant::now();
            input.write_all(&message).expect("write a ping");
            output.read_exact(&mut answer).expect("read a pong");
            if round >= WARM_UP {
                times.push(start.elapsed().as_secs_f64() * 1e6);
            }
            assert_eq!(answer, message, "{argv:?} changed the bytes");
        }
        drop(input);
        let mut rest = Vec::new();
        output.read_to_end(&mut rest).expect("read the end");
        finish(&mut child, &format!("{argv:?}"));
        times
    }

    /// Waits for a child; a death by signal or a failure is fatal for the benchmark.
    fn finish(child: &mut Child, what: &str) {
        check(what, child.wait().expect("wait for the child"));
    }

    struct RoundTrip {
        /// Per variant, every round-trip time in microseconds, and each repetition's median.
        times: Vec<(Variant, Vec<f64>, Vec<f64>)>,
    }

    impl RoundTrip {
        fn median(&self, variant: Variant) -> Option<f64> {
            let (_, times, _) = self.times.iter().find(|(v, _, _)| *v == variant)?;
            Some(median(&mut times.clone()))
        }

        fn per_repetition(&self, variant: Variant) -> Option<&[f64]> {
            let (_, _, medians) = self.times.iter().find(|(v, _, _)| *v == variant)?;
            Some(medians)
        }
    }

    fn round_trip(settings: &Settings, tools: &Tools<'_>, taskset: Option<&Path>) -> RoundTrip {
        let variants = Variant::all(tools);
        let mut times: Vec<(Variant, Vec<f64>, Vec<f64>)> = variants
            .iter()
            .map(|&v| (v, Vec::new(), Vec::new()))
            .collect();
        println!("\nround trip: 64-byte ping-pong, every process pinned to CPU 0");
        let original = cpu_affinity();
        set_cpu_affinity(&cpu_zero());
        for rep in 1..=settings.reps {
            let mut line = format!("  repetition {rep}:");
            for (variant, all, medians) in &mut times {
                let mut argv: Vec<&OsStr> = Vec::new();
                if let Some(taskset) = taskset {
                    argv.extend([taskset.as_os_str(), OsStr::new("-c"), OsStr::new("0")]);
                }
                argv.extend(variant.argv(tools));
                let mut rep_times = ping_pong(&argv, settings.rounds);
                let rep_median = median(&mut rep_times);
                line += &format!(" {variant:?} {rep_median:.1}µs;");
                all.extend(rep_times);
                medians.push(rep_median);
            }
            println!("{line}");
        }
        set_cpu_affinity(&original);
        RoundTrip { times }
    }

    // ---------------------------------------------------------------------------------------------
    // Start-up: agentpipe -- true against true

    struct Startup {
        /// Median wall times in milliseconds: `true`, `agentpipe -- true`, `spawn true`.
        plain: f64,
        relayed: f64,
        spawned: Option<f64>,
        /// The medians of the differences within each triple, in milliseconds: agentpipe against
        /// `true`, and against the minimal spawner.
        extra: f64,
        over_spawner: Option<f64>,
    }

    fn startup(spawner: Option<&Path>) -> Startup {
        const REPS: usize = 200;
        let agentpipe_true = [OsStr::new(AGENTPIPE), OsStr::new("--"), OsStr::new("true")];
        let plain_true = [OsStr::new("true")];
        let spawn_true = spawner.map(|spawner| [spawner.as_os_str(), OsStr::new("true")]);
        let (mut plain, mut relayed, mut spawned) = (Vec::new(), Vec::new(), Vec::new());
        println!(
            "\nstart-up: `agentpipe -- true` against `true` and `spawn true`, stdin an open pipe, \
             stdout /dev/null"
        );
        let time = |argv: &[&OsStr]| {
            let start = Instant::now();
            let mut child = command(argv)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .expect("cannot start");
            finish(&mut child, &format!("{argv:?}"));
            start.elapsed().as_secs_f64() * 1e3
        };
        for rep in 0..10 + REPS {
            let times = (
                time(&plain_true),
                time(&agentpipe_true),
                spawn_true.as_ref().map(|argv| time(argv)),
            );
            if rep >= 10 {
                plain.push(times.0);
                relayed.push(times.1);
                spawned.extend(times.2);
            }
        }
        let mut extra: Vec<f64> = relayed.iter().zip(&plain).map(|(a, b)| a - b).collect();
        let mut over: Vec<f64> = relayed.iter().zip(&spawned).map(|(a, b)| a - b).collect();
        let startup = Startup {
            plain: median(&mut plain),
            relayed: median(&mut relayed),
            spawned: (!spawned.is_empty()).then(|| median(&mut spawned)),
            extra: median(&mut extra),
            over_spawner: (!over.is_empty()).then(|| median(&mut over)),
        };
        println!(
            "  {REPS} triples: true {:.3} ms, agentpipe -- true {:.3} ms (+{:.3} ms), spawn true {} ms \
             (agentpipe {} ms more), medians",
            startup.plain,
            startup.relayed,
            startup.extra,
            cell(startup.spawned, 3),
            cell(startup.over_spawner, 3),
        );
        startup
    }

    // ---------------------------------------------------------------------------------------------
    // Idle wake-ups: agentpipe -- sleep 10, nothing happening for 5 s

    /// Context switches (voluntary, involuntary) of every thread of `pid`.
    fn context_switches(pid: u32) -> (u64, u64) {
        let mut total = (0, 0);
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("list the threads");
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            total.0 += status_field(&status, "voluntary_ctxt_switches:").unwrap_or(0);
            total.1 += status_field(&status, "nonvoluntary_ctxt_switches:").unwrap_or(0);
        }
        total
    }

    /// Wake-ups (voluntary context switches) and involuntary switches of agentpipe over 5 s idle.
    fn idle_wakeups() -> (u64, u64) {
        println!("\nidle: `agentpipe -- sleep 10`, stdin and stdout open pipes, nothing sent, 5 s");
        let mut child = Command::new(AGENTPIPE)
            .args(["--grace", "0s", "--", "sleep", "10"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot run agentpipe");
        std::thread::sleep(Duration::from_millis(500));
        let before = context_switches(child.id());
        std::thread::sleep(Duration::from_secs(5));
        let after = context_switches(child.id());
        drop(child.stdin.take()); // EOF: the child gets SIGTERM at once (--grace 0s)
        let _ = child.wait().expect("wait for agentpipe");
        let idle = (after.0 - before.0, after.1 - before.1);
        println!(
            "  {} voluntary and {} involuntary context switches in 5 s",
            idle.0, idle.1
        );
        idle
    }

    // ---------------------------------------------------------------------------------------------
    // Step lateness: each step of the close sequence against its due time

    /// A stubborn child: ignores SIGTERM (inherited across exec) and never reads its stdin.
    const STUBBORN: [&str; 3] = ["sh", "-c", "trap '' TERM; exec sleep 100"];

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Trigger {
        /// `--grace 200ms --term-grace 200ms`, stdin closed: steps 2, 3, 4.
        Eof,
        /// `--wait 100ms --grace 200ms --term-grace 200ms`, SIGTERM: steps 1, 2, 3, 4.
        Sigterm,
    }

    impl Trigger {
        /// The sum of the waits before SIGKILL, in milliseconds.
        fn total_wait(self) -> f64 {
            match self {
                Trigger::Eof => 400.0,
                Trigger::Sigterm => 500.0,
            }
        }
    }

    /// One run's lateness: for each step after the first, (step number, ms late against its due
    /// time, from the timeline); the first step's delay after the trigger; and, measured outside,
    /// the time from the trigger to agentpipe's exit minus the waits.
    struct Lateness {
        steps: Vec<(usize, f64)>,
        reaction: f64,
        end_to_end: f64,
    }

    fn step_run(trigger: Trigger) -> Lateness {
        let mut args = vec!["-v", "--grace", "200ms", "--term-grace", "200ms"];
        if let Trigger::Sigterm = trigger {
            args.extend(["--wait", "100ms"]);
        }
        args.push("--");
        args.extend(STUBBORN);
        let mut child = Command::new(AGENTPIPE)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run agentpipe");
        // Time for sh to set its trap and exec sleep.
        std::thread::sleep(Duration::from_millis(300));
        let input = child.stdin.take();
        let start = Instant::now();
        match trigger {
            Trigger::Eof => drop(input),
            // SAFETY: kill(2) on our own unreaped child.
            Trigger::Sigterm => unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            },
        }
        let status = child.wait().expect("wait for agentpipe");
        let end_to_end = start.elapsed().as_secs_f64() * 1e3 - trigger.total_wait();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "{trigger:?}: agentpipe should die by SIGKILL like its child, not {status}"
        );
        let mut timeline = String::new();
        child
            .stderr
            .take()
            .expect("agentpipe's stderr")
            .read_to_string(&mut timeline)
            .expect("read the timeline");
        let (steps, reaction) = parse_timeline(&timeline)
            .unwrap_or_else(|| panic!("{trigger:?}: cannot read the timeline:\n{timeline}"));
        Lateness {
            steps,
            reaction,
            end_to_end,
        }
    }

    /// `agentpipe [+0.501s]: ...` → (0.501 s in ms, "...").
    fn timeline_line(line: &str) -> Option<(f64, &str)> {
        let rest = line.strip_prefix("agentpipe [+")?;
        let (offset, message) = rest.split_once("s]: ")?;
        Some((offset.parse::<f64>().ok()? * 1e3, message))
    }

    /// Each step's lateness against the due time the step before it announced (`(at +0.701s)`),
    /// and how long after the trigger line the first step came.
    fn parse_timeline(timeline: &str) -> Option<(Vec<(usize, f64)>, f64)> {
        let mut trigger_at = None;
        let mut first_step_at = None;
        let mut due: Option<f64> = None;
        let mut steps = Vec::new();
        for (at, message) in timeline.lines().filter_map(timeline_line) {
            if message == "end of input" || message.starts_with("received SIG") {
                trigger_at.get_or_insert(at);
            }
            let Some(rest) = message.strip_prefix("step ") else {
                continue;
            };
            let number: usize = rest.split_whitespace().next()?.parse().ok()?;
            match due {
                Some(due) => steps.push((number, at - due)),
                None => first_step_at = Some(at),
            }
            due = rest.split_once("(at +").and_then(|(_, tail)| {
                let seconds = tail.split_once("s)")?.0;
                seconds.parse::<f64>().ok().map(|s| s * 1e3)
            });
        }
        Some((steps, first_step_at? - trigger_at?))
    }

    struct StepLateness {
        /// Per (trigger, step number): lateness in ms, one per run.
        steps: Vec<(Trigger, usize, Vec<f64>)>,
        reaction: Vec<f64>,
        end_to_end: Vec<(Trigger, Vec<f64>)>,
    }

    impl StepLateness {
        /// Each step's lateness against its due time, per trigger: a table of medians and maxima.
        fn render(&self) -> String {
            let mut text = String::from(
                "| close sequence | step | due after the step before | late, median (ms) | late, max (ms) |\n|---|---|---|---|---|\n",
            );
            for (trigger, step, late) in &self.steps {
                let (how, wait) = match (trigger, step) {
                    (Trigger::Eof, _) => ("EOF, `--grace 200ms --term-grace 200ms`", "200 ms"),
                    (Trigger::Sigterm, 2) => (
                        "SIGTERM, `--wait 100ms --grace 200ms --term-grace 200ms`",
                        "100 ms",
                    ),
                    (Trigger::Sigterm, _) => (
                        "SIGTERM, `--wait 100ms --grace 200ms --term-grace 200ms`",
                        "200 ms",
                    ),
                };
                text += &format!(
                    "| {how} | {step} | {wait} | {:.0} | {:.0} |\n",
                    median(&mut late.clone()),
                    max(late)
                );
            }
            text
        }
    }

    fn step_lateness() -> StepLateness {
        const REPS: usize = 5;
        println!(
            "\nstep lateness: `agentpipe -v --grace 200ms --term-grace 200ms [--wait 100ms] -- sh -c \
             \"trap '' TERM; exec sleep 100\"`, ended by EOF and by SIGTERM in turn"
        );
        let mut result = StepLateness {
            steps: Vec::new(),
            reaction: Vec::new(),
            end_to_end: vec![(Trigger::Eof, Vec::new()), (Trigger::Sigterm, Vec::new())],
        };
        for rep in 1..=REPS {
            let mut line = format!("  repetition {rep}:");
            for (trigger, end_to_end) in &mut result.end_to_end {
                let run = step_run(*trigger);
                line += &format!(" {trigger:?}");
                for (step, late) in run.steps {
                    line += &format!(" step {step} +{late:.0}ms");
                    match result
                        .steps
                        .iter_mut()
                        .find(|(t, s, _)| t == trigger && *s == step)
                    {
                        Some((_, _, all)) => all.push(late),
                        None => result.steps.push((*trigger, step, vec![late])),
                    }
                }
                line += &format!(", exit {:+.1}ms;", run.end_to_end);
                result.reaction.push(run.reaction);
                end_to_end.push(run.end_to_end);
            }
            println!("{line}");
        }
        result
    }

    // ---------------------------------------------------------------------------------------------
    // The table

    #[derive(Default)]
    struct Table {
        rows: Vec<[String; COLUMNS]>,
    }

    const COLUMNS: usize = 10;

    fn yes_no(met: bool) -> String {
        if met { "yes" } else { "**no**" }.to_string()
    }

    /// The median over the repetitions of `ours / base` within each: the machine's drift between
    /// repetitions cancels out, since the variants of one repetition run back to back.
    fn paired_ratio(ours: Option<&[f64]>, base: Option<&[f64]>) -> Option<f64> {
        let (ours, base) = (ours?, base?);
        let mut ratios: Vec<f64> = ours.iter().zip(base).map(|(a, b)| a / b).collect();
        Some(median(&mut ratios))
    }

    fn ratio(value: Option<f64>) -> String {
        value.map_or("—".to_string(), |r| format!("{r:.2}×"))
    }

    fn cell(value: Option<f64>, digits: usize) -> String {
        value.map_or("—".to_string(), |v| format!("{v:.digits$}"))
    }

    /// Each variant's medians and agentpipe's paired ratio against each other variant.
    struct Compared {
        values: [Option<f64>; 4],
        ratios: [Option<f64>; 3],
    }

    /// The variants in the table's column order.
    const COLUMN_ORDER: [Variant; 4] = [
        Variant::Agentpipe,
        Variant::Direct,
        Variant::Minimal,
        Variant::Socat,
    ];

    fn compare(
        median: impl Fn(Variant) -> Option<f64>,
        reps: impl Fn(Variant) -> Option<Vec<f64>>,
    ) -> Compared {
        let ours = reps(Variant::Agentpipe);
        let ratio = |base| paired_ratio(ours.as_deref(), reps(base).as_deref());
        Compared {
            values: COLUMN_ORDER.map(median),
            ratios: [
                ratio(Variant::Direct),
                ratio(Variant::Minimal),
                ratio(Variant::Socat),
            ],
        }
    }

    impl Table {
        fn row(&mut self, cells: [&str; COLUMNS]) {
            self.rows.push(cells.map(str::to_string));
        }

        fn compared(
            &mut self,
            what: &str,
            compared: &Compared,
            digits: usize,
            target: &str,
            met: bool,
        ) {
            let [ours, direct, minimal, socat] = compared.values.map(|v| cell(v, digits));
            let [vs_direct, vs_minimal, vs_socat] = compared.ratios.map(ratio);
            self.row([
                what,
                &ours,
                &direct,
                &minimal,
                &socat,
                &vs_direct,
                &vs_minimal,
                &vs_socat,
                target,
                &yes_no(met),
            ]);
        }

        fn throughput(&mut self, settings: &Settings, throughput: &Throughput) {
            let rates = |variant| throughput.rates(variant, settings.bytes);
            let compared = compare(|v| rates(v).map(|mut r| median(&mut r)), rates);
            let [direct, minimal, socat] = compared.ratios;
            let met = direct.is_some_and(|r| r >= 0.9)
                && minimal.is_none_or(|r| r >= 0.97)
                && socat.is_none_or(|r| r >= 1.6);
            self.compared(
                &format!("throughput, {} (MiB/s)", format_bytes(settings.bytes)),
                &compared,
                0,
                "≥ 0.9× direct, ≥ 0.97× minimal, ≥ 1.6× socat",
                met,
            );
        }

        fn round_trip(&mut self, round_trip: &RoundTrip) {
            let compared = compare(
                |v| round_trip.median(v),
                |v| round_trip.per_repetition(v).map(<[f64]>::to_vec),
            );
            let [direct, minimal, socat] = compared.ratios;
            let met = direct.is_some_and(|r| r <= 3.1)
                && minimal.is_none_or(|r| r <= 1.05)
                && socat.is_none_or(|r| r <= 0.65);
            self.compared(
                "round trip, 64 B, one CPU (µs)",
                &compared,
                1,
                "≤ 3.1× direct, ≤ 1.05× minimal, ≤ 0.65× socat",
                met,
            );
        }

        fn startup(&mut self, startup: &Startup) {
            let extra = startup.extra;
            let met = extra <= 1.0 && startup.over_spawner.is_none_or(|over| over <= 0.3);
            self.row([
                "start-up, `-- true` (ms)",
                &format!("{:.2}", startup.relayed),
                &format!("{:.2}", startup.plain),
                &cell(startup.spawned, 2),
                "—",
                &format!("{extra:+.2} ms"),
                &startup
                    .over_spawner
                    .map_or("—".to_string(), |over| format!("{over:+.2} ms")),
                "—",
                "≤ +1 ms over `true`, ≤ +0.3 ms over the minimal spawner",
                &yes_no(met),
            ]);
        }

        fn rss(&mut self, settings: &Settings, throughput: &Throughput, small: (u64, u64)) {
            let mib = |variant| throughput.peak_rss(variant).map(|b| b as f64 / MIB);
            let ours = mib(Variant::Agentpipe);
            self.row([
                &format!("peak RSS relaying {} (MiB)", format_bytes(settings.bytes)),
                &cell(ours, 1),
                &cell(mib(Variant::Direct), 1),
                &cell(mib(Variant::Minimal), 1),
                &cell(mib(Variant::Socat), 1),
                &format!(
                    "{:.1} MiB at {}",
                    small.1 as f64 / MIB,
                    format_bytes(small.0)
                ),
                "—",
                "—",
                "≤ 4 MiB",
                &yes_no(ours.is_some_and(|rss| rss <= 4.0)),
            ]);
        }

        fn idle(&mut self, (voluntary, involuntary): (u64, u64)) {
            self.row([
                "idle wake-ups in 5 s",
                &format!("{voluntary} (+{involuntary} involuntary)"),
                "—",
                "—",
                "—",
                "—",
                "—",
                "—",
                "0",
                &yes_no(voluntary == 0),
            ]);
        }

        fn lateness(&mut self, lateness: &StepLateness) {
            let all: Vec<f64> = lateness
                .steps
                .iter()
                .flat_map(|(_, _, late)| late.iter().copied())
                .collect();
            let worst = max(&all);
            let exit: Vec<f64> = lateness
                .end_to_end
                .iter()
                .flat_map(|(_, late)| late.iter().copied())
                .collect();
            self.row([
                "close sequence: step lateness, median / max (ms)",
                &format!("{:.0} / {worst:.0}", median(&mut all.clone())),
                "—",
                "—",
                "—",
                &format!(
                    "trigger → first step {:.0} ms; exit {:.1} ms after due",
                    max(&lateness.reaction),
                    median(&mut exit.clone())
                ),
                "—",
                "—",
                "≤ 20 ms",
                &yes_no(worst <= 20.0),
            ]);
        }

        fn render(&self) -> String {
            let header: [&str; COLUMNS] = [
                "measure",
                "agentpipe",
                "direct",
                "minimal",
                "socat",
                "agentpipe vs direct",
                "agentpipe vs minimal",
                "agentpipe vs socat",
                "target",
                "met",
            ];
            let mut text = format!("| {} |\n", header.join(" | "));
            text += &format!("|{}\n", "---|".repeat(header.len()));
            for row in &self.rows {
                text += &format!("| {} |\n", row.join(" | "));
            }
            text
        }
    }
}
