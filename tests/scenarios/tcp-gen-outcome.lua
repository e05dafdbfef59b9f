-- tcp-gen's verdict on its own run, on a runtime mode (arg[1]): request_timeout against a
-- server that never answers, the facts `outcome` / `outcome_reason`, max_failures as a failure
-- budget, and a run whose every connection was refused.
local mode = arg[1] or "uv"
local function host(pipelines)
    return hangar.start { yaml = string.format([[
hangar: 1
runtime: { mode: %s, workers: 2 }
pipelines:
%s]], mode, pipelines) }
end

-- A server that reads and never answers: each request times out and closes its connection.
local h = host([[
  - { name: sink, engine: tcp-sink, listen: "127.0.0.1:0" }
  - { name: mute, engine: tcp-gen, connect: sink, connections: 2, duration: 1500ms,
      request_timeout: 200ms }
  - { name: flow, engine: tcp-gen, connect: sink, connections: 1, duration: 300ms,
      pattern: stream }
]])
ok(h:wait_for(function() return h:state("mute") == "stopped" end, "10s"),
   mode .. ": a generator whose requests are never answered still ends")
local c = h:counters("mute")
cmp_ok(c.failed_timeout, ">=", 4, "each unanswered request times out (" .. c.failed_timeout .. ")")
is(c.errors, c.failed_timeout, "and every error is such a timeout")
is(c.responses, 0, "nothing was answered")
cmp_ok(c.connections_established, ">", 2, "a timed-out connection is closed and replaced")
is(c.outcome, "failed", "the fact `outcome` says failed")
like(c.outcome_reason, "failures %(timeout %d+%), over max_failures 0", "and says why")
local s = h:call("mute", "summary").reply
is(s.outcome, "failed", "the summary has the outcome")
like(s.text, "outcome +failed: ", "and its text too")
like(s.text, "failures +timeout %d+", "the text counts the timeouts")

ok(h:wait_for(function() return h:state("flow") == "stopped" end, "10s"),
   "a stream to the sink ends")
c = h:counters("flow")
is(c.outcome, "passed", "a stream needs no answer: it passed")
is(c.outcome_reason, "", "with no reason")
s = h:call("flow", "summary").reply
cmp_ok(s.bytes_out_per_s, ">", 0, "the summary has the rate out")
is(s.bytes_in_per_s, 0, "and the rate in apart (none from a sink)")
is(s.bytes_per_s, nil, "not one figure adding both")
like(s.text, "sent +[%d.]+ MB, [%d.]+ MB/s", "the text has a line sent")
like(s.text, "received +0%.00 MB, 0%.00 MB/s", "and a line received")
is(h:shutdown(), true, "the host shuts down")

-- Without a request_timeout the unanswered requests are cut at the end: no answer is a failure.
h = host([[
  - { name: sink, engine: tcp-sink, listen: "127.0.0.1:0" }
  - { name: mute, engine: tcp-gen, connect: sink, connections: 1, duration: 200ms,
      request_timeout: 0 }
]])
ok(h:wait_for(function() return h:state("mute") == "stopped" end, "10s"),
   "request_timeout 0: the generator ends with its duration (and the drain)")
c = h:counters("mute")
is(c.errors, 0, "no failure is counted")
is(c.outcome, "failed", "but a run without one answer failed")
is(c.outcome_reason, "no request was answered (1 sent)", "and says so")
is(h:shutdown(), true, "the host shuts down")

-- An echo that takes one client at a time refuses the other: failures among answers.
h = host([[
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0", max_open: 1 }
  - { name: strict, engine: tcp-gen, connect: echo, connections: 2, duration: 300ms }
]])
ok(h:wait_for(function() return h:state("strict") == "stopped" end, "20s"),
   "a generator with one connection of two refused ends")
c = h:counters("strict")
cmp_ok(c.errors, ">", 0, "it counted failures (" .. c.errors .. ")")
cmp_ok(c.responses, ">", 0, "beside its answers")
is(c.outcome, "failed", "max_failures 0 (the default): any failure fails the run")
is(h:shutdown(), true, "the host shuts down")

h = host([[
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0", max_open: 1 }
  - { name: lenient, engine: tcp-gen, connect: echo, connections: 2, duration: 300ms,
      max_failures: 1000000000 }
]])
ok(h:wait_for(function() return h:state("lenient") == "stopped" end, "20s"),
   "the same with a failure budget ends")
c = h:counters("lenient")
cmp_ok(c.errors, ">", 0, "with failures (" .. c.errors .. ")")
is(c.outcome, "passed", "within max_failures the run passed")
is(h:call("lenient", "summary").reply.max_failures, 1000000000, "the summary names the budget")
is(h:shutdown(), true, "the host shuts down")

-- Every connection refused.
local l = hangar.tcp.listen("127.0.0.1:0")
local dead = l:address()
l:close()
h = host(string.format([[
  - { name: load, engine: tcp-gen, connect: "%s", connections: 2, duration: 30s,
      max_failures: 1000000 }
]], dead))
ok(h:wait_for(function() return h:state("load") == "stopped" end, "20s"),
   "a generator whose every connect is refused gives up")
c = h:counters("load")
is(c.outcome, "failed", "its run failed, even within its failure budget")
is(c.outcome_reason, "no connection was established", "as no connection was established")
is(h:shutdown(), true, "the host shuts down")
done_testing()
