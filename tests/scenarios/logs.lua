-- Log capture: log_like / no_log_like, and error lines that are expected (matched by a
-- log_like, declared by expect_error_log, or a host started with expect_errors). An unexpected
-- error line fails the run: tests/scenarios/runner/error_log.lua checks that part.
local h = hangar.start { yaml = [[
hangar: 1
log: { level: debug }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]] }
h:log_like("%[debug%] echo: listening on 127%.0%.0%.1:%d+", "the host's lines are captured")
h:no_log_like("%[error%]", "no error so far")
cmp_ok(h:logged("listening"), ">=", 1, "logged() counts matching lines")
ok(#h:log() >= 1, "log() returns the lines")

-- restart a pipeline on a port the scenario took meanwhile: the host logs two errors
local p = assert(hangar.tcp.listen("127.0.0.1:0"))
local addr = p:address()
p:close()
local h2 = hangar.start { yaml = string.format([[
hangar: 1
pipelines:
  - { name: e, engine: tcp-echo, listen: "%s" }
]], addr) }
is(h2:command("stop e").ok, true, "the pipeline stops")
local taken = assert(hangar.tcp.listen(addr))
local r = h2:command("start e")
is(r.code, "EADDRINUSE", "it cannot start again on a port in use")
is(h2:state("e"), "failed", "and is failed")
h2:log_like("%[error%] e: cannot listen on", "log_like matches (and so expects) the first error")
h2:expect_error_log("start failed: address already in use")
taken:close()

-- an engine that cannot start is failed, with its error logged, and the host runs on
local busy = assert(hangar.tcp.listen("127.0.0.1:0"))
local h3 = hangar.start { yaml = string.format([[
hangar: 1
pipelines:
  - { name: x, engine: tcp-echo, listen: "%s" }
  - { name: y, engine: tcp-echo, listen: "127.0.0.1:0" }
]], busy:address()) }
is(h3:state("x"), "failed", "an engine that cannot listen is failed")
is(h3:state("y"), "running", "and the host runs on with the others")
h3:log_like("%[error%] x: cannot listen on", "the reason is logged (and so expected)")
h3:expect_error_log("x: failed: start failed")
ok(h3:shutdown(), "the host still shuts down cleanly")
busy:close()

done_testing()
