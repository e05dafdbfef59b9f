#!/usr/bin/env python3
# ctl.py HANGAR FIXTURE_DIR - `hangar ctl` against a running host (tables, --json, exit
# status, records --limit, status with a failed engine) and its faults: malformed JSON and unknown
# commands on the socket and through ctl, engines that do not exist, a missing socket, a dead
# host's socket, a path that is not a socket; a host running a graph (the fixture processors in
# FIXTURE_DIR): graph --dot, processors and link fill levels in status. TAP on stdout; the hosts
# started here are stopped by their PID.
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HANGAR = sys.argv[1]
FIXTURES = sys.argv[2]
TMP = tempfile.mkdtemp(prefix="hg-ctl-")
SOCK = os.path.join(TMP, "ctl.sock")
n = 0
failed = 0
procs = []


def check(cond, desc, show=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, desc))
    if not cond:
        failed = 1
        for line in str(show).splitlines()[-20:]:
            print("# " + line)
    sys.stdout.flush()


def ctl(*args, env=None, timeout=30):
    """Runs hangar ctl ARGS; returns (status, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("HANGAR_SOCKET", None)
    e.update(env or {})
    p = subprocess.run([HANGAR, "ctl"] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr


def raw(line):
    """Sends one line on the socket and returns the reply as a dict."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(15)
    s.connect(SOCK)
    s.sendall(line.encode() + b"\n")
    out = b""
    while not out.endswith(b"\n"):
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return json.loads(out)


def wait_for(cond, secs=15):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            if cond():
                return True
        except (OSError, ValueError, LookupError):
            pass  # not up yet: no socket, or counters not registered yet
        time.sleep(0.05)
    return False


busy = socket.socket()
busy.bind(("127.0.0.1", 0))
busy.listen(1)
cfg = os.path.join(TMP, "host.yaml")
with open(cfg, "w") as f:
    f.write(f"""hangar: 1
control: {{ socket: {SOCK}, shutdown_timeout: 1s }}
pipelines:
  - {{ name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }}
  - {{ name: load, engine: tcp-gen, connect: echo, connections: 2, duration: 60s,
      requests_per_connection: 1, cps_limit: 200, records: true }}
  - {{ name: taken, engine: tcp-echo, listen: "127.0.0.1:{busy.getsockname()[1]}" }}
""")
print("TAP version 13")
host = subprocess.Popen([HANGAR, "run", cfg], stdout=subprocess.DEVNULL,
                        stderr=open(os.path.join(TMP, "host.err"), "w"))
