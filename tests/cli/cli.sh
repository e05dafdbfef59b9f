#!/usr/bin/env bash
# cli.sh HANGAR SRCDIR - the command line's conventions (help, version, exit codes, stderr) and
# `hangar run`'s signal handling: SIGTERM is a graceful shutdown within control.shutdown_timeout,
# a second signal kills; exit statuses (a shutdown that overran, engines that all failed); the
# control socket through python3 or socat. TAP on stdout. Every process started here is stopped
# by its PID.
set -u
HANGAR=$1
SRC=$2
TMP=$(mktemp -d /tmp/hg-cli-XXXXXX) || exit 1
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    exec 3>&- 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
n=0
failed=0
echo "TAP version 13"
check() { # STATUS DESCRIPTION [FILE to show on failure]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        failed=1
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 20
    fi
}
ms() { date +%s%3N; }
# Waits (bounded) until FILE contains PATTERN; prints the match.
wait_log() {
    local m
    for _ in $(seq 1 100); do
        m=$(grep -o "$2" "$1" 2>/dev/null | head -n 1)
        [ -n "$m" ] && { echo "$m"; return 0; }
        sleep 0.05
    done
    return 1
}

"$HANGAR" --help >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && grep -q '^usage: hangar' "$TMP/out" && [ ! -s "$TMP/err" ]
check $? "--help prints the usage on stdout and exits 0" "$TMP/out"

"$HANGAR" --version >"$TMP/out" 2>&1
grep -Eq '^hangar [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI 1\.[0-9]+\)$' "$TMP/out"
check $? "--version names the version and the plugin ABI" "$TMP/out"

"$HANGAR" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && [ ! -s "$TMP/out" ] && grep -q usage "$TMP/err"
check $? "no command is a usage error: exit 2, usage on stderr" "$TMP/err"

"$HANGAR" frobnicate >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "unknown command 'frobnicate'" "$TMP/err"
check $? "an unknown command exits 2 and names it" "$TMP/err"

"$HANGAR" check >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "usage: hangar check" "$TMP/err"
check $? "check without a file is a usage error" "$TMP/err"

"$HANGAR" run --frob >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "unknown option '--frob'" "$TMP/err"
check $? "an unknown option exits 2 and names it" "$TMP/err"

