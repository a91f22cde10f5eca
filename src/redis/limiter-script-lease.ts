// The limiter script's token leases (issue 18; src/core/lease-grant.ts is the arithmetic this
// follows, and docs/architecture.md "Token leases" the design): `lease` grants one after a
// check admitted its call, `report` takes a holder's report of the calls it admitted.
// Part of LIMITER_SCRIPT (limiter-script.ts).
//
// A lease is held in the reservations hash, so that the sweep records one never closed at
// what it still holds when its hold runs out, as it records an unsettled reservation at its
// estimate: route \t units \t L:<calls>:<seq>:<key hash> \t day \t granted at \t hold until \t
// {"lease":"<id>"} \t {"estimated":true}. Eight parts: it holds no calls-in-flight slot. Its
// third part, which a reservation keeps its ticks in, tells it apart (isLease()).

export const LUA_LEASE = `
if op == 'lease' then
  -- ARGV: 7 lease id (the holder's), 8 route, 9 units asked, 10 calls asked, 11 hold until (ms).
  -- An id already held (a check retried with the same ask) is granted nothing more.
  if redis.call('HEXISTS', res, ARGV[7]) == 1 then return {'none', version, json, loadedAt} end
  local ur, ub, rr, rb = routeOf(routeSpec)
  local kur, kub, krr, krb = keyOf(keySpec)
  local bKeyUnits = 'b:key/' .. keyHash .. '/' .. route
  local bKeyRequests = bKeyUnits .. '/requests'
  local kState = {}
  if kub or krb then kState = redis.call('HMGET', tenant, bKeyUnits, bKeyRequests) end
  local units, calls = tonumber(ARGV[9]), tonumber(ARGV[10])
  -- As many as the scarcest policy holds (grantLease()), then taken from all of them.
  local held = {}
  local function consider(field, raw, rate, burst, isUnits)
    if not burst then return end
    local ticks, at = stateOf(raw)
    local lvl = level(ticks, at, rate, burst)
    local whole = math.max(0, math.floor(lvl / TICKS))
    held[#held + 1] = {field, lvl, at, isUnits}
    if isUnits then units = math.min(units, whole) else calls = math.min(calls, whole) end
  end
  consider(bUnits, unitsState, ur, ub, true)
  consider(bRequests, requestsState, rr, rb, false)
  consider(bKeyUnits, kState[1], kur, kub, true)
  consider(bKeyRequests, kState[2], krr, krb, false)
  local used = usedToday()
  if dailyUnits >= 0 then units = math.min(units, math.max(0, dailyUnits - used)) end
  if units == 0 or calls == 0 then return {'none', version, json, loadedAt} end
  for _, b in ipairs(held) do
    local n = calls
    if b[4] then n = units end
    setBucket(b[1], b[2] - n * TICKS, b[3])
  end
  setDaily(used + units)
  redis.call('HSET', res, ARGV[7], table.concat({route, fmt(units), 'L:' .. fmt(calls) .. ':0:' .. keyHash, today,
    nowText, ARGV[11], '{"lease":"' .. ARGV[7] .. '"}', '{"estimated":true}'}, '\\t'))
  redis.call('ZADD', resx, ARGV[11], ARGV[7])
  local x = tonumber(nextExpiry)
  if not x or tonumber(ARGV[11]) < x then put('x', ARGV[11]) end
  flush()
  return {'granted', version, json, loadedAt, units, calls}
end

if op == 'report' then
  -- ARGV: 7 lease id, 8 seq, 9 close (1|0), 10 units given back, 11 calls given back, 12 the
  -- calls reported, 13 their units, 14 the time the calls' compact lines count from ('' for
  -- lines with an event id each), 15 onwards the calls as one stream entry's text, in pieces
  -- to join with newlines: one line each (redis-leases.ts packedCalls(), read back by
  -- usage-stream-entry.ts).
  local id = ARGV[7]
  local raw = redis.call('HGET', res, id)
  if not raw or not isLease(raw) then return {'unknown', version, json, loadedAt} end
  local r = split(raw)
  local calls, seq, key = string.match(r[3], '^L:(%d+):(%d+):(%x*)$')
  calls, seq = tonumber(calls), tonumber(seq)
  if tonumber(ARGV[8]) <= seq then return {'duplicate', version, json, loadedAt} end
  local name, units = r[1], tonumber(r[2])
  local n, used = tonumber(ARGV[12]), tonumber(ARGV[13])
  local m = redis.call('HMGET', tenant, 'r:' .. name, 'b:' .. name, 'b:' .. name .. '/requests', 'k:' .. key,
    'b:key/' .. key .. '/' .. name, 'b:key/' .. key .. '/' .. name .. '/requests')
  local ur, ub, rr, rb = routeOf(m[1])
  local kur, kub, krr, krb
  if key ~= '' then kur, kub, krr, krb = keyOf(m[4]) end
  local buckets = {{'b:' .. name, m[2], ur, ub, true}, {'b:' .. name .. '/requests', m[3], rr, rb, false},
    {'b:key/' .. key .. '/' .. name, m[5], kur, kub, true},
    {'b:key/' .. key .. '/' .. name .. '/requests', m[6], krr, krb, false}}
  -- Moves every bucket of the lease by d units (its units buckets) or d calls (its request
  -- buckets), never past capacity: returnTokens() to give back, adjustTicks() to charge.
  local function move(dUnits, dCalls)
    for _, b in ipairs(buckets) do
      local d = dCalls
      if b[5] then d = dUnits end
      if b[4] and d ~= 0 then
        local ticks, at = stateOf(latest(b[1], b[2]))
        setBucket(b[1], math.min(b[4] * TICKS, level(ticks, at, b[3], b[4]) + d * TICKS), at)
      end
    end
  end
  local day = usedToday()
  local dayMoved = false
  units = units - used
  if units < 0 then
    -- chargeLease(): calls that used more than the lease held.
    move(units, 0)
    day = day - units
    dayMoved = true
    units = 0
  end
  calls = math.max(0, calls - n)
  local backUnits, backCalls = units, calls
  if ARGV[9] ~= '1' then
    backUnits, backCalls = math.min(units, tonumber(ARGV[10])), math.min(calls, tonumber(ARGV[11]))
  end
  move(backUnits, backCalls)
  if backUnits > 0 and r[4] == today then
    day = day - backUnits
    dayMoved = true
  end
  if dayMoved then setDaily(day) end
  -- The report's calls in one stream entry: one XADD whatever their number.
  -- Compact, its events' ids are the lease's id, the seq and each call's line (field L).
  if n > 0 and ARGV[14] ~= '' then
    redis.call('XADD', stream, '*', 'r', name, 'L', id .. '.' .. ARGV[8], 't', ARGV[14], 'C',
      table.concat(ARGV, '\\n', 15, #ARGV))
  elseif n > 0 then
    redis.call('XADD', stream, '*', 'r', name, 'E', table.concat(ARGV, '\\n', 15, #ARGV))
  end
  if ARGV[9] == '1' then
    redis.call('HDEL', res, id)
    redis.call('ZREM', resx, id)
  else
    r[2] = fmt(units - backUnits)
    r[3] = 'L:' .. fmt(calls - backCalls) .. ':' .. ARGV[8] .. ':' .. key
    redis.call('HSET', res, id, table.concat(r, '\\t'))
  end
  flush()
  return {'reported', version, json, loadedAt}
end
`;
