#!/usr/bin/env bash
# control.sh HANGAR - hostile lines on `hangar run`'s control socket: a NUL byte inside a line,
# JSON with a key given twice. Each is refused whole (EINVAL) and the host runs on. TAP on
# stdout; the one host started here is stopped by its PID.
set -u
HANGAR=$1
TMP=$(mktemp -d /tmp/hg-ctl-XXXXXX) || exit 1
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
    echo "1..0 # SKIP python3 is not installed (the client sends raw bytes)"
    exit 0
fi
# Sends the bytes printf makes of FORMAT (NUL bytes included), shuts down its side and prints
# what comes back.
ctl() { # FORMAT
    printf "$1" >"$TMP/line"
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(sys.argv[1])
s.sendall(open(sys.argv[2], "rb").read())
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
' "$TMP/ctl.sock" "$TMP/line"
}
state_is_running() {
    [ "$(ctl 'state echo\n')" = '{"ok":true,"name":"echo","state":"running","error":null}' ]
}

cat >"$TMP/ctl.yaml" <<YAML
hangar: 1
control: { socket: $TMP/ctl.sock, shutdown_timeout: 2s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 1, duration: 60s }
YAML
"$HANGAR" run "$TMP/ctl.yaml" >"$TMP/run.out" 2>"$TMP/run.err" &
pid=$!
for _ in $(seq 1 200); do
    grep -q 'running 2 engines' "$TMP/run.err" 2>/dev/null && break
    sleep 0.05
done
grep -q 'running 2 engines' "$TMP/run.err"
check $? "the host runs with its control socket" "$TMP/run.err"

# A NUL byte inside a line: refused whole, none of it run (not `stop` alone).
nul_reply() { # BYTE (1-based) of the NUL
    echo "{\"ok\":false,\"error\":\"the command has a NUL byte in it (byte $1): refused whole, none of it was run\",\"code\":\"EINVAL\"}"
}
reply=$(ctl 'stop\0echo\n')
[ "$reply" = "$(nul_reply 5)" ]
check $? "'stop\\\\0echo' is refused with EINVAL ($reply)"
state_is_running && kill -0 "$pid"
check $? "  and the host still runs: nothing was stopped" "$TMP/run.err"
reply=$(ctl 'state echo\0 extra\n')
[ "$reply" = "$(nul_reply 11)" ]
check $? "'state echo\\\\0 extra' is refused, not answered for echo ($reply)"
reply=$(ctl 'counters\r\0\n')
[ "$reply" = "$(nul_reply 10)" ]
check $? "a NUL byte after a CR is refused too ($reply)"
reply=$(ctl '{"cmd":"stop"}\0\n')
[ "$reply" = "$(nul_reply 15)" ]
check $? "a JSON line with a NUL byte after it is refused ($reply)"
reply=$(ctl 'kill\0')
[ "$reply" = "$(nul_reply 5)" ]
check $? "a last line without its newline, with a NUL byte, is refused ($reply)"
reply=$(ctl 'shutdown\0\nstate echo\n')
[ "$reply" = "$(nul_reply 9)"$'\n''{"ok":true,"name":"echo","state":"running","error":null}' ]
check $? "the line after a refused one is answered as usual (${reply//$'\n'/ | })"

# A key given twice: refused, not decided by its last copy.
dup() { # KEY: the start of the reply naming it
    printf '{"ok":false,"error":"not valid JSON: duplicate object key near %s' "'\\\"$1\\\"'"
}
reply=$(ctl '{"cmd":"counters","cmd":"kill"}\n')
[ "$reply" = "$(dup cmd) (column 23)\",\"code\":\"EINVAL\"}" ]
check $? "{\"cmd\":\"counters\",\"cmd\":\"kill\"} is refused with EINVAL ($reply)"
state_is_running && kill -0 "$pid"
check $? "  and the host still runs: it was not killed" "$TMP/run.err"
reply=$(ctl '{"cmd":"state","name":"echo","name":"load"}\n')
[[ "$reply" == "$(dup name)"* ]]
check $? "{\"cmd\":\"state\",\"name\":\"echo\",\"name\":\"load\"} is refused, not answered for load ($reply)"
reply=$(ctl '{"cmd":"call","name":"load","args":{"verb":"stats","verb":"summary"}}\n')
[[ "$reply" == "$(dup verb)"* ]]
check $? "a key given twice inside \"args\" is refused too ($reply)"
reply=$(ctl '{"cmd":"state","name":"echo"}\n')
[ "$reply" = '{"ok":true,"name":"echo","state":"running","error":null}' ]
check $? "the same object without the duplicate is answered ($reply)"

kill -TERM "$pid"
for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ]
check $? "SIGTERM stops the host, exit 0 (got $st)" "$TMP/run.err"

echo "1..$n"
exit $failed
