-- tcp-echo on a runtime mode (arg[1]: uv, blocking or uring): bytes come back, counters and records
-- see every connection, a reset is counted, shutdown closes what is open.
local mode = arg[1] or "uv"
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
control: { shutdown_timeout: 1s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0", records: true }
]], mode) }
local addr = h:address("echo")
like(addr, "^127%.0%.0%.1:%d+$", mode .. ": echo listens on a real port")

local c = assert(hangar.tcp.connect(addr, "2s"))
c:send("hello")
is(c:recv(5, "2s"), "hello", "echo answers with the same bytes")
local big = string.rep("0123456789abcdef", 16384) -- 256 KiB
c:send(big, "5s")
is(c:recv(#big, "5s"), big, "a 256 KiB message comes back whole")
ok(h:wait_for(function() return h:counters("echo").connections_open == 1 end, "2s"),
   "counters see one open connection")

local clients = {}
for i = 1, 8 do
    clients[i] = assert(hangar.tcp.connect(addr, "2s"))
    clients[i]:send("client " .. i)
end
local all = true
for i = 1, 8 do
    all = all and clients[i]:recv(#("client " .. i), "2s") == "client " .. i
end
ok(all, "eight clients at once each get their own bytes")
for i = 1, 8 do clients[i]:close() end

c:shutdown_write()
is(c:recv_all("2s"), "", "a half-close from the client ends the echo cleanly")
c:close()

local r = assert(hangar.tcp.connect(addr, "2s"))
r:send("x")
r:recv(1, "2s")
r:reset()

ok(h:wait_for(function() return h:counters("echo").connections_open == 0 end, "2s"),
   "every connection is closed")
local cnt = h:counters("echo")
is(cnt.connections_established, 10, "ten connections were established")
is(cnt.bytes_in, 5 + #big + 8 * 8 + 1, "bytes_in counts every byte") -- "client N": 8 bytes
is(cnt.bytes_in, cnt.bytes_out, "bytes_out matches")
cmp_ok(cnt.closed_passive_reset, ">=", 1, "the reset is counted as a passive reset")

local recs = h:records("echo")
is(#recs, 10, "one record per connection")
local first
for _, rec in ipairs(recs) do
    if rec.bytes_in == 5 + #big then first = rec end
end
ok(first, "the first connection's record holds its bytes")
is(first and first.close_cause, "passive", "closed by the peer")

-- A client that sends and never reads: the echo's queue fills, the connection is busy, and a
-- graceful stop (which closes idle connections at once) must wait for it.
local open = assert(hangar.tcp.connect(addr, "2s"))
open:send(string.rep("y", 16 << 20), "500ms")
local t0 = hangar.now()
local done, err, rep = h:shutdown()
cmp_ok(hangar.now() - t0, "<", 3, "shutdown with a connection open is bounded by shutdown_timeout")
local data, why = open:recv_all("2s")
ok(why == "closed" or why == "reset", "the open connection is closed by the shutdown")
is(h:counters("echo").connections_open, 0, "none is left open")
-- A busy client keeps its connection: graceful shutdown waits for it until the bound, then
-- cuts it and says which engine overran (ARCHITECTURE.md: "reported with the names").
is(done, nil, "a shutdown that had to cut a connection is not reported as clean")
like(err, "did not stop within the shutdown timeout: echo", "and names the engine that overran")
is(rep.cut, 1, "the reply counts the connection cut")
cmp_ok(h:counters("echo").closed_shutdown, ">=", 1, "and the runtime counts it as closed_shutdown")
is(h:counters("echo").state, "stopped", "the pipeline is stopped")
done_testing()
