-- runner test: an error-level log line nobody expected fails the scenario at the end.
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
taken:close()
done_testing()
