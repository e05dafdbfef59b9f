# tap.sh - the TAP helper the shell tests source: check STATUS DESCRIPTION [FILE] prints
# "ok N - DESCRIPTION" or "not ok N - ..." (with the last 20 lines of FILE as diagnostics) and
# sets failed=1 on a failure. The caller sets n=0 and failed=0 and prints the plan at the end.
check() { # STATUS DESCRIPTION [FILE to show on failure]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        failed=1
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 20
    fi
}
