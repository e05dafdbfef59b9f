-- graph-procs.lua - the graph plugin's processors in a running host: gen -> map -> filter ->
-- count-sink, tee to two sinks, merge of two generators, batch -> unbatch with nothing lost,
-- delay timing, tcp-source -> lua -> tcp-writer end to end, a lua script that fails (message and
-- line), and tcp-writer into the tcp-sink pipeline. Every graph ends with nothing unaccounted.
local dir = hangar.script_dir .. "/graph-procs"

local function proc(g, name)
    for _, p in ipairs(g.processors or {}) do
        if p.name == name then return p end
    end
end

-- A processor's counter as `graph` shows it (nil while it is unknown).
local function counter(h, name, key)
    local p = proc(h:command("graph"), name)
    return p and p.counters and p.counters[key]
end

local function wait_counter(h, name, key, want, timeout)
    return h:wait_for(function() return counter(h, name, key) == want end, timeout or "10s")
end

local function accounted(h, what)
    local a = h:command("graph").accounted
    is(a.pushed, a.delivered + a.dropped + a.queued,
       what .. ": pushed = delivered + dropped + queued")
end

local function graph_host(body)
    return hangar.start { yaml = "hangar: 1\nruntime: { mode: uv, workers: 1 }\ngraph:\n" .. body }
end

-- gen -> map -> filter -> count-sink
local h = graph_host [[
  processors:
    - { name: g, engine: gen, mode: continuous, count: 1000, size: 16, pattern: seq }
    - { name: m, engine: map, transform: upper }
    - { name: f, engine: filter, contains: "\x05" }
    - { name: s, engine: count-sink }
  links:
    - { from: g.out, to: m.in }
    - { from: m.out, to: f.in }
    - { from: f.out, to: s.in }
]]
wait_counter(h, "f", "filtered", 996)
wait_counter(h, "s", "frames", 4) -- the last kept frames may still be on the f -> s link
is(counter(h, "g", "frames"), 1000, "gen made its count of 1000 frames")
is(counter(h, "m", "frames"), 1000, "map transformed all of them")
is(counter(h, "f", "filtered"), 996, "filter dropped the 996 without a byte 5, counted as filtered")
is(counter(h, "s", "frames"), 4, "the sink got the 4 with one")
is(counter(h, "s", "gaps"), 0, "with no gap in the sequence")
accounted(h, "gen -> map -> filter -> count-sink")
is(h:shutdown(), true, "the host shuts down cleanly")

-- tee to two sinks; merge of two generators
h = graph_host [[
  processors:
    - { name: g, engine: gen, mode: continuous, count: 500 }
    - { name: t, engine: tee }
    - { name: a, engine: count-sink }
    - { name: b, engine: count-sink }
    - { name: g1, engine: gen, mode: continuous, count: 200 }
    - { name: g2, engine: gen, mode: continuous, count: 300 }
    - { name: mg, engine: merge }
    - { name: ms, engine: count-sink }
  links:
    - { from: g.out, to: t.in }
    - { from: t.out0, to: a.in }
    - { from: t.out1, to: b.in }
    - { from: g1.out, to: mg.in }
    - { from: g2.out, to: mg.in }
    - { from: mg.out, to: ms.in }
]]
wait_counter(h, "a", "frames", 500)
wait_counter(h, "b", "frames", 500)
is(counter(h, "t", "dropped"), 0, "tee gave each of its two outputs all 500 frames, dropping none")
wait_counter(h, "ms", "frames", 500)
is(counter(h, "ms", "gaps"), 0, "merge passed 200 + 300 frames on with no gap")
accounted(h, "tee and merge")
is(h:shutdown(), true, "the host shuts down cleanly")

