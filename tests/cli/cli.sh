#!/usr/bin/env bash
# cli.sh HANGAR SRCDIR - the command line's conventions (help, version, exit codes, stderr) and
# `hangar run`'s signal handling: SIGTERM is a graceful shutdown within control.shutdown_timeout,
# a second signal kills; exit statuses (a shutdown that overran, engines that all failed); the
# control socket through python3 or socat. TAP on stdout. Every process started here is stopped
# by its PID.
set -u
HANGAR=$1
SRC=$2
CHECKS=${3:-on} # on: a debug build, whose thread check aborts on a misplaced call
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
. "$(dirname "$0")/../tap.sh" # check
ms() { date +%s%3N; }
# Keeps a tcp-echo busy through fd 3 (connected to it): writes to it in the background and never
# reads, until the echo pauses and the writer blocks (seen twice in a row). A graceful stop closes
# idle connections at once; this one must wait. Sets wpid (killed by PID, also at exit).
stall_echo() {
    local seen=0
    head -c 256M /dev/zero >&3 2>/dev/null &
    wpid=$!
    pids+=("$wpid")
    for _ in $(seq 1 100); do
        if [ "$(cat "/proc/$wpid/wchan" 2>/dev/null)" = wait_woken ]; then
            seen=$((seen + 1))
            [ "$seen" -ge 2 ] && return 0
        else
            seen=0
        fi
        sleep 0.1
    done
    return 1
}
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
# Waits for PID at most SECONDS; past that kills it (-KILL, by its PID) so that a hang fails the
# test instead of the suite. Sets st to the exit status (137 after the kill).
wait_pid() {
    local end=$(($(ms) + $2 * 1000))
    while kill -0 "$1" 2>/dev/null && [ "$(ms)" -lt "$end" ]; do sleep 0.05; done
    kill -KILL "$1" 2>/dev/null
    wait "$1"
    st=$?
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

for cmd in run check plugins; do
    "$HANGAR" "$cmd" --help >"$TMP/out" 2>"$TMP/err"
    [ $? -eq 0 ] && grep -q "^usage: hangar $cmd" "$TMP/out" && [ ! -s "$TMP/err" ]
    check $? "$cmd --help prints its usage on stdout and exits 0" "$TMP/err"
done

# A config with no engines: run says there is nothing to run and exits 2 at once.
printf 'hangar: 1\n' >"$TMP/none.yaml"
timeout 10 "$HANGAR" run "$TMP/none.yaml" >"$TMP/out" 2>"$TMP/err"
st=$?
[ "$st" -eq 2 ] && grep -q "^hangar: nothing to run: .*none.yaml has no engines" "$TMP/err"
check $? "run of a config with no engines says nothing runs and exits 2 (got $st)" "$TMP/err"
"$HANGAR" check "$TMP/none.yaml" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && grep -q ": ok (0 instances: \`hangar run\` would have nothing to run)" "$TMP/out"
check $? "check passes it, noting that run would have nothing to run" "$TMP/out"

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

# A --set value that is not text is reported as such, not as a key missing from the file.
for v in '\xef\xbb\xbf|a byte-order mark (U+FEFF) at byte 1' \
         '127.0.0.1:0\xef\xbb\xbf|a byte-order mark (U+FEFF) at byte 12' \
         '\xff\xfe|not UTF-8 text (byte 1 is 0xFF)' '127.0.0.1:\xc0\xb0|not UTF-8 text (byte 11 is 0xC0)' \
         'a\x01b|the control character U+0001 at byte 2' '\xc2\x85|the control character U+0085 at byte 1'; do
    "$HANGAR" check "$TMP/echo.yaml" --set "pipelines.echo.listen=$(printf "${v%%|*}")" >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -eq 2 ] && [ "$(grep -c . "$TMP/err")" -eq 1 ] &&
        grep -q "^--set pipelines.echo.listen: the value .*${v#*|}" "$TMP/err"
    check $? "a --set value '${v%%|*}' is refused for what it is: ${v#*|} (exit $st)" "$TMP/err"
done

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

