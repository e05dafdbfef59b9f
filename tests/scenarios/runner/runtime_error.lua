-- runner test: an error at the top level is a failed test with the traceback.
local h = hangar.start { yaml = "hangar: 1\n" }
ok(h, "host starts")
local function deeper() error("this scenario breaks on purpose") end
deeper()
ok(true, "never reached")
