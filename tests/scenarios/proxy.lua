-- tcp-proxy between a Lua client and a Lua upstream on a runtime mode (arg[1]): bytes pass both
-- ways, half-close and close propagate, a dead upstream is counted.
local mode = arg[1] or "uv"
local up = assert(hangar.tcp.listen("127.0.0.1:0"))
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: front, engine: tcp-proxy, listen: "127.0.0.1:0", upstream: "%s",
      high_water: 64KiB, connect_timeout: 2s }
]], mode, up:address()) }
local front = h:address("front")

local c = assert(hangar.tcp.connect(front, "2s"))
local u = up:accept("2s")
ok(u, mode .. ": the proxy connects upstream for a client")
c:send("to upstream")
is(u:recv(11, "2s"), "to upstream", "client bytes reach the upstream")
u:send("to client")
is(c:recv(9, "2s"), "to client", "upstream bytes reach the client")

local big = string.rep("p", 1 << 20)
c:send(big, "10s")
is(u:recv(#big, "10s"), big, "1 MiB crosses a 64 KiB high-water mark intact")

c:shutdown_write()
local data, why = u:recv_all("2s")
is(data, "", "the client's half-close reaches the upstream")
u:send("after half-close")
u:close()
is(c:recv_all("2s"), "after half-close", "the upstream still answers, then its close arrives")
c:close()

ok(h:wait_for(function() return h:counters("front").connections_open == 0 end, "2s"),
   "no connection is left open")
cmp_ok(h:counters("front").bytes_in, ">=", 11 + #big, "bytes_in counts what crossed")

up:close()
local c2 = assert(hangar.tcp.connect(front, "2s"))
data, why = c2:recv(1, "3s")
is(data, nil, "with the upstream gone the client is closed")
ok(why == "closed" or why == "reset", "closed or reset")
ok(h:wait_for(function() return h:counters("front").upstream_failed >= 1 end, "3s"),
   "upstream_failed counts it")
c2:close()
h:expect_error_log("upstream") -- a proxy may log the failed upstream as an error
is(h:shutdown(), true, "the proxy shuts down")

-- upstream given as a pipeline's name follows that pipeline when a restart moves its port
local h2 = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: front, engine: tcp-proxy, listen: "127.0.0.1:0", upstream: echo }
]], mode) }
local function through(text)
    local k = hangar.tcp.connect(h2:address("front"), "2s")
    if not k then return nil end
    k:send(text)
    local got = k:recv(#text, "2s")
    k:close()
    return got
end
is(through("first"), "first", "the proxy reaches the named upstream")
local before = h2:address("echo")
is(h2:command("stop echo").ok, true, "the upstream pipeline stops")
is(h2:command("start echo").ok, true, "and starts again")
diag("echo moved from " .. before .. " to " .. h2:address("echo"))
is(through("second"), "second", "the proxy follows it to its new address")
is(h2:counters("front").upstream_failed, 0, "without a failed upstream connect")
is(h2:shutdown(), true, "that host shuts down too")

-- a chain written front first: each proxy names a pipeline that starts after it
local h3 = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 1 }
pipelines:
  - { name: front, engine: tcp-proxy, listen: "127.0.0.1:0", upstream: mid }
  - { name: mid, engine: tcp-proxy, listen: "127.0.0.1:0", upstream: echo }
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]], mode) }
is(h3:state("front"), "running", "a proxy naming a pipeline declared after it starts")
local k = assert(hangar.tcp.connect(h3:address("front"), "2s"))
k:send("through two proxies")
is(k:recv(19, "2s"), "through two proxies", "and the chain carries bytes both ways")
k:close()
is(h3:shutdown(), true, "the chain shuts down")
done_testing()
