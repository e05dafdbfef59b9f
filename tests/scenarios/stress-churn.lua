-- stress-churn.lua (suite stress): connection churn and sustained load through a proxy on a
-- runtime mode (arg[1]): many short connections, long ping-pong, a never-reading peer, then a
-- bounded shutdown. Checks that every connection is accounted for and nothing is left open.
local mode = arg[1] or "uv"
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
control: { shutdown_timeout: 3s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: front, engine: tcp-proxy, listen: "127.0.0.1:0", upstream: echo, high_water: 256KiB }
  - { name: churn, engine: tcp-gen, connect: front, connections: 64, duration: 3s,
      requests_per_connection: 2, close_by: client }
  - { name: steady, engine: tcp-gen, connect: front, connections: 128, duration: 3s,
      payload: 1KiB }
]], mode) }

local stuck = {}
for i = 1, 20 do -- peers that send a lot and never read: the proxy must stay bounded
    local c = hangar.tcp.connect(h:address("front"), "2s")
    if c then
        c:send(string.rep("x", 256 * 1024))
        stuck[#stuck + 1] = c
    end
end
is(#stuck, 20, mode .. ": twenty never-reading peers connect")

ok(h:wait_for(function()
    return h:state("churn") == "stopped" and h:state("steady") == "stopped"
end, "30s"), "both generators finish their 3 s runs")

for _, name in ipairs { "churn", "steady" } do
    local s = h:call(name, "summary").reply
    cmp_ok(s.responses, ">", 1000, name .. ": it got answers")
    local failed = 0
    for _, v in pairs(s.failures or {}) do failed = failed + v end
    is(failed, 0, name .. ": without a single failure")
    local c = h:counters(name)
    is(c.connections_open, 0, name .. ": no connection is left open")
    -- Connects still in flight when the run's time is up are abandoned by the generator: the
    -- runtime counts them as failed attempts (never established), at most one per slot.
    cmp_ok(c.connections_failed, "<=", 128,
           name .. ": only connects abandoned at the end of the run count as failed")
end
cmp_ok(h:counters("churn").connections_established, ">", 500,
       "the churn generator went through hundreds of connections")

local f = h:counters("front")
cmp_ok(f.queued_max or 0, "<", 4 * 1024 * 1024,
       "the proxy's largest queue stays near its high-water mark")

for _, c in ipairs(stuck) do c:close() end
ok(h:wait_for(function() return h:counters("front").connections_open == 0 end, "10s"),
   "the proxy closes the never-reading peers' connections once they go")
local e = h:counters("echo")
is(e.connections_established, e.closed_active + e.closed_passive + e.closed_active_reset +
   e.closed_passive_reset + e.closed_timeout + e.closed_error + e.closed_shutdown +
   e.connections_open, "echo: every established connection is open or closed with a cause")
ok(h:shutdown(), "the host shuts down cleanly after the churn")
done_testing()