# SIGHUP reloads the file (tests/cli/reload.sh tests the reload itself); SIGTERM then stops.
rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
"$HANGAR" run "$TMP/echo.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
pids+=("$pid")
wait_log "$TMP/run.err" 'listening on 127\.0\.0\.1:[0-9]*' >/dev/null
kill -HUP "$pid"
wait_log "$TMP/run.err" 'reload 1 of' >/dev/null
kill -0 "$pid" 2>/dev/null && ! grep -q "shutting down" "$TMP/run.err"
check $? "SIGHUP reloads the configuration and the host runs on" "$TMP/run.err"
kill -TERM "$pid"
wait_pid "$pid" 10
[ "$st" -eq 0 ]
check $? "  and SIGTERM then stops it: exit 0 (got $st)" "$TMP/run.err"

# A client that does not read keeps echo busy: the first SIGTERM waits (bounded), a second one
# kills.
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
[ "${echoed:-}" = x ] && stall_echo
check $? "and gets its byte echoed, then fills the echo without reading"
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
kill -KILL "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
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

# A graph beside the generator: run's closing report has a "== graph" part with each
# processor's counters and the accounting, taken before the shutdown drains the processors.
cat >"$TMP/graph.yaml" <<YAML
hangar: 1
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 2, duration: 1s }
graph:
  processors:
    - { name: g, engine: gen, mode: continuous, count: 1000 }
    - { name: s, engine: count-sink }
  links:
    - { from: g.out, to: s.in }
YAML
timeout 20 "$HANGAR" -q run "$TMP/graph.yaml" --until-done >"$TMP/run.out" 2>"$TMP/run.err"
[ $? -eq 0 ] && grep -q "^== graph$" "$TMP/run.out" &&
    grep -qE "^  s +count-sink +stopped +.*frames 1000 .*gaps 0" "$TMP/run.out" &&
    grep -qE "^  accounted +1000 pushed = 1000 delivered \+ 0 dropped \+ 0 queued$" "$TMP/run.out"
check $? "run prints the graph's processors with their counters and its accounting" "$TMP/run.out"
timeout 20 "$HANGAR" -q run "$TMP/graph.yaml" --until-done --json >"$TMP/run.out" 2>/dev/null
grep -q '^{"name":"graph","summary":{"accounted":{' "$TMP/run.out"
check $? "run --json prints the graph's part as one JSON object" "$TMP/run.out"

# The built-in default run (no file) has a small graph beside echo and its generator.
timeout 30 "$HANGAR" -q run >"$TMP/run.out" 2>"$TMP/run.err"
[ $? -eq 0 ] && grep -q "^== load (tcp-gen)$" "$TMP/run.out" && grep -q "^== graph$" "$TMP/run.out" &&
    grep -qE "^  counted +count-sink +[a-z]+ +.*frames [0-9]+" "$TMP/run.out"
check $? "the default run prints the generator's summary and what its graph counted" "$TMP/run.out"

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
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(sys.argv[1])
s.sendall(os.fsencode(sys.argv[2]))
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
    # a run stopped before its first answer would fail (exit 1): let one come back first
    for _ in $(seq 1 100); do
        ctl "$TMP/ctl.sock" 'counters load' | grep -q '"responses":[1-9]' && break
        sleep 0.05
    done
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
        stall_echo # busy: a graceful stop waits for it
        if [ "$how" = command ]; then
            reply=$(ctl "$TMP/ctl.sock" $'shutdown\n')
        else
            kill -TERM "$pid"
            reply=signal
        fi
        wait "$pid"
        st=$?
        kill -KILL "$wpid" 2>/dev/null
        wait "$wpid" 2>/dev/null
        exec 3>&-
        [ "$st" -eq 1 ] && grep -q "did not stop within 1s" "$TMP/run.err" &&
            { [ "$how" = SIGTERM ] || [ "$reply" = '{"ok":true,"cut":1,"not_stopped":["echo"]}' ]; }
        check $? "a shutdown by $how that overran shutdown_timeout exits 1 (got $st, $reply)" "$TMP/run.err"
    done

    # `kill` is not a clean stop: run exits 1, as after a second signal.
    rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
    "$HANGAR" run "$TMP/ctl.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    pids+=("$pid")
    wait_log "$TMP/run.err" 'listening on 127\.0\.0\.1:[0-9]*' >/dev/null
    reply=$(ctl "$TMP/ctl.sock" $'kill\n')
    wait_pid "$pid" 10
    [ "$st" -eq 1 ] && [ "$reply" = '{"ok":true}' ]
    check $? "a \`kill\` command ends run with exit 1 (got $st, $reply)" "$TMP/run.err"

    # The JSON form takes the instance as "name" for every verb, and a line that is not UTF-8
    # is EINVAL, not an unknown command.
    rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
    "$HANGAR" run "$TMP/ctl.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    pids+=("$pid")
    wait_log "$TMP/run.err" 'listening on 127\.0\.0\.1:[0-9]*' >/dev/null
    reply=$(ctl "$TMP/ctl.sock" '{"cmd":"state","name":"echo"}')
    [ "$reply" = '{"ok":true,"name":"echo","state":"running","error":null}' ]
    check $? "the control socket's JSON form takes \"name\" ($reply)"
    reply=$(ctl "$TMP/ctl.sock" $'\xff\xfe state\n')
    [ "$reply" = '{"ok":false,"error":"the command is not valid UTF-8","code":"EINVAL"}' ]
    check $? "a line that is not UTF-8 is refused with EINVAL ($reply)"
    kill -TERM "$pid"
    wait_pid "$pid" 10
    check $(($st != 0)) "and that host stops with exit 0 (got $st)" "$TMP/run.err"
