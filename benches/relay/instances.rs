    // Included by benches/relay.rs, inside its `linux` module: many idle instances at once.

    // ---------------------------------------------------------------------------------------------
    // Many instances: N idle `agentpipe -- sleep`, as an MCP host runs dozens of servers

    struct ManyInstances {
        count: usize,
        /// The proportional set size (PSS) of one instance, averaged over all: shared pages
        /// (the program's text, the C library) count once over all the instances that map them.
        pss_each: u64,
        /// CPU time (user + system) all the instances used together over 5 s of silence.
        cpu_ms: u64,
    }

    /// A field of /proc/PID/smaps_rollup, in bytes.
    fn rollup_field(pid: u32, name: &str) -> Option<u64> {
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
        status_field(&rollup, name).map(|kib| kib * 1024)
    }

    /// User plus system CPU time of `pid` so far, in clock ticks.
    fn cpu_ticks(pid: u32) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // After "pid (comm) ": state is field 3, utime 14 and stime 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        field(14).unwrap_or(0) + field(15).unwrap_or(0)
    }

    /// Whether `pid` has started its child yet (its command runs: the start-up is over).
    fn has_child(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .is_ok_and(|children| !children.trim().is_empty())
    }

    fn many_instances(count: usize) -> ManyInstances {
        println!(
            "\nmany instances: {count} × `agentpipe -- sleep 600`, stdin and stdout open pipes, \
             nothing sent; PSS after start, CPU over 5 s"
        );
        let mut children: Vec<Child> = (0..count)
            .map(|_| {
                Command::new(AGENTPIPE)
                    .args(["--grace", "0s", "--", "sleep", "600"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("cannot run agentpipe")
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !children.iter().all(|child| has_child(child.id())) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(500)); // the last ones' start-up settles
        let pss: u64 = children
            .iter()
            .map(|child| rollup_field(child.id(), "Pss:").unwrap_or(0))
            .sum();
        let ticks = |children: &[Child]| -> u64 { children.iter().map(|c| cpu_ticks(c.id())).sum() };
        let before = ticks(&children);
        std::thread::sleep(Duration::from_secs(5));
        let used = ticks(&children) - before;
        // SAFETY: sysconf only reads a system constant.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        for child in &mut children {
            drop(child.stdin.take()); // EOF: the command gets SIGTERM at once (--grace 0s)
        }
        for child in &mut children {
            let _ = child.wait().expect("wait for agentpipe");
        }
        let many = ManyInstances {
            count,
            pss_each: pss / count as u64,
            cpu_ms: used * 1000 / per_second,
        };
        println!(
            "  PSS {:.0} KiB each ({:.1} MiB together); CPU over 5 s: {} ms together",
            many.pss_each as f64 / 1024.0,
            pss as f64 / MIB,
            many.cpu_ms
        );
        many
    }
