//! The `--sequence` syntax: `stdin 5s, run "CMD" 5s, TERM 2s, KILL`.

use std::time::Duration;

use super::{Action, Sequence, Step};
use crate::duration::parse_limit;
use crate::parse_error::ParseError;
use crate::signals::{Signal, step_signal};

impl std::str::FromStr for Sequence {
    type Err = ParseError;

    /// As [`Sequence::parse`].
    fn from_str(text: &str) -> Result<Sequence, ParseError> {
        Sequence::parse(text)
    }
}

/// What every error about a step's kind ends with: the kinds there are.
const KINDS: &str = "a step is 'wait D', 'stdin D', 'run \"COMMAND\" D', 'shutdown D' (LSP), \
                     'send \'JSON\' D' (--protocol), 'SIGNAL D' (a signal name or number: TERM \
                     5s) or the final 'KILL'";

impl Sequence {
    /// Parses a list such as `stdin 5s, run "pkill -INT agent" 2s, TERM 5s, KILL`.
    ///
    /// Steps are separated by commas (a comma inside quotes belongs to a command); each is
    /// `wait D`, `stdin D`, `run "COMMAND" D` or `SIGNAL D`, and the last is `KILL` (which takes
    /// no duration). Durations are as in `--timeout` (see [`parse_limit`](crate::parse_limit)).
    /// `text.parse::<Sequence>()` does the same.
    pub fn parse(text: &str) -> Result<Sequence, ParseError> {
        Sequence::parse_steps(text).map_err(ParseError::sequence)
    }

    fn parse_steps(text: &str) -> Result<Sequence, String> {
        let items = split_steps(text)?;
        let mut sequence = Sequence {
            steps: Vec::with_capacity(items.len() + 1),
            commands: Vec::new(),
            messages: Vec::new(),
            listed: true,
        };
        for (index, item) in items.iter().enumerate() {
            let words = words(item);
            let last = index + 1 == items.len();
            let Some(name) = words.first() else {
                return Err(format!(
                    "step {} is empty; write steps like 'stdin 5s, TERM 5s, KILL'",
                    index + 1
                ));
            };
            let action = match name.to_ascii_lowercase().as_str() {
                "wait" => Action::Wait,
                "stdin" => Action::CloseStdin,
                "shutdown" => Action::Shutdown,
                "run" => Action::Run(sequence.commands.len()),
                "send" => Action::Send(sequence.messages.len()),
                _ => match name.parse::<Signal>() {
                    Ok(Signal::KILL) => Action::Kill,
                    Ok(signal) => Action::Signal(step_signal(signal)?),
                    Err(_) => {
                        let name = name.escape_debug();
                        return Err(format!("unknown step '{name}': {KINDS}"));
                    }
                },
            };
            let rest = sequence.take_text(action, item, &words[1..])?;
            if let [_, extra, ..] = rest {
                return Err(format!(
                    "unexpected '{}' in step '{}': separate steps with commas, e.g. \
                     'stdin 2s, INT 2s, KILL'",
                    extra.escape_debug(),
                    item.trim().escape_debug()
                ));
            }
            if action == Action::Kill {
                if !last {
                    return Err("KILL must be the last step".to_string());
                }
                if !rest.is_empty() {
                    return Err("KILL takes no duration: it waits until the process is gone".into());
                }
                sequence.steps.push(Step { action, wait: None });
                break;
            }
            if last {
                let item = item.trim().escape_debug();
                return Err(format!(
                    "the sequence must end with KILL (add ', KILL' after '{item}')"
                ));
            }
            let Some(duration) = rest.first() else {
                let (item, name) = (item.trim().escape_debug(), name.escape_debug());
                return Err(format!("step '{item}' needs a duration, e.g. '{name} 5s'"));
            };
            let wait = parse_limit(duration).map_err(|error| error.to_string())?;
            sequence.steps.push(Step { action, wait });
        }
        if !sequence
            .steps
            .iter()
            .any(|s| s.action == Action::CloseStdin)
        {
            let at = sequence.signal_step(0);
            let step = Step {
                action: Action::CloseStdin,
                wait: Some(Duration::ZERO),
            };
            sequence.steps.insert(at, step);
        }
        Ok(sequence)
    }
}

