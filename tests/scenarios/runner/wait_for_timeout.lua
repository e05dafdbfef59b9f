-- runner test: a condition that never becomes true fails with the timeout and file:line.
local h = hangar.start { yaml = "hangar: 1\n" }
local r = h:wait_for(function() return h:counters().host.failed > 0 end, "300ms")
is(r, false, "wait_for returns false after the timeout")
done_testing()
