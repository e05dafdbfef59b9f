-- runner test: an error object that is not a string, whose __tostring calls os.exit(0) while
-- the runner describes the error, does not pass a run whose plan is not met.
plan(2)
ok(true, "one")
error(setmetatable({}, { __tostring = function() os.exit(0) end }))