fi

# The fixture plugin (tests/plugins/good) drives the host's hostile cases.
FIXTURES=$(dirname "$(dirname "$HANGAR")")/tests/plugins/good
if [ ! -f "$FIXTURES/fixture-good.so" ]; then
    n=$((n + 1))
    echo "ok $n # SKIP engine commands and hostile engines: $FIXTURES/fixture-good.so is not built"
    echo "1..$n"
    exit $failed
fi

# plugins says which kinds this host runs, in text and JSON, and marks the engines it does not.
HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" plugins >"$TMP/out" 2>/dev/null
grep -qx "this host runs: runtime_mode, pipeline, connector, processor" "$TMP/out" &&
    ! grep -q "(this host does not run it yet)$" "$TMP/out"
check $? "plugins says which kinds this host runs: all four" "$TMP/out"
HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" plugins --json >"$TMP/out" 2>/dev/null
python3 - "$TMP/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
runs = {e["name"]: e["runs"] for p in d["plugins"] for e in p["engines"]}
ok = (d["runs"] == ["runtime_mode", "pipeline", "connector", "processor"] and d["not_yet"] == []
      and runs["fixture-ticker"] is True and runs["fixture-pass"] is True
      and runs["fixture-oneshot"] is True and runs["fixture-idle"] is True)
sys.exit(0 if ok else 1)
PY
check $? "plugins --json says it too: \"runs\", \"not_yet\", and \"runs\" per engine" "$TMP/out"
cat >"$TMP/conn.yaml" <<'YAML'
hangar: 1
connectors:
  - { name: tick, engine: fixture-ticker, streams: [ { name: t } ] }
YAML
HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" check "$TMP/conn.yaml" >/dev/null 2>"$TMP/err"
check $? "  and a config with a connector, a kind it runs, passes check, as plugins said" "$TMP/err"
# Plugin path safety: a search directory anyone may write (mode 0777) is refused with its path
# and mode, so is a plugin file anyone may write (0666); a sticky directory (1777, like /tmp)
# holding an owner-only plugin is used.
mkdir -p "$TMP/open" "$TMP/sticky" "$TMP/safe"
cp "$FIXTURES/fixture-good.so" "$TMP/open/" && cp "$FIXTURES/fixture-good.so" "$TMP/sticky/" &&
    cp "$FIXTURES/fixture-good.so" "$TMP/safe/"
chmod 0777 "$TMP/open"
chmod 1777 "$TMP/sticky"
chmod 0755 "$TMP/sticky/fixture-good.so"
chmod 0666 "$TMP/safe/fixture-good.so"
"$HANGAR" plugins --path "$TMP/open" >"$TMP/out" 2>"$TMP/err"
grep -qx "refused: $TMP/open: writable by others (mode 0777, no sticky bit); a plugin directory must be writable only by its owner (or sticky, like /tmp)" "$TMP/err" &&
    ! grep -q "$TMP/open" "$TMP/out"
