//! The man page and the shell completions are generated from the clap definition in src/cli.rs
//! (the man page around its own sections, man/agentpipe.1.in) and checked in. This test fails
//! when they drift from it; run it with AGENTPIPE_REGENERATE=1 to write them instead.
//!
//! A test of the crate itself, not an integration test: the command line is private to the
//! crate, and this is the one reader of its definition besides the program (the `use` below is
//! the line to change when the definition moves; see docs/decisions.md).

use std::path::Path;

use super::{Cli, completion, manual};
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use roff::{Roff, roman};

const REGENERATE: &str = "AGENTPIPE_REGENERATE=1 cargo test --lib generated";

/// The man page's source: its own sections in roff, with a line for each part clap renders.
const TEMPLATE: &str = include_str!("../../man/agentpipe.1.in");

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
            Shell::Bash => script.extend(completion::bash_extra().as_bytes()),
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
        "generated files differ from the clap definition in src/cli.rs or from \
         man/agentpipe.1.in: {}; regenerate them with `{REGENERATE}` and commit them",
        stale.join(", ")
    );
}

/// Each example that ends `--help` is in the man page's EXAMPLES, with more about it there.
#[test]
fn every_help_example_is_in_the_man_pages_examples() {
    let examples = &TEMPLATE[TEMPLATE.find(".SH EXAMPLES").expect("an EXAMPLES section")..];
    for example in manual::EXAMPLES {
        let shown = roff_text(example.command);
        assert!(
            examples.contains(&shown),
            "man/agentpipe.1.in's EXAMPLES lacks the example of --help `{}` (as `{shown}`)",
            example.command
        );
    }
}

/// agentpipe(1): the template with clap_mangen's sections at their lines, the version in the
/// title, and the template's comments left out.
fn man_page() -> String {
    let man = Man::new(Cli::command());
    let flags = flag_names();
    let mut page = String::new();
    for line in TEMPLATE.lines().filter(|line| !line.starts_with(".\\\"")) {
        let rendered = match line {
            "@NAME@" => clap_section(&man, Man::render_name_section),
            "@SYNOPSIS@" => clap_section(&man, Man::render_synopsis_section),
            "@DESCRIPTION@" => {
                embolden(&clap_section(&man, Man::render_description_section), &flags)
            }
            "@OPTIONS@" => embolden(&clap_section(&man, Man::render_options_section), &flags),
            _ => format!("{}\n", line.replace("@VERSION@", env!("CARGO_PKG_VERSION"))),
        };
        page.push_str(&rendered);
    }
    page
}

/// One section as clap_mangen renders it, without the preamble each rendering starts with (the
/// template has it once) and with a blank line between `.br`s as the one vertical space it means.
fn clap_section(
    man: &Man,
    render: fn(&Man, &mut dyn std::io::Write) -> std::io::Result<()>,
) -> String {
    let mut section = Vec::new();
    render(man, &mut section).expect("rendering a man page section");
    let section = String::from_utf8(section).expect("the man page is UTF-8");
    section
        .replace(&Roff::new().render(), "")
        .replace("\n.br\n\n.br\n", "\n.sp\n")
}

/// `text` as a line of roff text (escaped as clap_mangen escapes its own).
fn roff_text(text: &str) -> String {
    let line = Roff::new().text([roman(text)]).render();
    line.replace(&Roff::new().render(), "")
        .trim_end()
        .to_string()
}

/// agentpipe's flags as roff writes them (`\-\-grace`, `\-v`), longest first.
fn flag_names() -> Vec<String> {
    let command = Cli::command();
    let mut flags: Vec<String> = command
        .get_arguments()
        .flat_map(|arg| {
            let longs = arg.get_long_and_visible_aliases().unwrap_or_default();
            let longs = longs.into_iter().map(|long| format!("--{long}"));
            let shorts = arg.get_short_and_visible_aliases().unwrap_or_default();
            longs.chain(shorts.into_iter().map(|short| format!("-{short}")))
        })
        .map(|flag| flag.replace('-', "\\-"))
        .collect();
    flags.sort_by_key(|flag| std::cmp::Reverse(flag.len()));
    flags
}

/// Text lines of clap's roff with agentpipe's flags and `code` spans in bold, as the page's own
/// sections write them (the help text keeps its backticks for the terminal).
fn embolden(roff: &str, flags: &[String]) -> String {
    let mut out = String::new();
    for line in roff.split_inclusive('\n') {
        if line.starts_with('.') {
            out.push_str(line);
            continue;
        }
        for (index, part) in line.split('`').enumerate() {
            if index % 2 == 1 {
                out.push_str(&format!("\\fB{part}\\fR"));
            } else {
                out.push_str(&bold_flags(part, flags));
            }
        }
    }
    out
}

/// `text` with each flag of `flags` that stands alone (not inside a word, not already bold) in
/// bold.
fn bold_flags(text: &str, flags: &[String]) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut bold = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\fB") {
            bold = true;
            out.push_str("\\fB");
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("\\fR") {
            bold = false;
            out.push_str("\\fR");
            rest = after;
            continue;
        }
        let starts_word = out
            .chars()
            .last()
            .is_none_or(|before| !before.is_alphanumeric() && before != '\\' && before != '-');
        let flag = flags.iter().find(|flag| {
            rest.strip_prefix(flag.as_str()).is_some_and(|after| {
                !after.starts_with(|c: char| c.is_alphanumeric()) && !after.starts_with("\\-")
            })
        });
        if let Some(flag) = flag.filter(|_| starts_word && !bold) {
            out.push_str(&format!("\\fB{flag}\\fR"));
            rest = &rest[flag.len()..];
            continue;
        }
        let next = rest.chars().next().expect("not empty");
        out.push(next);
        rest = &rest[next.len_utf8()..];
    }
    out
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
