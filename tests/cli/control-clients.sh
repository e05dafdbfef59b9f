#!/usr/bin/env bash
# control-clients.sh HANGAR - clients of one control socket do not wait for each other: a
# `state` or `counters` is answered while another client's `stop` waits out its bound, a `kill`
# from a second client cuts a first client's `shutdown` short, and a client that sends several
# lines and closes without reading still has every line run. TAP on stdout; the hosts started
# here are stopped by their PIDs.
set -u
HANGAR=$1
FIXTURES=$(dirname "$(dirname "$HANGAR")")/tests/plugins/good
TMP=$(mktemp -d /tmp/hg-clients-XXXXXX) || exit 1
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
if ! command -v python3 >/dev/null; then
    echo "1..0 # SKIP python3 is not installed"
    exit 0
fi
ms() { date +%s%3N; }
# ctl LINES: sends them, shuts down its side, prints every reply line.
ctl() {
    python3 - "$TMP/ctl.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
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
PY
}
# fire LINES: sends them and closes at once, reading nothing.
fire() {
    python3 - "$TMP/ctl.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
s.close()
PY
}
start_host() {
    cat >"$TMP/ctl.yaml" <<YAML
hangar: 1
runtime: { mode: uv, workers: 1 }
control: { socket: $TMP/ctl.sock, shutdown_timeout: 5s }
pipelines:
  - { name: slow, engine: fixture-oneshot, hold: true, ignore_graceful: true }
  - { name: a, engine: fixture-oneshot, hold: true }
  - { name: b, engine: fixture-oneshot, hold: true }
  - { name: c, engine: fixture-oneshot, hold: true }
YAML
    rm -f "$TMP/ctl.sock"
    HANGAR_PLUGIN_PATH=$FIXTURES "$HANGAR" run "$TMP/ctl.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
    pid=$!
    for _ in $(seq 400); do
        [ -S "$TMP/ctl.sock" ] && [ "$(ctl $'state c\n' 2>/dev/null)" = \
            '{"ok":true,"name":"c","state":"running","error":null}' ] && return 0
        sleep 0.05
    done
    return 1
}

start_host
check $? "a host with a slow-stopping engine starts" "$TMP/run.err"

# 1. state while another client's stop waits out the 5 s bound (one python process sends the
# stop and asks state and counters on a second connection until the stop is seen under way, so
# a loaded machine's process start-up does not count)
out=$(python3 - "$TMP/ctl.sock" <<'PY'
import socket, sys, time
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sys.argv[1])
    return s
def ask(s, line):
    t = time.monotonic()
    s.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        buf += s.recv(4096)
    return time.monotonic() - t, buf.decode().strip()
a, b = conn(), conn()
a.sendall(b"stop slow\n")
worst, seen, counters_ok = 0.0, False, False
deadline = time.monotonic() + 8
while time.monotonic() < deadline and not seen:
    took, r = ask(b, b"state slow\n")
    worst = max(worst, took)
    seen = '"state":"stopping"' in r
    took, r = ask(b, b"counters a\n")
    worst = max(worst, took)
    counters_ok = r.startswith('{"ok":true,"counters":{"a":')
t = time.monotonic()
stop = a.recv(4096).decode().strip()
print(int(worst * 1000), "seen" if seen else "not-seen", "counters" if counters_ok else "no-counters", stop)
PY
)
read -r worst_ms seen counters_ok stop_reply <<<"$out"
[ "$seen" = seen ] && [ "${worst_ms:-99999}" -lt 1500 ]
check $? "state answers 'stopping' while another client's stop waits (slowest answer ${worst_ms} ms)"
[ "$counters_ok" = counters ]
check $? "  so does counters"
[[ "$stop_reply" == '{"ok":true,"cut":'* ]]
check $? "  and the stop answers once its bound is out ($stop_reply)"

# 2. lines of a client that closes without reading all run, in order
fire $'stop a\nstop b\nstop c\n'
ok=1
for _ in $(seq 200); do
    r=$(ctl $'state a\nstate b\nstate c\n')
    [ "$(grep -c '"state":"stopped"' <<<"$r")" -eq 3 ] && { ok=0; break; }
    sleep 0.05
done
check $ok "every line of a client that closed without reading ran (a, b and c stopped)"

# 3. kill from a second client cuts a first client's shutdown short (one python process times
# both, so a loaded machine's process start-up does not count)
ctl $'start slow\n' >/dev/null
times=$(python3 - "$TMP/ctl.sock" <<'PY'
import socket, sys, time
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sys.argv[1])
    return s
a, b = conn(), conn()
t0 = time.monotonic()
a.sendall(b"shutdown\n")
time.sleep(0.3)
b.sendall(b"kill\n")
kill = b.recv(4096).decode().strip()
t1 = time.monotonic()
shut = a.recv(4096).decode().strip()
t2 = time.monotonic()
print(int((t1 - t0) * 1000), int((t2 - t0) * 1000), kill)
PY
)
read -r kill_ms shut_ms kill_reply <<<"$times"
[ "${kill_ms:-99999}" -lt 4000 ] && [ "${shut_ms:-99999}" -lt 4000 ] && [ "$kill_reply" = '{"ok":true}' ]
check $? "kill from another client ends a running 5 s shutdown at once (kill after ${kill_ms} ms, shutdown after ${shut_ms} ms)"
wait "$pid"
st=$?
pid=
[ "$st" -eq 1 ]
check $? "  and run exits 1, as after any kill (got $st)" "$TMP/run.err"

echo "1..$n"
exit $failed
