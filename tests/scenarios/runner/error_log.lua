-- runner test: an error-level log line nobody expected fails the scenario at the end.
local h = hangar.start { yaml = "hangar: 1\n" }
local r = h:call("nobody", { x = 1 })
is(r.ok, false, "a call to an unknown instance fails")
-- the host logs nothing at error level for that, so provoke one through a failing start
local ok_, err = pcall(hangar.start, { yaml = "hangar: 1\npipelines:\n  - { name: x, engine: tcp-echo, listen: '256.0.0.1:0' }\n" })
ok(not ok_, "a host that cannot listen does not start")
note(err)
done_testing()
