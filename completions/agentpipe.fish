complete -c agentpipe -l wait -d 'How long the first step waits for the command to exit on its own, its stdin still open, when a signal, --timeout or a closed stdout starts the sequence' -r
complete -c agentpipe -l grace -d 'How long the command may take to exit after its stdin is closed, before it is signalled' -r
complete -c agentpipe -l eof-grace -d 'The --grace to use when agentpipe\'s own stdin ended. `inf` makes the end of input a plain half-close: the command runs on until it exits or another trigger comes (pipeline stages, git over ssh). Default: the value of --grace' -r
complete -c agentpipe -l term-grace -d 'How long the command may take to exit after the stop signal, before SIGKILL. Also how long processes left in the scope after the command exits have before SIGKILL' -r
complete -c agentpipe -s s -l signal -d 'The stop signal: a name or number (TERM, SIGTERM, int, 15)' -r
complete -c agentpipe -l sequence -d 'The whole close sequence, instead of --wait, --grace, --signal and --term-grace: comma-separated steps `wait D`, `stdin D` or `SIGNAL D`, ending with `KILL`. Example: \'stdin 5s, INT 2s, TERM 5s, KILL\'' -r
complete -c agentpipe -l timeout -d 'Start the close sequence this long after the start (exit status 124, or 137 when SIGKILL was needed)' -r
complete -c agentpipe -l drain -d 'How long output that still arrives after the command exited (from a process it started that holds its stdout) is relayed. Output already written when it exited is always delivered' -r
complete -c agentpipe -l stderr -d 'Where the command\'s stderr goes: `inherit` (agentpipe\'s stderr), `null`, or a file PATH, appended to' -r
complete -c agentpipe -l scope -d 'What the sequence\'s signals reach and what may not outlive agentpipe: the command alone (`child`), its process group (`group`, the default), or every process it started, even those that left its group or were orphaned (`tree`, Linux only: daemons the command started, such as an ssh ControlPersist master, end with it)' -r -f -a "child\t'The command alone'
group\t'The command\'s process group'
tree\t'Every descendant of the command (Linux)'"
complete -c agentpipe -l preserve-status -d 'With --timeout, exit with the command\'s own status instead of 124 or 137'
complete -c agentpipe -l foreground -d 'Keep the command in agentpipe\'s process group, so that it can use the terminal (it then gets the terminal\'s Ctrl-C itself). Implies --scope child'
complete -c agentpipe -s v -l verbose -d 'Print a timeline of what happens, and what comes next, on stderr'
complete -c agentpipe -s h -l help -d 'Print help (see more with \'--help\')'
complete -c agentpipe -s V -l version -d 'Print version'
