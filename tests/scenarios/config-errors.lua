-- Configuration errors as data: hangar.check returns them, hangar.start raises them.
local ok_, errs = hangar.check { yaml = "hangar: 1\n" }
is(ok_, true, "an empty configuration validates")
is(#errs, 0, "with no error")

ok_, errs = hangar.check { yaml = "hangar: 1\nno_such_key: 3\nlog: { level: loud }\n" }
is(ok_, false, "a configuration with unknown keys does not validate")
cmp_ok(#errs, ">=", 2, "every error is reported at once")
like(errs[1], "^<inline>:2:1: ", "errors are FILE:LINE:COL: msg")
like(table.concat(errs, "\n"), "no_such_key", "naming the unknown key")
like(table.concat(errs, "\n"), "<inline>:3:", "the second error has its own position")

ok_, errs = hangar.check { yaml = "hangar: 1\n", set = { ["runtime.workers"] = "lots" } }
is(ok_, false, "a bad --set value does not validate")
ok(#errs >= 1, "and says so")

ok_, errs = hangar.check { yaml = [[
hangar: 1
pipelines:
  - { name: e, engine: no-such-engine }
]] }
is(ok_, false, "an unknown engine does not validate")
like(errs[1] or "", "no%-such%-engine", "naming the engine")

ok_, errs = hangar.check { yaml = [[
hangar: 1
pipelines:
  - { name: e, engine: tcp-echo, listen: "127.0.0.1:0", colour: blue }
]] }
is(ok_, false, "an engine refuses a key it does not know")
like(errs[1] or "", "^<inline>:3:", "at the key's position")

ok_, errs = hangar.check { config = hangar.script_dir .. "/no-such-config.yaml" }
is(ok_, false, "a missing file does not validate")
like(errs[1] or "", "no%-such%-config%.yaml", "naming the file")

local good, err = pcall(hangar.start, { yaml = "hangar: 1\nno_such_key: 3\n" })
is(good, false, "hangar.start raises on a configuration that does not validate")
like(err, "<inline>:2:1: unknown key 'no_such_key'", "the message lists the errors")

local h = hangar.start { yaml = "hangar: 1\n", set = { ["runtime.workers"] = 1 } }
is(#h:perf(), 1, "set= overrides a value (one worker, one runtime thread)")

done_testing()
