-- fail.lua - a lua processor's script for graph-procs.lua that fails on its first frame.
function process(data)
    error("bad frame of " .. #data .. " bytes")
end
