
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'agentpipe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'agentpipe'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'agentpipe' {
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long the first step waits for the command to exit on its own, its stdin still open, when a signal, --timeout or a closed stdout starts the sequence')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'How long the command may take to exit after its stdin is closed, before it is signalled')
            [CompletionResult]::new('--eof-grace', '--eof-grace', [CompletionResultType]::ParameterName, 'The --grace to use when agentpipe''s own stdin ended. `inf` makes the end of input a plain half-close: the command runs on until it exits or another trigger comes (pipeline stages, git over ssh). Default: the value of --grace')
            [CompletionResult]::new('--term-grace', '--term-grace', [CompletionResultType]::ParameterName, 'How long the command may take to exit after the stop signal, before SIGKILL. Also how long processes left in the scope after the command exits have before SIGKILL')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The stop signal: a name or number (TERM, SIGTERM, int, 15)')
            [CompletionResult]::new('--signal', '--signal', [CompletionResultType]::ParameterName, 'The stop signal: a name or number (TERM, SIGTERM, int, 15)')
            [CompletionResult]::new('--sequence', '--sequence', [CompletionResultType]::ParameterName, 'The whole close sequence, instead of --wait, --grace, --signal and --term-grace: comma-separated steps `wait D`, `stdin D` or `SIGNAL D`, ending with `KILL`. Example: ''stdin 5s, INT 2s, TERM 5s, KILL''')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Start the close sequence this long after the start (exit status 124, or 137 when SIGKILL was needed)')
            [CompletionResult]::new('--drain', '--drain', [CompletionResultType]::ParameterName, 'How long output that still arrives after the command exited (from a process it started that holds its stdout) is relayed. Output already written when it exited is always delivered')
            [CompletionResult]::new('--stderr', '--stderr', [CompletionResultType]::ParameterName, 'Where the command''s stderr goes: `inherit` (agentpipe''s stderr), `null`, or a file PATH, appended to')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'What the sequence''s signals reach and what may not outlive agentpipe: the command alone (`child`), its process group (`group`, the default), or every process it started, even those that left its group or were orphaned (`tree`, Linux only: daemons the command started, such as an ssh ControlPersist master, end with it)')
            [CompletionResult]::new('--preserve-status', '--preserve-status', [CompletionResultType]::ParameterName, 'With --timeout, exit with the command''s own status instead of 124 or 137')
            [CompletionResult]::new('--foreground', '--foreground', [CompletionResultType]::ParameterName, 'Keep the command in agentpipe''s process group, so that it can use the terminal (it then gets the terminal''s Ctrl-C itself). Implies --scope child')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print a timeline of what happens, and what comes next, on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print a timeline of what happens, and what comes next, on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
