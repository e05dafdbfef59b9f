-- smoke.lua - smoke test of any configuration:
--   hangar scenario scripts/scenarios/smoke.lua CONFIG [PATH=VALUE ...]
-- Starts the host (with the overrides), checks that every instance runs and nothing failed,
-- opens and closes one connection to every pipeline that listens, reads perf, then shuts down
-- gracefully. Unexpected error lines in the host's log fail it too.
local config = arg[1]
if not config then
    bail_out("usage: hangar scenario scripts/scenarios/smoke.lua CONFIG [PATH=VALUE ...]")
end
-- config= is relative to this script's directory; a path given on the command line is
-- relative to where the command was run
if config:sub(1, 1) ~= "/" then config = hangar.cwd .. "/" .. config end
local sets = {}
for i = 2, #arg do sets[#sets + 1] = arg[i] end

local good, errs = hangar.check { config = config, set = sets }
if not ok(good, config .. " validates") then
    for _, e in ipairs(errs) do diag(e) end
    done_testing()
    return
end

local h = hangar.start { config = config, set = sets }
local all = h:counters()
is(all.host.failed, 0, "no instance failed to start")
for name, inst in pairs(all) do
    if name ~= "host" then
        ok(inst.state == "running" or inst.state == "ready" or inst.state == "stopped",
           name .. " (" .. tostring(inst.engine) .. ") is " .. tostring(inst.state))
        if inst.kind == "pipeline" and inst.address then
            local c, why = hangar.tcp.connect(inst.address, "2s")
            if ok(c, name .. " accepts a connection on " .. inst.address) then
                c:close()
            else
                diag(why)
            end
        end
    end
end
cmp_ok(#h:perf(), ">=", 1, "perf lists the runtime's threads")
local t0 = hangar.now()
local stopped, why = h:shutdown()
ok(stopped, "the host shuts down gracefully" .. (why and (" (" .. why .. ")") or ""))
note(string.format("shutdown took %.1f ms", (hangar.now() - t0) * 1000))
done_testing()
