
use builtin;
use str;

set edit:completion:arg-completer[agentpipe] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'agentpipe'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'agentpipe'= {
            cand --wait 'How long the first step waits for the command to exit on its own, its stdin still open, when a signal, --timeout or a closed stdout starts the sequence'
            cand --grace 'How long the command may take to exit after its stdin is closed, before it is signalled'
            cand --eof-grace 'The --grace to use when agentpipe''s own stdin ended. `inf` makes the end of input a plain half-close: the command runs on until it exits or another trigger comes (pipeline stages, git over ssh). Default: the value of --grace'
            cand --term-grace 'How long the command may take to exit after the stop signal, before SIGKILL. Also how long processes left in the scope after the command exits have before SIGKILL'
            cand -s 'The stop signal: a name or number (TERM, SIGTERM, int, 15)'
            cand --signal 'The stop signal: a name or number (TERM, SIGTERM, int, 15)'
            cand --sequence 'The whole close sequence, instead of --wait, --grace, --signal and --term-grace: comma-separated steps `wait D`, `stdin D` or `SIGNAL D`, ending with `KILL`. Example: ''stdin 5s, INT 2s, TERM 5s, KILL'''
            cand --timeout 'Start the close sequence this long after the start (exit status 124, or 137 when SIGKILL was needed)'
            cand --drain 'How long output that still arrives after the command exited (from a process it started that holds its stdout) is relayed. Output already written when it exited is always delivered'
            cand --stderr 'Where the command''s stderr goes: `inherit` (agentpipe''s stderr), `null`, or a file PATH, appended to'
            cand --scope 'What the sequence''s signals reach and what may not outlive agentpipe: the command alone (`child`), its process group (`group`, the default), or every process it started, even those that left its group or were orphaned (`tree`, Linux only: daemons the command started, such as an ssh ControlPersist master, end with it)'
            cand --preserve-status 'With --timeout, exit with the command''s own status instead of 124 or 137'
            cand --foreground 'Keep the command in agentpipe''s process group, so that it can use the terminal (it then gets the terminal''s Ctrl-C itself). Implies --scope child'
            cand -v 'Print a timeline of what happens, and what comes next, on stderr'
            cand --verbose 'Print a timeline of what happens, and what comes next, on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
