-- Argo CD health of a tidemark.dev DBSchema (where a changelog comes from, and its
-- tags). The controller writes kstatus conditions (Ready sums up; Reconciling and
-- Stalled exist only while True) and status.observedGeneration on every pass.
--   no status yet, or a status about an older spec               -> Progressing
--   Ready=True (fetched and parsed)                              -> Healthy
--   Stalled=True (InvalidSpec, ParseFailed, a fetch not retried) -> Degraded
--   otherwise (Reconciling: a fetch being retried)               -> Progressing
local hs = {}

local function condition(ctype)
  if obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the tidemark controller to report status"
  return hs
end

local generation = obj.metadata.generation or 0
local ready = condition("Ready")
-- The generation this status was written for: Ready's, or else the status's.
local seen = obj.status.observedGeneration
if ready ~= nil and ready.observedGeneration ~= nil then
  seen = ready.observedGeneration
end
if seen == nil or seen < generation or ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the tidemark controller to observe generation " .. tostring(generation)
  return hs
end

local stalled = condition("Stalled")
if ready.status == "True" then
  hs.status = "Healthy"
elseif stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = tostring(ready.reason) .. ": " .. tostring(ready.message)
return hs