check $? "plugins --path DIR: a mode-0777 directory is refused, naming it and its mode" "$TMP/err"
"$HANGAR" plugins --path "$TMP/safe" >"$TMP/out" 2>"$TMP/err"
grep -qx "refused: $TMP/safe/fixture-good.so: writable by others (mode 0666); a plugin must be writable only by its owner" "$TMP/err"
check $? "  a mode-0666 plugin file is refused, naming it and its mode" "$TMP/err"
"$HANGAR" plugins --path "$TMP/sticky" >"$TMP/out" 2>"$TMP/err"
grep -q "$TMP/sticky/fixture-good.so" "$TMP/out" && ! grep -q "$TMP/sticky" "$TMP/err"
check $? "  a sticky 1777 directory with a 0755 plugin is used" "$TMP/err"

# A failed engine command's own message reaches the reply (the fixture plugin's `fail` verb).
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

# Config getters after create: in a call, their error is the reply's (no stale list to write
# to). Replies are capped at 16 MiB.
cat >"$TMP/getters.lua" <<'LUA'
local h = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: hold, engine: fixture-oneshot, hold: true }
]] }
is_deeply(h:command('call hold {"verb":"count","n":"zz"}'),
          { ok = false, code = "ECONFIG", error = "'hold': 'n' must be an integer, got \"zz\"" },
          "a command failing on a badly typed argument answers with the getter's error")
is_deeply(h:command('call hold {"verb":"count","n":[1,2]}'),
          { ok = false, code = "ECONFIG", error = "'hold': 'n' must be an integer, got a list" },
          "  a list too")
is_deeply(h:command('call hold {"verb":"count","n":2,"scale":"x"}'), { ok = true, reply = { n = 2 } },
          "a getter error in a command that succeeds is dropped")
is(h:logged("scale"), 0, "  and not logged")
is_deeply(h:command('call hold {"verb":"count","n":3}'), { ok = true, reply = { n = 3 } },
          "the next call starts with no error left over")
is(#h:command('call hold {"verb":"big","bytes":100000}').reply, 99998,
   "a 100 kB reply comes whole")
is_deeply(h:command('call hold {"verb":"big","bytes":4294967000}'),
          { ok = false, code = "ENOSPC",
            error = "'hold': reply of 4294967000 bytes is over the 16 MiB limit" },
          "a 4 GB reply is refused without allocating it")
is(h:command('call hold {"verb":"big","bytes":16777217}').code, "ENOSPC",
   "one byte over 16 MiB is refused too")
is(h:state("hold"), "running", "the host serves on")
done_testing()
LUA
HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" scenario "$TMP/getters.lua" >"$TMP/run.out" 2>&1
check $? "config getters after create: errors in a call are their reply; replies capped" "$TMP/run.out"

# A [control-thread] service (cfg_root, then cfg_int) called from a thread the engine spawned:
# in a debug build the thread check stops the process, naming the service, the thread and the
# engine; in a release build the getter's error is a warning.
cat >"$TMP/offthread.yaml" <<'YAML'
hangar: 1
pipelines:
  - { name: hold, engine: fixture-oneshot, hold: true, late_int: zz }
YAML
if [ "$CHECKS" = on ]; then
    (ulimit -c 0; HANGAR_PLUGIN_PATH=$FIXTURES exec "$HANGAR" run "$TMP/offthread.yaml") \
        >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    pids+=("$pid")
    wait_pid "$pid" 10
    [ "$st" -eq 134 ] &&
        grep -q "^hangar: thread check: cfg_root called from thread hold by engine 'hold'; it is \[control-thread\] only$" "$TMP/run.err"
    check $? "a [control-thread] service called from an engine's thread aborts the process naming it (exit $st)" "$TMP/run.err"
else
    cat >"$TMP/offthread.lua" <<'LUA'
local h = hangar.start { config = arg[1] }
h:wait_for(function() return h:counters("hold").late_int ~= nil end, "5s")
is(h:counters("hold").late_int, "error", "a getter on the engine's thread after create fails")
h:log_like("^%[warn%] hold: .*'late_int' must be an integer, got \"zz\"$",
           "  and its error is logged as a warning")
done_testing()
LUA
    HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" scenario "$TMP/offthread.lua" "$TMP/offthread.yaml" >"$TMP/run.out" 2>&1
    check $? "release build (no thread check): a getter on an engine's thread fails with a warning" "$TMP/run.out"
fi

