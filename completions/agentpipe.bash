_agentpipe() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="agentpipe"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        agentpipe)
            opts="-k -s -v -q -h -V --wait --grace --eof-grace --kill-after --term-grace --signal --sequence --stop-command --timeout --idle-timeout --output-idle-timeout --preserve-status --end-with-parent --drain --stderr --stderr-tail --foreground --pty --scope --report --trace --trace-format --trace-limit --protocol --response-timeout --verbose --quiet --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --wait)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --grace)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --eof-grace)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --term-grace)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --kill-after)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                -k)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --signal)
                    COMPREPLY=($(compgen -W "TERM INT HUP QUIT USR1 USR2 ALRM KILL ABRT PIPE WINCH XCPU VTALRM PROF" -- "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -W "TERM INT HUP QUIT USR1 USR2 ALRM KILL ABRT PIPE WINCH XCPU VTALRM PROF" -- "${cur}"))
                    return 0
                    ;;
                --sequence)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stop-command)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --idle-timeout)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --output-idle-timeout)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --drain)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                --stderr)
                    COMPREPLY=($(compgen -W "inherit null -" -- "${cur}"))
                    return 0
                    ;;
                --stderr-tail)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scope)
                    COMPREPLY=($(compgen -W "child group tree cgroup" -- "${cur}"))
                    return 0
                    ;;
                --report)
                    COMPREPLY=($(compgen -W "-" -- "${cur}"))
                    return 0
                    ;;
                --trace)
                    COMPREPLY=($(compgen -W "-" -- "${cur}"))
                    return 0
                    ;;
                --trace-format)
                    COMPREPLY=($(compgen -W "text hex jsonl" -- "${cur}"))
                    return 0
                    ;;
                --trace-limit)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --protocol)
                    COMPREPLY=($(compgen -W "mcp lsp" -- "${cur}"))
                    return 0
                    ;;
                --response-timeout)
                    COMPREPLY=($(compgen -W "0s 250ms 1s 5s 1m30s inf" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _agentpipe -o nosort -o bashdefault -o default agentpipe
else
    complete -F _agentpipe -o bashdefault -o default agentpipe
fi

_agentpipe_command_line() {
    local i cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            if declare -F _command_offset >/dev/null; then
                _command_offset $((i + 1))
            elif ((COMP_CWORD == i + 1)); then
                COMPREPLY=($(compgen -c -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return 0
        fi
    done
    if [[ $prev == -s || $prev == --signal ]]; then
        cur="${cur^^}"
    fi
    _agentpipe "$1" "$cur" "$3"
}
complete -F _agentpipe_command_line -o bashdefault -o default agentpipe
