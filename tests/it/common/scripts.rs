//! The shell children tests start: scripts with a prelude of helpers, and the traps that make them misbehave.

/// Shell functions available to every script given to [`sh`] and [`background`]:
/// `log WORD...` appends a line to `$D/log`; `spin` runs until killed, handling traps within
/// 50 ms; `pidfile NAME` writes the shell's pid to `$D/NAME.pid` atomically.
pub const PRELUDE: &str = r#"
log() { printf '%s\n' "$*" >> "$D/log"; }
spin() { while :; do sleep 0.05; done; }
pidfile() { echo $$ > "$D/$1.tmp" && mv "$D/$1.tmp" "$D/$1.pid"; }
"#;

/// `sh -c SCRIPT`, with [`PRELUDE`] (kept in `$D/prelude`) sourced first.
pub fn sh(script: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!(". \"$D/prelude\"\n{script}"),
    ]
}

/// A child that sets `traps`, writes `$D/child.pid`, reads its stdin to the end, logs `EOF`
/// and runs on until a signal ends it.
pub fn eof_logger(traps: &str) -> Vec<String> {
    sh(&format!(
        "{traps}\npidfile child\ncat >/dev/null\nlog EOF\nspin"
    ))
}

/// Shell lines that start `script` in the background as a separate `sh` (in the child's
/// process group, its stderr on /dev/null), and wait until it wrote `$D/grandchild.pid`.
/// `script` may use `log` and `spin`; it must not contain single quotes.
pub fn background(script: &str) -> String {
    format!(
        "sh -c '. \"$D/prelude\"\necho $$ > \"$D/grandchild.pid\"\n{script}' 2>/dev/null &\n\
         while [ ! -s \"$D/grandchild.pid\" ]; do sleep 0.01; done"
    )
}

/// Trap: log TERM and exit 7.
pub const EXIT_ON_TERM: &str = "trap 'log TERM; exit 7' TERM";

/// Trap: log TERM and go on.
pub const IGNORE_TERM: &str = "trap 'log TERM' TERM";
