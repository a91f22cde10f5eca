// The Redis limiter's Lua script: every decision of one tenant, run atomically by Redis.
//
// It moves the same integer state as src/core (a token bucket per route in ticks, the
// daily counter, reservations) and writes the usage event to the tenant's stream in the
// same script, so a counter change and its event commit together. It returns the state it
// found; the caller rebuilds the reported Decision from it with src/core's decide(), so the
// figures a client sees are computed by one implementation on every backend.
//
// Lua in Redis has doubles only. Every quantity is an integer below 2^53 (a bucket holds at
// most 10^9 tokens x 60,000 ticks), so the arithmetic is exact; numbers are written back
// with %.0f, because tostring() keeps only 14 significant digits.
//
// KEYS (all carry the {tenantId} hash tag, so the script runs on Redis Cluster):
//   1 tenant  hash, everything a decision reads, so that a check is one HMGET:
//             config: v, s (active|suspended|missing), rate, burst, daily (-1: none), tz,
//             shadow (0|1), at (loaded at), ttl (ms the config stays good after `at`),
//             json (TenantLimits for the caller), h (SHA-1 of json), r:<route> =
//             "rate,burst,cost" (empty parts: the tenant default / the route table's);
//             keys: k:<SHA-256 hex of a live key>; counters: b:<route> = "ticks:at", d.day,
//             d.used, x (the earliest reservation expiry, so a check sweeps only when due)
//   2 res     hash: reservation id -> route \t units \t ticks \t day \t reservedAt \t expiresAt \t metadata
//   3 resx    sorted set: reservation id by expiry
//   4 stream  the tenant's usage outbox (one field e, see emit())
//   5 idem    the idempotency key of a reported usage (record only; else any tenant key)
//
// ARGV: 1 op (check, checkstale, settle, record, peek, load, forget, sweep), 2 now, 3 today (YYYY-MM-DD in ARGV[4]'s zone), 4 tz, 5 the "version:hash" the
// caller already knows, 6 the key hash ("" when the caller identified the tenant), 7.. op's.

