// The limiter script's decisions: check, settle, record and peek, each answering the state it
// found so the caller can rebuild the Decision with src/core. Part of LIMITER_SCRIPT (limiter-script.ts).

export const LUA_DECISIONS = `
if op == 'check' then
  -- ARGV: 7 event id (the reservation id when reserving), 8 route, 9 cost ("" for the
  -- route's), 10 route table cost, 11 reserve, 12 reservation expiry, 13 metadata JSON,
  -- 14 dimensions JSON (the event's; when reserving, those of its estimate).
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
      redis.call('HSET', res, ARGV[7],
        table.concat({route, fmt(cost), fmt(taken), today, fmt(now), ARGV[12], ARGV[13], ARGV[14]}, '\\t'))
      redis.call('ZADD', resx, ARGV[12], ARGV[7])
      if not expiry or tonumber(ARGV[12]) < expiry then put('x', ARGV[12]) end
    else
      emit(ARGV[7], route, cost, now, ARGV[13], '', ARGV[14])
    end
  end
  flush()
  if expiry and expiry <= now then sweep(SWEEP) end
  -- The state as found (the bucket's "ticks:at", the day), for the caller's decide().
  return {'ok', version, json, loadedAt, cost, allowed and 1 or 0, c[13] or false, dDay or false, dUsed or false}
end

if op == 'settle' then
  -- ARGV: 8 reservation id, 9 units, 10 metadata JSON, 11 dimensions JSON. A reservation is
  -- recorded once, as ev_<id>.
  local raw = redis.call('HGET', res, ARGV[8])
  if not raw then return {'unknown', version, json, loadedAt} end
  redis.call('HDEL', res, ARGV[8])
  redis.call('ZREM', resx, ARGV[8])
  local r = split(raw)
  local name, units, held, day, reservedAt, expiresAt = r[1], tonumber(r[2]), tonumber(r[3]), r[4], tonumber(r[5]), tonumber(r[6])
  local eventId = 'ev_' .. ARGV[8]
  if expiresAt <= now then
    emit(eventId, name, units, reservedAt, r[7], ARGV[10], estimate(r))
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
  emit(eventId, name, actual, reservedAt, r[7], ARGV[10], ARGV[11])
  return {'settled', version, json, loadedAt}
end

if op == 'record' then
  -- ARGV: 7 event id, 8 route, 9 units, 10 occurred at, 11 metadata JSON, 12 idempotency TTL ms,
  -- 13 dimensions JSON.
  if redis.call('EXISTS', idem) == 1 then return {'duplicate', version, json, loadedAt} end
  local units = tonumber(ARGV[9])
  local used = usedToday()
  local ok = units == 0 or dailyUnits < 0 or used + units <= dailyUnits
  if not ok and not shadow then return {'limited', version, json, loadedAt, dDay or false, dUsed or false} end
  if units > 0 then setDaily(used + units) end
  flush()
  redis.call('SET', idem, ARGV[7], 'PX', ARGV[12])
  emit(ARGV[7], ARGV[8], units, tonumber(ARGV[10]), ARGV[11], '', ARGV[13])
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
