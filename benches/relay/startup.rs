    // Included by benches/relay.rs, inside its `linux` module: start-up and idle wake-ups.

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
