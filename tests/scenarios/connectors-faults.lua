-- Connector faults: exec children that exit, flood, or never read their stdin; udp in and out;
-- a stream that ignores its cancel is named and the host still stops; cancelling the host stops
-- every stream within the bound.
local fixture = arg[1]

-- exec: a child that prints, complains and exits 3 (restart: never)
local h = hangar.start { yaml = [[
hangar: 1
connectors:
  - name: run
    engine: exec
    streams:
      - { name: once, command: [sh, -c, "echo a; echo b; echo oops >&2; exit 3"] }
      - { name: cat, command: [cat], restart: always }
      - { name: flaky, command: [sh, -c, "echo x; exit 1"], restart: on-failure, backoff_min: 10ms, backoff_max: 40ms }
      - { name: flood, command: [sh, -c, "yes flood"], max_pending_events: 64, policy: drop_newest }
      - { name: deaf, command: [sleep, "600"], max_pending_actions: 4 }
]] }
local function events(s, n)
    local got = {}
    h:wait_for(function()
        for _, e in ipairs(h:call("run", {verb = "read", stream = s, max = 100}).reply.events) do got[#got + 1] = e end
        return #got >= n
    end, "5s")
    return got
end
is(table.concat(events("once", 2), ","), "a,b", "a child's stdout lines arrive as events")
ok(h:wait_for(function() return (h:counters("run").streams.once.details or {}).last_exit == "exited 3" end, "5s"),
   "its exit status is reported")
is(h:counters("run").streams.once.state, "failed", "restart: never leaves a failed child's stream failed")
ok(not h:counters("run").streams.once.healthy, "and unhealthy")
h:log_like("once: stderr: oops")
h:call("run", {verb = "read", stream = "cat", max = 1})
h:call("run", {verb = "send", stream = "cat", data = "hello"})
is(events("cat", 1)[1], "hello", "an action goes to the child's stdin (cat echoes it)")
ok(h:wait_for(function() return ((h:counters("run").streams.flaky.details or {}).starts or 0) >= 3 end, "5s"),
   "restart: on-failure starts a failing child again with backoff")
ok(h:wait_for(function() return h:counters("run").streams.flood.dropped > 1000 end, "5s"),
   "a flooding child fills the channel and drop_newest counts what it drops")
local f = h:counters("run").streams.flood
is(f.events, f.delivered + f.dropped + f.queued, "the flood's counters add up")
local big = string.rep("z", 30000)
local refused = 0
for i = 1, 20 do
    local r = h:command(string.format('call run {"verb":"send","stream":"deaf","data":"%s"}', big))
    if not r.ok then refused = refused + 1 end
end
ok(refused > 0, "a child that never reads its stdin: actions back up and further sends are refused (" .. refused .. ")")
ok(h:counters("run").streams.deaf.healthy, "and the stream itself is still healthy")
-- reload: every stream closed and opened again from its config; channels and counters stay
local before = h:counters("run").streams.cat
local rr = h:call("run", "reload")
ok(rr.ok and rr.reply.reloaded == 5 and #rr.reply.failed == 0, "reload rebuilds all five streams")
ok(h:wait_for(function()
    local c = h:counters("run").streams.cat
    return c.healthy and (c.details or {}).pid ~= before.details.pid
end, "5s"), "the cat stream runs a new child")
ok(h:counters("run").streams.cat.events >= before.events, "its counters are kept")
h:call("run", {verb = "send", stream = "cat", data = "again"})
is(events("cat", 1)[1], "again", "and its channels: the read side still takes its events")
local t0 = hangar.now()
ok(h:shutdown(), "every exec stream stops on shutdown (children killed and reaped)")
ok(hangar.now() - t0 < 5, "within the bound")

-- udp: one host listens, another sends
local a = hangar.start { yaml = [[
hangar: 1
connectors:
  - name: in
    engine: udp
    streams: [ { name: d, listen: "127.0.0.1:0" } ]
]] }
a:wait_for(function() return (a:counters("in").streams.d.details or {}).address ~= nil end, "3s")
local addr = a:counters("in").streams.d.details.address
a:call("in", {verb = "read", stream = "d", max = 1})
local b = hangar.start { yaml = string.format([[
hangar: 1
connectors:
  - name: out
    engine: udp
    streams: [ { name: d, send_to: "%s" } ]
]], addr) }
b:wait_for(function() return b:counters("out").streams.d.healthy end, "3s")
for i = 1, 3 do b:call("out", {verb = "send", stream = "d", data = "dgram " .. i}) end
local got = {}
a:wait_for(function()
    for _, e in ipairs(a:call("in", {verb = "read", stream = "d", max = 10}).reply.events) do got[#got + 1] = e end
    return #got >= 3
end, "3s")
is(table.concat(got, ","), "dgram 1,dgram 2,dgram 3", "actions go out as datagrams and come in as events")
ok(b:wait_for(function() return (b:counters("out").streams.d.details or {}).sent == 3 end, "3s"),
   "the sender's details count three sent")
ok(a:shutdown() and b:shutdown(), "both udp hosts stop")

-- a stream that ignores its cancel
if fixture then
    local s = hangar.start { yaml = string.format([[
hangar: 1
plugin_path: [%s]
control: { shutdown_timeout: 300ms }
connectors:
  - name: good
    engine: fixture-ticker
    streams: [ { name: a }, { name: b } ]
  - name: stuck
    engine: fixture-ticker
    streams: [ { name: fine }, { name: deaf, ignore_cancel_ms: 4000 } ]
]], fixture), expect_errors = true }
    s:wait_for(function() return s:counters("stuck").streams.deaf.running end, "3s")
    local t1 = hangar.now()
    local r, msg = s:shutdown()
    ok(not r, "a stream that ignores its cancel makes the shutdown report a late engine")
    like(msg or "", "stuck", "naming its connector")
    s:log_like("stream stuck%.deaf did not stop")
    ok(hangar.now() - t1 < 4, "and the host still stops before the stream would have")
    is(s:state("good"), "stopped", "the other connector stopped within the bound")
end
done_testing()
