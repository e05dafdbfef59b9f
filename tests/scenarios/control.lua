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

for _, blank in ipairs { "", "   ", " \t " } do
    local e = h:command(blank)
    is_deeply({ e.ok, e.code, e.error }, { false, "EINVAL", "empty command (try `help`)" },
              string.format("a blank command (%q) is an empty command", blank))
end

-- Words a verb does not take are refused, never read as part of a name (or ignored).
for _, v in ipairs { { "counters", "counters [NAME]" }, { "state", "state NAME" },
                     { "start", "start [NAME]" },
                     { "stop", "stop [NAME]" }, { "restart", "restart NAME" },
                     { "pause", "pause NAME" }, { "resume", "resume NAME" } } do
    local e = h:command(v[1] .. " echo extra")
    is(e.code, "EINVAL", v[1] .. " NAME extra is refused with EINVAL")
    is(e.error, string.format("`%s` takes one instance name, not 'echo extra' (usage: %s)",
                              v[1], v[2]), "  saying it takes one name")
end
do
    local e = h:command("records echo extra")
    is(e.code, "EINVAL", "records NAME extra is refused with EINVAL")
    is(e.error, "`records` takes one instance name and --limit N, not 'echo extra' (usage: " ..
                "records NAME [--limit N])", "  saying it takes one name and --limit N")
end
for _, verb in ipairs { "state", "records", "restart", "pause", "resume" } do
    local e = h:command(verb)
    is(e.code, "EINVAL", verb .. " without a name is refused with EINVAL")
    like(e.error, "needs an instance name", "  saying it needs a name")
end
for _, line in ipairs { "perf now", "help me", "shutdown now", "kill now" } do
    local e = h:command(line)
    is(e.code, "EINVAL", "'" .. line .. "' is refused: the verb takes no arguments")
    like(e.error, "takes no arguments", "  saying so")
end
is(h:state("echo"), "running", "and none of them stopped anything")
is(h:command("state  echo  ").state, "running", "spaces around the one name are fine")
is(h:command('call echo {"verb": "stats", "x": 1}').code, "ENOTSUP",
   "call NAME JSON still takes its JSON after the name")

-- Arguments that are not JSON say so, and why; a command that is not UTF-8 is EINVAL.
is_deeply(h:command('call echo {"verb": "stats", x}'),
          { ok = false, code = "EINVAL",
            error = "call echo: the argument is not valid JSON: string or '}' expected near 'x' (column 19)" },
          "call with broken JSON says it is not valid JSON, with jansson's reason and column")
is_deeply(h:command('call echo {"verb": "a", "verb": "b"}'),
          { ok = false, code = "EINVAL",
            error = "call echo: the argument is not valid JSON: duplicate object key near '\"verb\"' (column 20)" },
          "  a key given twice too")
is(h:command("call echo 42").error,
   "call echo: give a JSON string (the verb) or an object with a \"verb\" member",
   "JSON without a verb asks for one")
is(h:command("call echo").error,
   "call echo: the JSON is missing: give the verb as a JSON string (call echo \"summary\") or an object naming it",
   "call without JSON says it is missing")
for _, line in ipairs { "\xff\xfe", "state \xffecho", "call echo \"\xff\"" } do
    is_deeply(h:command(line), { ok = false, code = "EINVAL", error = "the command is not valid UTF-8" },
              string.format("a command that is not UTF-8 (%q) is EINVAL, not an unknown command", line))
end

-- A NUL byte ends a C string: a command with one is refused whole, none of it run.
for _, line in ipairs { "stop\0echo", "state echo\0 extra", "shutdown\0", "\0kill" } do
    local e = h:command(line)
    is_deeply({ e.ok, e.code }, { false, "EINVAL" },
              string.format("a command with a NUL byte (%q) is refused with EINVAL", line))
    like(e.error, "^the command has a NUL byte in it %(byte %d+%): refused whole", "  saying why")
end
is(h:state("echo"), "running", "and none of them stopped anything")
ok(not pcall(h.state, h, "echo\0x"), "h:state refuses a name with a NUL byte")
ok(not pcall(h.call, h, "echo\0x", "stats"), "h:call refuses an instance name with a NUL byte")
ok(not pcall(h.call, h, "runtime", '"stats"\0junk'), "  and a verb or JSON with one")

-- JSON from outside the script: a key given twice is an error, not its last copy.
local v, why = hangar.json.decode('{"cmd":"counters","cmd":"kill"}')
is(v, nil, "hangar.json.decode refuses an object with a key given twice")
like(why, "^duplicate object key", "  saying so")
is_deeply(hangar.json.decode('{"cmd":"counters"}'), { cmd = "counters" }, "  and decodes it without")

-- help marks the verbs that answer ENOTSUP in this version (none now that reload runs); every
-- other one does not.
local nyet = {}
for _, u in ipairs(help.not_yet) do nyet[u] = true end
is(#help.not_yet, 0, "help lists no verb under not_yet: every verb runs")
for _, usage in ipairs(help.commands) do
    local line = usage:gsub(" %[NAME%]", ""):gsub("NAME JSON", 'runtime "stats"')
                      :gsub("NAME", "echo"):gsub(" %[FILE%]", ""):gsub("FROM TO", "a b")
                      :gsub("YAML", "{}")
    if usage:match("^shutdown") or usage:match("^kill") or usage:match("^stop") then
        line = nil -- they end the host: tried on their own host below
    end
    if usage:match("^pause") or usage:match("^resume") or usage:match("^graph") or
        usage:match("^commit") or usage:match("^add") or usage:match("^remove") or
        usage:match("^link") or usage:match("^unlink") or usage:match("^step") then
        line = nil -- they act on graph processors, which this host has none of: graph.lua
    end
    if line and nyet[usage] then
        is(h:command(line).code, "ENOTSUP", "'" .. line .. "' is marked not yet and answers ENOTSUP")
    elseif line then
        isnt(h:command(line).code, "ENOTSUP", "'" .. line .. "' is listed as available and works")
    end
end
local hs = hangar.start { yaml = "hangar: 1\n" }
for _, line in ipairs { "stop", "shutdown", "kill" } do
    ok(not nyet[line] and hs:command(line).code ~= "ENOTSUP", "'" .. line .. "' is available and works")
end

local sd = h:command("shutdown")
is(sd.ok, true, "shutdown answers ok")
is(type(sd.cut), "number", "with the count of connections cut")
is(type(sd.not_stopped), "table", "and what did not stop")
is(h:counters("echo").state, "stopped", "the instance is stopped after shutdown")

local h2 = hangar.start { yaml = "hangar: 1\n" }
is(h2:command("kill").ok, true, "kill answers ok")

-- `stop` alone is `shutdown`, reply included.
local h3 = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]] }
local st = h3:command("stop")
is_deeply(st, { ok = true, cut = 0, not_stopped = {} },
          "stop alone answers as shutdown does: cut and not_stopped")
is(h3:command("counters").counters.host.state, "stopped", "and the host is stopped")

done_testing()
