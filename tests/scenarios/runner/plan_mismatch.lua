-- runner test: a plan of 3 with 2 tests run fails.
plan(3)
ok(true, "one")
ok(true, "two")
