#!/usr/bin/env bash
# run-outcome.sh HANGAR - the exit status a script gates on, on every runtime mode: `hangar run
# --until-done` exits 0 when its generator passed, 1 (naming why on stderr) when it failed:
# every connection refused, requests never answered (request_timeout); and tcp-gen's
# `connections` bounded by the open-file limit (RLIMIT_NOFILE): a soft limit too low is raised
# to the hard one, a hard limit too low is a configuration error naming it; descriptors that run
# out anyway are named (fd_limit, EMFILE). TAP on stdout; the server started is stopped by PID.
set -u
HANGAR=$1
TMP=$(mktemp -d /tmp/hg-outcome-XXXXXX) || exit 1
sp=""
cleanup() {
    [ -n "$sp" ] && kill -KILL "$sp" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
n=0
failed=0
echo "TAP version 13"
. "$(dirname "$0")/../tap.sh" # check
# A port where nothing listens: bound by the kernel for a moment, then released.
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
[ -n "$dead" ] || dead=9
# An echo server in a process of its own, for generators that run out of descriptors.
cat >"$TMP/server.yaml" <<YAML
hangar: 1
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML
"$HANGAR" run "$TMP/server.yaml" 2>"$TMP/server.err" &
sp=$!
server=""
for _ in $(seq 1 100); do
    server=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$TMP/server.err" 2>/dev/null | grep -o '[0-9.]*:[0-9]*$')
    [ -n "$server" ] && break
    sleep 0.05
done

for mode in uv blocking uring; do
    cat >"$TMP/pass.yaml" <<YAML
hangar: 1
runtime: { mode: $mode, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 2, requests: 200 }
YAML
    timeout 30 "$HANGAR" run "$TMP/pass.yaml" --until-done >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -eq 0 ] && grep -q "outcome      passed" "$TMP/out" && ! grep -q "failed" "$TMP/err"
    check $? "$mode: a generator that passed: run --until-done exits 0 (got $st)" "$TMP/err"

    cat >"$TMP/refused.yaml" <<YAML
hangar: 1
runtime: { mode: $mode, workers: 2 }
pipelines:
  - { name: load, engine: tcp-gen, connect: "127.0.0.1:$dead", connections: 2, duration: 30s }
YAML
    timeout 30 "$HANGAR" run "$TMP/refused.yaml" --until-done >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -eq 1 ] && grep -q "^hangar: load failed: [0-9]* failures (refused [0-9]*), over max_failures 0$" "$TMP/err" &&
        grep -q "outcome      failed" "$TMP/out"
    check $? "$mode: every connection refused: exit 1 (got $st), the reason on stderr" "$TMP/err"

    cat >"$TMP/mute.yaml" <<YAML
hangar: 1
runtime: { mode: $mode, workers: 2 }
pipelines:
  - { name: sink, engine: tcp-sink, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: sink, connections: 2, duration: 1s,
      request_timeout: 200ms }
YAML
    timeout 30 "$HANGAR" run "$TMP/mute.yaml" --until-done >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -eq 1 ] && grep -q "^hangar: load failed: [0-9]* failures (timeout [0-9]*), over max_failures 0$" "$TMP/err"
    check $? "$mode: requests never answered time out: exit 1 (got $st), the reason on stderr" "$TMP/err"

    # 300 connections to an echo of the same host hold 600 descriptors: over a soft limit of
    # 128, under the hard limit of 4096.
    cat >"$TMP/many.yaml" <<YAML
