    // Included by benches/relay.rs, inside its `linux` module: the table the run ends with.

    // ---------------------------------------------------------------------------------------------
    // The table

    #[derive(Default)]
    struct Table {
        rows: Vec<[String; COLUMNS]>,
    }

    const COLUMNS: usize = 12;

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

    /// Each variant's medians and agentpipe's paired ratio against the direct run, the minimal
    /// relay's splice mode, the faster of its two modes, and socat.
    struct Compared {
        values: [Option<f64>; 5],
        ratios: [Option<f64>; 4],
    }

    /// The variants in the table's column order.
    const COLUMN_ORDER: [Variant; 5] = [
        Variant::Agentpipe,
        Variant::Direct,
        Variant::Minimal,
        Variant::MinimalCopy,
        Variant::Socat,
    ];

    /// `faster` picks the better of two figures (max for a rate, min for a time): the minimal
    /// relay's faster mode is taken within each repetition, so the limit is the best it did then.
    fn compare(
        median: impl Fn(Variant) -> Option<f64>,
        reps: impl Fn(Variant) -> Option<Vec<f64>>,
        faster: fn(f64, f64) -> f64,
    ) -> Compared {
        let ours = reps(Variant::Agentpipe);
        let ratio = |base: Option<Vec<f64>>| paired_ratio(ours.as_deref(), base.as_deref());
        let best = match (reps(Variant::Minimal), reps(Variant::MinimalCopy)) {
            (Some(splice), Some(copy)) => {
                Some(splice.iter().zip(&copy).map(|(&a, &b)| faster(a, b)).collect())
            }
            (splice, copy) => splice.or(copy),
        };
        Compared {
            values: COLUMN_ORDER.map(median),
            ratios: [
                ratio(reps(Variant::Direct)),
                ratio(reps(Variant::Minimal)),
                ratio(best),
                ratio(reps(Variant::Socat)),
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
            let [ours, direct, minimal, copy, socat] = compared.values.map(|v| cell(v, digits));
            let [vs_direct, vs_minimal, vs_faster, vs_socat] = compared.ratios.map(ratio);
            self.row([
                what,
                &ours,
                &direct,
                &minimal,
                &copy,
                &socat,
                &vs_direct,
                &vs_minimal,
                &vs_faster,
                &vs_socat,
                target,
                &yes_no(met),
            ]);
        }

        fn throughput(&mut self, settings: &Settings, throughput: &Throughput) {
            let rates = |variant| throughput.rates(variant, settings.bytes);
            let compared = compare(|v| rates(v).map(|mut r| median(&mut r)), rates, f64::max);
            let [direct, _, minimal, socat] = compared.ratios;
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
                f64::min,
            );
            let [direct, _, faster, socat] = compared.ratios;
            let met = direct.is_some_and(|r| r <= 3.1)
                && faster.is_none_or(|r| r <= 1.05)
                && socat.is_none_or(|r| r <= 0.65);
            self.compared(
                "round trip, 64 B, one CPU (µs)",
                &compared,
                1,
                "≤ 3.1× direct, ≤ 1.05× the faster minimal, ≤ 0.65× socat",
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
                "—",
                &format!("{extra:+.2} ms"),
                &startup
                    .over_spawner
                    .map_or("—".to_string(), |over| format!("{over:+.2} ms")),
                "—",
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
                "—",
                &cell(mib(Variant::Socat), 1),
                &format!(
                    "{:.1} MiB at {}",
                    small.1 as f64 / MIB,
                    format_bytes(small.0)
                ),
                "—",
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
                "—",
                &format!(
                    "trigger → first step {:.0} ms; exit {:.1} ms after due",
                    max(&lateness.reaction),
                    median(&mut exit.clone())
                ),
                "—",
                "—",
                "—",
                "≤ 20 ms",
                &yes_no(worst <= 20.0),
            ]);
        }

        fn instances(&mut self, many: &ManyInstances) {
            let pss_kib = many.pss_each as f64 / 1024.0;
            self.row([
                &format!("many instances: {} idle, PSS each (KiB)", many.count),
                &format!("{pss_kib:.0}"),
                "—",
                "—",
                "—",
                "—",
                &format!("CPU over 5 s: {} ms, all together", many.cpu_ms),
                "—",
                "—",
                "—",
                "≤ 1 MiB PSS each, 0 CPU",
                &yes_no(pss_kib <= 1024.0 && many.cpu_ms == 0),
            ]);
        }

        fn render(&self) -> String {
            let header: [&str; COLUMNS] = [
                "measure",
                "agentpipe",
                "direct",
                "minimal",
                "minimal, copy",
                "socat",
                "agentpipe vs direct",
                "agentpipe vs minimal",
                "agentpipe vs faster minimal",
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
