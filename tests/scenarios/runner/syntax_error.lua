-- runner test: a script that does not parse is one failed test, `script loads`.
ok(true, "never runs"
