// The limiter script's read of the tenant (config, key, bucket, day in one HMGET), its answers
// for a miss, a changed zone, an unknown key or a suspension, and the counter helpers the
// decisions share. Part of LIMITER_SCRIPT (limiter-script.ts).

export const LUA_TENANT = `
-- Everything below reads the tenant in one call: config, the key, the route's bucket, the day.
local route = ''
if op == 'check' then route = ARGV[8] end
local c = redis.call('HMGET', tenant, 'v', 's', 'rate', 'burst', 'daily', 'tz', 'shadow', 'at', 'h', 'ttl',
  'r:' .. route, 'k:' .. keyHash, 'b:' .. route, 'd.day', 'd.used', 'x')
-- No config, or one past its time: the caller loads the tenant from Postgres and asks again.
if not c[1] or (not stale and now - tonumber(c[8]) > tonumber(c[10])) then return {'miss'} end
if c[2] == 'missing' then return {'missing'} end
if c[6] ~= tz then return {'tz', c[6]} end
-- The caller's cache is keyed by version and content: two processes may resolve one version
-- to different limits (their defaults differ during a rolling deploy).
local version, loadedAt = c[1] .. ':' .. (c[9] or ''), tonumber(c[8])
local json = false
if version ~= known then json = redis.call('HGET', tenant, 'json') end
local shadow = c[7] == '1'
local dailyUnits = tonumber(c[5])

if op ~= 'settle' then
  if keyHash ~= '' and not c[12] then return {'unauth', loadedAt} end
  if c[2] ~= 'active' then return {'suspended', loadedAt} end
end

-- The route's bucket limits and cost: its override ("rate,burst,cost"), else the tenant's default.
local function limitsOf(spec)
  local rate, burst = tonumber(c[3]), tonumber(c[4])
  local cost = nil
  if spec then
    local r, b, k = string.match(spec, '^([^,]*),([^,]*),([^,]*)$')
    if r ~= '' then rate = tonumber(r) end
    if b ~= '' then burst = tonumber(b) end
    if k ~= '' then cost = tonumber(k) end
  end
  return rate, burst, cost
end

local function bucketOf(raw)
  if not raw then return nil, nil end
  local t, a = string.match(raw, '^(-?%d+):(%d+)$')
  return tonumber(t), tonumber(a)
end

-- src/core/token-bucket.ts bucketLevel(): a missing state is a full bucket.
local function level(ticks, at, rate, burst)
  local cap = burst * TICKS
  if ticks == nil then return cap end
  local elapsed = math.max(0, now - at)
  if rate == 0 or ticks >= cap then return math.min(cap, ticks) end
  local full = math.ceil((cap - ticks) / rate)
  return math.min(cap, ticks + math.min(elapsed, full) * rate)
end

-- The counters' changes, written by one HSET.
local writes = {}
local function put(field, value)
  writes[#writes + 1] = field
  writes[#writes + 1] = value
end
local function flush()
  if #writes > 0 then redis.call('HSET', tenant, unpack(writes)) end
end

local function setBucket(name, ticks, at)
  put('b:' .. name, fmt(ticks) .. ':' .. fmt(math.max(now, at or now)))
end

-- src/core/daily-quota.ts: a state from a later day (a clock stepped back) keeps counting.
local dDay, dUsed = c[14], c[15]
local function usedToday()
  if not dDay then return 0 end
  if dDay >= today then return tonumber(dUsed) end
  return 0
end
local function setDaily(used)
  local day = today
  if dDay and dDay > today then day = dDay end
  put('d.day', day)
  put('d.used', fmt(math.max(0, used)))
end

local function pre(ticks, at)
  return {ticks and fmt(ticks) or false, at and fmt(at) or false, dDay or false, dUsed or false}
end
`;