-- batch -> unbatch round trip, and delay
h = graph_host [[
  processors:
    - { name: g, engine: gen, mode: continuous, count: 1000, pattern: seq }
    - { name: bt, engine: batch, frames: 7 }
    - { name: ub, engine: unbatch }
    - { name: s, engine: count-sink }
  links:
    - { from: g.out, to: bt.in }
    - { from: bt.out, to: ub.in }
    - { from: ub.out, to: s.in }
]]
wait_counter(h, "s", "frames", 1000)
is(counter(h, "s", "bytes"), 64000, "batch -> unbatch gives back all 1000 frames with their bytes")
is(counter(h, "ub", "malformed"), 0, "  no batch malformed")
is(counter(h, "bt", "dropped"), 0, "  nothing dropped")
ok((counter(h, "bt", "batches") or 0) >= 143, "  in batches of at most 7")
accounted(h, "batch round trip")
is(h:shutdown(), true, "the host shuts down cleanly")

local t0 = hangar.now()
h = graph_host [[
  processors:
    - { name: g, engine: gen, mode: continuous, count: 5 }
    - { name: d, engine: delay, duration: 300ms }
    - { name: s, engine: count-sink }
  links:
    - { from: g.out, to: d.in }
    - { from: d.out, to: s.in }
]]
is(counter(h, "s", "frames"), 0, "delay holds the frames at first")
wait_counter(h, "s", "frames", 5)
cmp_ok(hangar.now() - t0, ">=", 0.3, "they arrive after the 300 ms delay")
is(h:shutdown(), true, "the host shuts down cleanly")

-- tcp-source -> lua -> tcp-writer, end to end
local l = hangar.tcp.listen("127.0.0.1:0")
h = graph_host(string.format([[
  processors:
    - { name: src, engine: tcp-source, mode: continuous, listen: "127.0.0.1:0", framing: line }
    - { name: up, engine: lua, script: "%s/upper.lua" }
    - { name: out, engine: tcp-writer, connect: "%s" }
  links:
    - { from: src.out, to: up.in }
    - { from: up.out, to: out.in }
]], dir, l:address()))
local peer = l:accept("5s")
ok(peer ~= nil, "tcp-writer connects to its peer")
h:wait_for(function() return (counter(h, "src", "port") or 0) > 0 end)
local c = hangar.tcp.connect("127.0.0.1:" .. counter(h, "src", "port"))
ok(c ~= nil, "a client connects to tcp-source's port (its `port` counter)")
c:send("hello\nwor")
c:send("ld\n")
is(peer and peer:recv(12, "5s"), "HELLO\nWORLD\n",
   "the two lines come out of the lua script in capitals, one frame each")
is(counter(h, "up", "frames_in"), 2, "the script got two frames")
c:close()
is(h:shutdown(), true, "the host shuts down cleanly")
if peer then peer:close() end

-- a lua script that fails
h = hangar.start { expect_errors = true, yaml = string.format([[
hangar: 1
graph:
  processors:
    - { name: g, engine: gen, mode: continuous, count: 10 }
    - { name: bad, engine: lua, script: "%s/fail.lua" }
    - { name: s, engine: count-sink }
  links:
    - { from: g.out, to: bad.in }
    - { from: bad.out, to: s.in }
]], dir) }
h:wait_for(function() return (proc(h:command("graph"), "bad") or {}).state == "failed" end)
is(proc(h:command("graph"), "bad").state, "failed", "a script's error fails its processor")
h:log_like("fail%.lua:3: bad frame of 64 bytes",
           "the log names the script, the line and Lua's message")
is(h:shutdown(), true, "the host shuts down cleanly")

-- tcp-writer into the tcp-sink pipeline
h = hangar.start { yaml = [[
hangar: 1
runtime: { mode: uv, workers: 1 }
pipelines:
  - { name: side, engine: tcp-sink, listen: "127.0.0.1:0" }
graph:
  processors:
    - { name: g, engine: gen, mode: continuous, count: 100, size: 100 }
    - { name: w, engine: tcp-writer, connect: side }
  links:
    - { from: g.out, to: w.in }
]] }
h:wait_for(function() return h:counters("side").bytes_in == 10000 end)
is(h:counters("side").bytes_in, 10000, "the tcp-sink pipeline read the 100 frames of 100 bytes")
wait_counter(h, "w", "frames", 100)
is(counter(h, "w", "dropped"), 0, "tcp-writer wrote them all")
is(h:shutdown(), true, "the host shuts down cleanly")
done_testing()