/// Whether a `run` step's command is in quotes, as it must be to hold more than one word.
impl Sequence {
    /// Keeps the text a `run` or `send` step names (its command, its message); returns the
    /// words after it (its duration).
    fn take_text<'w>(
        &mut self,
        action: Action,
        item: &str,
        words: &'w [String],
    ) -> Result<&'w [String], String> {
        let (texts, needs) = match action {
            Action::Run(_) => (&mut self.commands, "a command"),
            Action::Send(_) => (&mut self.messages, "a message"),
            _ => return Ok(words),
        };
        let Some((text, rest)) = words.split_first() else {
            return Err(format!("step '{}' needs {needs}: {KINDS}", item.trim()));
        };
        texts.push(match action {
            // Its line breaks become spaces: whitespace either way in JSON, and the message
            // stays one line (one frame of mcp, one line of the timeline).
            Action::Send(_) => text.replace(['\r', '\n'], " "),
            _ => text.clone(),
        });
        if let (Action::Run(_), [_, ..]) = (action, rest)
            && !quoted_command(item)
        {
            return Err(unquoted_run(words));
        }
        Ok(rest)
    }
}

fn quoted_command(item: &str) -> bool {
    let after_run = item.trim_start()[3..].trim_start();
    after_run.starts_with(['"', '\''])
}

/// `run docker stop x 2s`: the command's words were taken for more of the step. The message
/// shows the step quoted, its last word kept as the duration when it reads as one.
fn unquoted_run(words: &[String]) -> String {
    let (command, wait) = match words.split_last() {
        Some((last, command)) if parse_limit(last).is_ok() => (command, format!(" {last}")),
        _ => (words, String::new()),
    };
    let command = command.join(" ").escape_debug().to_string();
    format!("a run step's command goes in quotes: run \"{command}\"{wait}")
}

/// Splits at the commas that stand outside quotes.
fn split_steps(text: &str) -> Result<Vec<&str>, String> {
    let mut items = Vec::new();
    let (mut start, mut quote, mut escaped) = (0, None, false);
    for (at, c) in text.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(open), c) if c == open && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, ',') => {
                items.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
        escaped = false;
    }
    if quote.is_some() {
        return Err(format!(
            "unclosed quote in '{}': a run step's command goes in quotes, e.g. run \"pkill -INT agent\" 5s",
            text.escape_debug()
        ));
    }
    items.push(&text[start..]);
    Ok(items)
}

/// The words of one step: whitespace-separated, where a quoted part ("..." with `\"` and `\\`
/// escapes and every other backslash kept, or '...' taken as it is) is one word without its
/// quotes.
fn words(item: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = item.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' => word.extend(chars.by_ref().take_while(|&c| c != '\'')),
                '"' => {
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            // Only `\"` and `\\` are escapes; any other backslash is the
                            // command's own (`printf 'a\n'`), kept as in a shell's "...".
                            '\\' if matches!(chars.peek(), Some('"' | '\\')) => {
                                word.extend(chars.next())
                            }
                            c => word.push(c),
                        }
                    }
                }
                c => word.push(c),
            }
        }
        words.push(word);
    }
    words
}

/// A command in double quotes, with `"` and `\` escaped: the way `words` reads it back.
pub(super) fn quote(command: &str) -> String {
    let escaped = command.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_together_get_a_hint_about_commas() {
        let error = Sequence::parse("stdin 2s INT 2s KILL")
            .unwrap_err()
            .to_string();
        assert!(error.contains("separate steps with commas"), "{error}");
    }

    #[test]
    fn an_unknown_step_lists_the_kinds() {
        let error = Sequence::parse("pause 2s, KILL").unwrap_err().to_string();
        assert!(error.contains("unknown step 'pause'"), "{error}");
        assert!(error.contains("'run \"COMMAND\" D'"), "{error}");
    }

    #[test]
    fn a_backslash_that_escapes_nothing_is_kept_for_the_command() {
        let sequence = Sequence::parse(r#"run "printf 'a\n' \"q\" \\" 1s, KILL"#).unwrap();
        assert_eq!(sequence.commands()[0], r#"printf 'a\n' "q" \"#);
        let again = Sequence::parse(&sequence.to_string()).unwrap();
        assert_eq!(again.commands(), sequence.commands(), "{sequence}");
    }

    #[test]
    fn a_run_step_needs_a_command_and_quotes_must_close() {
        assert!(
            Sequence::parse("run, KILL")
                .unwrap_err()
                .to_string()
                .contains("needs a command")
        );
        assert!(
            Sequence::parse("run \"x 1s, KILL")
                .unwrap_err()
                .to_string()
                .contains("unclosed quote")
        );
    }
}
