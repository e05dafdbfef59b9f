#!/usr/bin/env bash
# signals.sh HANGAR - what every signal a user may send does to `hangar run` (README.md,
# "Signals"): the stop signals shut down gracefully (exit 0, control socket removed), SIGQUIT
# kills (exit 1, socket removed), SIGUSR1/SIGUSR2 are logged and ignored, SIGPIPE, SIGWINCH,
# SIGURG, SIGCHLD, SIGXFSZ are ignored, SIGTSTP/SIGCONT are job control. TAP on stdout; every
# host started here is stopped by its PID.
set -u
HANGAR=$1
TMP=$(mktemp -d /tmp/hg-sig-XXXXXX) || exit 1
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
n=0
failed=0
echo "TAP version 13"
. "$(dirname "$0")/../tap.sh" # check
# Waits (bounded) until FILE has a line matching PATTERN.
wait_log() { # FILE PATTERN
    for _ in $(seq 1 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
# Starts a host on $TMP/h.yaml; sets pid.
start() {
    rm -f "$TMP/run.out" "$TMP/run.err"
    "$HANGAR" run "$TMP/h.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    wait_log "$TMP/run.err" 'running 1 engine'
}
# Waits for the host at most 10 s (then kills it by its PID); sets st.
finish() {
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid"
    st=$?
    pid=
}
# The host answers on its control socket (bash's own /dev/tcp cannot do Unix sockets: the echo
# port answers instead, a byte echoed back).
answers() {
    local addr port echoed=
    addr=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$TMP/run.err" | head -n 1)
    port=${addr##*:}
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf x >&3 && read -r -n 1 -t 5 echoed <&3
    exec 3>&-
    [ "$echoed" = x ]
}

cat >"$TMP/h.yaml" <<YAML
hangar: 1
control: { socket: $TMP/h.sock, shutdown_timeout: 2s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML

# Signals that change nothing: one host takes them all, then still serves.
start
check $? "a host runs" "$TMP/run.err"
for sig in USR1 USR2; do
    kill -"$sig" "$pid"
    wait_log "$TMP/run.err" "warn  host: SIG$sig: ignored"
    check $? "SIG$sig is logged as ignored" "$TMP/run.err"
    kill -0 "$pid" 2>/dev/null && answers
    check $? "  and the host runs on and serves" "$TMP/run.err"
done
for sig in PIPE WINCH URG CHLD XFSZ; do
    kill -"$sig" "$pid"
    sleep 0.1 # a signal that ended the process would have done so by now
    kill -0 "$pid" 2>/dev/null && answers
    check $? "SIG$sig is ignored: the host runs on and serves" "$TMP/run.err"
done
kill -TSTP "$pid"
kill -CONT "$pid"
kill -0 "$pid" 2>/dev/null && answers
check $? "SIGTSTP then SIGCONT: the host runs on and serves" "$TMP/run.err"
kill -TERM "$pid"
finish
[ "$st" -eq 0 ] && [ ! -e "$TMP/h.sock" ]
check $? "and SIGTERM still stops it gracefully: exit 0 (got $st), the control socket removed" "$TMP/run.err"

# Signals that stop the host gracefully: exit 0, the socket removed, the signal named.
for sig in INT TERM ALRM VTALRM PROF XCPU PWR IO RTMIN RTMAX-1; do
    start
    kill -"$sig" "$pid"
    finish
    [ "$st" -eq 0 ] && [ ! -e "$TMP/h.sock" ] && grep -q "^hangar: .*: shutting down (again to kill)" "$TMP/run.err"
    check $? "SIG$sig shuts down gracefully: exit 0 (got $st), the control socket removed" "$TMP/run.err"
done

# SIGHUP reloads: the host serves on, and says so.
start
kill -HUP "$pid"
wait_log "$TMP/run.err" 'reload 1 of'
kill -0 "$pid" 2>/dev/null && answers && ! grep -q "shutting down" "$TMP/run.err"
check $? "SIGHUP reloads the configuration; the host serves on" "$TMP/run.err"
kill -TERM "$pid"
finish
[ "$st" -eq 0 ] && [ ! -e "$TMP/h.sock" ]
check $? "  and SIGTERM stops it, exit 0 (got $st)" "$TMP/run.err"

# Under nohup (SIGHUP ignored when run starts), SIGHUP stays ignored.
rm -f "$TMP/run.out" "$TMP/run.err"
(trap '' HUP; exec "$HANGAR" run "$TMP/h.yaml") >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
wait_log "$TMP/run.err" 'running 1 engine'
kill -HUP "$pid"
sleep 0.2 # a SIGHUP taken would have logged its reload by now
kill -0 "$pid" 2>/dev/null && answers && ! grep -q "shutting down\|SIGHUP" "$TMP/run.err"
check $? "started with SIGHUP ignored (nohup), SIGHUP stays ignored: the host serves on" "$TMP/run.err"
kill -TERM "$pid"
finish
[ "$st" -eq 0 ]
check $? "  and SIGTERM stops it, exit 0 (got $st)" "$TMP/run.err"

# SIGQUIT kills at once: every engine stopped now, exit 1, the socket still removed.
start
kill -QUIT "$pid"
finish
[ "$st" -eq 1 ] && [ ! -e "$TMP/h.sock" ] && grep -q "^hangar: Quit: killing" "$TMP/run.err"
check $? "SIGQUIT kills: exit 1 (got $st), the control socket removed, said on stderr" "$TMP/run.err"

# SIGTERM, then SIGQUIT during the graceful stop: the kill ends it at once.
# An engine that ignores the graceful stop holds it for its 20 s (an idle echo client would
# not: echo closes idle connections at a graceful stop).
cat >"$TMP/slow.yaml" <<YAML
hangar: 1
control: { socket: $TMP/h.sock, shutdown_timeout: 20s }
pipelines:
  - { name: slow, engine: fixture-oneshot, hold: true, ignore_graceful: true }
YAML
rm -f "$TMP/run.out" "$TMP/run.err"
HANGAR_PLUGIN_PATH=$(dirname "$(dirname "$HANGAR")")/tests/plugins/good \
    "$HANGAR" run "$TMP/slow.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
wait_log "$TMP/run.err" 'running 1 engine'
kill -TERM "$pid"
wait_log "$TMP/run.err" "shutting down"
kill -QUIT "$pid"
finish
[ "$st" -eq 1 ] && [ ! -e "$TMP/h.sock" ]
check $? "SIGQUIT during a graceful stop kills at once: exit 1 (got $st)" "$TMP/run.err"

echo "1..$n"
exit $failed
