-- upper.lua - a lua processor's script for graph-procs.lua: each line back in capitals.
function process(data)
    return data:upper() .. "\n"
end
