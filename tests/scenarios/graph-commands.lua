-- The graph commands on a host whose config has no graph section: each answers ENOTSUP saying
-- so, and the host runs on (pause/resume still check their instance first); reload without a
-- file to read says why.
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
-- reload works (tests/scenarios/reload.lua); a host from inline YAML has no file to re-read
local r = h:command("reload")
is(r.code, "EINVAL", "reload of a host started from inline YAML answers EINVAL")
like(r.error, "not started from a file", "  saying there is no file to re-read")
r = h:command("reload no-such-file.yaml")
is(r.code, "ECONFIG", "reload of a missing file answers ECONFIG")
like(r.error, "no%-such%-file.yaml", "  naming the file")
is(h:command("pause nosuch").code, "ENOENT", "pause of an unknown instance is ENOENT")
is(h:command("pause echo").code, "ENOTSUP", "pause of a pipeline is ENOTSUP")
is(h:command("resume echo").code, "ENOTSUP", "and so is resume")
is(h:state("echo"), "running", "the pipeline runs on after all of them")
is(h:shutdown(), true, "the host shuts down cleanly")
done_testing()
