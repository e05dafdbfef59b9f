#!/bin/sh
# install-test.sh SRCDIR BUILDDIR - installs the build into a temporary DESTDIR, builds
# sdk/template against that installed SDK alone (pkg-config, no path into the source tree) and
# checks that the installed hangar lists the template's engine, runs it, refuses a bad `listen`
# at check time and stops it gracefully with an idle and with a busy keep-alive client. TAP on
# stdout.
set -u
SRC=$1
BUILD=$2
TMP=$(mktemp -d /tmp/hg-install-XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
ROOT=$TMP/root
n=0
failed=0

echo "TAP version 13"
echo "1..12"
check() { # STATUS DESCRIPTION [LOG]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=1
        [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -n 30
    fi
}
skip_rest() { # REASON
    while [ "$n" -lt 12 ]; do
        n=$((n + 1))
        echo "ok $n - # SKIP $1"
    done
    exit 1
}

meson install -C "$BUILD" --destdir "$ROOT" --no-rebuild >"$TMP/install.log" 2>&1
check $? "the build installs into a temporary DESTDIR" "$TMP/install.log"

PC=$(find "$ROOT" -name hangar-sdk.pc | head -n 1)
[ -n "$PC" ]
check $? "hangar-sdk.pc is installed"
[ -n "$PC" ] || skip_rest "no hangar-sdk.pc"
PCDIR=$(dirname "$PC")

# Only the installed .pc is visible; the sysroot maps its /usr/local/... paths into DESTDIR.
export PKG_CONFIG_LIBDIR="$PCDIR" PKG_CONFIG_PATH="$PCDIR" PKG_CONFIG_SYSROOT_DIR="$ROOT"
CFLAGS_SDK=$(pkg-config --cflags hangar-sdk 2>&1)
case "$CFLAGS_SDK" in
*"$ROOT"*) st=0 ;;
*) st=1 ;;
esac
check $st "pkg-config --cflags hangar-sdk points into the installed tree ($CFLAGS_SDK)"

env -u CFLAGS -u CPPFLAGS meson setup "$TMP/tpl" "$SRC/sdk/template" >"$TMP/setup.log" 2>&1 &&
    ninja -C "$TMP/tpl" >>"$TMP/setup.log" 2>&1
check $? "sdk/template builds against the installed SDK" "$TMP/setup.log"

grep -q -- "-I$SRC/sdk/include\|-I\.\./.*sdk/include" "$TMP/tpl/compile_commands.json" 2>/dev/null
[ $? -ne 0 ]
check $? "the template's compile line has no path into the source tree"

HANGAR=$(find "$ROOT" -path '*/bin/hangar' -type f | head -n 1)
[ -n "$HANGAR" ] || skip_rest "no installed hangar executable"
env -u HANGAR_PLUGIN_PATH "$HANGAR" plugins --path "$TMP/tpl" --json >"$TMP/plugins.json" 2>"$TMP/plugins.err"
check $? "the installed hangar lists plugins with --path pointing at the template's build" "$TMP/plugins.err"

python3 - "$TMP/plugins.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
found = [e for p in doc["plugins"] if p["id"] == "org.example.upper" for e in p["engines"]
         if e["name"] == "example-upper" and e["kind"] == "pipeline"]
sys.exit(0 if found else 1)
PY
check $? "its JSON lists org.example.upper with the pipeline example-upper" "$TMP/plugins.json"

# The template runs: the installed hangar, its installed runtime mode, and the template engine.
PLUGDIR=$(dirname "$(find "$ROOT" -name uv.so | head -n 1)")
cat >"$TMP/upper.lua" <<'LUA'
local h = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: up, engine: example-upper, listen: "127.0.0.1:0" }
]] }
local c = assert(hangar.tcp.connect(h:address("up"), "2s"))
c:send("hello, hangar")
is(c:recv(13, "2s"), "HELLO, HANGAR", "the template engine answers in upper case")
c:close()
h:wait_for(function() return h:counters("up").open == 0 end, "2s")
is(h:counters("up").bytes_converted, 13, "and counts what it converted")
is(h:command("restart up").ok, true, "it restarts")
c = assert(hangar.tcp.connect(h:address("up"), "2s"))
c:send("again")
is(c:recv(5, "2s"), "AGAIN", "and answers again after the restart")
c:close()
h:wait_for(function() return h:counters("up").bytes_converted == 18 end, "2s")
local r = h:call("up", "stats")
is(r.reply and r.reply.bytes_converted, 18, "call up stats answers with its figures")
r = h:call("up", { verb = "stats", reset = "maybe" })
is(r.ok, false, "a bad argument fails the call")
like(r.error or "", "reset", "with the engine's own message")
local idle = assert(hangar.tcp.connect(h:address("up"), "2s"))
idle:send("ka")
is(idle:recv(2, "2s"), "KA", "a keep-alive client is answered and stays connected")
local r0 = h:command("stop up")
is(r0.ok, true, "a graceful stop is asked with the client idle")
is(r0.cut, 0, "nothing is left to cut: the engine closed the idle connection itself")
is(h:state("up"), "stopped", "the engine is stopped")
local data, err = idle:recv(1, "2s")
is(err, "closed", "and the client sees the close")
idle:close()
ok(h:shutdown(), "the host shuts down gracefully")
done_testing()
LUA
HANGAR_PLUGIN_PATH="$PLUGDIR:$TMP/tpl" "$HANGAR" scenario "$TMP/upper.lua" >"$TMP/upper.tap" 2>&1
check $? "the installed hangar runs the template's engine in a scenario" "$TMP/upper.tap"

