-- tcp-gen's reports and run control on a runtime mode (arg[1]): the "summary" and "stats"
-- commands, close_by client/server with requests_per_connection, cps_limit, and stopping a
-- generator in the middle of a long run.
local mode = arg[1] or "uv"
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 4, payload: 32B,
      requests: 1000 }
  - { name: byclient, engine: tcp-gen, connect: echo, connections: 2, requests: 30,
      requests_per_connection: 1, close_by: client }
  - { name: byserver, engine: tcp-gen, connect: echo, connections: 2, requests: 30,
      requests_per_connection: 3, close_by: server }
  - { name: paced, engine: tcp-gen, connect: echo, connections: 1, duration: 1s,
      requests_per_connection: 1, cps_limit: 40 }
]], mode) }

ok(h:wait_for(function() return h:state("load") == "stopped" end, "20s"),
   mode .. ": a generator with a request budget reports stopped")
local s = h:call("load", { verb = "summary" }).reply
is(s.requests, 1000, "the summary counts the requests")
is(s.responses, 1000, "and the responses")
is(s.bytes, 2 * 1000 * 32, "and the bytes both ways")
is(s.connections, 4, "and the connections")
is(s.finished, true, "and says the run is over")
cmp_ok(s.rps, ">", 0, "with a rate")
cmp_ok(s.latency_p999_ns, ">=", s.latency_p50_ns, "and ordered percentiles")
is(s.failures.refused, 0, "and no failure")
cmp_ok(math.abs(s.bytes_out_per_s * s.seconds - 1000 * 32), "<", 100,
       "the rate out is the bytes sent over the time")
is(s.outcome, "passed", "the run passed")
is(h:counters("load").outcome, "passed", "as the fact `outcome` says")
like(s.text, "1000 sent, 1000 answered", "its text reads like a report")
like(s.text, "latency +p50", "with a latency line")
local st = h:call("load", { verb = "stats" }).reply
is(st.responses, 1000, "stats gives the same numbers")
is(st.text, nil, "without the text")

ok(h:wait_for(function()
    return h:state("byclient") == "stopped" and h:state("byserver") == "stopped"
end, "20s"), "generators with requests_per_connection finish")
is(h:counters("byclient").connections_established, 30, "close_by client: a connection per request")
is(h:counters("byserver").connections_established, 10, "close_by server: one per 3 requests")
is(h:counters("byserver").errors, 0, "the server's closes are not errors")

ok(h:wait_for(function() return h:state("paced") == "stopped" end, "5s"), "the paced one ends")
local n = h:counters("paced").connections_established
-- the limit is an upper bound; a loaded machine may give fewer (19 of 40 with two parallel
-- builds), so the floor only shows the generator ran
ok(n >= 1 and n <= 48, "cps_limit 40 paces new connections (" .. n .. " in 1s)")

local g = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: long, engine: tcp-gen, connect: "%s", connections: 4, duration: 60s }
]], mode, h:address("echo")) }
ok(g:wait_for(function() return (g:counters("long").responses or 0) > 100 end, "5s"),
   "a 60s generator is running")
local t0 = hangar.now()
is(g:command("stop long").ok, true, "stop answers")
is(g:state("long"), "stopped", "and the generator is stopped")
cmp_ok(hangar.now() - t0, "<", 3, "promptly")
local ls = g:call("long", { verb = "summary" }).reply
ok(ls.finished and ls.seconds < 30, "its summary covers the time it ran")
is(ls.errors, 0, "without errors")

is(g:shutdown(), true, "the generator host shuts down")
is(h:shutdown(), true, "the echo host shuts down")
done_testing()
