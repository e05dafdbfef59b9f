-- tcp-proxy's memory bound on a runtime mode (arg[1]): an upstream that never reads stops the
-- client by back-pressure with about high_water held in the proxy; once it reads, every byte
-- arrives. And a reset on one side resets the other, either way, counted as resets.
local mode = arg[1] or "uv"
local up = assert(hangar.tcp.listen("127.0.0.1:0"))
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: front, engine: tcp-proxy, listen: "127.0.0.1:0", upstream: "%s",
      high_water: 64KiB }
]], mode, up:address()) }

local c = assert(hangar.tcp.connect(h:address("front"), "2s"))
local u = assert(up:accept("2s"))
local chunk = string.rep("z", 65536)
local sent = 0
for _ = 1, 2048 do -- at most 128 MiB; back-pressure stops it long before
    local n, _, part = c:send(chunk, "300ms")
    if n == nil then
        sent = sent + part
        break
    end
    sent = sent + n
end
cmp_ok(sent, "<", 128 << 20, mode .. ": a peer that never reads stops the client")
local pc = h:counters("front")
cmp_ok(pc.bytes_in - pc.bytes_out, "<=", (64 + 256) * 1024,
       "the proxy holds about high_water (" .. (pc.bytes_in - pc.bytes_out) .. " bytes)")
cmp_ok(pc.queued_max, "<=", (64 + 256) * 1024, "its write queue stayed bounded")
cmp_ok(pc.pauses, ">=", 1, "it paused the client")
diag("client sent " .. sent .. " bytes before it stalled")
local got = 0
while got < sent do
    local d = u:recv(nil, "3s")
    if not d then break end
    got = got + #d
end
ok(got >= sent, "once the peer reads, what was sent arrives")

c:reset()
local data, why = u:recv(1, "3s")
is(data, nil, "a client reset reaches the upstream")
is(why, "reset", "as a reset")
u:close()
ok(h:wait_for(function() return h:counters("front").connections_open == 0 end, "2s"),
   "both sides are closed")

-- the other way: an upstream that answers and resets; the answer comes, then the reset
c = assert(hangar.tcp.connect(h:address("front"), "2s"))
u = assert(up:accept("2s"))
assert(c:send("ping", "2s"))
is(u:recv(4, "3s"), "ping", "the upstream gets the client's bytes")
assert(u:send("pong", "2s"))
u:reset()
local got, why, part = c:recv_all("3s")
is(got, nil, "an upstream reset reaches the client")
is(why, "reset", "as a reset, not an end of stream")
is(part, "pong", "after the bytes sent before it")
c:close()
ok(h:wait_for(function() return h:counters("front").connections_open == 0 end, "2s"),
   "both sides are closed")
pc = h:counters("front")
is(pc.closed_passive_reset, 2, "the proxy counted each peer's reset")
is(pc.closed_active_reset, 2, "and each reset it passed on")
is(pc.closed_passive + pc.closed_active, 0, "and no clean close")
is(h:shutdown(), true, "the proxy shuts down")
up:close()
done_testing()
