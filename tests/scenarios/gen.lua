-- tcp-gen against tcp-echo on a runtime mode (arg[1]): a bounded ping-pong run finishes, every
-- request gets its response, latency percentiles are published; a generator against a closed
-- port counts refusals instead.
local mode = arg[1] or "uv"
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]], mode) }
local addr = h:address("echo")

local g = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: load, engine: tcp-gen, connect: "%s", connections: 8, payload: 64B,
      pattern: ping-pong, requests: 2000, records: true }
]], mode, addr) }
ok(g:wait_done("20s"), mode .. ": a generator with a request budget finishes")
local c = g:counters("load")
is(c.requests, 2000, "it sent every request")
is(c.responses, 2000, "and got every response")
is(c.errors, 0, "without errors")
cmp_ok(c.latency_p50_ns, ">", 0, "the median latency is published")
cmp_ok(c.latency_p99_ns, ">=", c.latency_p50_ns, "p99 >= p50")
is(c.bytes_out, 2000 * 64, "bytes_out is requests x payload")
is(c.bytes_in, c.bytes_out, "bytes_in matches")
is(c.connections_established, 8, "over the configured connections")
cmp_ok(#g:records("load"), ">=", 8, "each connection has a record")
is(h:counters("echo").bytes_in, 2000 * 64, "the echo side saw the same bytes")

local s = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: stream, engine: tcp-gen, connect: "%s", connections: 2, payload: 16KiB,
      pattern: stream, duration: 300ms }
]], mode, addr) }
ok(s:wait_done("10s"), "a stream run with a duration finishes")
cmp_ok(s:counters("stream").bytes_out, ">", 0, "and sent bytes")

local p = assert(hangar.tcp.listen("127.0.0.1:0"))
local closed = p:address()
p:close()
local f = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 1 }
pipelines:
  - { name: nowhere, engine: tcp-gen, connect: "%s", connections: 1, requests: 5 }
]], mode, closed) }
ok(f:wait_done("10s"), "a generator against a closed port gives up")
local fc = f:counters("nowhere")
cmp_ok(fc.failed_refused, ">", 0, "counting refused connections")
is(fc.responses, 0, "and no response")
f:log_like("connect failures", "it says why in the log")

is(g:shutdown(), true, "the generator host shuts down")
is(h:shutdown(), true, "the echo host shuts down")
done_testing()