cat >"$TMP/echo.yaml" <<'YAML'
hangar: 1
control: { shutdown_timeout: 2s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML
"$HANGAR" check "$TMP/echo.yaml" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && grep -q ": ok" "$TMP/out"
check $? "check of a good file exits 0" "$TMP/err"

"$HANGAR" check "$TMP/echo.yaml" --set pipelines.echo.listen=nowhere >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && [ ! -s "$TMP/out" ] && grep -q "^--set pipelines.echo.listen: echo: bad address 'nowhere'" "$TMP/err"
check $? "check with a bad --set value exits 2 naming the override on stderr" "$TMP/err"

HANGAR_LOG=debug "$HANGAR" check "$TMP/echo.yaml" >/dev/null 2>"$TMP/err"
grep -q " debug " "$TMP/err"
check $? "HANGAR_LOG=debug turns on debug lines" "$TMP/err"

# SIGTERM with nothing in flight: graceful, quick, exit 0.
rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
"$HANGAR" run "$TMP/echo.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
pids+=("$pid")
addr=$(wait_log "$TMP/run.err" 'listening on 127\.0\.0\.1:[0-9]*')
[ -n "$addr" ]
check $? "run logs the address a port-0 listener got" "$TMP/run.err"
t0=$(ms)
kill -TERM "$pid"
wait "$pid"
st=$?
t1=$(ms)
[ "$st" -eq 0 ] && [ $((t1 - t0)) -lt 2000 ]
check $? "SIGTERM shuts down gracefully: exit 0 in $((t1 - t0)) ms" "$TMP/run.err"

# An idle client keeps echo busy: the first SIGTERM waits (bounded), a second one kills.
sed -i 's/shutdown_timeout: 2s/shutdown_timeout: 20s/' "$TMP/echo.yaml"
rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
"$HANGAR" run "$TMP/echo.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
pids+=("$pid")
addr=$(wait_log "$TMP/run.err" 'listening on 127\.0\.0\.1:[0-9]*')
port=${addr##*:}
exec 3<>"/dev/tcp/127.0.0.1/$port"
check $? "a client connects to the listener"
# one echoed byte: the pipeline has accepted the connection, not only the kernel
printf x >&3 && read -r -n 1 -t 5 echoed <&3
[ "${echoed:-}" = x ]
check $? "and gets its byte echoed"
t0=$(ms)
kill -TERM "$pid"
sleep 0.3
kill -0 "$pid" 2>/dev/null
check $? "the first SIGTERM waits for the open connection"
kill -TERM "$pid"
wait "$pid"
st=$?
t1=$(ms)
[ "$st" -eq 1 ] && [ $((t1 - t0)) -lt 5000 ]
check $? "a second SIGTERM kills: exit 1 after $((t1 - t0)) ms, far under the 20 s bound" "$TMP/run.err"
grep -q "again: killing" "$TMP/run.err"
check $? "and says so on stderr" "$TMP/run.err"
exec 3>&-

# With --until-done, run ends when the generator does and prints its summary.
cat >"$TMP/gen.yaml" <<'YAML'
hangar: 1
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 2, requests: 200 }
YAML
timeout 20 "$HANGAR" -q run "$TMP/gen.yaml" --until-done >"$TMP/run.out" 2>"$TMP/run.err"
[ $? -eq 0 ] && grep -q "== load (tcp-gen)" "$TMP/run.out" && ! grep -q " info " "$TMP/run.err"
check $? "run --until-done ends with the generator and prints its summary; -q hides info lines" "$TMP/run.out"

timeout 20 "$HANGAR" run "$TMP/gen.yaml" --until-done --json >"$TMP/run.out" 2>/dev/null
grep -q '^{"name":"load","summary":{' "$TMP/run.out"
check $? "run --json prints the summary as one JSON object per pipeline" "$TMP/run.out"

# Floats print with at most 15 significant digits (0.397411, not 0.39741100000000001).
grep -oE '[0-9]+\.[0-9]+(e[-+]?[0-9]+)?' "$TMP/run.out" | sed 's/e.*//; s/\.//; s/^0*//' >"$TMP/floats"
[ -s "$TMP/floats" ] && ! awk 'length($0) > 15 { bad = 1 } END { exit !bad }' "$TMP/floats"
check $? "run --json prints its floats with 15 significant digits at most" "$TMP/run.out"

HANGAR_LOG=bogus "$HANGAR" check "$TMP/gen.yaml" >"$TMP/out" 2>"$TMP/err"
st=$?
[ "$st" -eq 0 ] && [ "$(grep -c . "$TMP/err")" -eq 1 ] &&
    grep -qx "hangar: HANGAR_LOG='bogus' is not a log level (error, warn, info, debug, trace); using info" "$TMP/err"
check $? "HANGAR_LOG=bogus is warned about once on stderr, and the command goes on" "$TMP/err"

# Every engine failed to start (its port is taken): nothing runs, so run exits 1 at once.
"$HANGAR" run "$TMP/echo.yaml" >"$TMP/busy.out" 2>"$TMP/busy.err" &
busy=$!
pids+=("$busy")
addr=$(wait_log "$TMP/busy.err" 'listening on 127\.0\.0\.1:[0-9]*')
addr=${addr#listening on }
timeout 10 "$HANGAR" run "$TMP/gen.yaml" --set "pipelines.echo.listen=$addr" >"$TMP/run.out" 2>"$TMP/run.err"
st=$?
[ "$st" -eq 1 ] && grep -q "^hangar: nothing runs: every engine failed" "$TMP/run.err" && [ ! -s "$TMP/run.out" ]
check $? "when every engine fails to start, run says nothing runs and exits 1 (got $st), no summary" "$TMP/run.err"

# Some failed, others run: run goes on, says so, and exits 1 at the end.
cat >"$TMP/two.yaml" <<'YAML'
hangar: 1
pipelines:
  - { name: taken, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: free, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML
rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
"$HANGAR" run "$TMP/two.yaml" --set "pipelines.taken.listen=$addr" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
pids+=("$pid")
wait_log "$TMP/run.err" 'running 1 engine, the others failed to start' >/dev/null
check $? "when some engines fail to start, run goes on with the others" "$TMP/run.err"
kill -TERM "$pid"
wait "$pid"
check $(($? != 1)) "and exits 1 when stopped" "$TMP/run.err"
kill -TERM "$busy"
wait "$busy"

# The control socket, through a client that sends its text, shuts down its side and prints
# what comes back (python3, or socat).
ctl() { # SOCKET TEXT
    if command -v python3 >/dev/null; then
        python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
' "$1" "$2"
    else
        printf '%s' "$2" | socat -t 15 - "UNIX-CONNECT:$1"
    fi
}
if ! command -v python3 >/dev/null && ! command -v socat >/dev/null; then
    n=$((n + 1))
    echo "ok $n # SKIP control socket tests: neither python3 nor socat is installed"
else
    cat >"$TMP/ctl.yaml" <<YAML
hangar: 1
control: { socket: $TMP/ctl.sock, shutdown_timeout: 1s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 2, duration: 60s }
YAML
    # A second host on the same socket is refused, and prints no summary of a run that never was.
    rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
    "$HANGAR" run "$TMP/ctl.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    pids+=("$pid")
    wait_log "$TMP/run.err" 'running 2 engines' >/dev/null
    timeout 10 "$HANGAR" run "$TMP/ctl.yaml" >"$TMP/two.out" 2>"$TMP/two.err"
    st=$?
    [ "$st" -eq 1 ] && grep -q "in use by another running host" "$TMP/two.err" && [ ! -s "$TMP/two.out" ]
    check $? "a host refused its busy control socket exits 1 (got $st) and prints no summary" "$TMP/two.out"

    # A last line without a newline is still answered.
    reply=$(ctl "$TMP/ctl.sock" 'state echo')
    [ "$reply" = '{"ok":true,"name":"echo","state":"running","error":null}' ]
    check $? "the control socket answers a last line that has no newline (got '$reply')"

    # --until-done: a generator stopped by a command is done.
    kill -TERM "$pid"
    wait "$pid"
    rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
    "$HANGAR" run "$TMP/ctl.yaml" --until-done >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    pids+=("$pid")
    wait_log "$TMP/run.err" 'running 2 engines' >/dev/null
    reply=$(ctl "$TMP/ctl.sock" $'stop load\n')
    ended=0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { ended=1; break; }
        sleep 0.05
    done
    [ "$ended" -eq 1 ] || kill -TERM "$pid"
    wait "$pid"
    st=$?
    [ "$ended" -eq 1 ] && [ "$st" -eq 0 ] && grep -q "== load (tcp-gen)" "$TMP/run.out"
    check $? "run --until-done ends by itself once \`stop load\` stopped the generator (exit $st, $reply)" "$TMP/run.err"

    # A shutdown that overran control.shutdown_timeout exits 1, whoever asked for it.
    sed -i '/name: load/d' "$TMP/ctl.yaml"
    for how in command SIGTERM; do
        rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
        "$HANGAR" run "$TMP/ctl.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
        pid=$!
        pids+=("$pid")
        addr=$(wait_log "$TMP/run.err" 'listening on 127\.0\.0\.1:[0-9]*')
        exec 3<>"/dev/tcp/127.0.0.1/${addr##*:}"
        # wait until echo has accepted it (not just the kernel), or there is nothing to cut
        for _ in $(seq 1 100); do
            ctl "$TMP/ctl.sock" $'counters echo\n' | grep -q '"connections_open":1' && break
            sleep 0.05
        done
        if [ "$how" = command ]; then
            reply=$(ctl "$TMP/ctl.sock" $'shutdown\n')
        else
            kill -TERM "$pid"
            reply=signal
        fi
        wait "$pid"
        st=$?
        exec 3>&-
        [ "$st" -eq 1 ] && grep -q "did not stop within 1s" "$TMP/run.err" &&
            { [ "$how" = SIGTERM ] || [ "$reply" = '{"ok":true,"cut":1,"not_stopped":["echo"]}' ]; }
        check $? "a shutdown by $how that overran shutdown_timeout exits 1 (got $st, $reply)" "$TMP/run.err"
    done
fi

# A failed engine command's own message reaches the reply (the fixture plugin's `fail` verb).
FIXTURES=$(dirname "$(dirname "$HANGAR")")/tests/plugins/good
if [ -f "$FIXTURES/fixture-good.so" ]; then
    cat >"$TMP/fail.lua" <<'LUA'
local h = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: one, engine: fixture-oneshot, runs: 3 }
]] }
is_deeply(h:command('call one "fail"'),
          { ok = false, code = "EINVAL", error = "'one': asked to fail after 3 run(s)" },
          "a failed engine command's message is the error")
is(h:command('call one "nosuch"').error, "'one' does not know this verb",
   "a verb the engine does not know, without a message, says so")
done_testing()
LUA
    HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" scenario "$TMP/fail.lua" >"$TMP/run.out" 2>&1
    check $? "call: an engine's error message is the reply's error" "$TMP/run.out"
else
    n=$((n + 1))
    echo "ok $n # SKIP call error messages: $FIXTURES/fixture-good.so is not built"
fi

echo "1..$n"
exit $failed
