-- runner test: os.exit midway stops the hosts first and is reported as a test.
local h = hangar.start { yaml = "hangar: 1\n" }
ok(h, "host starts")
os.exit(3)
ok(true, "never reached")
