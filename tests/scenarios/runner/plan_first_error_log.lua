-- runner test: with plan(n) first, the end-of-run log check is one more test after the others
-- (the TAP stays valid, the count does not match the plan, the run fails).
plan(1)
local p = assert(hangar.tcp.listen("127.0.0.1:0"))
local addr = p:address()
p:close()
local h = hangar.start { yaml = string.format([[
hangar: 1
pipelines:
  - { name: e, engine: tcp-echo, listen: "%s" }
]], addr) }
h:command("stop e")
local taken = assert(hangar.tcp.listen(addr))
is(h:command("start e").ok, false, "the pipeline cannot start again on a port in use")
