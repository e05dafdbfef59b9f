-- The in-tree connectors (plugins/connectors): ticker on schedule, tail through rotations by
-- rename and copytruncate with nothing lost or repeated, tcp reconnecting with backoff, bad
-- stream descriptors as FILE:LINE:COL errors. arg[1]: lines for the tail run (default 100000).
local total = tonumber(arg[1] or "100000")
local every = math.max(total // 20, 1)
local dir = os.tmpname(); os.remove(dir); os.execute("mkdir -p " .. dir)
local log = dir .. "/app.log"
io.open(log, "w"):close()

-- bad descriptors
local okc, errs = hangar.check { yaml = [[
hangar: 1
connectors:
  - name: c
    engine: tail
    streams:
      - { name: a, path: /nonexistent/file.log, max_pending_events: 0, core: 4096 }
      - { name: b, path: /etc/hostname, form: start }
  - name: n
    engine: tcp
    streams:
      - { name: up, connect: "127.0.0.1:1", framing: lines }
]] }
ok(not okc, "a descriptor with a zero bound, a core that does not exist and a missing path is refused")
local all = table.concat(errs, "\n")
like(all, ":6:%d+: .*max_pending_events", "the zero bound is named with FILE:LINE:COL")
like(all, ":6:%d+: .*core 4096 does not exist", "the missing core is named")
like(all, ":6:%d+: .*/nonexistent/file.log", "the missing path is named")
like(all, ":7:%d+: .*unknown key 'form'", "an unknown stream key is named")
like(all, ":11:%d+: .*'framing' is raw, line or u32", "a bad framing is named")

local h = hangar.start { yaml = string.format([[
hangar: 1
connectors:
  - name: tick
    engine: ticker
    streams:
      - { name: t, interval: 20ms, core: least-loaded, policy: drop_oldest, max_pending_events: 8 }
  - name: logs
    engine: tail
    streams:
      - { name: app, path: %s, from: start, max_pending_events: 4096 }
]], log) }

-- ticker: on schedule. Its tick number counts every slot since its start (a slot missed while
-- the machine was busy is skipped and counted), so tick numbers against the scenario's clock
-- show drift whatever the load
local function tick_now() return (h:counters("tick").streams.t.details or {}).ticks or 0 end
h:wait_for(function() return tick_now() >= 2 end, "5s")
local a0 = hangar.now(); local k0 = tick_now(); local a1 = hangar.now()
hangar.sleep("1s")
local b0 = hangar.now(); local k1 = tick_now(); local b1 = hangar.now()
-- each read happened somewhere inside its [before, after] window; a tick is published once due,
-- at most late_max after it (a loaded or instrumented build wakes the ticker late)
local late = h:counters("tick").streams.t.details.late_max_ns / 1e9
local lo, hi = (b0 - a1 - late) / 0.020 - 2, (b1 - a0) / 0.020 + 2
ok(k1 - k0 >= lo and k1 - k0 <= hi, string.format("%d ticks in about %.3fs at 20ms (%.1f to %.1f expected)", k1 - k0, b0 - a1, lo, hi))
local st = h:counters("tick").streams.t
ok(st.healthy and st.details.late_max_ns ~= nil and st.details.late_mean_ns ~= nil,
   "the ticker is healthy and reports its lateness (max, mean)")
is(st.events, st.dropped + st.queued + st.delivered, "its events add up")

-- tail: a writer that rotates by rename and by copytruncate
local seen, next_expected, dups, lost = 0, 0, 0, 0
local function drain(wait)
    local r = h:call("logs", {verb = "read", stream = "app", max = 20000, timeout = wait or "0"}).reply
    for _, line in ipairs(r.events) do
        local n = tonumber(line:match("^line (%d+)"))
        if n == nil or n < next_expected then dups = dups + 1
        elseif n > next_expected then lost = lost + (n - next_expected); next_expected = n + 1
        else next_expected = n + 1 end
        seen = seen + 1
    end
    return #r.events
end
drain()
local f = io.open(log, "a")
local rot_rename, rot_trunc = 0, 0
for i = 0, total - 1 do
    f:write(string.format("line %d %s\n", i, string.rep("x", i % 40)))
    if i % 5000 == 4999 then f:flush(); drain() end
    if i % every == every - 1 and i < total - 1 then
        f:flush()
        if (i // every) % 2 == 0 then
            f:close(); os.rename(log, log .. ".1"); f = io.open(log, "a"); rot_rename = rot_rename + 1
        else -- copytruncate: the copy holds what was written; lines the stream had not read yet
             -- would be in the copy only, so the rotator waits for it to catch up
            while seen < i + 1 do if drain("100ms") == 0 and seen < i + 1 then end end
            os.execute(string.format("cp %s %s.2", log, log)); f:close(); f = io.open(log, "w")
            rot_trunc = rot_trunc + 1
        end
    end
end
f:close()
local deadline = hangar.now() + 60
while seen < total and hangar.now() < deadline do drain("100ms") end
is(seen, total, string.format("%d lines through %d renames and %d truncations all arrive", total, rot_rename, rot_trunc))
is(lost, 0, "none lost")
is(dups, 0, "none repeated")
local a = h:counters("logs").streams.app
is(a.dropped, 0, "none dropped under block")
is(a.details.rotations, rot_rename, "each rename seen as a rotation")
is(a.details.truncations, rot_trunc, "each copytruncate seen as a truncation")

-- tcp: a server that goes away
local l = assert(hangar.tcp.listen("127.0.0.1:0"))
local addr = l:address()
local h2 = hangar.start { yaml = string.format([[
hangar: 1
connectors:
  - name: net
    engine: tcp
    streams:
      - { name: up, connect: "%s", framing: line, backoff_min: 20ms, backoff_max: 200ms }
]], addr) }
local c = assert(l:accept("3s"))
h2:call("net", {verb = "read", stream = "up", max = 1})
h2:wait_for(function() return h2:counters("net").streams.up.healthy end, "3s")
c:send("hello\nworld\n")
local got = {}
h2:wait_for(function()
    for _, e in ipairs(h2:call("net", {verb = "read", stream = "up", max = 10}).reply.events) do got[#got + 1] = e end
    return #got >= 2
end, "3s")
is(table.concat(got, ","), "hello,world", "lines from the server arrive as events")
h2:call("net", {verb = "send", stream = "up", data = "ping"})
is(c:recv(5, "2s"), "ping\n", "an action is written as a line")
c:close(); l:close()
ok(h2:wait_for(function() return not h2:counters("net").streams.up.healthy end, "3s"),
   "the stream is unhealthy once the server vanished")
local l2 = assert(hangar.tcp.listen(addr))
local c2 = assert(l2:accept("5s"))
ok(h2:wait_for(function() return h2:counters("net").streams.up.healthy end, "3s"),
   "it reconnects with backoff and is healthy again")
ok(h2:counters("net").streams.up.reconnects >= 1, "the reconnect is counted")
ok(h2:counters("net").streams.up.details.failures >= 1, "and the failed attempts")
c2:close(); l2:close()
ok(h2:shutdown(), "the tcp host shuts down")
ok(h:shutdown(), "the host stops every stream within the bound")
-- tail with offsets: a new host resumes where the last one stopped (lines written while no host
-- ran included), and `restart` of one stream resumes likewise
local olog, ofile = dir .. "/o.log", dir .. "/o.offsets"
local w = io.open(olog, "w"); for i = 1, 10 do w:write("o" .. i .. "\n") end; w:close()
local ocfg = string.format([[
hangar: 1
connectors:
  - name: t
    engine: tail
    streams: [ { name: s, path: %s, from: end, offsets: %s } ]
]], olog, ofile)
local function take(host, n)
    local got = {}
    host:wait_for(function()
        for _, e in ipairs(host:call("t", {verb = "read", stream = "s", max = 100}).reply.events) do got[#got + 1] = e end
        return #got >= n
    end, "5s")
    hangar.sleep("50ms")
    for _, e in ipairs(host:call("t", {verb = "read", stream = "s", max = 100}).reply.events) do got[#got + 1] = e end
    return table.concat(got, ",")
end
local o1 = hangar.start { yaml = ocfg }
o1:call("t", {verb = "read", stream = "s", max = 1})
o1:wait_for(function() return o1:counters("t").streams.s.state_version > 0 end, "3s")
w = io.open(olog, "a"); for i = 11, 13 do w:write("o" .. i .. "\n") end; w:close()
is(take(o1, 3), "o11,o12,o13", "from: end skips what was there; new lines arrive")
ok(o1:shutdown(), "the first host stops (its offset saved)")
w = io.open(olog, "a"); for i = 14, 16 do w:write("o" .. i .. "\n") end; w:close()
local o2 = hangar.start { yaml = ocfg }
is(take(o2, 3), "o14,o15,o16", "a new host resumes at the saved offset: nothing lost, nothing repeated")
local r = o2:call("t", {verb = "restart", stream = "s"})
ok(r.ok, "restart of one stream")
w = io.open(olog, "a"); w:write("o17\n"); w:close()
is(take(o2, 1), "o17", "after a restart the stream resumes where it was")
ok(o2:shutdown(), "the second host stops")

-- tcp with u32 framing, connecting to a pipeline of the same host by name
local h3 = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
connectors:
  - name: net
    engine: tcp
    streams: [ { name: e, connect: echo, framing: u32, backoff_min: 20ms } ]
]] }
h3:wait_for(function() return h3:counters("net").streams.e.healthy end, "3s")
h3:call("net", {verb = "read", stream = "e", max = 1})
h3:call("net", {verb = "send", stream = "e", data = "one"})
h3:call("net", {verb = "send", stream = "e", data = "frame two"})
local echoed = {}
h3:wait_for(function()
    for _, e in ipairs(h3:call("net", {verb = "read", stream = "e", max = 10}).reply.events) do echoed[#echoed + 1] = e end
    return #echoed >= 2
end, "3s")
is(table.concat(echoed, "|"), "one|frame two", "u32 frames go out and come back whole through an echo pipeline named by 'connect'")
ok(h3:shutdown(), "the echo host stops")
os.execute("rm -rf " .. dir)
done_testing()
