-- tcp-sink on a runtime mode (arg[1]): reads and discards everything, never answers.
local mode = arg[1] or "uv"
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: sink, engine: tcp-sink, listen: "127.0.0.1:0" }
]], mode) }
local addr = h:address("sink")
local conns, total = {}, 0
for i = 1, 4 do
    conns[i] = assert(hangar.tcp.connect(addr, "2s"))
    local chunk = string.rep(string.char(64 + i), 100000 * i)
    conns[i]:send(chunk, "10s")
    total = total + #chunk
end
pass(mode .. ": four clients sent " .. total .. " bytes")
local data, why = conns[1]:recv(1, "200ms")
is(why, "timeout", "the sink never answers")
for i = 1, 4 do conns[i]:close() end
ok(h:wait_for(function()
    local c = h:counters("sink")
    return c.connections_open == 0 and c.bytes_in == total
end, "5s"), "every byte is read and every connection closed")
local c = h:counters("sink")
is(c.bytes_discarded, total, "bytes_discarded counts them all")
is(c.bytes_out, 0, "nothing is written back")
is(c.connections_established, 4, "four connections")

-- peers that send and then reset: every runtime mode counts them the same way
for i = 1, 20 do
    local r = assert(hangar.tcp.connect(h:address("sink"), "2s"))
    r:send(string.rep("y", 5000))
    r:reset()
end
-- wait for all twenty to be accepted too: open == 0 alone can hold before the
-- last ones leave the accept queue
ok(h:wait_for(function()
    local k = h:counters("sink")
    return k.connections_established == 24 and k.connections_open == 0
end, "5s"), "twenty send-then-reset peers are all accepted and closed")
c = h:counters("sink")
is(c.closed_passive_reset, 20, "each counted as a passive reset")
is(c.closed_error, 0, "none as an error")
is(h:shutdown(), true, "the sink shuts down")
done_testing()
