//! Forwarded signals and job control: Ctrl-Z and `fg`, the signals agentpipe passes on.

use super::*;

/// The prompt of the interactive shell on the pseudo-terminal.
const PROMPT: &str = "ap-test$ ";

/// An interactive `sh -i` on a pseudo-terminal, session leader with the terminal as its
/// controlling terminal: real job control, with keys typed on the master side.
struct Terminal {
    master: File,
    output: Capture,
    shell: Run,
}

impl Terminal {
    fn start(sandbox: Sandbox) -> Terminal {
        let (master, slave) = open_pty();
        let mut command = sandbox.command("sh");
        command
            .arg("-i")
            .env("PS1", PROMPT)
            .env("AGENTPIPE", BIN)
            .env_remove("ENV")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()));
        controlling_tty(&mut command, &slave);
        let shell = Run::start(sandbox, command);
        drop(slave);
        let output = Capture::start("the terminal", master.try_clone().unwrap());
        let terminal = Terminal {
            master,
            output,
            shell,
        };
        terminal.wait_prompts(1);
        terminal
    }

    fn sandbox(&self) -> &Sandbox {
        &self.shell.sandbox
    }

    fn type_in(&mut self, keys: &[u8]) {
        self.master.write_all(keys).expect("write to the terminal");
    }

    fn prompts(&self) -> usize {
        self.output.text().matches(PROMPT).count()
    }

    /// Waits until the shell has shown its prompt `count` times in all.
    fn wait_prompts(&self, count: usize) {
        wait_until(&format!("prompt #{count} on the terminal"), LIMIT, || {
            (self.prompts() >= count).then_some(())
        });
    }

    fn wait_output(&self, needle: &str) {
        self.output.wait_for(needle);
    }

    /// Runs `echo "status=$?"` and returns the status it prints.
    fn last_status(&mut self) -> String {
        let prompts = self.prompts();
        self.type_in(b"echo \"status=$?\"\n");
        self.wait_prompts(prompts + 1);
        let text = self.output.text();
        let start = text.rfind("status=").expect("a status line") + "status=".len();
        text[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    }
}

/// Through a terminal: Ctrl-Z suspends agentpipe and the child's group and gives the prompt
/// back; `fg` resumes both; Ctrl-C reaches agentpipe only (the child is in its own group), whose
/// sequence then ends the child, and the shell sees 130.
#[test]
fn terminal_ctrl_z_fg_and_ctrl_c_through_an_interactive_shell() {
    let sandbox = Sandbox::new("pty-job-control");
    script(
        &sandbox,
        "child",
        // No fork once the pid file is written: a shell mid-vfork (dash's way of starting
        // `sleep`) waits uninterruptibly for a child Ctrl-Z stopped first, and never shows 'T'.
        "trap 'log child INT' INT\ntrap 'log child TERM; exit 7' TERM
sh \"$D/member.sh\" >/dev/null &
sleep 300 &
pidfile child\nwhile :; do wait; done",
    );
    // Another process of the child's group.
    script(&sandbox, "member", "pidfile member\nexec sleep 300");
    let mut terminal = Terminal::start(sandbox);
    terminal.type_in(b"\"$AGENTPIPE\" --grace 100ms --term-grace 20s -- sh \"$D/child.sh\"\n");
    let child = terminal.sandbox().wait_pid("child");
    let member = terminal.sandbox().wait_pid("member");
    let agentpipe = stat(child).expect("the child").ppid;
    assert_ne!(stat(agentpipe).unwrap().pgrp, stat(child).unwrap().pgrp);
    assert_eq!(stat(member).unwrap().pgrp, child);
    let stopped = [
        (agentpipe, "agentpipe"),
        (child, "the child"),
        (member, "the child's group"),
    ];

    let prompts = terminal.prompts();
    terminal.type_in(b"\x1a");
    for (pid, what) in stopped {
        wait_state(pid, &format!("{what} stopped by Ctrl-Z"), |state| {
            state == 'T'
        });
    }
    terminal.wait_prompts(prompts + 1);

    terminal.type_in(b"fg\n");
    for (pid, what) in stopped {
        wait_state(pid, &format!("{what} resumed by fg"), |state| state != 'T');
    }

    let prompts = terminal.prompts();
    terminal.type_in(b"\x03");
    terminal.wait_prompts(prompts + 1);
    assert_eq!(
        terminal.last_status(),
        "130",
        "agentpipe did not die of SIGINT"
    );
    assert_eq!(terminal.sandbox().log(), ["child TERM"]);
    terminal.sandbox().assert_gone(&[agentpipe, child, member]);
}

/// Through a terminal: a child that reads the terminal from its own process group is stopped
/// by SIGTTIN; agentpipe says so in one line suggesting --foreground or BatchMode=yes, and the
/// stopped child still ends when the sequence runs.
#[test]
fn terminal_child_stopped_by_sigttin_gets_a_message_and_still_ends() {
    let sandbox = Sandbox::new("pty-ttin");
    script(
        &sandbox,
        "child",
        "pidfile child\nread line </dev/tty\nlog read \"$line\"",
    );
    let mut terminal = Terminal::start(sandbox);
    terminal.type_in(b"\"$AGENTPIPE\" --grace 100ms --term-grace 20s -- sh \"$D/child.sh\"\n");
    let child = terminal.sandbox().wait_pid("child");
    let agentpipe = stat(child).expect("the child").ppid;
    wait_state(child, "stopped by SIGTTIN", |state| state == 'T');
    terminal.wait_output("BatchMode=yes");
    let text = terminal.output.text();
    assert!(
        has_line_with(&text, &["SIGTTIN", "--foreground", "BatchMode=yes"]),
        "no one-line message about SIGTTIN:\n{text}"
    );
    assert!(stat(agentpipe).is_some_and(|stat| stat.state != 'T'));

    let prompts = terminal.prompts();
    terminal.type_in(b"\x03");
    terminal.wait_prompts(prompts + 1);
    assert_eq!(terminal.last_status(), "130");
    assert!(
        terminal.sandbox().log().is_empty(),
        "{:?}",
        terminal.sandbox().log()
    );
    terminal.sandbox().assert_gone(&[agentpipe, child]);
}
