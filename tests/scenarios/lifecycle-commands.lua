-- lifecycle-commands.lua: start, stop and restart of one pipeline on a runtime mode (arg[1]),
-- with its connection records and counters across the restart.
local mode = arg[1] or "uv"
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
control: { shutdown_timeout: 1s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0", records: true }
]], mode) }

local function roundtrip(what)
    local c = hangar.tcp.connect(h:address("echo"), "2s")
    if not c then return false end
    c:send(what)
    local got = c:recv(#what, "2s")
    c:close()
    return got == what
end

-- A client that sends and never reads: the echo's queue fills, the connection stays busy, and
-- a graceful stop (which closes idle connections at once) waits for it, then cuts it.
local function stuck_client()
    local c = assert(hangar.tcp.connect(h:address("echo"), "2s"))
    c:send(string.rep("x", 16 << 20), "500ms")
    return c
end

ok(roundtrip("one"), mode .. ": echo answers before the restart")
-- the round trip's own connection may still be closing on the server: let it go first, so
-- that open == 1 below means the idle client, accepted
h:wait_for(function() return h:counters("echo").connections_open == 0 end, "2s")
local idle = stuck_client()
-- connect returns once the kernel has the connection; wait until the pipeline has accepted it,
-- or the stop would close the listener with it still in the accept queue (nothing to cut)
h:wait_for(function() return h:counters("echo").connections_open == 1 end, "2s")
local r = h:command("stop echo")
is(r.ok, true, "stop answers ok")
is(r.cut, 1, "and cuts the client that never reads after shutdown_timeout")
is(h:state("echo"), "stopped", "the pipeline is stopped")
local _, why = idle:recv_all("2s")
ok(why == "closed" or why == "reset", "that client sees its connection end")
idle:close()
is(h:command("stop echo").ok, true, "stopping a stopped pipeline is harmless")

r = h:command("start echo")
is(r.ok, true, "start brings it back")
is(h:state("echo"), "running", "running again")
ok(roundtrip("two"), "and it answers, on its new address")
is(h:command("start echo").code, "ESTATE", "starting a running pipeline is refused")

h:wait_for(function() return h:counters("echo").connections_open == 0 end, "2s")
r = h:command("restart echo")
is_deeply(r, { ok = true, cut = 0 }, "restart stops and starts it, and says what it cut as stop does")
ok(roundtrip("three"), "it answers after the restart")
h:wait_for(function() return h:counters("echo").connections_open == 0 end, "2s")
idle = stuck_client()
h:wait_for(function() return h:counters("echo").connections_open == 1 end, "2s")
is_deeply(h:command("restart echo"), { ok = true, cut = 1 },
          "a restart with a client that never reads cuts it after shutdown_timeout and counts it")
idle:close()
ok(roundtrip("four"), "it answers after that restart too")
h:wait_for(function() return h:counters("echo").connections_open == 0 end, "2s")
local c = h:counters("echo")
is(c.connections_established, 6, "counters span the restarts")
is(c.closed_shutdown, 2, "with the connections the stop and the restart cut")
is(#h:records("echo"), 6, "one record per connection")
is(h:command("restart nosuch").code, "ENOENT", "restart of an unknown instance is refused")
is(h:command("restart").code, "EINVAL", "restart without a name is refused, not a shutdown")
is(h:state("echo"), "running", "and the pipeline runs on")
is(h:command("pause echo").code, "ENOTSUP", "pause is for graph processors")
ok(h:shutdown(), "the host shuts down cleanly")

-- A generator stopped by a command is done (what `hangar run --until-done` waits for).
local g = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
control: { shutdown_timeout: 1s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 2, duration: 60s }
]], mode) }
is(g:done(), false, "a generator with a 60 s run is not done")
is(g:command("stop load").ok, true, "stop load answers ok")
is(g:state("load"), "stopped", "the generator is stopped")
is(g:done(), true, "and the host counts it as done")
ok(g:wait_done("1s"), "wait_done returns at once")
is(g:command("start load").ok, true, "start load runs it again")
is(g:done(), false, "and it is not done any more")
ok(g:shutdown(), "that host shuts down cleanly too")
done_testing()
