-- Control commands and their replies (docs/CONTROL.md), through h:command and the helpers.
local h = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0", records: true }
]] }

local r = h:command("counters")
is(r.ok, true, "counters answers ok")
ok(r.counters.host and r.counters.echo, "counters holds the host and every instance")
is(r.counters.echo.engine, "tcp-echo", "an instance says its engine")
is(r.counters.echo.kind, "pipeline", "and its kind")
is(r.counters.echo.error, hangar.null, "a JSON null arrives as hangar.null")

local c = h:counters("echo")
is(c.state, "running", "counters NAME gives the instance's flat table")
like(h:address("echo"), "^127%.0%.0%.1:%d+$", "address is the port 0 listener's real address")
is(h:state("echo"), "running", "state NAME")

local s = h:command("state echo")
is_deeply(s, { ok = true, name = "echo", state = "running", error = hangar.null },
          "the state reply is exactly as documented")

local threads = h:perf()
cmp_ok(#threads, ">=", 1, "perf lists the runtime's threads")
ok(threads[1].name and threads[1].busy_ns and threads[1].idle_ns, "each with busy and idle time")

is(#h:records("echo"), 0, "no connection, no record")

local help = h:command("help")
is(help.ok, true, "help answers")
local verbs = table.concat(help.commands, " ")
for _, verb in ipairs { "counters", "state", "perf", "shutdown", "kill", "call" } do
    like(verbs, verb, "help lists " .. verb)
end

local bad = h:command("frobnicate")
is(bad.ok, false, "an unknown command fails")
ok(bad.error and #bad.error > 0, "with a message")

local missing = h:command("state nosuch")
is(missing.ok, false, "an unknown instance fails")
is(missing.code, "ENOENT", "with code ENOENT")
like(missing.error, "nosuch", "naming it")

local ok_, err = pcall(h.counters, h, "nosuch")
ok(not ok_, "h:counters on an unknown instance raises an error")
like(err, "unknown instance", "saying why")

local reply = h:call("nosuch", { x = 1 })
is(reply.ok, false, "call to an unknown instance fails")

local sd = h:command("shutdown")
is(sd.ok, true, "shutdown answers ok")
is(type(sd.cut), "number", "with the count of connections cut")
is(type(sd.not_stopped), "table", "and what did not stop")
is(h:counters("echo").state, "stopped", "the instance is stopped after shutdown")

local h2 = hangar.start { yaml = "hangar: 1\n" }
is(h2:command("kill").ok, true, "kill answers ok")

done_testing()