procs.append(host)
try:
    up = wait_for(lambda: raw("counters load")["counters"]["load"]["connections_established"] > 8)
    check(up, "a host with a control socket runs and its generator churns connections")

    # counters: a table per instance, sizes in binary units; --json the host's own reply
    st, out, err = ctl("--socket", SOCK, "counters", "echo")
    check(st == 0 and out.startswith("echo  (tcp-echo pipeline, running)") and
          re.search(r"^  bytes_in: .*\d", out, re.M), "ctl counters echo prints its counters "
          "under a header naming engine, kind and state", out + err)
    st, out, err = ctl("--socket", SOCK, "--json", "counters", "echo")
    j = json.loads(out)
    check(st == 0 and j["ok"] is True and "echo" in j["counters"] and out.count("\n") == 1,
          "ctl --json counters echo prints the host's reply as one JSON line", out + err)

    # the socket from $HANGAR_SOCKET and from --config
    st, out, err = ctl("state", "echo", env={"HANGAR_SOCKET": SOCK})
    check(st == 0 and "state: running" in out, "$HANGAR_SOCKET names the socket", out + err)
    st, out, err = ctl("--config", cfg, "state", "echo")
    check(st == 0 and "state: running" in out, "--config FILE takes control.socket from the "
          "file", out + err)
    st, out, err = ctl("state", "echo")
    check(st == 2 and "--socket PATH" in err and "HANGAR_SOCKET" in err,
          "with no socket given, ctl says how to name one and exits 2", out + err)

    # records --limit: text, JSON object and through ctl
    r = raw("records load --limit 3")
    check(r["ok"] and len(r["records"]) == 3, "records load --limit 3 answers three records",
          json.dumps(r))
    every = raw("records load")["records"]
    check(len(every) > 3 and r["records"][-1]["id"] >= every[-4]["id"],
          "and they are the newest, oldest first, in the reply format of `records`", every[-4:])
    r = raw('{"cmd":"records","name":"load","args":{"limit":2}}')
    check(r["ok"] and len(r["records"]) == 2, "the JSON form takes \"args\": {\"limit\": 2}",
          json.dumps(r))
    for bad in ("records load --limit 0", "records load --limit x", "records load --limit",
                "records --limit 2", "records load echo"):
        r = raw(bad)
        check(not r["ok"] and r["code"] == "EINVAL" and "usage: records NAME [--limit N]" in
              r["error"], f"`{bad}` is refused with the usage (EINVAL)", json.dumps(r))
    r = raw('{"cmd":"records","name":"load","args":{"limit":2,"x":1}}')
    check(not r["ok"] and r["code"] == "EINVAL", "a records JSON arg with an unknown key is "
          "refused", json.dumps(r))
    st, out, err = ctl("--socket", SOCK, "records", "load", "--limit", "5")
    lines = out.splitlines()
    check(st == 0 and lines[0].split()[:3] == ["ID", "WORKER", "DIR"] and len(lines) == 7 and
          "5 records;" in lines[-1], "ctl records load --limit 5: a header, five rows and a "
          "count", out + err)

    # status: every engine, a failed one with its last error
    st, out, err = ctl("--socket", SOCK, "status", "--interval", "0.3")
    check(st == 0 and re.search(r"^echo\s+tcp-echo\s+pipeline\s+running\s+\d[^a-z]*\s*[a-z]+\s+"
                                r"healthy\s", out, re.M) and
          re.search(r"^taken\s+tcp-echo\s+pipeline\s+failed\s+-\s+failed\s", out, re.M),
          "ctl status: echo running, up, healthy; taken failed", out + err)
    check(re.search(r"^taken: .*(in use|bind)", out, re.M | re.I) is not None,
          "and the failed engine's last error is printed", out)
    check(re.search(r"^echo\s.*\d bit/s|^echo\s.*\d [kMG]bit/s", out, re.M),
          "and echo's traffic reads as a bit rate", out)
    st, out, err = ctl("--socket", SOCK, "--json", "status", "--interval", "0.3")
    j = json.loads(out)
    eng = {e["name"]: e for e in j["engines"]}
    check(st == 0 and eng["load"]["rates"]["connections"] > 0 and
          eng["echo"]["rates"]["bytes"] > 0 and eng["taken"]["error"],
          "ctl --json status: connections/s and bytes/s from counter deltas, the error",
          out + err)
    check(eng["load"]["rates"]["frames"] is None and eng["echo"]["health_from"] == "state",
          "rates an engine does not count are null; health comes from the state when the "
          "engine publishes none", out)

    # faults through ctl and on the socket
    st, out, err = ctl("--socket", SOCK, "bogus")
    check(st == 1 and "unknown command 'bogus'" in err, "ctl bogus: the host's error, exit 1",
          err)
    r = raw("bogus")
    check(not r["ok"] and r["code"] == "ENOENT", "the socket answers bogus with ENOENT",
          json.dumps(r))
    st, out, err = ctl("--socket", SOCK, '{"cmd":')
    check(st == 1 and "not valid JSON" in err, "malformed JSON through ctl: not valid JSON, "
          "exit 1", err)
    r = raw('{"cmd": "counters"')
    check(not r["ok"] and r["code"] == "EINVAL" and "not valid JSON" in r["error"],
          "malformed JSON on the socket: EINVAL", json.dumps(r))
    for args in (["counters", "nope"], ["records", "nope", "--limit", "2"], ["state", "nope"]):
        st, out, err = ctl("--socket", SOCK, *args)
        check(st == 1 and "unknown instance 'nope'" in err and out == "",
              f"ctl {' '.join(args)}: unknown instance, exit 1, nothing on stdout", out + err)
    st, out, err = ctl("--socket", SOCK, "--json", "counters", "nope")
    check(st == 1 and json.loads(out)["code"] == "ENOENT", "with --json the error reply is "
          "printed as JSON and the exit is still 1", out + err)

    # graph and reload are passed through: the host's answer, never a made-up one
    st, out, err = ctl("--socket", SOCK, "graph", "--dot")
    gr = raw("graph dot")
    check((st == 0) == gr["ok"] and (gr["ok"] or gr["error"] in err),
          "ctl graph --dot passes `graph dot` through and prints the host's answer", out + err)
    st, out, err = ctl("--socket", SOCK, "reload")
    rr = raw("reload")
    check((st == 0) == rr["ok"] and (rr["ok"] or rr["error"] in err),
          "ctl reload passes through and prints the host's answer", out + err)

    st, out, err = ctl("--socket", SOCK, "perf")
    check(st == 0 and out.split()[:3] == ["THREAD", "INSTANCE", "ENGINE"], "ctl perf: a table "
          "of threads", out + err)

    st, out, err = ctl("--socket", SOCK, "shutdown")
    check(st == 0 and out.startswith("shut down:"), "ctl shutdown: the host shuts down", out + err)
    host.wait(timeout=15)
    check(host.returncode == 1, "and exits (1: one engine failed)", host.returncode)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()