hangar: 1
runtime: { mode: $mode, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 300, requests: 3000 }
YAML
    if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 4096 ]; then
        n=$((n + 1))
        echo "ok $n # SKIP $mode: the hard open-file limit is under 4096"
    else
        (ulimit -Sn 128 && ulimit -Hn 4096 && exec timeout 30 "$HANGAR" run "$TMP/many.yaml" --until-done) \
            >"$TMP/out" 2>"$TMP/err"
        st=$?
        [ "$st" -eq 0 ] && grep -q "raised the open-file limit from 128 to 4096" "$TMP/err" &&
            grep -q "connections  300 established" "$TMP/out" && grep -q "failures     none" "$TMP/out"
        check $? "$mode: a soft open-file limit too low for 'connections' is raised: 300 connections, exit 0 (got $st)" "$TMP/err"
    fi

    sed -i 's/connections: 300, requests: 3000/connections: 100000, duration: 10s/' "$TMP/many.yaml"
    (ulimit -n 1024 && exec timeout 30 "$HANGAR" run "$TMP/many.yaml" --until-done) >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -eq 2 ] && [ ! -s "$TMP/out" ] &&
        grep -q "many.yaml:5:[0-9]*: load: 'connections' needs 200000 file descriptors, [0-9]* with the [0-9]* in use and 64 spare, over this process's hard open-file limit of 1024: lower it, or raise the hard limit (ulimit -Hn)" "$TMP/err"
    check $? "$mode: 'connections: 100000' under ulimit -n 1024 is a configuration error naming the limit (exit $st)" "$TMP/err"

    # The soft limit is raised to the hard one, so only the hard limit is named.
    (ulimit -Sn 256 && ulimit -Hn 1024 && exec timeout 30 "$HANGAR" run "$TMP/many.yaml" --until-done) >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -eq 2 ] && grep -q "over this process's hard open-file limit of 1024:" "$TMP/err" &&
        ! grep -q "256" "$TMP/err"
    check $? "$mode: soft limit 256 under a hard limit of 1024: the error names the hard limit only (exit $st)" "$TMP/err"

    # Two generators that each fit under the limit but not together: the connects that find no
    # descriptor are failures of their own cause, named as such.
    cat >"$TMP/two.yaml" <<YAML
hangar: 1
runtime: { mode: $mode, workers: 2 }
pipelines:
  - { name: one, engine: tcp-gen, connect: "$server", connections: 150, requests: 3000 }
  - { name: two, engine: tcp-gen, connect: "$server", connections: 150, requests: 3000 }
YAML
    (ulimit -n 256 && exec timeout 30 "$HANGAR" run "$TMP/two.yaml" --until-done) >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -eq 1 ] && grep -Eq "^hangar: (one|two) failed: [0-9]+ failures? \(.*fd_limit [0-9]+.*\)" "$TMP/err" &&
        grep -q "too many open files, EMFILE" "$TMP/err"
    check $? "$mode: out of descriptors at run time: failures 'fd_limit', 'too many open files', exit 1 (got $st)" "$TMP/err"
    # Ctrl-C with an idle keep-alive client: the echo closes it, exit 0 well within the 2s.
    cat >"$TMP/idle.yaml" <<YAML
hangar: 1
runtime: { mode: $mode, workers: 2 }
control: { shutdown_timeout: 2s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
YAML
    "$HANGAR" run "$TMP/idle.yaml" >"$TMP/out" 2>"$TMP/err" &
    ip=$!
    at=""
    for _ in $(seq 1 100); do
        at=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$TMP/err" 2>/dev/null | grep -o '[0-9]*$')
        [ -n "$at" ] && break
        sleep 0.05
    done
    exec 3<>"/dev/tcp/127.0.0.1/$at" && printf hi >&3 && IFS= read -r -t 2 -N 2 reply <&3
    t0=$(date +%s%N)
    kill -INT "$ip"
    wait "$ip"
    st=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    IFS= read -r -t 2 rest <&3
    eof=$?
    exec 3<&-
    [ "$st" -eq 0 ] && [ "${reply:-}" = hi ] && [ "$ms" -lt 1000 ] && [ "$eof" -eq 1 ] &&
        ! grep -q "did not stop\|connection cut" "$TMP/err"
    check $? "$mode: SIGINT with an idle keep-alive client: exit 0 (got $st) in ${ms} ms, the client sees EOF" "$TMP/err"
done
kill -TERM "$sp"
wait "$sp"
sp=""
echo "1..$n"
exit $failed
