#!/usr/bin/env bash
# cli.sh HANGAR SRCDIR - the command line's conventions (help, version, exit codes, stderr) and
# `hangar run`'s signal handling: SIGTERM is a graceful shutdown within control.shutdown_timeout,
# a second signal kills. TAP on stdout. Every process started here is stopped by its PID.
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
"$HANGAR" run "$TMP/echo.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
pids+=("$pid")
addr=$(wait_log "$TMP/run.err" 'listening on 127\.0\.0\.1:[0-9]*')
port=${addr##*:}
exec 3<>"/dev/tcp/127.0.0.1/$port"
check $? "a client connects to the listener"
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

echo "1..$n"
exit $failed
