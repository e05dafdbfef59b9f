-- Reload of the graph section (fixture processors, tests/plugins/good/fixture-graph.c): the
-- difference is one graph commit: processors added, changed (removed and added again, their
-- links linked again) and removed, while the processors the reload did not touch keep their
-- frames flowing with nothing lost; graph.pool and a bad link are refused with nothing changed.
local path = os.tmpname()

local function write(graph, pool)
    local f = assert(io.open(path, "w"))
    f:write([[
hangar: 1
control: { shutdown_timeout: 2s }
graph:
  pool: ]] .. (pool or "{ buffers: 2048, size: 256 }") .. "\n" .. graph)
    f:close()
end

local function proc(name)
    for _, p in ipairs(h_global:command("graph").processors) do
        if p.name == name then return p end
    end
end

local base = [[
  processors:
    - { name: gen, engine: fixture-gen, mode: continuous }
    - { name: sink, engine: fixture-sink }
%s  links:
    - { from: gen.out, to: sink.in, capacity: 128 }
%s]]

write(string.format(base, "", ""))
h_global = hangar.start { config = path }
local h = h_global
ok(h:wait_for(function() return (proc("sink") or {}).frames_in or 0 > 0 end, "5s"),
   "the graph of the file runs: gen feeds sink")

write(string.format(base,
    "    - { name: gen2, engine: fixture-gen, mode: continuous }\n" ..
    "    - { name: sink2, engine: fixture-sink }\n",
    "    - { from: gen2.out, to: sink2.in, capacity: 64 }\n"))
local r = h:command("reload")
ok(r.ok, "a reload that adds two processors and a link is applied")
is(r.graph and #r.graph.added, 2, "as one commit adding two processors")
is(r.graph and #r.graph.linked, 1, "and one link")
ok(h:wait_for(function() return ((proc("sink2") or {}).frames_in or 0) > 0 end, "5s"),
   "the new pair carries frames")

local before = proc("sink").frames_in
write(string.format(base,
    "    - { name: gen2, engine: fixture-gen, mode: continuous }\n" ..
    "    - { name: sink2, engine: fixture-sink, keep: true }\n",
    "    - { from: gen2.out, to: sink2.in, capacity: 64 }\n"))
r = h:command("reload")
ok(r.ok, "a reload that changes sink2 is applied")
local function names(t) table.sort(t) return table.concat(t, ",") end
is(r.graph and names(r.graph.removed), "gen2,sink2",
   "the changed processor is removed, and gen2 with it (its only consumer went)")
is(r.graph and names(r.graph.added), "gen2,sink2", "both are added again")
is(r.graph and #r.graph.linked, 1, "with its link linked again")
ok(h:wait_for(function() return ((proc("sink2") or {}).frames_in or 0) > 0 end, "5s"),
   "the new sink2 carries frames")

write(string.format(base, "", ""))
r = h:command("reload")
is(r.graph and #r.graph.removed, 2, "a reload without them removes gen2 and sink2")
is(proc("gen2"), nil, "gen2 is gone")

write(string.format(base, "", ""), "{ buffers: 4096, size: 256 }")
r = h:command("reload")
is(r.ok, false, "a change of graph.pool is refused")
like(r.error, "graph.pool: cannot change", "by name")
write(string.format(base, "", "    - { from: gen.out, to: nosuch.in }\n"))
r = h:command("reload")
is(r.ok, false, "a link to a processor that does not exist is refused")
like(table.concat(r.errors, "\n"), "nosuch", "naming it")

-- a graph changed at run time by a commit: a reload of the same file leaves it as it runs and
-- says so; a reload that changes the graph section is refused, the file's diff no longer
-- describing the live graph
write(string.format(base, "", ""))
ok(h:command("add {name: extra, engine: fixture-sink}").ok, "a processor is added by a command")
r = h:command("reload")
ok(r.ok and type(r.graph) == "string" and r.graph:find("left as it runs"),
   "a reload of an unchanged graph section then leaves the graph as it runs, saying so")
ok(proc("extra") ~= nil, "  extra still runs")
write(string.format(base, "    - { name: sink3, engine: fixture-sink }\n", ""))
r = h:command("reload")
is(r.ok, false, "a reload that changes the graph section after a run-time commit is refused")
like(table.concat(r.errors or { r.error or "" }, "\n"), "changed at run time by 1 commit",
     "  saying why and how many commits")
is(proc("sink3"), nil, "  and nothing of it applied")

cmp_ok(proc("sink").frames_in, ">", before, "sink, untouched by every reload, kept receiving")
is(proc("sink").counters.gaps or 0, 0, "with no frame lost")
local g = h:command("graph")
is(g.accounted.pushed, g.accounted.delivered + g.accounted.dropped + g.accounted.queued,
   "every frame of every link is accounted for")
os.remove(path)
done_testing()
