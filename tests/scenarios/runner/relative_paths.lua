-- runner test: paths a scenario writes resolve against the script's directory, wherever the
-- run starts from. test-runner.c runs this from a temporary directory holding `plugins` (a
-- link to the fixture plugins, not on any default path) and rel.yaml, with the working
-- directory elsewhere (holding marker.txt).
plan(8)
local h = hangar.start { yaml = [[
hangar: 1
plugin_path: plugins
control: { socket: ctl.sock }
pipelines:
  - { name: one, engine: fixture-oneshot }
]] }
is(h:call("one", "summary").reply.text, "fixture-oneshot ran 1 time(s)",
   "inline yaml: a relative plugin_path is beside the script")
local f, err = io.open(hangar.script_dir .. "/ctl.sock")
if f then f:close() end
unlike(err or "", "No such file", "inline yaml: a relative control socket is beside the script")
ok(h:shutdown(), "the host stops")

local good, errs = hangar.check { yaml = "hangar: 1\nplugin_path: plugins\n" ..
                                         "pipelines:\n  - { name: one, engine: fixture-oneshot }\n" }
if not ok(good, "hangar.check resolves inline paths the same way") then
    diag(table.concat(errs, "\n"))
end

local h2 = hangar.start { config = "rel.yaml" }
is(h2:call("two", "summary").reply.text, "fixture-oneshot ran 2 time(s)",
   "config= a relative file name is beside the script (and its plugin_path beside the file)")
like(hangar.script_dir, "^/", "hangar.script_dir is absolute")
good, errs = hangar.check { config = "no-such.yaml" }
like(errs[1] or "", "^" .. hangar.script_dir:gsub("%p", "%%%0") .. "/no%-such%.yaml",
     "a missing relative config is looked for beside the script")
local marker = io.open(hangar.cwd .. "/marker.txt")
ok(marker, "hangar.cwd is the directory the run started in (for paths from the command line)")
if marker then marker:close() end