export const LIMITER_SCRIPT = `
local tenant, res, resx, stream, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op, now, today, tz, known, keyHash = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]
-- 'checkstale' is a check that takes a config past its time as it is: its reload failed.
local stale = op == 'checkstale'
if stale then op = 'check' end
local TICKS = 60000
local SWEEP = 16

local function fmt(n) return string.format('%.0f', n) end

-- One field, e = id TAB route TAB units TAB occurred at TAB metadata TAB settle metadata: an XADD
-- of one field costs Redis less than of six. No part holds a tab (JSON escapes them).
local function emit(id, route, units, at, meta, meta2)
  redis.call('XADD', stream, '*', 'e', id .. '\\t' .. route .. '\\t' .. fmt(units) .. '\\t' .. fmt(at) .. '\\t' ..
    (meta or '') .. '\\t' .. (meta2 or ''))
end

local function split(s)
  local out = {}
  for part in string.gmatch(s .. '\\t', '([^\\t]*)\\t') do out[#out + 1] = part end
  return out
end

-- A reservation past its expiry keeps its estimate: record it, as the Durable Object's alarm does.
local function sweep(limit)
  local due = redis.call('ZRANGEBYSCORE', resx, '-inf', fmt(now), 'LIMIT', 0, limit)
  for _, id in ipairs(due) do
    local raw = redis.call('HGET', res, id)
    if raw then
      local r = split(raw)
      emit('ev_' .. id, r[1], tonumber(r[2]), tonumber(r[5]), r[7], '')
      redis.call('HDEL', res, id)
    end
    redis.call('ZREM', resx, id)
  end
  local nxt = redis.call('ZRANGE', resx, 0, 0, 'WITHSCORES')
  if nxt[2] then redis.call('HSET', tenant, 'x', nxt[2]) else redis.call('HDEL', tenant, 'x') end
  return #due
end

if op == 'sweep' then
  return sweep(tonumber(ARGV[8]))
end

if op == 'load' then
  -- ARGV: 7 version, 8 status, 9 rate, 10 burst, 11 daily, 12 tz, 13 shadow, 14 json,
  -- 15 ttl ms, 16 route count, then route/spec pairs, then key hashes. Counters stay.
  local have = redis.call('HGET', tenant, 'v')
  if have and tonumber(have) > tonumber(ARGV[7]) then
    -- A push got here after this load read Postgres: what Redis holds is the newer, and as
    -- fresh as the load; without a new time it would be reloaded again and again.
    redis.call('HSET', tenant, 'at', ARGV[2])
    return 0
  end
  local old = {}
  for i, f in ipairs(redis.call('HKEYS', tenant)) do
    local kind = string.sub(f, 1, 2)
    if kind == 'k:' or kind == 'r:' then old[#old + 1] = f end
  end
  for j = 1, #old, 1000 do redis.call('HDEL', tenant, unpack(old, j, math.min(j + 999, #old))) end
  local f = {'v', ARGV[7], 's', ARGV[8], 'rate', ARGV[9], 'burst', ARGV[10], 'daily', ARGV[11],
    'tz', ARGV[12], 'shadow', ARGV[13], 'json', ARGV[14], 'h', redis.sha1hex(ARGV[14]), 'at', ARGV[2],
    'ttl', ARGV[15]}
  local n = tonumber(ARGV[16])
  local i = 17
  for _ = 1, n do
    f[#f + 1] = 'r:' .. ARGV[i]; f[#f + 1] = ARGV[i + 1]; i = i + 2
  end
  for j = i, #ARGV do f[#f + 1] = 'k:' .. ARGV[j]; f[#f + 1] = '1' end
  for j = 1, #f, 2000 do redis.call('HSET', tenant, unpack(f, j, math.min(j + 1999, #f))) end
  -- A tenant that was marked missing (with an expiry) exists now: its counters must stay.
  redis.call('PERSIST', tenant)
  return 1
end

if op == 'forget' then
  -- The tenant is not in Postgres: record held reservations at their estimate, drop its
  -- limits and counters, and remember for ARGV[8] ms that it does not exist, unless a push
  -- newer than ARGV[9] has arrived meanwhile.
  local have = redis.call('HGET', tenant, 'v')
  if have and tonumber(have) > tonumber(ARGV[9]) then return 0 end
  local at = ARGV[2]
  now = math.huge
  while sweep(1000) > 0 do end
  redis.call('DEL', tenant, res, resx)
  redis.call('HSET', tenant, 'v', '-1', 's', 'missing', 'at', at, 'ttl', ARGV[8])
  -- The marker outlives its use by nothing: made-up tenant ids never pile up in Redis.
  redis.call('PEXPIRE', tenant, ARGV[8])
  return 1
end

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

if op == 'check' then
  -- ARGV: 7 event id (the reservation id when reserving), 8 route, 9 cost ("" for the
  -- route's), 10 route table cost, 11 reserve, 12 reservation expiry, 13 metadata JSON.
  local rate, burst, rcost = limitsOf(c[11])
  local cost = tonumber(ARGV[9]) or rcost or tonumber(ARGV[10]) or 1
  local ticks, at = bucketOf(c[13])
  local lvl = level(ticks, at, rate, burst)
  local need = cost * TICKS
  local used = usedToday()
  local ok = cost == 0 or (lvl >= need and (dailyUnits < 0 or used + cost <= dailyUnits))
  local taken = 0
  if ok and cost > 0 then
    setBucket(route, lvl - need, at)
    setDaily(used + cost)
    taken = need
  elseif not ok and shadow then
    -- Shadow mode counts the call but floors the bucket at zero (forceTakeTokens).
    local t = lvl
    if lvl > 0 then t = math.max(0, lvl - need) end
    setBucket(route, t, at)
    setDaily(used + cost)
    taken = lvl - t
  end
  local allowed = ok or shadow
  local expiry = tonumber(c[16])
  if allowed and (cost > 0 or ARGV[11] == '1') then
    if ARGV[11] == '1' then
      redis.call('HSET', res, ARGV[7], table.concat({route, fmt(cost), fmt(taken), today, fmt(now), ARGV[12], ARGV[13]}, '\\t'))
      redis.call('ZADD', resx, ARGV[12], ARGV[7])
      if not expiry or tonumber(ARGV[12]) < expiry then put('x', ARGV[12]) end
    else
      emit(ARGV[7], route, cost, now, ARGV[13], '')
    end
  end
  flush()
  if expiry and expiry <= now then sweep(SWEEP) end
  -- The state as found (the bucket's "ticks:at", the day), for the caller's decide().
  return {'ok', version, json, loadedAt, cost, allowed and 1 or 0, c[13] or false, dDay or false, dUsed or false}
end

if op == 'settle' then
  -- ARGV: 8 reservation id, 9 units, 10 metadata JSON. A reservation is recorded once, as ev_<id>.
  local raw = redis.call('HGET', res, ARGV[8])
  if not raw then return {'unknown', version, json, loadedAt} end
  redis.call('HDEL', res, ARGV[8])
  redis.call('ZREM', resx, ARGV[8])
  local r = split(raw)
  local name, units, held, day, reservedAt, expiresAt = r[1], tonumber(r[2]), tonumber(r[3]), r[4], tonumber(r[5]), tonumber(r[6])
  local eventId = 'ev_' .. ARGV[8]
  if expiresAt <= now then
    emit(eventId, name, units, reservedAt, r[7], ARGV[10])
    return {'expired', version, json, loadedAt}
  end
  local actual = tonumber(ARGV[9])
  local delta = units - actual
  if delta ~= 0 then
    local b = redis.call('HMGET', tenant, 'r:' .. name, 'b:' .. name)
    local rate, burst = limitsOf(b[1])
    local ticks, at = bucketOf(b[2])
    local deltaTicks = delta * TICKS
    if delta > 0 then deltaTicks = math.min(deltaTicks, held) end
    setBucket(name, math.min(burst * TICKS, level(ticks, at, rate, burst) + deltaTicks), at)
    -- A refund for a day that has ended is dropped; a charge always lands (src/core settle()).
    if day == today or delta < 0 then setDaily(usedToday() - delta) end
    flush()
  end
  emit(eventId, name, actual, reservedAt, r[7], ARGV[10])
  return {'settled', version, json, loadedAt}
end

if op == 'record' then
  -- ARGV: 7 event id, 8 route, 9 units, 10 occurred at, 11 metadata JSON, 12 idempotency TTL ms.
  if redis.call('EXISTS', idem) == 1 then return {'duplicate', version, json, loadedAt} end
  local units = tonumber(ARGV[9])
  local used = usedToday()
  local ok = units == 0 or dailyUnits < 0 or used + units <= dailyUnits
  if not ok and not shadow then return {'limited', version, json, loadedAt, dDay or false, dUsed or false} end
  if units > 0 then setDaily(used + units) end
  flush()
  redis.call('SET', idem, ARGV[7], 'PX', ARGV[12])
  emit(ARGV[7], ARGV[8], units, tonumber(ARGV[10]), ARGV[11], '')
  return {'recorded', version, json, loadedAt, dDay or false, dUsed or false}
end

if op == 'peek' then
  -- The tenant's counters, as field/value pairs: a bucket per route used, and the day.
  local out = {'ok', version, json, loadedAt}
  local all = redis.call('HGETALL', tenant)
  for i = 1, #all, 2 do
    local f = all[i]
    if string.sub(f, 1, 2) == 'b:' or f == 'd.day' or f == 'd.used' then
      out[#out + 1] = f
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end

return redis.error_reply('ERR aegis limiter: unknown op ' .. tostring(op))
`;