# a graph: `graph --dot` rendered, processors and links in status
gsock = os.path.join(TMP, "graph.sock")
gcfg = os.path.join(TMP, "graph.yaml")
with open(gcfg, "w") as f:
    f.write(f"""hangar: 1
plugin_path: [{FIXTURES}]
control: {{ socket: {gsock}, shutdown_timeout: 1s }}
graph:
  pool: {{ buffers: 2048, size: 256 }}
  processors:
    - {{ name: gen, engine: fixture-gen, mode: continuous, count: 1000000000 }}
    - {{ name: sink, engine: fixture-sink }}
  links:
    - {{ from: gen.out, to: sink.in, capacity: 128 }}
""")
ghost = subprocess.Popen([HANGAR, "run", gcfg], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(TMP, "graph.err"), "w"))
procs.append(ghost)
try:
    SOCK = gsock
    check(wait_for(lambda: raw("graph")["links"][0]["delivered"] > 0), "a host running a graph "
          "answers `graph`")
    st, out, err = ctl("--socket", gsock, "graph", "--dot")
    check(st == 0 and out.startswith("digraph") and '"gen" -> "sink"' in out,
          "ctl graph --dot prints the host's DOT text as it is, exit 0", out + err)
    st, out, err = ctl("--socket", gsock, "status", "--interval", "0.3")
    check(st == 0 and re.search(r"^gen +fixture-gen +processor +running +- +healthy .*"
                                r"\d(\.\d)? ?[kMG]?/s", out, re.M),
          "ctl status lists the processors with their frame rates", out + err)
    check(len(re.findall(r"^gen ", out, re.M)) == 1 and len(re.findall(r"^sink ", out, re.M)) == 1,
          "  each once (counters lists them; the graph reply does not add them again)", out)
    check(re.search(r"^LINK +POLICY +FILL +PEAK +FRAMES/S +DROPS/S +DROPPED$", out, re.M) and
          re.search(r"^gen\.out -> sink\.in +block +\d+% \(\d+/128\) +\d+ +[\d.]+ ?[kMG]?/s ", out,
                    re.M), "and each link's fill level, peak and rates", out)
    st, out, err = ctl("--socket", gsock, "--json", "status", "--interval", "0.3")
    j = json.loads(out)
    check(j["links"][0]["rates"]["delivered"] > 0 and 0 <= j["links"][0]["fill"] <= 1 and
          [e for e in j["engines"] if e["name"] == "sink"][0]["rates"]["frames"] > 0,
          "--json status: link fill as a fraction, frames per second", out)
    st, out, err = ctl("--socket", gsock, "shutdown")
    ghost.wait(timeout=15)
    check(st == 0 and ghost.returncode == 0, "the graph host shuts down (exit 0)",
          out + err + open(os.path.join(TMP, "graph.err")).read())
finally:
    if ghost.poll() is None:
        ghost.kill()
        ghost.wait()

# no host: a missing path, a dead host's socket, a path that is not a socket
missing = os.path.join(TMP, "nothing.sock")
st, out, err = ctl("--socket", missing, "counters")
check(st == 1 and f"no host answers at {missing}" in err and "no such file" in err,
      "a missing socket: the path tried and why, exit 1", err)
dead = os.path.join(TMP, "dead.sock")
d = socket.socket(socket.AF_UNIX)
d.bind(dead)
d.close()
st, out, err = ctl("--socket", dead, "counters")
check(st == 1 and f"no host answers at {dead}" in err and "refused" in err,
      "a dead host's socket: connection refused, exit 1", err)
plain = os.path.join(TMP, "plain")
open(plain, "w").close()
st, out, err = ctl("--socket", plain, "counters")
check(st == 1 and f"no host answers at {plain}" in err and "not a socket" in err,
      "a path that is not a socket: said so, exit 1", err)

print("1..%d" % n)
subprocess.run(["rm", "-rf", TMP])
sys.exit(failed)
