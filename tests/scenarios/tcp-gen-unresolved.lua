-- A tcp-gen whose target pipeline failed to listen on a runtime mode (arg[1]): its start fails,
-- and its summary still names the target as written and says it did not start.
local mode = arg[1] or "uv"
local taken = assert(hangar.tcp.listen("127.0.0.1:0"))
local h = hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
  - { name: other, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: e, engine: tcp-echo, listen: "%s" }
  - { name: g, engine: tcp-gen, connect: e, requests: 10 }
]], mode, taken:address()) }
h:expect_error_log("address already in use")
h:expect_error_log("pipeline 'e' is not listening")
h:expect_error_log("start failed")
is(h:state("g"), "failed", mode .. ": the generator's start failed")
local text = h:call("g", "summary").reply.text
like(text, "1 connection to e\n", "its summary names the target as written")
like(text, "%(not started%)", "and says it did not start")
taken:close()
done_testing()
