//! The man page and the shell completions are generated from the clap definition in src/cli.rs
//! and checked in. This test fails when they drift from it; run it with AGENTPIPE_REGENERATE=1
//! to write them instead. It is the one reader of the definition outside the program, and a
//! test of the crate itself, so that the command line stays private (see docs/decisions.md).

use std::io;
use std::path::Path;

// The man page's own prose, with the integration tests until it moves to a template of its own.
#[path = "../../tests/it/generated/man_sections.rs"]
mod man_sections;

use super::{Cli, completion};
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use roff::Roff;

const REGENERATE: &str = "AGENTPIPE_REGENERATE=1 cargo test --lib generated";

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
