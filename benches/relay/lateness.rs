    // Included by benches/relay.rs, inside its `linux` module: step lateness, each step of the close sequence against its due time.

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
