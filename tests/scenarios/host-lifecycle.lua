-- A host with an empty configuration: starts, answers, stops (gracefully or killed), and
-- several hosts live side by side in one scenario.
plan(14)

local h = hangar.start { yaml = "hangar: 1\n" }
ok(h, "a host starts from an empty configuration")
like(tostring(h), "^hangar%.host%(<inline>%)$", "the handle says which config it runs")

local host = h:counters().host
is(host.instances, 0, "it runs no instance")
is(host.failed, 0, "nothing failed")
cmp_ok(host.uptime_ns, ">", 0, "its uptime counts")

local h2 = hangar.start { yaml = "hangar: 1\n" }
ok(h2:counters().host, "a second host runs beside the first")

is(h:shutdown(), true, "the first shuts down gracefully")
is(h:shutdown(), true, "a second shutdown is harmless")
is(h2:counters().host.failed, 0, "the second still answers after the first stopped")

h2:kill()
pass("the second can be killed")

h:close()
local ok_, err = pcall(h.counters, h)
ok(not ok_, "a closed host refuses commands")
like(err, "is closed", "saying it is closed")

do
    local h3 <close> = hangar.start { yaml = "hangar: 1\n" }
    is(h3:counters().host.failed, 0, "a <close> variable holds a host")
end

-- hosts a scenario leaves running are shut down by the runner at the end
local h4 = hangar.start { yaml = "hangar: 1\n" }
is(type(h4:perf()), "table", "a host left running is fine: the runner stops it")