# Shutdown: a client that ignores stop(GRACEFUL) and holds a connection to echo is the one cut
# with stop(NOW) and named, not echo.
cat >"$TMP/blame.lua" <<'LUA'
local h = hangar.start { yaml = [[
hangar: 1
control: { shutdown_timeout: 1s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: client, engine: fixture-oneshot, hold: true, connect: echo, ignore_graceful: true }
]] }
h:wait_for(function()
    return h:counters("client").connected == "yes" and h:counters("echo").connections_open == 1
end, "5s")
local sd = h:command("shutdown")
is_deeply(sd.not_stopped, { "client" }, "the client that ignored graceful stop overran, not echo")
is(h:counters("client").stop, "now", "  and it was stopped with stop(NOW)")
is(h:counters("client").ended, nil, "  not left to end because echo cut its connection")
is(h:state("echo"), "stopped", "echo stopped gracefully once the client was cut")
done_testing()
LUA
HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" scenario "$TMP/blame.lua" >"$TMP/run.out" 2>&1
check $? "shutdown stops clients first and names the client that overran" "$TMP/run.out"

# An engine whose stop never returns: the first signal's shutdown is bounded by
# shutdown_timeout + 2 s, a second signal ends the process at once; both name the engine.
cat >"$TMP/hold.yaml" <<YAML
hangar: 1
control: { socket: $TMP/hold.sock, shutdown_timeout: 1s }
pipelines:
  - { name: hold, engine: fixture-oneshot, hold: true, block_stop: true }
YAML
for how in one two; do
    rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
    HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" run "$TMP/hold.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    pids+=("$pid")
    wait_log "$TMP/run.err" 'running 1 engine' >/dev/null
    t0=$(ms)
    kill -TERM "$pid"
    if [ "$how" = one ]; then
        wait_pid "$pid" 15
        t1=$(ms)
        [ "$st" -eq 1 ] && [ $((t1 - t0)) -ge 2900 ] && [ $((t1 - t0)) -lt 6000 ] &&
            grep -q "^hangar: engine 'hold' did not return from stop within [0-9.]*s" "$TMP/run.err"
        check $? "a stop that never returns: SIGTERM ends run after 1 s + 2 s, exit 1 (got $st after $((t1 - t0)) ms)" "$TMP/run.err"
    else
        sleep 0.3
        kill -TERM "$pid"
        wait_pid "$pid" 15
        t1=$(ms)
        [ "$st" -eq 1 ] && [ $((t1 - t0)) -lt 2500 ] &&
            grep -q "again: killing" "$TMP/run.err" &&
            grep -q "^hangar: engine 'hold' did not return from stop; exiting at once" "$TMP/run.err"
        check $? "a stop that never returns: a second SIGTERM ends run at once, exit 1 (got $st after $((t1 - t0)) ms)" "$TMP/run.err"
    fi
done

# A `shutdown` command stuck in that stop is bounded the same way, with no signal at all.
if command -v python3 >/dev/null || command -v socat >/dev/null; then
    rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
    HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" run "$TMP/hold.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    pids+=("$pid")
    wait_log "$TMP/run.err" 'running 1 engine' >/dev/null
    t0=$(ms)
    reply=$(ctl "$TMP/hold.sock" $'shutdown\n')
    wait_pid "$pid" 15
    t1=$(ms)
    [ "$st" -eq 1 ] && [ $((t1 - t0)) -ge 2900 ] && [ $((t1 - t0)) -lt 6000 ] &&
        grep -q "^hangar: engine 'hold' did not return from stop within" "$TMP/run.err"
    check $? "a \`shutdown\` command stuck in a stop ends run after 1 s + 2 s, exit 1 (got $st after $((t1 - t0)) ms)" "$TMP/run.err"
fi

