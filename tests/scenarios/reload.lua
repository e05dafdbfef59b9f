-- Reload under load on a runtime mode (arg[1]): a generator drives traffic through a proxy to an
-- echo server while three reloads add, change and remove other engines; the engines the reloads
-- did not touch lose no connection and no request, and their counters say so.
local mode = arg[1] or "uv"
local path = os.tmpname()

local function write(extra)
    local f = assert(io.open(path, "w"))
    f:write(string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
control: { shutdown_timeout: 2s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: front, engine: tcp-proxy, listen: "127.0.0.1:0", upstream: echo }
  - { name: load, engine: tcp-gen, connect: front, connections: 8, payload: 64B,
      requests: 200000 }
%s]], mode, extra))
    f:close()
end

write("  - { name: spare, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n")
local h = hangar.start { config = path }
ok(h:wait_for(function() return h:counters("load").connections_established == 8 end, "5s"),
   mode .. ": the generator's 8 connections are up")
local before = h:counters("echo").bytes_in

write("  - { name: spare, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n" ..
      "  - { name: extra, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n")
local r = h:command("reload")
ok(r.ok, "a reload that adds an engine is applied under load")
is(r.added[1], "extra", "it names the engine added")
is(r.unchanged, 4, "and counts the four it left alone")

write("  - { name: spare, engine: tcp-echo, listen: \"127.0.0.1:0\", idle_timeout: 9s }\n" ..
      "  - { name: extra, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n")
r = h:command("reload")
is(r.changed[1], "spare", "a second reload restarts the changed engine")

write("  - { name: extra, engine: tcp-echo, listen: \"127.0.0.1:0\" }\n")
r = h:command("reload")
is(r.removed[1], "spare", "a third reload removes it")

is(h:state("load"), "running", "the load was still running through all three reloads")
cmp_ok(h:counters("echo").bytes_in, ">", before, "and traffic flowed meanwhile")
ok(h:wait_for(function() return h:state("load") == "stopped" end, "60s"), "the load finishes")
local s = h:call("load", { verb = "summary" }).reply
is(s.responses, s.requests, "every request got its answer (" .. s.responses .. ")")
local lost = 0
for _, v in pairs(s.failures) do lost = lost + v end
is(lost, 0, "no request failed")
is(s.outcome, "passed", "the run passed")
local e, f = h:counters("echo"), h:counters("front")
is(e.connections_established, 8, "the echo server saw exactly the 8 connections, none redone")
is(f.connections_established, 16, "the proxy made 16: the 8 accepted and 8 to the echo server")
is(f.closed_error + f.closed_active_reset + f.closed_passive_reset, 0,
   "no connection through the proxy ended in an error or reset")
is(h:counters("load").connections_failed, 0, "the generator lost no connection")
os.remove(path)
done_testing()
