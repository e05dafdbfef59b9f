-- runner test: a host the runner shuts down at the end whose engine overruns
-- control.shutdown_timeout (a client that ignores a graceful stop holds its connection to the
-- echo) is named in a TAP diagnostic; it is not a failure. Needs the fixture plugins on
-- HANGAR_PLUGIN_PATH.
local a = hangar.start { yaml = [[
hangar: 1
control: { shutdown_timeout: 300ms }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: client, engine: fixture-oneshot, hold: true, connect: echo, ignore_graceful: true }
]] }
ok(a:wait_for(function()
    return a:counters("client").connected == "yes" and a:counters("echo").connections_open == 1
end, "5s"), "the client that ignores a graceful stop is connected to the echo")
done_testing()
