-- runner test: a script stuck in one C call (a pattern match that would take minutes, on a
-- 3000-byte string) is ended by the watchdog within 1.5s after --timeout 1s, with a Bail out!.
plan(2)
ok(true, "before the long call")
local found = string.find(string.rep("a", 3000), ".-.-b")
ok(found == nil, "never reached")