# The installed example scenarios come with the SDK.
SCEN=$(find "$ROOT" -path '*/share/hangar/scenarios/smoke.lua' | head -n 1)
[ -n "$SCEN" ] && [ -f "$(dirname "$SCEN")/load.lua" ]
check $? "the example scenarios are installed (share/hangar/scenarios: smoke.lua, load.lua)"

# A bad `listen` is refused by `hangar check`, at its line and column.
cat >"$TMP/bad.yaml" <<'YAML'
hangar: 1
pipelines:
  - name: up
    engine: example-upper
    listen: nowhere
YAML
HANGAR_PLUGIN_PATH="$PLUGDIR:$TMP/tpl" "$HANGAR" check "$TMP/bad.yaml" >"$TMP/check.log" 2>&1
st=$?
[ "$st" -eq 2 ] && grep -q "bad.yaml:5:13: up: bad address 'nowhere'" "$TMP/check.log"
check $? "hangar check refuses 'listen: nowhere' with FILE:LINE:COL (exit $st)" "$TMP/check.log"

# `hangar run` stopped by SIGTERM with an idle keep-alive client connected exits 0 at once.
cat >"$TMP/run.yaml" <<'YAML'
hangar: 1
control: { shutdown_timeout: 5s }
pipelines:
  - { name: up, engine: example-upper, listen: "127.0.0.1:0" }
YAML
HANGAR_PLUGIN_PATH="$PLUGDIR:$TMP/tpl" python3 - "$HANGAR" "$TMP/run.yaml" >"$TMP/run.log" 2>&1 <<'PY'
import re, signal, socket, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "run", sys.argv[2]], stderr=subprocess.PIPE, text=True)
addr, deadline = None, time.monotonic() + 30
while addr is None and time.monotonic() < deadline:
    line = p.stderr.readline()
    if not line:
        break
    print(line, end="")
    m = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
    addr = m.group(1) if m else None
if addr is None:
    p.kill()
    sys.exit("hangar run did not log its address")
c = socket.create_connection((addr.split(":")[0], int(addr.split(":")[1])), timeout=10)
c.sendall(b"keep")
got = b""
while len(got) < 4:
    b = c.recv(16)
    if not b:
        break
    got += b
if got != b"KEEP":
    p.kill()
    sys.exit("unexpected answer %r" % got)
t0 = time.monotonic()
p.send_signal(signal.SIGTERM)  # the client stays connected, idle
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit("hangar run did not exit")
print(p.stderr.read(), end="")
closed = c.recv(16) == b""
print("exit %d after %.2fs; the client saw the close: %s" % (rc, time.monotonic() - t0, closed))
sys.exit(0 if rc == 0 and closed else 1)
PY
check $? "hangar run with an idle keep-alive client exits 0 on SIGTERM" "$TMP/run.log"

# A client busy when the stop comes (it sends without reading, so the engine paused reading
# under back-pressure) still gets every answer, then EOF, and the run exits 0.
cat >"$TMP/busy.yaml" <<YAML
hangar: 1
control: { socket: $TMP/busy.sock, shutdown_timeout: 10s }
pipelines:
  - { name: up, engine: example-upper, listen: "127.0.0.1:0" }
YAML
HANGAR_PLUGIN_PATH="$PLUGDIR:$TMP/tpl" python3 - "$HANGAR" "$TMP/busy.yaml" "$TMP/busy.sock" \
    >"$TMP/busy.log" 2>&1 <<'PY'
import json, re, select, signal, socket, subprocess, sys, time

def counters():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sys.argv[3])
    s.sendall(b"counters up\n")
    data = b""
    while not data.endswith(b"\n"):
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return json.loads(data)["counters"]["up"]

p = subprocess.Popen([sys.argv[1], "run", sys.argv[2]], stderr=subprocess.PIPE, text=True)
addr, deadline = None, time.monotonic() + 30
while addr is None and time.monotonic() < deadline:
    line = p.stderr.readline()
    if not line:
        break
    print(line, end="")
    m = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
    addr = m.group(1) if m else None
if addr is None:
    p.kill()
    sys.exit("hangar run did not log its address")
c = socket.create_connection((addr.split(":")[0], int(addr.split(":")[1])), timeout=10)
c.setblocking(False)
chunk = bytes(range(ord("a"), ord("z") + 1)) * 2520  # 65520 bytes, lower case
# Send until the engine holds more than its 1 MiB high-water mark of answers it could not write:
# it has then paused reading (answers converted minus bytes the kernel took = its queue).
sent, paused, deadline = 0, False, time.monotonic() + 60
while not paused and time.monotonic() < deadline and sent < (512 << 20):
    try:
        sent += c.send(chunk[sent % len(chunk):])
    except BlockingIOError:
        k = counters()
        paused = k["bytes_converted"] - k["bytes_out"] > (1 << 20)
        select.select([], [c], [], 0.05)
if not paused:
    p.kill()
    sys.exit("the engine never paused reading (sent %d bytes)" % sent)
print("sent %d bytes; the engine paused reading" % sent)
p.send_signal(signal.SIGTERM)
c.setblocking(True)
c.settimeout(20)
got, ok_bytes = 0, True
while True:
    try:
        b = c.recv(1 << 16)
    except (ConnectionResetError, socket.timeout) as e:
        print("error while reading the answers: %r" % e)
        ok_bytes = False
        break
    if not b:
        break
    want = chunk.upper() * 2
    start = got % len(chunk)
    if b != want[start:start + len(b)]:
        ok_bytes = False
    got += len(b)
c.close()
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit("hangar run did not exit")
print(p.stderr.read(), end="")
print("read %d answer bytes, then EOF: %s; exit %d" % (got, ok_bytes, rc))
sys.exit(0 if ok_bytes and got > 0 and rc == 0 else 1)
PY
check $? "a client busy at SIGTERM reads every answer, then EOF, and hangar run exits 0" "$TMP/busy.log"
exit $failed
