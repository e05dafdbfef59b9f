#!/usr/bin/env bash
# multihost.sh HANGAR DEPLOY_DIR - the three-host example of deploy/multi-host/ run as three
# processes on 127.0.0.1 (ports 0, each host wired to the next by the address it logged): the
# generator's run passes with every request answered, each host's own counters, read through
# its control socket, account for every connection and byte end to end, and each host's
# metrics endpoint (control.metrics) is scraped and says the same. TAP on stdout; every
# process started here is stopped by its PID.
set -u
HANGAR=$1
DIR=$2
TMP=$(mktemp -d /tmp/hg-multi-XXXXXX) || exit 1
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
n=0
failed=0
echo "TAP version 13"
. "$(dirname "$0")/../tap.sh" # check
if ! command -v python3 >/dev/null; then
    echo "1..0 # SKIP python3 is not installed (the control socket client needs it)"
    exit 0
fi
# The port NAME listens on, from LOG (waits up to 10 s).
port_of() { # LOG NAME
    for _ in $(seq 1 200); do
        local p
        p=$(grep -o "$2: tcp-[a-z]* listening on 127\.0\.0\.1:[0-9]*" "$1" 2>/dev/null | head -n 1)
        [ -n "$p" ] && { echo "${p##*:}"; return 0; }
        sleep 0.05
    done
    return 1
}
# One field of NAME's counters, through the control socket SOCK.
counter() { # SOCK NAME FIELD
    python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(("counters %s\n" % sys.argv[2]).encode())
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(json.loads(buf)["counters"][sys.argv[2]][sys.argv[3]])
' "$1" "$2" "$3"
}
# Starts host NAME from DIR/NAME.yaml with the --set overrides given; logs in TMP/NAME.err.
run_host() { # NAME [--set ...]
    local name=$1
    shift
    "$HANGAR" run "$DIR/$name.yaml" --set "control.socket=$TMP/$name.sock" \
        --set "control.metrics=127.0.0.1:0" "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    pids+=("$!")
}

for f in echo proxy gen; do
    "$HANGAR" check "$DIR/$f.yaml" --set "control.socket=$TMP/$f.sock" \
        --set "control.metrics=127.0.0.1:0" >"$TMP/check.out" 2>&1
    check $? "hangar check passes deploy/multi-host/$f.yaml" "$TMP/check.out"
done

run_host echo --set pipelines.echo.listen=127.0.0.1:0
echo_port=$(port_of "$TMP/echo.err" echo)
check $? "the echo host listens (port $echo_port)" "$TMP/echo.err"
run_host proxy --set pipelines.front.listen=127.0.0.1:0 \
    --set "pipelines.front.upstream=127.0.0.1:$echo_port"
proxy_port=$(port_of "$TMP/proxy.err" front)
check $? "the proxy host listens (port $proxy_port), upstream the echo host by address" "$TMP/proxy.err"

conns=8
reqs=4000
"$HANGAR" run "$DIR/gen.yaml" --set "control.socket=$TMP/gen.sock" --set "control.metrics=127.0.0.1:0" \
    --set "pipelines.load.connect=127.0.0.1:$proxy_port" --set "pipelines.load.connections=$conns" \
    --set "pipelines.load.requests=$reqs" --until-done --json >"$TMP/gen.out" 2>"$TMP/gen.err"
st=$?
check $st "the generator host runs to the end and exits 0 (got $st)" "$TMP/gen.err"
python3 -c '
import json, sys
s = json.loads(open(sys.argv[1]).readline())["summary"]
n = int(sys.argv[2])
assert s["requests"] == n and s["responses"] == n, (s["requests"], s["responses"])
assert s["outcome"] == "passed", s["outcome"]
assert sum(s["failures"].values()) == 0, s["failures"]
' "$TMP/gen.out" "$reqs" 2>"$TMP/py.err"
check $? "its summary: $reqs requests, $reqs answers, no failure, passed" "$TMP/py.err"

payload=1024
echo_conns=$(counter "$TMP/echo.sock" echo connections_established)
echo_in=$(counter "$TMP/echo.sock" echo bytes_in)
echo_out=$(counter "$TMP/echo.sock" echo bytes_out)
[ "$echo_conns" = "$conns" ] && [ "$echo_in" = $((reqs * payload)) ] && [ "$echo_out" = "$echo_in" ]
check $? "the echo host counted $conns connections and $((reqs * payload)) bytes each way (got $echo_conns, $echo_in in, $echo_out out)" "$TMP/echo.err"
px_conns=$(counter "$TMP/proxy.sock" front connections_established)
px_in=$(counter "$TMP/proxy.sock" front bytes_in)
px_out=$(counter "$TMP/proxy.sock" front bytes_out)
px_err=$(counter "$TMP/proxy.sock" front closed_error)
[ "$px_conns" = $((2 * conns)) ] && [ "$px_in" = $((2 * reqs * payload)) ] && [ "$px_out" = "$px_in" ] && [ "$px_err" = 0 ]
check $? "the proxy host carried both ways: $((2 * conns)) connections, $((2 * reqs * payload)) bytes in and out, no error (got $px_conns, $px_in, $px_out, $px_err)" "$TMP/proxy.err"

# The metrics endpoint of HOST (from its log), scraped: the value of the series SERIES.
scrape() { # NAME SERIES-PREFIX
    local url
    url=$(grep -o "metrics at http://127\.0\.0\.1:[0-9]*/metrics" "$TMP/$1.err" | head -n 1)
    python3 -c '
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
for line in text.splitlines():
    if line.startswith(sys.argv[2]):
        print(line.rsplit(" ", 1)[1]); break
' "${url#metrics at }" "$2"
}
m_echo=$(scrape echo 'hangar_pipeline_bytes_in_total{instance_name="echo"')
m_px=$(scrape proxy 'hangar_pipeline_connections_established_total{instance_name="front"')
[ "${m_echo%.*}" = $((reqs * payload)) ] && [ "${m_px%.*}" = $((2 * conns)) ]
check $? "scraped: the echo host's metrics say $((reqs * payload)) bytes in (got $m_echo), the proxy's $((2 * conns)) connections (got $m_px)" "$TMP/echo.err"
st_all=0
for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" || st_all=1
done
pids=()
check $st_all "the echo and proxy hosts stop on SIGTERM with exit 0" "$TMP/proxy.err"
grep -q "metrics at http://127\.0\.0\.1:[0-9]*/metrics" "$TMP/gen.err"
check $? "the generator host served its metrics endpoint too" "$TMP/gen.err"
echo "1..$n"
exit $failed
