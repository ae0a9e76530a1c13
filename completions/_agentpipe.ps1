
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
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long step 1 waits for the command to exit on its own, its stdin still open')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'How long step 2 waits after closing the command''s stdin, before the stop signal')
            [CompletionResult]::new('--eof-grace', '--eof-grace', [CompletionResultType]::ParameterName, 'Step 2''s wait when the end of agentpipe''s stdin starts the sequence [default: --grace]')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'How long step 3 waits after the stop signal, before SIGKILL (-k, --kill-after: GNU timeout''s name)')
            [CompletionResult]::new('--term-grace', '--term-grace', [CompletionResultType]::ParameterName, 'How long step 3 waits after the stop signal, before SIGKILL (-k, --kill-after: GNU timeout''s name)')
            [CompletionResult]::new('--kill-after', '--kill-after', [CompletionResultType]::ParameterName, 'How long step 3 waits after the stop signal, before SIGKILL (-k, --kill-after: GNU timeout''s name)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The stop signal that step 3 sends')
            [CompletionResult]::new('--signal', '--signal', [CompletionResultType]::ParameterName, 'The stop signal that step 3 sends')
            [CompletionResult]::new('--sequence', '--sequence', [CompletionResultType]::ParameterName, 'The whole close sequence, instead of --wait, --grace, --signal and --term-grace')
            [CompletionResult]::new('--stop-command', '--stop-command', [CompletionResultType]::ParameterName, 'Run CMD as a step between closing stdin and the stop signal, to stop the command from outside')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Start the close sequence this long after agentpipe started: the stop signal comes --grace later')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Start the close sequence when no byte has moved either way for this long')
            [CompletionResult]::new('--output-idle-timeout', '--output-idle-timeout', [CompletionResultType]::ParameterName, 'Start the close sequence when the command has written no output for this long, even while its input still flows')
            [CompletionResult]::new('--drain', '--drain', [CompletionResultType]::ParameterName, 'How long output that arrives after the command exited is still relayed')
            [CompletionResult]::new('--stderr', '--stderr', [CompletionResultType]::ParameterName, 'Where the command''s stderr goes: inherit (or -), null, or a file [default: inherit; with --pty: the terminal]')
            [CompletionResult]::new('--stderr-tail', '--stderr-tail', [CompletionResultType]::ParameterName, 'Pass the command''s stderr through agentpipe, and put its last SIZE bytes in the report')
            [CompletionResult]::new('--forward', '--forward', [CompletionResultType]::ParameterName, 'Signals passed on to the command instead of starting the close sequence: SIG[,SIG...]')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'What the sequence''s signals reach, and what may not outlive agentpipe [default: group]')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write a JSON report of the run to PATH when agentpipe exits (-: stderr)')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'Record every chunk relayed each way, and every event, in a trace at PATH (-: stderr)')
            [CompletionResult]::new('--trace-format', '--trace-format', [CompletionResultType]::ParameterName, 'How --trace writes: text, hex or jsonl')
            [CompletionResult]::new('--trace-limit', '--trace-limit', [CompletionResultType]::ParameterName, 'The most bytes --trace writes; its last line then says that it stopped')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'Read the command''s stdio as JSON-RPC messages: mcp (one per line) or lsp (Content-Length headers, also DAP)')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'With --protocol: start the close sequence when a request has had no response for this long')
            [CompletionResult]::new('--preserve-status', '--preserve-status', [CompletionResultType]::ParameterName, 'With --timeout or an idle timeout, exit with the command''s own status instead of 124 or 137')
            [CompletionResult]::new('--end-with-parent', '--end-with-parent', [CompletionResultType]::ParameterName, 'Start the close sequence when agentpipe''s parent process exits (Linux, Windows)')
            [CompletionResult]::new('--foreground', '--foreground', [CompletionResultType]::ParameterName, 'Keep the command in agentpipe''s process group, so that it can use the terminal')
            [CompletionResult]::new('--pty', '--pty', [CompletionResultType]::ParameterName, 'Run the command on a pseudo-terminal of its own, as ssh -t or script(1) do')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print a timeline of what happens, and what comes next, on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print a timeline of what happens, and what comes next, on stderr')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Do not print agentpipe''s warnings, nor the line that says a signal was sent')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Do not print agentpipe''s warnings, nor the line that says a signal was sent')
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
