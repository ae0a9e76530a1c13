//! The man page and the shell completions are generated from the clap definition in src/cli.rs
//! and checked in. This test fails when they drift from it; run it with AGENTPIPE_REGENERATE=1
//! to write them instead.

use std::io;
use std::path::Path;

// In a folder of its own, so that cargo does not build it as a test of its own.
#[path = "generated/man_sections.rs"]
mod man_sections;

use agentpipe::cli::{Cli, completion};
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use roff::Roff;

const REGENERATE: &str = "AGENTPIPE_REGENERATE=1 cargo test --test it generated";

#[test]
fn man_page_and_completions_match_the_cli() {
    let mut outputs = vec![("man/agentpipe.1", man_page().into_bytes())];
    for (shell, path) in [
        (Shell::Bash, "completions/agentpipe.bash"),
        (Shell::Zsh, "completions/_agentpipe"),
        (Shell::Fish, "completions/agentpipe.fish"),
        (Shell::Elvish, "completions/agentpipe.elv"),
        (Shell::PowerShell, "completions/_agentpipe.ps1"),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut completion::command(), "agentpipe", &mut script);
        match shell {
            Shell::Bash => script.extend(completion::BASH_EXTRA.as_bytes()),
            Shell::Fish => script.extend(completion::FISH_EXTRA.as_bytes()),
            _ => {}
        }
        outputs.push((path, script));
    }

    let regenerate =
        std::env::var_os("AGENTPIPE_REGENERATE").is_some_and(|value| !value.is_empty());
    let stale: Vec<&str> = outputs
        .iter()
        .filter(|(path, content)| !up_to_date(path, content, regenerate))
        .map(|(path, _)| *path)
        .collect();
    assert!(
        stale.is_empty(),
        "generated files differ from the clap definition in src/cli.rs: {}; regenerate them with `{REGENERATE}` and commit them",
        stale.join(", ")
    );
}

/// agentpipe(1), as clap_mangen renders it from the definition with the page's own sections
/// before its VERSION section.
fn man_page() -> String {
    let rendered = render(&Man::new(Cli::command())).expect("rendering the man page");
    let rendered = String::from_utf8(rendered).expect("the man page is UTF-8");
    // Each part starts with the same preamble (it defines the straight apostrophe); once is
    // enough.
    let preamble = Roff::new().render();
    format!("{preamble}{}", rendered.replace(&preamble, ""))
}

fn render(man: &Man) -> io::Result<Vec<u8>> {
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man_sections::roff().to_writer(&mut page)?;
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// Whether the file at `path` (from the crate root) holds `content`; when it does not and
/// `regenerate` is set, writes it and says yes.
fn up_to_date(path: &str, content: &[u8], regenerate: bool) -> bool {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::fs::read(&path).is_ok_and(|on_disk| on_disk == content) {
        return true;
    }
    if regenerate {
        let written = std::fs::create_dir_all(path.parent().expect("a file in a directory"))
            .and_then(|()| std::fs::write(&path, content));
        written.unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }
    regenerate
}

/// bash itself, with the generated script loaded: the command after `--` completes as a command
/// line of its own, signal names in any case, and the fixed values of --stderr and --report.
#[test]
fn bash_completes_the_command_after_dashdash_and_fixed_values() {
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
    assert_eq!(lines.len(), 7, "{stdout}");
    assert_eq!(lines[0], "|", "nothing made up: {stdout}");
    assert!(lines[1].split('|').any(|word| word == "sleep"), "{stdout}");
    assert_eq!(
        lines[2], "Cargo.toml|",
        "file names after the command: {stdout}"
    );
    assert_eq!(lines[3], "TERM|");
    assert_eq!(lines[4], "INT|");
    assert_eq!(lines[5], "null|");
    assert_eq!(lines[6], "-|");
}
