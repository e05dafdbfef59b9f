-- tcp-echo's limits on a runtime mode (arg[1]): max_open refuses and counts, idle_timeout closes
-- with cause timeout, records tell each connection's story, a graceful stop waits for clients.
local mode = arg[1] or "uv"
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
control: { shutdown_timeout: 3s }
pipelines:
  - { name: lim, engine: tcp-echo, listen: "127.0.0.1:0", max_open: 1, idle_timeout: 300ms,
      records: true }
]], mode) }
local addr = h:address("lim")

local a = assert(hangar.tcp.connect(addr, "2s"))
a:send("one")
is(a:recv(3, "2s"), "one", mode .. ": the first client is served")
-- The refusal can reset the connection before the client's connect() has even returned.
local b, err = hangar.tcp.connect(addr, "2s")
local data, why
if b then
    data, why = b:recv(1, "2s")
    b:close()
else
    why = err
end
ok(data == nil and (why == "closed" or why == "reset" or tostring(why):match("reset")),
   "max_open 1: a second client is closed (" .. tostring(why) .. ")")
ok(h:wait_for(function() return h:counters("lim").refused == 1 end, "2s"),
   "and counted as refused")

data, why = a:recv(1, "2s")
is(why, "closed", "idle_timeout closes the idle client")
ok(h:wait_for(function() return h:counters("lim").closed_timeout == 1 end, "2s"),
   "with cause timeout")
a:close()

local recs = h:records("lim")
local timeout_rec
for _, r in ipairs(recs) do
    if r.close_cause == "timeout" then timeout_rec = r end
end
ok(timeout_rec, "the idle connection has a record")
is(timeout_rec and timeout_rec.bytes_in, 3, "with the bytes it read")
is(timeout_rec and timeout_rec.bytes_out, 3, "and wrote")

local c = assert(hangar.tcp.connect(addr, "2s"))
c:send("x")
is(c:recv(1, "2s"), "x", "a new client is served once the slot is free")
c:send("late")
c:shutdown_write()
is(c:recv_all("2s"), "late", "a half-close is answered after the echo")
c:close()
is(h:shutdown(), true, "the echo shuts down")
done_testing()
