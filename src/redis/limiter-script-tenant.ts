// The limiter script's read of the tenant (config, key, buckets, day, calls in flight in one
// HMGET; a config from before the packed one takes a second), its answers for a miss, a
// changed zone, an unknown key or a suspension, and the helpers the decisions share: the
// limits' resolution and the counters.
// Part of LIMITER_SCRIPT (limiter-script.ts).

export const LUA_TENANT = `
-- Everything below reads the tenant in one call: the config (packed in cfg, good while its
-- time is the hash's 'at'), the route and the key, the route's two buckets (units and
-- requests), the day, the earliest reservation expiry, and for a reserving check the calls in
-- flight (c[12] n, c[13] n:<route>; absent otherwise: only a reservation takes or reports a
-- slot). A key's own buckets are read only for a key that has limits (check), since every
-- field read costs each call (about 0.1 µs of Redis's CPU, measured).
local route = ''
if op == 'check' or op == 'lease' then route = ARGV[8] end
local reserving = op == 'check' and ARGV[11] == '1'
local bUnits, bRequests, nRoute = 'b:' .. route, 'b:' .. route .. '/requests', nil
-- The route's count of calls in flight, which only a reserving check reads or writes.
if reserving then nRoute = 'n:' .. route end
-- Its names as arguments, not upvalues: a closure's upvalues cost every call their capture.
local function readTenant(t, r, k, bu, br, ...)
  return redis.call('HMGET', t, 'at', 'cfg', 'r:' .. r, 'k:' .. k, bu, br, 'd.day', 'd.used', 'x', 'd.al', 'h', ...)
end
local c
if reserving then
  c = readTenant(tenant, route, keyHash, bUnits, bRequests, 'n', nRoute)
else
  c = readTenant(tenant, route, keyHash, bUnits, bRequests)
end
local routeSpec, keySpec, unitsState, requestsState, dDay, dUsed, nextExpiry, dAl =
  c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]
-- The config: "version:hash", status, zone, ttl, the tenant's units rate and burst and
-- request rate and burst, daily (-1: none), shadow, alert thresholds, calls in flight (nil for
-- none), as load packed them (packConfig()), or as the fields hold them where cfg is not the
-- config they hold: written before cfg was, or by a load that did not write it (every load
-- writes 'at', and cfg carries the 'at' it was written with).
local loadedAt = tonumber(c[1])
local version, status, zone, ttl, tRate, tBurst, tRRate, tRBurst, dailyUnits, shadow, alerting, conc, packedAt,
  packedHash
if c[2] then
  version, status, zone, ttl, tRate, tBurst, tRRate, tRBurst, dailyUnits, shadow, alerting, conc, packedAt,
    packedHash = cmsgpack.unpack(c[2])
end
-- Its time and its limits' hash both: an older script's load within the same ms as the one
-- that packed it changes the second.
if not loadedAt or packedAt ~= loadedAt or packedHash ~= c[11] then
  local f = redis.call('HMGET', tenant, 'v', 'h', 's', 'tz', 'ttl', 'rate', 'burst', 'rrate', 'rburst', 'daily',
    'shadow', 'al', 'conc')
  -- No config: the caller loads the tenant from Postgres and asks again.
  if not f[1] then return {'miss'} end
  version, status, zone, ttl = f[1] .. ':' .. (f[2] or ''), f[3], f[4], tonumber(f[5])
  tRate, tBurst, tRRate, tRBurst = tonumber(f[6]), tonumber(f[7]), tonumber(f[8]), tonumber(f[9])
  dailyUnits, shadow, alerting, conc = tonumber(f[10]), f[11] == '1', f[12], tonumber(f[13])
end
-- A config past its time: the caller reloads it and asks again. A stale check (the reload
-- failed) takes an old config as it is, unless the override its limits include has ended
-- ('ou'): those limits are no longer in force, and the quota's are not here, so the caller
-- answers as for a tenant it cannot load.
if now - loadedAt > ttl then
  if not stale then return {'miss'} end
  local ou = tonumber(redis.call('HGET', tenant, 'ou'))
  if ou and now >= ou then return {'miss'} end
end
if status == 'missing' then return {'missing'} end
if zone ~= tz then return {'tz', zone} end
-- The caller's cache is keyed by version and content: two processes may resolve one version
-- to different limits (their defaults differ during a rolling deploy).
local json = false
if version ~= known then json = redis.call('HGET', tenant, 'json') end

-- A settle or a lease's report accounts for calls already admitted: it is taken whatever
-- the key's or the tenant's status now.
if op ~= 'settle' and op ~= 'report' then
  if keyHash ~= '' and not keySpec then return {'unauth', loadedAt} end
  if status ~= 'active' then return {'suspended', loadedAt} end
end

-- src/core/limits.ts bucketOf(): a bucket given one of its two numbers uses it for both; a
-- rate alone of 0, or neither, is no bucket (nil).
local function bucket(rate, burst)
  if burst then return rate or burst, burst end
  if rate and rate > 0 then return rate, rate end
  return nil, nil
end

-- A route's limits from its spec ("rate,burst,cost,rrate,rburst,conc"; configs written before
-- request buckets have the first three parts), each number the route's, else the tenant's:
-- units rate and burst, requests rate and burst, cost (nil: the route table's), calls in flight.
local function routeOf(spec)
  if not spec then
    local ur, ub = bucket(tRate, tBurst)
    local qr, qb = bucket(tRRate, tRBurst)
    return ur, ub, qr, qb, nil, nil
  end
  local r, b, k, rr, rb, n = string.match(spec, '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)$')
  if not r then r, b, k = string.match(spec, '^([^,]*),([^,]*),([^,]*)$') end
  local ur, ub = bucket(tonumber(r) or tRate, tonumber(b) or tBurst)
  local qr, qb = bucket(tonumber(rr) or tRRate, tonumber(rb) or tRBurst)
  return ur, ub, qr, qb, tonumber(k), tonumber(n)
end

-- A key's own limits from its k: field ("rate,burst,rrate,rburst", or '1' for none).
local function keyOf(spec)
  if not spec or spec == '1' then return nil, nil, nil, nil end
  local r, b, rr, rb = string.match(spec, '^([^,]*),([^,]*),([^,]*),([^,]*)$')
  local ur, ub = bucket(tonumber(r), tonumber(b))
  local qr, qb = bucket(tonumber(rr), tonumber(rb))
  return ur, ub, qr, qb
end

-- A bucket's "ticks:at" (find and sub cost a check less than a pattern match).
local function stateOf(raw)
  if not raw then return nil, nil end
  local colon = string.find(raw, ':', 1, true)
  if not colon then return nil, nil end
  return tonumber(string.sub(raw, 1, colon - 1)), tonumber(string.sub(raw, colon + 1))
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

-- The counters' changes, written by one HSET, a field once however often it changes (a batch
-- of settles moves the same few again and again); written[f] is where f's value is in writes.
local writes, written = {}, {}
local function put(field, value)
  local w = written[field]
  if w then
    writes[w] = value
    return
  end
  writes[#writes + 1] = field
  writes[#writes + 1] = value
  written[field] = #writes
end
-- A field's value as this call has written it, else was (what it read).
local function latest(field, was)
  local w = written[field]
  if w then return writes[w] end
  return was
end
local function flush()
  -- In slices: unpack() is bounded by Lua's C stack.
  for j = 1, #writes, 2000 do redis.call('HSET', tenant, unpack(writes, j, math.min(j + 1999, #writes))) end
end

local function setBucket(field, ticks, at)
  local atText = nowText
  if at and at > now then atText = fmt(at) end
  put(field, fmt(ticks) .. ':' .. atText)
end

-- src/core/daily-quota.ts: a state from a later day (a clock stepped back) keeps counting.
local function usedToday()
  if not dDay then return 0 end
  if dDay >= today then return tonumber(dUsed) end
  return 0
end
-- src/core/quota-alerts.ts: thresholds in basis points ('al', ascending), the highest fired on
-- the day in 'd.al'; a threshold is reached at ceil(bp x limit / 10000), computed exactly.
local function mark(bp, limit)
  local q = math.floor(limit / 10000)
  return bp * q + math.ceil(bp * (limit - q * 10000) / 10000)
end
local function alerts(day, used)
  local fired = 0
  if day == dDay and dAl then fired = tonumber(dAl) end
  local highest = fired
  if alerting and alerting ~= '' and dailyUnits > 0 and used > 0 then
    for part in string.gmatch(alerting, '[^,]+') do
      local bp = tonumber(part)
      if bp > highest then
        -- Ascending: the first threshold not reached ends the search.
        if used < mark(bp, dailyUnits) then break end
        redis.call('XADD', stream, '*', 'a', day .. '\t' .. part .. '\t' .. fmt(used) .. '\t' .. fmt(dailyUnits) ..
          '\t' .. nowText)
        highest = bp
      end
    end
  end
  if highest ~= fired or day ~= dDay then put('d.al', fmt(highest)) end
end
local function setDaily(used)
  local day = today
  if dDay and dDay > today then day = dDay end
  if day ~= dDay then put('d.day', day) end
  used = math.max(0, used)
  put('d.used', fmt(used))
  alerts(day, used)
end
`;
