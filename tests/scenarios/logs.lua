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

-- a host that cannot start logs errors; expect_errors says they are expected
local ok_, err = pcall(hangar.start, { yaml = [[
hangar: 1
pipelines:
  - { name: x, engine: tcp-echo, listen: "256.0.0.1:0" }
]], expect_errors = true })
ok(not ok_, "a host that cannot listen does not start")
like(err, "did not start", "the error says so")
like(err, "cannot listen", "with the host's error lines")

done_testing()
