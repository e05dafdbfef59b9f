-- Metrics (docs/OPERATIONS.md, "Metrics"): the `metrics` verb and control.metrics over HTTP
-- (/metrics, /healthz, /readyz) in the Prometheus text format, with the generator's latency as
-- a histogram; clients that never read, 200 clients at once, a port already taken, and the
-- `log-level` verb. 60 more echo instances make /metrics larger than what a socket buffers,
-- so a client that never reads really leaves its answer unsent.
local extra = {}
for i = 1, 60 do
  extra[i] = string.format('  - { name: e%d, engine: tcp-echo, listen: "127.0.0.1:0" }', i)
end
local h = hangar.start { yaml = [[
hangar: 1
control: { metrics: "127.0.0.1:0", shutdown_timeout: 2s }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
  - { name: load, engine: tcp-gen, connect: echo, connections: 2, payload: 32B, requests: 500 }
]] .. table.concat(extra, "\n") .. "\n" }
h:wait_done("10s")

-- every family once: one # TYPE line per name, samples only under their own family
local function families(text)
  local types, order, bad = {}, {}, {}
  local current
  for line in text:gmatch("[^\n]+") do
    local name, t = line:match("^# TYPE (%S+) (%S+)$")
    if name then
      if types[name] then bad[#bad + 1] = "twice: " .. name end
      types[name] = t
      order[#order + 1] = name
      current = name
    elseif not line:match("^#") then
      local sample = line:match("^([%w_:]+)")
      local base = sample and (sample:match("^(.-)_bucket$") or sample:match("^(.-)_sum$")
                               or sample:match("^(.-)_count$"))
      if sample ~= current and not (base == current and types[current] == "histogram") then
        bad[#bad + 1] = "out of its family: " .. line
      end
    end
  end
  return types, bad
end

local r = h:command("metrics")
is(r.ok, true, "`metrics` answers")
local text = r.text
local types, bad = families(text)
is_deeply(bad, {}, "each family has one # TYPE line and its samples follow it")
like(text, 'hangar_pipeline_bytes_in_total{instance_name="echo",engine="tcp%-echo"} %d+',
     "a SUM counter is NAME_total with the instance and engine as labels")
is(types["hangar_pipeline_bytes_in_total"], "counter", "  typed counter")
like(text, 'hangar_pipeline_connections_open{instance_name="echo",engine="tcp%-echo"} %d+',
     "a GAUGE keeps its name")
is(types["hangar_pipeline_connections_open"], "gauge", "  typed gauge")
like(text, 'hangar_pipeline_latency_p99_seconds{instance_name="load",engine="tcp%-gen"} [%d.e%-]+',
     "a counter in ns is exported in seconds")
is(types["hangar_pipeline_request_latency_seconds"], "histogram",
   "the generator's latency is a histogram")
local inf = tonumber(text:match(
  'hangar_pipeline_request_latency_seconds_bucket{instance_name="load",engine="tcp%-gen",le="%+Inf"} (%d+)'))
local count = tonumber(text:match(
  'hangar_pipeline_request_latency_seconds_count{instance_name="load",engine="tcp%-gen"} (%d+)'))
is(inf, 500, "  its +Inf bucket holds every answered request")
is(count, inf, "  _count equals the +Inf bucket")
local prev, monotonic = -1, true
for le, v in text:gmatch('request_latency_seconds_bucket{[^}]-le="([^"]+)"} (%d+)') do
  if tonumber(v) < prev then monotonic = false end
  prev = tonumber(v)
end
ok(monotonic, "  buckets are cumulative")
like(text, 'hangar_pipeline_request_latency_seconds_sum{[^}]+} [%d.e%-]+', "  with its _sum")
like(text, "\nhangar_up 1\n", "host: hangar_up")
like(text, "\nhangar_instances 62\n", "host: hangar_instances")
like(text, "\nhangar_instances_failed 0\n", "host: hangar_instances_failed")
like(text, "\nhangar_uptime_seconds [%d.e%-]+\n", "host: hangar_uptime_seconds")
like(text, 'hangar_instance_info{instance_name="echo",engine="tcp%-echo",kind="pipeline",state="running",address="127%.0%.0%.1:%d+"} 1',
     "facts and state are labels of hangar_instance_info")

-- HTTP
local maddr = h:counters().host.metrics_address
like(maddr, "^127%.0%.0%.1:%d+$", "counters shows the metrics address (port 0 chose one)")
local function get(path, method)
  local c = assert(hangar.tcp.connect(maddr, "2s"))
  c:send((method or "GET") .. " " .. path .. " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
  local all, why, part = c:recv_all("5s")
  c:close()
  return all or part, why
end
local resp = get("/metrics")
like(resp, "^HTTP/1%.1 200 ", "GET /metrics: 200")
cmp_ok(#resp, ">", 64 * 1024, "  an answer larger than a socket buffers at once")
like(resp, "\r\nContent%-Type: text/plain; version=0%.0%.4", "  in the text format 0.0.4")
like(resp, 'hangar_pipeline_bytes_in_total{instance_name="echo"', "  the same series as the verb")
like(get("/healthz"), "^HTTP/1%.1 200 .*\r\n\r\nok\n$", "GET /healthz: 200 ok")
like(get("/readyz"), "^HTTP/1%.1 200 .*\r\n\r\nready\n$", "GET /readyz: 200 ready")
like(get("/nope"), "^HTTP/1%.1 404 ", "another path: 404")
like(get("/metrics", "POST"), "^HTTP/1%.1 405 ", "POST: 405")

-- clients that never read, and one that never sends, do not hold anybody up
local silent = assert(hangar.tcp.connect(maddr, "2s"))
local deaf = {}
for i = 1, 20 do
  deaf[i] = assert(hangar.tcp.connect(maddr, "2s"))
  deaf[i]:send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
end
local t0 = hangar.now()
like(get("/metrics"), "^HTTP/1%.1 200 ", "with 20 clients that never read their answer and one "
     .. "that sends nothing, a scrape is answered")
cmp_ok(hangar.now() - t0, "<", 2, "  at once")

-- 200 clients at once: every one gets its answer
local cs, answered = {}, 0
for i = 1, 200 do
  cs[i] = assert(hangar.tcp.connect(maddr, "5s"))
end
for i = 1, 200 do
  cs[i]:send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
end
for i = 1, 200 do
  local all = cs[i]:recv_all("10s")
  if all and all:match("^HTTP/1%.1 200 ") and all:match("hangar_up 1") then
    answered = answered + 1
  end
  cs[i]:close()
end
is(answered, 200, "200 clients at once: 200 answers")
is(h:command("counters").ok, true, "the hub answered throughout")

-- log-level
is(h:command("log-level echo debug").level, "debug", "log-level NAME LEVEL sets one instance's")
is(h:command("log-level nosuch debug").code, "ENOENT", "  an unknown instance is named")
is(h:command("log-level host warn").level, "warn", "  `host` names the host's own lines, as log.engines does")
is(h:command("log-level host default").ok, true, "  and gives them the host's level again")
like(h:command("log-level echo loud").error, "'loud' is not a log level", "  a bad level too")
is(h:command("log-level echo default").ok, true, "  `default` gives it the host's level again")

-- lifecycle lines
is(h:command("restart e1").ok, true, "restart e1")
h:log_like("%[info%] e1: restart: stop, then start", "a restart is logged")
h:log_like("%[info%] e1: stopped %(0 connections cut%)", "  its stop, with what it cut")
cmp_ok(h:logged("%[info%] e1: tcp%-echo listening on"), "==", 2, "  and its start again")
h:log_like("%[info%] load: tcp%-gen started", "an engine without an address logs its start")

local t1 = hangar.now()
ok(h:shutdown(), "the host stops with clients that never read still connected")
h:log_like("%[info%] host: shutdown: engines stop in dependency order within 2s",
           "the shutdown is logged as it begins")
h:log_like("%[info%] host: shutdown: %d+ connections? cut", "  and as it ends, with what it cut")
cmp_ok(hangar.now() - t1, "<", 3, "  within its bound")
silent:close()
for i = 1, 20 do deaf[i]:close() end

-- the port taken
local taken = assert(hangar.tcp.listen("127.0.0.1:0"))
local ok2, err = pcall(hangar.start, { yaml = string.format([[
hangar: 1
control: { metrics: "%s" }
pipelines:
  - { name: echo, engine: tcp-echo, listen: "127.0.0.1:0" }
]], taken:address()), expect_errors = true })
ok(not ok2, "a host whose metrics port is taken does not start")
like(tostring(err), "Address already in use %(another process listens on that port",
     "  and says why")
taken:close()

-- config errors
local okc, errs = hangar.check { yaml = [[
hangar: 1
control: { metrics: "nonsense" }
log: { format: xml, engines: { echo: loud }, file: "" }
]] }
ok(not okc, "bad operations keys fail the check")
like(table.concat(errs, "\n"), "<inline>:2:%d+: control: 'metrics' \"nonsense\" is not an address",
     "  control.metrics that is not HOST:PORT, with its position")
like(table.concat(errs, "\n"), "<inline>:3:%d+: log: .*format", "  log.format not one of the three")
like(table.concat(errs, "\n"), "<inline>:3:%d+: log: .*loud", "  log.engines with a bad level")
like(table.concat(errs, "\n"), "<inline>:3:%d+: log: 'file' is empty", "  an empty log.file")
done_testing()
