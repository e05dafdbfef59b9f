-- runner test: done_testing() right after a call the hook cannot interrupt ended past --timeout
-- 1s reports the timeout before its plan.
ok(true, "before the long call")
os.execute("sleep 1.4")
done_testing()
