-- hangar.tcp against itself: a listener and clients inside one scenario, every way a
-- connection can end, and every wait bounded.
local l = assert(hangar.tcp.listen("127.0.0.1:0"))
local addr = l:address()
like(addr, "^127%.0%.0%.1:%d+$", "a port 0 listener reports its real address")

local c = assert(hangar.tcp.connect(addr, "1s"))
local s = assert(l:accept("1s"))
is(c:peer(), addr, "the client's peer is the listener")
is(s:peer(), c:address(), "the server side sees the client's address")

is(c:send("hello world"), 11, "send returns the bytes sent")
is(s:recv(5, "1s"), "hello", "recv(n) reads exactly n bytes")
is(s:recv(6, "1s"), " world", "and the rest")

local data, why, part
c:send("abc")
data, why, part = s:recv(10, "100ms")
is(data, nil, "recv(n) with fewer than n bytes times out")
is(why, "timeout", "saying timeout")
is(part, "abc", "with what it read")

c:send("xyz")
is(s:recv(nil, "1s"), "xyz", "recv() returns what arrives first")

local t0 = hangar.now()
data, why = s:recv(1, 0.2)
cmp_ok(hangar.now() - t0, ">=", 0.19, "a numeric timeout is seconds")
cmp_ok(hangar.now() - t0, "<", 2, "and bounded")

c:send("last words")
c:shutdown_write()
is(s:recv_all("1s"), "last words", "recv_all reads until the peer's end of stream")
s:send("reply after half-close")
s:close()
is(c:recv_all("1s"), "reply after half-close", "a half-closed client still reads")

local c2 = assert(hangar.tcp.connect(addr))
local s2 = assert(l:accept("1s"))
c2:send("x")
is(s2:recv(1, "1s"), "x", "a second connection works")
c2:reset()
data, why = s2:recv(1, "1s")
is(data, nil, "reading after the peer's reset fails")
ok(why == "reset" or why == "closed", "saying reset (or closed)")
s2:close()

local c3 = assert(hangar.tcp.connect(addr))
local s3 = assert(l:accept("1s"))
s3:close()
data, why = c3:recv(4, "1s")
is(why, "closed", "recv after the peer closed says closed")
c3:close()
local ok_, err = pcall(c3.send, c3, "x")
ok(not ok_ and err:match("closed"), "a closed connection refuses to send")

data, why = l:accept("50ms")
is(data, nil, "accept with no client times out")
is(why, "timeout", "saying timeout")

l:close()
local refused, rwhy = hangar.tcp.connect(addr, "1s")
is(refused, nil, "connecting to a closed port fails")
like(rwhy, "[Rr]efused", "connection refused")

-- a wrong address is a failure like a refused connection: nil and why; a wrong argument type
-- is the script's own mistake, and an error naming the function
for _, bad in ipairs({ "nonsense", "127.0.0.1", ":80", "127.0.0.1:http", "127.0.0.1:70000",
                       "example.invalid:80", "[::1:80", 7 }) do
    local c_, cwhy = hangar.tcp.connect(bad, "1s")
    ok(c_ == nil and type(cwhy) == "string", "connect('" .. tostring(bad) .. "') returns nil")
    like(cwhy, "^bad address '" .. tostring(bad):gsub("%p", "%%%0") .. "': ", "saying why")
    local l_, lwhy = hangar.tcp.listen(bad)
    ok(l_ == nil and lwhy == cwhy, "listen('" .. tostring(bad) .. "') too")
end
ok_, err = pcall(hangar.tcp.connect, nil)
ok(not ok_, "connect(nil) is an error")
like(err, "bad argument #1 to 'hangar%.tcp%.connect' %(string expected, got nil%)",
     "naming the function and the argument")
ok_, err = pcall(function() hangar.tcp.listen({}) end)
like(err, "bad argument #1 to 'hangar%.tcp%.listen' %(string expected, got table%)",
     "listen too, called directly")
ok_, err = pcall(hangar.tcp.connect, "127.0.0.1:1", "soon")
like(err, "bad argument #2 to 'hangar%.tcp%.connect' %(not a duration", "a bad timeout too")
local lx = assert(hangar.tcp.listen("127.0.0.1:0"))
ok_, err = pcall(function() lx:accept("soon") end)
like(err, "bad argument #1 to 'listener:accept' %(not a duration", "methods say which")
ok_, err = pcall(lx.accept, 5)
like(err, "bad argument #1 to 'listener:accept' %(hangar%.tcp%.listener expected, got number%)",
     "even called without ':'")
lx:close()

do
    local l2 <close> = assert(hangar.tcp.listen("127.0.0.1:0"))
    local a2 = l2:address()
    local cc <close> = assert(hangar.tcp.connect(a2))
    ok(cc, "sockets work as <close> variables")
end

done_testing()
