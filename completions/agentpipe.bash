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
            opts="-k -s -v -q -h -V --wait --grace --eof-grace --kill-after --term-grace --signal --sequence --stop-command --timeout --idle-timeout --output-idle-timeout --preserve-status --end-with-parent --drain --stderr --stderr-tail --foreground --forward --pty --scope --report --trace --trace-format --trace-limit --protocol --response-timeout --verbose --quiet --help --version"
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
                    COMPREPLY=($(compgen -W "4k 64k 1M" -- "${cur}"))
                    return 0
                    ;;
                --forward)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scope)
                    COMPREPLY=($(compgen -W "child group tree cgroup" -- "${cur}"))
                    return 0
                    ;;
                --report)
                    local oldifs
                    if [ -n "${IFS+x}" ]; then
                        oldifs="$IFS"
                    fi
                    IFS=$'\n'
                    COMPREPLY=($(compgen -f "${cur}"))
                    if [ -n "${oldifs+x}" ]; then
                        IFS="$oldifs"
                    fi
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o filenames
                    fi
                    return 0
                    ;;
                --trace)
                    local oldifs
                    if [ -n "${IFS+x}" ]; then
                        oldifs="$IFS"
                    fi
                    IFS=$'\n'
                    COMPREPLY=($(compgen -f "${cur}"))
                    if [ -n "${oldifs+x}" ]; then
                        IFS="$oldifs"
                    fi
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o filenames
                    fi
                    return 0
                    ;;
                --trace-format)
                    COMPREPLY=($(compgen -W "text hex jsonl" -- "${cur}"))
                    return 0
                    ;;
                --trace-limit)
                    COMPREPLY=($(compgen -W "1M 64M 1G" -- "${cur}"))
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
    if ((COMP_CWORD > 1)) && [[ -z $cur && " --wait --grace --eof-grace --term-grace --kill-after -k --signal -s --sequence --stop-command --timeout --idle-timeout --output-idle-timeout --drain --stderr --stderr-tail --forward --scope --report --trace --trace-format --trace-limit --protocol --response-timeout " != *" $prev "* ]]; then
        COMPREPLY=($(compgen -c -- "$cur"))
        return 0
    fi
    _agentpipe "$1" "$cur" "$3"
    case $prev in
        --report|--trace)
            [[ - == "$cur"* ]] && COMPREPLY+=(-)
            ;;
    esac
    if [[ " --wait --grace --eof-grace --term-grace --kill-after -k --signal -s --timeout --idle-timeout --output-idle-timeout --preserve-status --end-with-parent --drain --stderr --stderr-tail --foreground --pty --scope --trace-format --trace-limit --protocol --response-timeout --verbose -v --quiet -q " == *" $prev "* ]]; then
        compopt +o default +o bashdefault 2>/dev/null
    fi
}
complete -F _agentpipe_command_line -o bashdefault -o default agentpipe
