-- tidemark tests/unit/argocd_health.lua — runs Argo CD health scripts the way Argo CD's
-- own resource_customizations test does: for each case in <kind>/health_test.yaml, load
-- the object at inputPath, run health.lua with it as the global `obj`, and compare the
-- returned status and message with healthStatus.
--
-- Argo CD runs the scripts in gopher-lua (Lua 5.1 semantics) with only the base,
-- table, string and math libraries; the script here sees only those too, so a script
-- that reaches for io, os or require fails as it would in Argo CD. YAML comes through
-- lyaml (Debian: lua-yaml); its null sentinel reads as nil, as a JSON null does there.
--
-- It also checks that the argocd-cm patch carries each health.lua byte for byte, under
-- Argo CD's key resource.customizations.health.<group>_<kind> (or, with --write,
-- writes that patch).
--
-- usage: lua5.1 argocd_health.lua [--write] CM_PATCH KIND_DIR...
--          (one line per case; exit 1 on any mismatch)
--        lua5.1 argocd_health.lua --eval HEALTH_LUA OBJECT_FILE
--          (prints "<status>\t<message>" for one object, JSON or YAML; for e2e tests)
local lyaml = require("lyaml")

local function read(path)
  local f, err = io.open(path, "r")
  if not f then
    error("cannot read " .. path .. ": " .. tostring(err))
  end
  local text = f:read("*a")
  f:close()
  return text
end

local function denull(v)
  if v == lyaml.null then
    return nil
  end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      out[k] = denull(x)
    end
    return out
  end
  return v
end

local function load_yaml(path)
  return denull(lyaml.load(read(path)))
end

-- Runs the script at path with obj; returns the table it returns (or raises).
local function run_health(path, obj)
  local env = {
    obj = obj, ipairs = ipairs, pairs = pairs, next = next, select = select,
    tostring = tostring, tonumber = tonumber, type = type, error = error,
    pcall = pcall, unpack = unpack,
    string = string, table = table, math = math,
  }
  local chunk, err
  if setfenv then -- Lua 5.1, as gopher-lua
    chunk, err = loadfile(path)
    if chunk then
      setfenv(chunk, env)
    end
  else
    chunk, err = loadfile(path, "t", env)
  end
  if not chunk then
    error("cannot load " .. path .. ": " .. tostring(err))
  end
  return chunk()
end

if arg[1] == "--eval" then
  local hs = run_health(arg[2], load_yaml(arg[3]))
  print(tostring(hs.status) .. "\t" .. tostring(hs.message))
  os.exit(0)
end

local write = arg[1] == "--write"
local args = {}
for i = write and 2 or 1, #arg do
  args[#args + 1] = arg[i]
end
local cm_path = table.remove(args, 1)

-- "resource.customizations.health.tidemark.dev_DBRollout" for .../tidemark.dev/DBRollout
local function cm_key(dir)
  local group, kind = dir:match("([^/]+)/([^/]+)/*$")
  return "resource.customizations.health." .. group .. "_" .. kind
end

local CM_HEADER = [[
# Argo CD health checks for tidemark's kinds, as a patch of argocd-cm.
# GENERATED from resource_customizations/tidemark.dev/*/health.lua by
# tests/unit/argocd_health.sh --write; tests/unit/argocd_health.sh checks it matches.
# Install: kubectl -n argocd patch configmap argocd-cm --type merge --patch-file THIS_FILE
# (or list it under `patches:` of the kustomization that installs Argo CD).
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
]]

local failures, cases = 0, 0
if write then
  local out = {CM_HEADER}
  for _, dir in ipairs(args) do
    out[#out + 1] = "  " .. cm_key(dir) .. ": |\n"
    for line in (read(dir .. "/health.lua")):gmatch("([^\n]*)\n") do
      out[#out + 1] = (line == "" and "" or "    " .. line) .. "\n"
    end
  end
  local f = assert(io.open(cm_path, "w"))
  f:write(table.concat(out))
  f:close()
  print("wrote " .. cm_path)
  os.exit(0)
end
local cm = load_yaml(cm_path)
for _, dir in ipairs(args) do
  cases = cases + 1
  local key = cm_key(dir)
  if type(cm) ~= "table" or type(cm.data) ~= "table" or cm.data[key] ~= read(dir .. "/health.lua") then
    failures = failures + 1
    print("FAIL " .. cm_path .. ": data." .. key .. " differs from " .. dir
      .. "/health.lua (run tests/unit/argocd_health.sh --write)")
  else
    print("ok   " .. cm_path .. " carries " .. key)
  end
end

for _, dir in ipairs(args) do
  local spec = load_yaml(dir .. "/health_test.yaml")
  if type(spec) ~= "table" or type(spec.tests) ~= "table" or #spec.tests == 0 then
    error(dir .. "/health_test.yaml: no tests")
  end
  for _, case in ipairs(spec.tests) do
    cases = cases + 1
    local obj = load_yaml(dir .. "/" .. case.inputPath)
    local ok, hs = pcall(run_health, dir .. "/health.lua", obj)
    local want = case.healthStatus
    if not ok then
      failures = failures + 1
      print("FAIL " .. dir .. " " .. case.inputPath .. ": the script raised " .. tostring(hs))
    elseif type(hs) ~= "table" or hs.status ~= want.status or hs.message ~= want.message then
      failures = failures + 1
      print("FAIL " .. dir .. " " .. case.inputPath .. ":")
      print("  want " .. tostring(want.status) .. " " .. string.format("%q", tostring(want.message)))
      print("  got  " .. tostring(type(hs) == "table" and hs.status) .. " "
        .. string.format("%q", tostring(type(hs) == "table" and hs.message)))
    else
      print("ok   " .. dir:match("[^/]+$") .. " " .. case.inputPath .. " -> " .. hs.status)
    end
  end
end
print(string.format("argocd health: %d checks, %d failed", cases, failures))
if failures > 0 then
  os.exit(1)
end
