-- tcp-gen's stream pattern on a runtime mode (arg[1]) delivers every byte it counts as sent:
-- with `requests:` (and requests_per_connection) it half-closes and reads the server's echo
-- until EOF, directly and through tcp-proxy, and a server that never confirms the end (no EOF
-- within the drain bound) is a failure, not a clean close.
local mode = arg[1] or "uv"
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: g, engine: tcp-gen, connect: echo, pattern: stream, requests: 1000,
      connections: 2, payload: 1KiB }
]], mode) }
ok(h:wait_done("10s"), mode .. ": a stream with a request budget finishes")
local s = h:call("g", "summary").reply
is(s.bytes_out, 1024000, "it sent 1000 payloads of 1 KiB")
is(s.bytes_in, 1024000, "and read every byte echoed back before closing")
is(s.errors, 0, "without a failure")
is(s.outcome, "passed", "the run passed")
like(s.text, "received +1%.02 MB", "the summary's text says what was received")
ok(h:wait_for(function() return h:counters("echo").connections_open == 0 end, "5s"),
   "the echo's connections are closed")
local e, g = h:counters("echo"), h:counters("g")
is(e.bytes_in, 1024000, "the echo read every byte sent")
is(e.closed_passive_reset or 0, 0, "no connection was reset under the echo")
is((g.closed_active_reset or 0) + (g.closed_passive_reset or 0), 0,
   "nor under the generator")
is(g.closed_active, 2, "both connections closed cleanly, the generator first")
is(h:shutdown(), true, "the host shuts down")

-- Through a proxy, with a connection per 100 payloads.
h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: px, engine: tcp-proxy, listen: "127.0.0.1:0", upstream: echo }
  - { name: g, engine: tcp-gen, connect: px, pattern: stream, requests: 1000,
      connections: 2, payload: 1KiB, requests_per_connection: 100 }
]], mode) }
ok(h:wait_done("10s"), "a stream through a proxy with requests_per_connection finishes")
s = h:call("g", "summary").reply
is(s.bytes_in, 1024000, "every byte came back through the proxy")
is(s.errors, 0, "without a failure")
is(s.connections, 10, "over 10 connections")
ok(h:wait_for(function() return h:counters("echo").bytes_in == 1024000 end, "5s"),
   "the echo behind the proxy read every byte")
is(h:counters("g").closed_active_reset or 0, 0, "no connection of the generator was reset")
is(h:shutdown(), true, "the host shuts down")

-- A server that reads but never ends its side: the end is not confirmed.
local l = assert(hangar.tcp.listen("127.0.0.1:0"))
h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 1 }
pipelines:
  - { name: g, engine: tcp-gen, connect: "%s", pattern: stream, requests: 10, payload: 100B }
]], mode, l:address()) }
local peer = assert(l:accept("5s"))
is(#assert(peer:recv(1000, "5s")), 1000, "the silent server reads the 10 payloads")
ok(h:wait_done("10s"), "the generator ends within its drain bound")
s = h:call("g", "summary").reply
is(s.failures.timeout, 1, "the unconfirmed end is a failure of cause timeout")
is(s.outcome, "failed", "the run failed")
is(h:counters("g").closed_timeout, 1, "its connection was closed with cause timeout")
h:log_like("stream's end was not confirmed by the server %(no EOF within the drain bound%)",
           "the generator says why in a warning")
peer:close()
l:close()
is(h:shutdown(), true, "the host shuts down")
done_testing()
