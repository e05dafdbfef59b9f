-- runner test: under --memory 64MiB a 1 GiB string is refused ("not enough memory", which pcall
-- sees), and a table of 1 MiB strings stops at the limit; the run fails saying so.
ok(pcall(string.rep, "x", 1 << 30) == false, "a 1 GiB string is refused")
local t = {}
for i = 1, 1000 do t[i] = string.rep("x", 1 << 20) .. i end
ok(true, "never reached")
