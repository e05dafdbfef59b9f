-- runner test: an error inside wait_for's condition is a failed test; the script goes on.
local h = hangar.start { yaml = "hangar: 1\n" }
local r = h:wait_for(function() error("condition breaks on purpose") end, "1s")
is(r, false, "wait_for returns false after the error")
done_testing()
