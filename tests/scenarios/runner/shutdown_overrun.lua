-- runner test: a host the runner shuts down at the end whose engine overruns
-- control.shutdown_timeout (a generator of another host keeps its connection busy) is named
-- in a TAP diagnostic; it is not a failure.
local a = hangar.start { yaml = [[
hangar: 1
control: { shutdown_timeout: 300ms }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]] }
local b = hangar.start { yaml = string.format([[
hangar: 1
control: { shutdown_timeout: 300ms }
pipelines:
  - { name: gen, engine: tcp-gen, connect: "%s", connections: 1, duration: 60s }
]], a:address("echo")) }
ok(a:wait_for(function() return a:counters("echo").connections_open == 1 end, "2s"),
   "the generator of the second host is connected to the first")
done_testing()
