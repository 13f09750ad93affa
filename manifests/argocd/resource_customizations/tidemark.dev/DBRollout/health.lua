-- Argo CD health of a tidemark.dev DBRollout (a database moved to one tag in step
-- with one Deployment). The controller writes status.phase and kstatus conditions
-- (Ready sums up; Reconciling and Stalled exist only while True), and writes
-- status.observedGeneration only once a generation is fully handled (a terminal phase
-- or Blocked); in between, its conditions carry the generation being worked on.
--   no status yet, or a status about an older spec    -> Progressing
--   Pending, Applying, WaitingForApp, Verifying        -> Progressing
--   Succeeded (Ready=True)                             -> Healthy
--   RollingBack, RolledBack, Failed                    -> Degraded
--   Blocked (policy, drift, unknown tag; nothing ran)  -> Suspended
--   AwaitingApproval (a person approves the plan)      -> Suspended
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

local function describe(c)
  if obj.status.message ~= nil and obj.status.message ~= "" then
    return obj.status.message
  end
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return "phase " .. tostring(obj.status.phase)
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
if seen == nil or seen < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the tidemark controller to observe generation " .. tostring(generation)
  return hs
end

local phase = obj.status.phase
if phase == "Succeeded" and ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
elseif phase == "Blocked" or phase == "AwaitingApproval" then
  hs.status = "Suspended"
elseif phase == "Failed" or phase == "RolledBack" or phase == "RollingBack" then
  hs.status = "Degraded"
elseif condition("Stalled") ~= nil and condition("Stalled").status == "True" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = describe(ready)
return hs