# An engine command that never returns: the control socket answers ETIMEDOUT after its bound,
# then at once while the hub is still stuck; a signal still ends the process.
if command -v python3 >/dev/null || command -v socat >/dev/null; then
    rm -f "$TMP/run.out" "$TMP/run.err" # wait_log must not see the last run's lines
    HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" run "$TMP/hold.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    pids+=("$pid")
    wait_log "$TMP/run.err" 'running 1 engine' >/dev/null
    t0=$(ms)
    reply=$(ctl "$TMP/hold.sock" $'call hold "block"\n')
    t1=$(ms)
    [ $((t1 - t0)) -ge 9900 ] && [ $((t1 - t0)) -lt 13000 ] &&
        [[ "$reply" == '{"ok":false,"error":"the host did not answer: its control thread has been inside engine '"'hold'"' (command) for 10.'*"s, over this command's 10s bound\",\"code\":\"ETIMEDOUT\"}" ]]
    check $? "a command that never returns: ETIMEDOUT after 10 s naming the engine ($((t1 - t0)) ms: $reply)"
    t0=$(ms)
    reply=$(ctl "$TMP/hold.sock" $'call hold "summary"\n')
    t1=$(ms)
    [ $((t1 - t0)) -lt 5000 ] && [[ "$reply" == *"inside engine 'hold' (command)"*'"code":"ETIMEDOUT"}' ]]
    check $? "  then the next command for the control thread is answered ETIMEDOUT at once ($((t1 - t0)) ms: $reply)"
    t0=$(ms)
    reply=$(ctl "$TMP/hold.sock" $'counters hold\n')
    t1=$(ms)
    [ $((t1 - t0)) -lt 5000 ] && [[ "$reply" == '{"ok":true,"counters":{"hold":{'*'"state":"running"'* ]]
    check $? "  while counters are still answered at once ($((t1 - t0)) ms: $reply)"
    t0=$(ms)
    kill -TERM "$pid"
    wait_pid "$pid" 15
    t1=$(ms)
    [ "$st" -eq 1 ] && [ $((t1 - t0)) -lt 6000 ] &&
        grep -q "^hangar: engine 'hold' did not return from command within" "$TMP/run.err"
    check $? "  and SIGTERM still ends run, exit 1 (got $st after $((t1 - t0)) ms)" "$TMP/run.err"
fi

# A plugin that crashes the host is named before the process dies of the signal (not under
# ASan/TSan, whose own reports replace the host's).
cat >"$TMP/crash.yaml" <<'YAML'
hangar: 1
pipelines:
  - { name: boom, engine: fixture-oneshot, crash_start: true }
YAML
(ulimit -c 0; HANGAR_PLUGIN_PATH=$FIXTURES exec "$HANGAR" run "$TMP/crash.yaml") >"$TMP/run.out" 2>"$TMP/run.err"
st=$?
if grep -q "Sanitizer\|runtime error:" "$TMP/run.err"; then
    n=$((n + 1))
    echo "ok $n # SKIP a sanitizer reports the crash itself"
else
    [ "$st" -eq 139 ] &&
        grep -q "^hangar: fatal signal SIGSEGV in engine 'boom' (start) on thread hangar-control: the plugin crashed the host$" "$TMP/run.err"
    check $? "a plugin that crashes in start is named on stderr, and the process dies of SIGSEGV (exit $st)" "$TMP/run.err"
fi

# The crash report is installed by each command that runs engines, not by the host library:
# `hangar check` (create runs there) and `hangar scenario` name the engine too.
cat >"$TMP/crash-create.yaml" <<'YAML'
hangar: 1
pipelines:
  - { name: early, engine: fixture-oneshot, crash_create: true }
YAML
(ulimit -c 0; HANGAR_PLUGIN_PATH=$FIXTURES exec "$HANGAR" check "$TMP/crash-create.yaml") >"$TMP/run.out" 2>"$TMP/run.err"
st=$?
cat >"$TMP/crash.lua" <<'LUA'
local h = hangar.start { config = arg[1] }
LUA
(ulimit -c 0; HANGAR_PLUGIN_PATH=$FIXTURES exec "$HANGAR" scenario "$TMP/crash.lua" "$TMP/crash.yaml") >"$TMP/scn.out" 2>"$TMP/scn.err"
st2=$?
if grep -q "Sanitizer\|runtime error:" "$TMP/run.err" "$TMP/scn.err"; then
    n=$((n + 1))
    echo "ok $n # SKIP a sanitizer reports the crash itself"
else
    [ "$st" -eq 139 ] &&
        grep -q "^hangar: fatal signal SIGSEGV in engine 'early' (create) on thread hangar: the plugin crashed the host$" "$TMP/run.err"
    check $? "check: a plugin that crashes in create is named on stderr (exit $st)" "$TMP/run.err"
    [ "$st2" -eq 139 ] &&
        grep -q "^hangar: fatal signal SIGSEGV in engine 'boom' (start) on thread hangar-control: the plugin crashed the host$" "$TMP/scn.err"
    check $? "scenario: a plugin that crashes in start is named on stderr (exit $st2)" "$TMP/scn.err"
fi

echo "1..$n"
exit $failed
