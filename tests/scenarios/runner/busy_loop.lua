-- runner test: a busy loop is interrupted by --timeout; pcall cannot swallow the timeout.
local h = hangar.start { yaml = "hangar: 1\n" }
ok(h, "host starts")
while true do
    pcall(function() while true do end end)
end
