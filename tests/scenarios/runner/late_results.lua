-- runner test: nothing lands after the trailing plan done_testing() printed: a test or an
-- error after it is a comment, the count no longer matches the plan, and the run fails.
ok(true, "one")
done_testing()
ok(true, "a test after done_testing")
error("an error after done_testing, on purpose")
