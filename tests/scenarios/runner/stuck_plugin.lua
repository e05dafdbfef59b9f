-- runner test: a plugin stuck in a command past --timeout 1s is a host call, not script code the
-- hook cannot reach: the run keeps the watchdog's 10 s to wind down (the command gives up after
-- its own 10 s, the timeout is reported), then the Bail out! names a stuck plugin, as the kill
-- of that host does not return either. Needs the fixture plugins on HANGAR_PLUGIN_PATH.
local h = hangar.start { yaml = [[
hangar: 1
pipelines:
  - { name: x, engine: fixture-oneshot, hold: true }
]] }
ok(h, "the host starts")
h:call("x", "block")
ok(true, "never reached")
