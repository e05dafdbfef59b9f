-- runner test: bail_out stops everything with "Bail out!" and exit status 255.
local h = hangar.start { yaml = "hangar: 1\n" }
ok(h, "host starts")
bail_out("nothing else makes sense")
ok(true, "never reached")
