-- runner test: tests without a plan or done_testing() fail.
ok(true, "one")
