-- The graph commands on a host whose config has no graph section: each answers ENOTSUP saying
-- so, and the host runs on (pause/resume still check their instance first).
local h = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]] }
for _, c in ipairs { "graph", "commit {remove: [x]}", "add {name: x, engine: y}", "remove x",
                     "link a.out b.in", "unlink a.out b.in" } do
    local r = h:command(c)
    is(r.code, "ENOTSUP", c .. " answers ENOTSUP")
    like(r.error, "has no graph", "  saying this host has no graph")
end
for _, c in ipairs { "reload", "reload other.yaml" } do
    local r = h:command(c)
    is(r.code, "ENOTSUP", c .. " answers ENOTSUP")
    like(r.error, "restart the host with the new configuration", "  and says what to do instead")
end
is(h:command("pause nosuch").code, "ENOENT", "pause of an unknown instance is ENOENT")
is(h:command("pause echo").code, "ENOTSUP", "pause of a pipeline is ENOTSUP")
is(h:command("resume echo").code, "ENOTSUP", "and so is resume")
is(h:state("echo"), "running", "the pipeline runs on after all of them")
is(h:shutdown(), true, "the host shuts down cleanly")
done_testing()
