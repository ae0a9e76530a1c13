
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
            cand --wait 'How long step 1 waits for the command to exit on its own, its stdin still open'
            cand --grace 'How long step 2 waits after closing the command''s stdin, before the stop signal'
            cand --eof-grace 'Step 2''s wait when the end of agentpipe''s stdin starts the sequence [default: --grace]'
            cand -k 'How long step 3 waits after the stop signal, before SIGKILL (-k, --kill-after: GNU timeout''s name)'
            cand --term-grace 'How long step 3 waits after the stop signal, before SIGKILL (-k, --kill-after: GNU timeout''s name)'
            cand --kill-after 'How long step 3 waits after the stop signal, before SIGKILL (-k, --kill-after: GNU timeout''s name)'
            cand -s 'The stop signal that step 3 sends'
            cand --signal 'The stop signal that step 3 sends'
            cand --sequence 'The whole close sequence, instead of --wait, --grace, --signal and --term-grace'
            cand --stop-command 'Run CMD as a step between closing stdin and the stop signal, to stop the command from outside'
            cand --timeout 'Start the close sequence this long after agentpipe started: the stop signal comes --grace later'
            cand --idle-timeout 'Start the close sequence when no byte has moved either way for this long'
            cand --output-idle-timeout 'Start the close sequence when the command has written no output for this long, even while its input still flows'
            cand --drain 'How long output that arrives after the command exited is still relayed'
            cand --stderr 'Where the command''s stderr goes: inherit (or -), null, or a file [default: inherit; with --pty: the terminal]'
            cand --stderr-tail 'Pass the command''s stderr through agentpipe, and put its last SIZE bytes in the report'
            cand --forward 'Signals passed on to the command instead of starting the close sequence: SIG[,SIG...]'
            cand --scope 'What the sequence''s signals reach, and what may not outlive agentpipe [default: group]'
            cand --report 'Write a JSON report of the run to PATH when agentpipe exits (-: stderr)'
            cand --trace 'Record every chunk relayed each way, and every event, in a trace at PATH (-: stderr)'
            cand --trace-format 'How --trace writes: text, hex or jsonl'
            cand --trace-limit 'The most bytes --trace writes; its last line then says that it stopped'
            cand --protocol 'Read the command''s stdio as JSON-RPC messages: mcp (one per line) or lsp (Content-Length headers, also DAP)'
            cand --response-timeout 'With --protocol: start the close sequence when a request has had no response for this long'
            cand --preserve-status 'With --timeout or an idle timeout, exit with the command''s own status instead of 124 or 137'
            cand --end-with-parent 'Start the close sequence when agentpipe''s parent process exits (Linux, Windows)'
            cand --foreground 'Keep the command in agentpipe''s process group, so that it can use the terminal'
            cand --pty 'Run the command on a pseudo-terminal of its own, as ssh -t or script(1) do'
            cand -v 'Print a timeline of what happens, and what comes next, on stderr'
            cand --verbose 'Print a timeline of what happens, and what comes next, on stderr'
            cand -q 'Do not print agentpipe''s warnings, nor the line that says a signal was sent'
            cand --quiet 'Do not print agentpipe''s warnings, nor the line that says a signal was sent'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
