-- runner test: a script that ends (plan given, no done_testing) holding a client connected
-- to an echo pipeline and a listener: the runner closes them before the host shuts down, so
-- it stops at once (not after its shutdown_timeout, 30s here).
plan(2)
local h = hangar.start { yaml = [[
hangar: 1
control: { shutdown_timeout: 30s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]] }
local c = assert(hangar.tcp.connect(h:address("echo"), "1s"))
local l = assert(hangar.tcp.listen("127.0.0.1:0"))
c:send("hello")
is(c:recv(5, "1s"), "hello", "the echo answers")
ok(l:address(), "a listener is open too")
