-- load.lua - tcp-gen against tcp-echo; asserts a minimum rate and zero failures:
--   hangar scenario scripts/scenarios/load.lua [MIN_RATE=20000] [MODE=uv] [DURATION=2s] \
--       [CONNECTIONS=64] [PAYLOAD=64B]
-- MIN_RATE is in round trips per second (ping-pong).
local min_rate = tonumber(arg[1] or "20000")
local mode = arg[2] or "uv"
local duration = arg[3] or "2s"
local conns = tonumber(arg[4] or "64")
local payload = arg[5] or "64B"

local echo = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 1 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]], mode) }
local gen = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 1 }
pipelines:
  - { name: load, engine: tcp-gen, connect: "%s", connections: %d, payload: %s,
      pattern: ping-pong, duration: %s }
]], mode, echo:address("echo"), conns, payload, duration) }

ok(gen:wait_done(hangar.duration(duration) + 10), "the load run finishes")
local c = gen:counters("load")
local secs = (c.stopped_ns - c.started_ns) / 1e9
local rate = c.responses / secs
note(string.format("%s: %d connections, %s payload: %d round trips in %.2f s = %.0f/s; " ..
                   "p50 %.1f us, p99 %.1f us, max %.1f us", mode, conns, payload, c.responses,
                   secs, rate, c.latency_p50_ns / 1e3, c.latency_p99_ns / 1e3,
                   c.latency_max_ns / 1e3))
is(c.errors, 0, "no request failed")
is(c.connections_failed, 0, "no connection failed")
cmp_ok(c.responses, ">", 0, "responses came back")
cmp_ok(rate, ">=", min_rate, string.format("at least %d round trips/s", min_rate))
is(echo:counters("echo").bytes_in, c.bytes_out, "the echo saw every byte the generator sent")
ok(gen:shutdown(), "the generator shuts down")
ok(echo:shutdown(), "the echo shuts down")
done_testing()
