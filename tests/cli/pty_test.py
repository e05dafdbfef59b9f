#!/usr/bin/env python3
# pty_test.py HANGAR - `hangar ctl top` and `hangar run -i` under a pseudo-terminal: keys are
# written to the terminal, the screen is read back. top redraws every interval and quits on q;
# the prompt completes command and engine names with Tab, recalls history with the up arrow,
# prints tables and ends the host on quit, shutdown and Ctrl-D. TAP on stdout; every process
# started here is stopped by its PID.
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

HANGAR = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="hg-pty-")
SOCK = os.path.join(TMP, "ctl.sock")
n = 0
failed = 0
pids = []


def check(cond, desc, show=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, desc))
    if not cond:
        failed = 1
        for line in str(show).splitlines()[-25:]:
            print("# " + repr(line))
    sys.stdout.flush()


class Term:
    """A process on a pseudo-terminal of 120x40: send keys, read what it drew."""

    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm"
            os.environ["COLUMNS"], os.environ["LINES"] = "120", "40"
            try:
                os.execv(argv[0], argv)
            finally:
                os._exit(127)
        pids.append(self.pid)
        import fcntl
        import struct
        import termios
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.screen = ""
        self.status = None

    def read(self, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], max(0, end - time.monotonic()))
            if not r:
                break
            try:
                d = os.read(self.fd, 65536)
            except OSError:
                break
            if not d:
                break
            self.screen += d.decode(errors="replace")
            return True
        return False

    def plain(self):
        """The screen's text with the terminal's control sequences taken out."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.screen)

    def mark(self):
        return len(self.plain())

    def wait_for(self, pattern, secs=10, start=0):
        """Reads until pattern shows in plain() after offset start. Returns the match or None."""
        end = time.monotonic() + secs
        while True:
            m = re.compile(pattern, re.S | re.M).search(self.plain(), start)
            if m or time.monotonic() > end:
                return m
            self.read(min(0.2, max(0.01, end - time.monotonic())))

    def wait_raw(self, secs=10):
        """Waits until the program took the terminal out of line mode (the master reports the
        slave's modes), so that a key is read as the program sees keys, not by the line
        discipline."""
        import termios
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if not termios.tcgetattr(self.fd)[3] & termios.ICANON:
                return True
            self.read(0.02)
        return False

    def send(self, keys):
        os.write(self.fd, keys.encode())

    def wait_exit(self, secs=15):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            self.read(0.1)
            p, st = os.waitpid(self.pid, os.WNOHANG)
            if p == self.pid:
                pids.remove(self.pid)
                self.status = os.waitstatus_to_exitcode(st)
                while self.read(0.05):
                    pass
                return self.status
        return None


def write_config(path, socket_line):
    with open(path, "w") as f:
        f.write(f"""hangar: 1
{socket_line}
pipelines:
  - {{ name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }}
  - {{ name: load, engine: tcp-gen, connect: echo, connections: 2, duration: 60s,
      pattern: ping-pong, payload: 1KiB }}
""")


def raw(line):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(SOCK)
    s.sendall(line.encode() + b"\n")
    out = b""
    while not out.endswith(b"\n"):
        d = s.recv(65536)
        if not d:
            break
        out += d
    return json.loads(out)


def wait_host():
    end = time.monotonic() + 15
    while time.monotonic() < end:
        try:
            if raw("state echo")["state"] == "running":
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    return False


os.environ["HANGAR_HISTORY"] = os.path.join(TMP, "history")
print("TAP version 13")
cfg = os.path.join(TMP, "host.yaml")
write_config(cfg, f"control: {{ socket: {SOCK}, shutdown_timeout: 1s }}")
host = subprocess.Popen([HANGAR, "run", cfg], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
pids.append(host.pid)
try:
    check(wait_host(), "a host with a control socket runs")

    # top on a terminal: the alternate screen, a table per frame, q quits and restores it
    t = Term([HANGAR, "ctl", "--socket", SOCK, "top"])
    t.wait_raw()
    m = t.wait_for(r"hangar top - (\d\d:\d\d:\d\d).*?NAME +ENGINE +KIND +STATE +UPTIME +HEALTH")
    check(m is not None and "\x1b[?1049h" in t.screen, "top draws on the alternate screen: a "
          "header line and the engines' table", t.screen)
    m2 = t.wait_for(r"hangar top - .*?hangar top - .*?^echo +tcp-echo +pipeline +running .*?"
                    r"healthy .*?[kMG]?bit/s", 10)
    check(m2 is not None and t.screen.count("\x1b[H") >= 2, "it redraws in place (cursor "
          "home); echo shows running, healthy, with a bit rate", t.plain()[-3000:])
    check(all(len(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line)) <= 120
              for line in re.split(r"\r\n|\x1b\[H", t.screen)),
          "no line is wider than the terminal")
    t.send("q")
    st = t.wait_exit(5)
    check(st == 0 and t.screen.rstrip().endswith("\x1b[?1049l"),
          "q quits top at once (exit 0) and restores the screen", repr(t.screen[-200:]))

    # Ctrl-C ends top too, and still restores the terminal
    t = Term([HANGAR, "ctl", "--socket", SOCK, "top", "--interval", "0.2"])
    t.wait_for(r"NAME +ENGINE")
    t.send("\x03")
    st = t.wait_exit(5)
    check(st == 0 and "\x1b[?1049l" in t.screen, "Ctrl-C ends top with the screen restored",
          repr(t.screen[-200:]))

    # not a terminal: plain lines, no escapes, -n frames
    p = subprocess.run([HANGAR, "ctl", "--socket", SOCK, "top", "-n", "2", "--interval", "0.2"],
                       capture_output=True, text=True, timeout=20)
    check(p.returncode == 0 and p.stdout.count("hangar top - ") == 2 and "\x1b" not in p.stdout,
          "top with stdout not a terminal prints plain frames (-n 2: two)", p.stdout + p.stderr)

    # the host going away ends top with a message naming the socket
    t = Term([HANGAR, "ctl", "--socket", SOCK, "top", "--interval", "0.2"])
    t.wait_for(r"NAME +ENGINE")
    raw("shutdown")
    st = t.wait_exit(10)
    check(st == 1 and re.search(re.escape(SOCK), t.screen.split("\x1b[?1049l")[-1]),
          "when the host goes away top exits 1 and says which socket, after the screen is "
          "restored", repr(t.screen[-300:]))
    host.wait(timeout=10)
    pids.remove(host.pid)
finally:
    if host.poll() is None:
        host.kill()
        host.wait()

# the prompt: hangar run -i
cfg_i = os.path.join(TMP, "prompt.yaml")
write_config(cfg_i, "control: { shutdown_timeout: 1s }")
t = Term([HANGAR, "run", "-i", cfg_i])
check(t.wait_for(r"hangar> ") is not None and t.wait_raw(), "hangar run -i shows a prompt and "
      "reads keys one by one", t.screen)
at = t.mark()
t.send("cou\t")
# libedit draws only what completion inserted, after the typed text
check(t.wait_for(r"cou.*nters $", 5, at) is not None, "Tab completes a command name (cou: "
      "counters, and a space)", t.plain()[at:])
at = t.mark()
t.send("ec\t")
check(t.wait_for(r"ec.*ho $", 5, at) is not None, "Tab completes an engine name (ec: echo)",
      t.plain()[at:])
at = t.mark()
t.send("\r")
check(t.wait_for(r"echo  \(tcp-echo pipeline, running\).*?bytes_in: .*?hangar> ", 10, at)
      is not None, "Enter runs it: the same table as hangar ctl counters echo", t.plain()[at:])
at = t.mark()
t.send("st\t")
check(t.wait_for(r"\r?\n(status +state +start +stop|.*status.*state.*)", 5, at) is not None,
      "Tab on an ambiguous start lists the choices (st: status, state, start, stop)",
      t.plain()[at:])
t.send("\x15status\r")  # Ctrl-U clears what was typed
at = t.mark()
check(t.wait_for(r"NAME +ENGINE +KIND.*?^load +tcp-gen .*?hangar> ", 10, at) is not None,
      "status prints the engines' table", t.plain()[at:])
at = t.mark()
t.send("\x1b[A")
check(t.wait_for(r"status", 5, at) is not None, "the up arrow recalls the last command",
      t.plain()[at:])
t.send("\x15bogus\r")
at = t.mark()
check(t.wait_for(r"unknown command 'bogus'.*?hangar> ", 5, at) is not None,
      "an unknown command prints the host's error and the prompt goes on", t.plain()[at:])
t.send("counters nope\r")
check(t.wait_for(r"unknown instance 'nope'.*?hangar> ", 5, at) is not None,
      "an engine that does not exist: the host's error", t.plain()[at:])
t.send("quit\r")
st = t.wait_exit(15)
check(st == 0 and "shut down:" in t.screen, "quit shuts the host down and exits 0",
      t.screen[-500:])

t = Term([HANGAR, "run", "-i", cfg_i])
t.wait_for(r"hangar> ")
t.wait_raw()
at = t.mark()
t.send("\x1b[A")
check(t.wait_for(r"quit", 5, at) is not None, "the history outlives the run ($HANGAR_HISTORY): "
      "the up arrow recalls the last run's last command (quit)", t.plain()[at:])
at = t.mark()
t.send("\x1b[A")
check(t.wait_for(r"counters nope", 5, at) is not None, "  and the one before it",
      t.plain()[at:])
t.send("\x15\x04")
st = t.wait_exit(15)
check(st == 0 and "shut down:" in t.screen, "Ctrl-D (end of input) shuts down and exits 0",
      t.screen[-500:])

t = Term([HANGAR, "run", "-i", cfg_i])
t.wait_for(r"hangar> ")
t.wait_raw()
t.send("shutdown\r")
st = t.wait_exit(15)
check(st == 0 and t.screen.count("shut down:") == 1, "shutdown ends the prompt and the host, "
      "exit 0", t.screen[-500:])

print("1..%d" % n)
for pid in pids:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
subprocess.run(["rm", "-rf", TMP])
sys.exit(failed)
