-- runner test: hangar.start on a config that does not validate raises an error listing it.
local h = hangar.start { yaml = "hangar: 1\nno_such_key: 3\n" }
ok(h, "never reached")
done_testing()
