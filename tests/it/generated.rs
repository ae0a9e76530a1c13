//! The generated files at work: the shell completions (checked in, kept in step with the clap
//! definition by the drift test in src/cli/generated.rs) loaded in a real shell, and the man
//! page through mandoc's lint.

use std::path::Path;

use crate::common::have_tools;

/// The checked-in page passes `mandoc -Tlint -W warning` with nothing to say (CI also runs the
/// lint on its own, so that its message is the lint's).
#[test]
fn the_man_page_has_no_mandoc_warning() {
    if !have_tools("mandoc lint", &["mandoc"]) {
        return;
    }
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("man/agentpipe.1");
    let output = std::process::Command::new("mandoc")
        .args(["-Tlint", "-W", "warning"])
        .arg(&page)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("mandoc");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.is_empty() && output.status.success(),
        "mandoc -Tlint -W warning man/agentpipe.1 ({}):\n{said}fix man/agentpipe.1.in or the \
         flags' text in src/cli.rs, then `AGENTPIPE_REGENERATE=1 cargo test --lib generated`",
        output.status
    );
}

/// bash itself, with the generated script loaded: the command after `--` completes as a command
/// line of its own, signal names in any case, the fixed values of --stderr, files and `-` for
/// --report and --trace, sizes (no files) for --trace-limit, and no `-` after a value.
#[test]
fn bash_completes_the_command_after_dashdash_and_fixed_values() {
    if !have_tools("bash completion", &["bash"]) {
        return;
    }
    let script = r#"
source completions/agentpipe.bash
complete_line() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
    _agentpipe_command_line agentpipe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s|' "${COMPREPLY[@]}"; echo
}
complete_line agentpipe -v -- agentpipe-test-no-such-prefi
complete_line agentpipe --scope tree -- sleep
complete_line agentpipe -- cat Cargo.to
complete_line agentpipe -s te
complete_line agentpipe --signal Int
complete_line agentpipe --stderr nu
complete_line agentpipe --report ''
complete_line agentpipe --trace Cargo.t
complete_line agentpipe --trace-limit ''
complete_line agentpipe -s TERM ''
"#;
    let output = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(lines.len(), 10, "{stdout}");
    assert_eq!(lines[0], "|", "nothing made up: {stdout}");
    assert!(lines[1].split('|').any(|word| word == "sleep"), "{stdout}");
    assert_eq!(
        lines[2], "Cargo.toml|",
        "file names after the command: {stdout}"
    );
    assert_eq!(lines[3], "TERM|");
    assert_eq!(lines[4], "INT|");
    assert_eq!(lines[5], "null|");
    let report: Vec<&str> = lines[6].split('|').collect();
    assert!(
        report.contains(&"Cargo.toml") && report.contains(&"-"),
        "files and -: {stdout}"
    );
    assert_eq!(
        lines[7], "Cargo.toml|",
        "no - where it cannot match: {stdout}"
    );
    assert_eq!(lines[8], "1M|64M|1G|", "sizes, not files: {stdout}");
    let after_value: Vec<&str> = lines[9].split('|').collect();
    assert!(
        !after_value.iter().any(|word| word.starts_with('-')),
        "the command's place, not the options' common '-': {stdout}"
    );
}
