-- runner test: a call the hook cannot interrupt (os.execute, like a long string.rep) ends after
-- --timeout 1s and the script ends right after it: the run fails all the same, saying by how
-- much it overran.
plan(1)
ok(true, "before the long call")
os.execute("sleep 1.4")
