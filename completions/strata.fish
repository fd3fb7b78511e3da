# fish completion for strata. Thin: `strata __complete WORDS...` answers in
# cobra's protocol (`value<TAB>description` lines, then `:directive`).
# Install: strata completion fish > ~/.config/fish/completions/strata.fish
function __strata_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)

    # after `--`: the inner command's own completion (strata run STACK -- CMD...)
    if set -l i (contains -i -- -- $tokens)
        set -l inner $tokens
        set -e inner[1..$i]
        complete -C (string join ' ' -- (string escape -- $inner) $cur)
        return
    end

    set -l out ($tokens[1] __complete $tokens[2..-1] $cur 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    string match -qr '^[0-9]+$' -- $directive; or return
    set -e out[-1]

    test (math "bitand($directive, 1)") -ne 0; and return
    if test (math "bitand($directive, 16)") -ne 0
        __fish_complete_directories $cur
        return
    end
    if test (math "bitand($directive, 8)") -ne 0
        __fish_complete_suffix .$out
        return
    end
    if test (count $out) -eq 0
        test (math "bitand($directive, 4)") -eq 0; and __fish_complete_path $cur
        return
    end
    printf '%s\n' $out
end

complete -c strata -f -a '(__strata_complete)'
