complete -c agentpipe -l wait -d 'How long step 1 waits for the command to exit on its own, its stdin still open' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -l grace -d 'How long step 2 waits after closing the command\'s stdin, before the stop signal' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -l eof-grace -d 'Step 2\'s wait when the end of agentpipe\'s stdin starts the sequence [default: --grace]' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -s k -l term-grace -l kill-after -d 'How long step 3 waits after the stop signal, before SIGKILL (-k, --kill-after: GNU timeout\'s name)' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -s s -l signal -d 'The stop signal that step 3 sends' -r -f -a "TERM\t'terminate (the default)'
INT\t'interrupt, as Ctrl-C'
HUP\t'hang-up'
QUIT\t'quit (a thread dump in Go and JVM programs)'
USR1\t'user-defined 1'
USR2\t'user-defined 2'
ALRM\t'alarm clock'
KILL\t'kill at once: it cannot be caught'
ABRT\t'abort'
PIPE\t'broken pipe'
WINCH\t'window size changed'
XCPU\t'CPU time limit exceeded'
VTALRM\t'virtual alarm clock'
PROF\t'profiling timer'"
complete -c agentpipe -l sequence -d 'The whole close sequence, instead of --wait, --grace, --signal and --term-grace' -r
complete -c agentpipe -l stop-command -d 'Run CMD as a step between closing stdin and the stop signal, to stop the command from outside' -r -f -a "(__fish_complete_command)"
complete -c agentpipe -l timeout -d 'Start the close sequence this long after agentpipe started: the stop signal comes --grace later' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -l idle-timeout -d 'Start the close sequence when no byte has moved either way for this long' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -l output-idle-timeout -d 'Start the close sequence when the command has written no output for this long, even while its input still flows' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -l drain -d 'How long output that arrives after the command exited is still relayed' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -l stderr -d 'Where the command\'s stderr goes: inherit (or -), null, or a file [default: inherit; with --pty: the terminal]' -r -f -a "inherit\t''
null\t''
-\t''"
complete -c agentpipe -l stderr-tail -d 'Pass the command\'s stderr through agentpipe, and put its last SIZE bytes in the report' -r -f -a "4k\t'4 KiB'
64k\t'64 KiB'
1M\t'1 MiB, the most kept'"
complete -c agentpipe -l forward -d 'Signals passed on to the command instead of starting the close sequence: SIG[,SIG...]' -r
complete -c agentpipe -l scope -d 'What the sequence\'s signals reach, and what may not outlive agentpipe [default: group]' -r -f -a "child\t'The command alone.'
group\t'The command\'s process group.'
tree\t'Every descendant of the command (Linux).'
cgroup\t'Every process of a cgroup created for the command (Linux, cgroup v2).'"
complete -c agentpipe -l report -d 'Write a JSON report of the run to PATH when agentpipe exits (-: stderr)' -r -F
complete -c agentpipe -l trace -d 'Record every chunk relayed each way, and every event, in a trace at PATH (-: stderr)' -r -F
complete -c agentpipe -l trace-format -d 'How --trace writes: text, hex or jsonl' -r -f -a "text\t'Readable text: a header line per event, a chunk\'s bytes below it, escaped'
hex\t'As text, with each chunk\'s bytes as a hex dump'
jsonl\t'One JSON object per line and event'"
complete -c agentpipe -l trace-limit -d 'The most bytes --trace writes; its last line then says that it stopped' -r -f -a "1M\t'1 MiB'
64M\t'64 MiB, the default'
1G\t'1 GiB'"
complete -c agentpipe -l protocol -d 'Read the command\'s stdio as JSON-RPC messages: mcp (one per line) or lsp (Content-Length headers, also DAP)' -r -f -a "mcp\t'Newline-delimited JSON-RPC: MCP\'s stdio transport'
lsp\t'Content-Length-framed JSON-RPC: LSP, DAP'"
complete -c agentpipe -l response-timeout -d 'With --protocol: start the close sequence when a request has had no response for this long' -r -f -a "0s\t'at once'
250ms\t'a quarter of a second'
1s\t'one second'
5s\t'five seconds'
1m30s\t'a minute and a half'
inf\t'no limit'"
complete -c agentpipe -l preserve-status -d 'With --timeout or an idle timeout, exit with the command\'s own status instead of 124 or 137'
complete -c agentpipe -l end-with-parent -d 'Start the close sequence when agentpipe\'s parent process exits (Linux, Windows)'
complete -c agentpipe -l foreground -d 'Keep the command in agentpipe\'s process group, so that it can use the terminal'
complete -c agentpipe -l pty -d 'Run the command on a pseudo-terminal of its own, as ssh -t or script(1) do'
complete -c agentpipe -s v -l verbose -d 'Print a timeline of what happens, and what comes next, on stderr'
complete -c agentpipe -s q -l quiet -d 'Do not print agentpipe\'s warnings, nor the line that says a signal was sent'
complete -c agentpipe -s h -l help -d 'Print help (see more with \'--help\')'
complete -c agentpipe -s V -l version -d 'Print version'

function __agentpipe_after_dashdash
    contains -- -- (commandline -opc)
end
function __agentpipe_command_line
    set -l tokens (commandline -opc)
    set -l at (contains -i -- -- $tokens)
    set -l rest $tokens[(math $at + 1)..-1] (commandline -ct)
    complete -C (string join -- ' ' (string escape -- $rest))
end
complete -c agentpipe -n __agentpipe_after_dashdash -f -a '(__agentpipe_command_line)'
complete -c agentpipe -l report -r -a '-' -d 'agentpipe\'s stderr'
complete -c agentpipe -l trace -r -a '-' -d 'agentpipe\'s stderr'
