-- The graph through the control verbs with the fixture processors (tests/plugins/good/
-- fixture-graph.c): a config's graph runs at start, `graph` and `graph dot` read it, `commit`
-- and the shorthands change it (a bad change is refused whole, with positions), pause/resume,
-- a processor that removes itself from process, and shutdown drains with nothing unaccounted.
local h = hangar.start { yaml = [[
hangar: 1
graph:
  pool: { buffers: 2048, size: 256 }
  processors:
    - { name: gen, engine: fixture-gen, mode: continuous, count: 5000 }
    - { name: sink, engine: fixture-sink }
  links:
    - { from: gen.out, to: sink.in, capacity: 128 }
]] }

local function proc(g, name)
    for _, p in ipairs(g.processors) do
        if p.name == name then return p end
    end
end

local function wait_graph(cond, what)
    local g
    for _ = 1, 500 do
        g = h:command("graph")
        if cond(g) then return g end
        hangar.sleep("10ms")
    end
    diag("gave up waiting for " .. what)
    return g
end

local g = wait_graph(function(x)
    local s = proc(x, "sink")
    return s and s.counters and s.counters.received == 5000
end, "5000 frames")
is(proc(g, "sink").counters.received, 5000, "the config's graph runs: the sink got all 5000 frames")
is(proc(g, "sink").counters.gaps, 0, "  with no seq gap on a block link")
is(#g.links, 0, "a link whose two ends ended is gone from the list")
is(g.accounted.pushed, g.accounted.delivered + g.accounted.dropped + g.accounted.queued,
   "accounted: pushed = delivered + dropped + queued")
local c = h:command("counters")
ok(c.counters.sink and c.counters.sink.kind == "processor" and c.counters.sink.received == 5000,
   "counters lists the processors beside the other engines, with their counters")
is(c.counters.host.instances, 2, "  and the host counts them as instances")
is(h:command("state gen").state, proc(g, "gen").state, "state NAME answers for a processor")
is(h:command("counters sink").counters.sink.frames_in, 5000, "counters NAME too")
local m = h:command("metrics").text
like(m, 'hangar_processor_frames_in_total{instance_name="sink",engine="fixture%-sink"} 5000',
     "metrics export the processors' counters")
like(m, 'hangar_instance_info{instance_name="gen",engine="fixture%-gen",kind="processor"',
     "  and their info series")

local r = h:command("commit {link: [{from: gen.out, to: nosuch.in}, {from: gen.out, to: sink.in, policy: maybe}]}")
is(r.ok, false, "a change with two bad links is refused")
is(#r.errors, 2, "  with both errors")
like(r.errors[1], "^<commit>:1:%d+: link 'to' refers to unknown processor 'nosuch'", "  each with its position")
like(r.errors[2], "unknown policy", "  the second names the policy")
is(#h:command("graph").processors, 2, "  and the graph is unchanged")

r = h:command("add {name: src2, engine: fixture-gen, mode: continuous, keep: true}")
is(r.ok, true, "add PROCESSOR adds one")
is(r.added[1], "src2", "  and says so")
r = h:command("add {name: sink2, engine: fixture-sink, keep: true}")
r = h:command("link src2.out sink2.in policy=drop_oldest capacity=16")
is(r.ok, true, "link FROM TO policy=P capacity=N links them")
g = wait_graph(function(x) local s = proc(x, "sink2") return s and s.frames_in > 100 end, "sink2")
ok(proc(g, "sink2").frames_in > 100, "frames flow through the new link")
is(g.links[1] and g.links[1].policy, "drop_oldest", "graph lists the link with its policy")
is(g.links[1] and g.links[1].capacity, 16, "  and its capacity")
is(g.links[1] and g.links[1].from, "src2.out", "  and its ends")
is(h:command("pause sink2").state, "paused", "pause NAME pauses a processor")
g = wait_graph(function(x) return proc(x, "sink2").state == "paused" end, "paused")
is(proc(g, "sink2").state, "paused", "  graph shows it paused")
is(h:command("resume sink2").ok, true, "resume NAME resumes it")
like(h:command("graph dot").dot, '"src2" %-> "sink2" %[.*label="%d+/16, ', "graph dot labels the link with fill and rate")
like(h:command("graph dot").dot, "^digraph hangar {", "  and names the graph with a word DOT allows ('graph' is a keyword)")
is(h:command("log-level sink2 debug").level, "debug", "log-level takes a processor's name")
is(h:command("unlink src2.out sink2.in").ok, true, "unlink FROM TO unlinks")
is(h:command("remove src2").ok, true, "remove NAME removes")
is(h:command("remove src2").ok, false, "  a second time it is refused")

r = h:command("commit {add: [{name: src3, engine: fixture-gen, mode: continuous}, " ..
              "{name: me, engine: fixture-committer, when: process, change: '{remove: [me]}'}, " ..
              "{name: sink3, engine: fixture-sink}], link: [{from: src3.out, to: me.in}, " ..
              "{from: me.out, to: sink3.in}]}")
is(r.ok, true, "a change adding a processor that removes itself is committed")
g = wait_graph(function(x) return proc(x, "me") == nil end, "me gone")
is(proc(g, "me"), nil, "the processor removed itself from process (no deadlock)")
g = wait_graph(function(x) return proc(x, "sink3").state == "stopped" end, "sink3 end")
is(proc(g, "sink3").state, "stopped", "  and its consumer saw the end of the stream")
is(h:command("remove src3").ok, true, "the graph still takes commits")

r = h:command("commit {add: [{name: bad, engine: fixture-fail, fail: create}]}")
is(r.ok, false, "a processor failing in create fails its commit")
like(r.errors[1], "create returned EFAIL", "  naming the failure")

is(h:shutdown(), true, "the host shuts down")
g = h:command("graph")
is(g.accounted.queued, 0, "after shutdown nothing is queued")
is(g.accounted.pushed, g.accounted.delivered + g.accounted.dropped,
   "  and every frame pushed was delivered or counted as dropped")
done_testing()
