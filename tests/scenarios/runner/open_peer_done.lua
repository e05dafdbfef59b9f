-- runner test: done_testing() with the script's own client still connected to an echo
-- pipeline: the client is closed before the host shuts down, so the host stops at once
-- (not after its shutdown_timeout, 30s here).
local h = hangar.start { yaml = [[
hangar: 1
control: { shutdown_timeout: 30s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]] }
local c = assert(hangar.tcp.connect(h:address("echo"), "1s"))
c:send("hello")
is(c:recv(5, "1s"), "hello", "the echo answers")
done_testing()
