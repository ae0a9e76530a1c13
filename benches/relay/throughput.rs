    // Included by benches/relay.rs, inside its `linux` module: throughput and peak RSS, and the pinned 64-byte round trip.

    // ---------------------------------------------------------------------------------------------
    // Throughput and peak RSS: head -c N /dev/zero | MIDDLE | cat >/dev/null

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Variant {
        Direct,
        Agentpipe,
        Minimal,
        /// The reference relay in copy mode (`relay -c`): read(2) and write(2), never splice;
        /// round trip only (a stream is the splice mode's case).
        MinimalCopy,
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

        /// The round trip's variants: the throughput's, with the minimal relay in copy mode
        /// right after its splice mode.
        fn round_trip(tools: &Tools<'_>) -> Vec<Variant> {
            let mut all = Variant::all(tools);
            if let Some(at) = all.iter().position(|&v| v == Variant::Minimal) {
                all.insert(at + 1, Variant::MinimalCopy);
            }
            all
        }

        /// The command for the relayed stage: plain `cat`, `agentpipe -- cat`, `relay -- cat`,
        /// `relay -c -- cat` or `socat - EXEC:cat`.
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
                Variant::MinimalCopy => vec![
                    tools.minimal.expect("minimal relay").as_os_str(),
                    OsStr::new("-c"),
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
            // Every millisecond for the first 50, every 10 after: a 16 MiB run is over in a few
            // milliseconds (sampled every 10 ms, it showed the stage's size before its first read).
            let sampler = scope.spawn(|| {
                let mut peak = 0;
                while !done.load(Ordering::Relaxed) {
                    peak = peak.max(vm_hwm(stage_pid).unwrap_or(0));
                    let pause = match start.elapsed() < Duration::from_millis(50) {
                        true => Duration::from_millis(1),
                        false => Duration::from_millis(10),
                    };
                    std::thread::sleep(pause);
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
        ping_pong_with(argv, rounds, &[b'x'; 64])
    }

    /// Round-trip times, in microseconds, of `rounds` times `message` through `argv`.
    fn ping_pong_with(argv: &[&OsStr], rounds: usize, message: &[u8]) -> Vec<f64> {
        const WARM_UP: usize = 200;
        let mut child = command(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {argv:?}: {error}"));
        let mut input = child.stdin.take().expect("the child's stdin");
        let mut output = child.stdout.take().expect("the child's stdout");
        let mut answer = vec![0u8; message.len()];
        let mut times = Vec::with_capacity(rounds);
        for round in 0..WARM_UP + rounds {
            let start = Instant::now();
            input.write_all(message).expect("write a ping");
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
        let variants = Variant::round_trip(tools);
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
