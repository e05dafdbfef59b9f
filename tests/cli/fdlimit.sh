#!/usr/bin/env bash
# fdlimit.sh HANGAR - a host at its file-descriptor limit (ulimit -n 64) with 100 clients
# connecting, on every runtime mode: it stays up, does not spin (CPU time over 2 s stays small),
# pauses or refuses what it cannot accept, and shuts down cleanly. TAP on stdout; every process
# started is stopped by PID.
set -u
HANGAR=$1
TMP=$(mktemp -d /tmp/hg-fdlim-XXXXXX) || exit 1
hp=""
cleanup() {
    [ -n "$hp" ] && kill -KILL "$hp" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
n=0
failed=0
echo "TAP version 13"
check() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        failed=1
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 10
    fi
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

for mode in uv blocking uring; do
    cat >"$TMP/fd.yaml" <<YAML
hangar: 1
runtime: { mode: $mode, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML
    (ulimit -n 64 && exec "$HANGAR" run "$TMP/fd.yaml") 2>"$TMP/run.err" &
    hp=$!
    port=""
    for _ in $(seq 1 100); do
        port=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$TMP/run.err" 2>/dev/null | grep -o '[0-9]*$')
        [ -n "$port" ] && break
        sleep 0.05
    done
    fds=()
    for _ in $(seq 1 100); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null && fds+=("$fd")
    done
    sleep 0.5
    t0=$(ticks "$hp")
    sleep 2
    t1=$(ticks "$hp")
    # 100 ticks a second is one core: allow a few for the timers
    [ $((t1 - t0)) -lt 20 ]
    check $? "$mode: at the fd limit with 100 clients the host does not spin ($((t1 - t0)) ticks in 2 s)" "$TMP/run.err"
    kill -0 "$hp" 2>/dev/null
    check $? "$mode: and it is still running"
    for fd in "${fds[@]}"; do exec {fd}>&-; done
    kill -TERM "$hp"
    for _ in $(seq 1 100); do kill -0 "$hp" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$hp" 2>/dev/null
    [ $? -ne 0 ]
    check $? "$mode: it shuts down within 5 s once the clients are gone" "$TMP/run.err"
    kill -KILL "$hp" 2>/dev/null
    wait "$hp" 2>/dev/null
    hp=""
done
[ "$(grep -c 'out of file descriptors' "$TMP/run.err")" -ge 1 ]
check $? "blocking: hitting the limit is logged" "$TMP/run.err"
echo "1..$n"
exit $failed
