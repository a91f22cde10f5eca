// The limiter script's decisions: check, record and peek, each answering the state it found so
// the caller can rebuild the Decision with src/core (settle is limiter-script-settle.ts).
// Part of LIMITER_SCRIPT (limiter-script.ts).
// A check meets, as src/core decide() does, up to four buckets (the route's units and requests,
// the key's units and requests), the day and, when reserving, the tenant's and the route's
// calls in flight; it takes from all of them or from none.

export const LUA_DECISIONS = `
if op == 'check' then
  -- ARGV: 7 event id (the reservation id when reserving), 8 route, 9 cost ("" for the
  -- route's), 10 route table cost, 11 reserve, 12 reservation expiry, 13 metadata JSON,
  -- 14 dimensions JSON (the event's; when reserving, those of its estimate).
  local reserve = reserving
  local ur, ub, rr, rb, rcost, rconc = routeOf(routeSpec)
  local cost = tonumber(ARGV[9]) or rcost or tonumber(ARGV[10]) or 1
  local costText = fmt(cost)
  -- A call is a request unless it only peeks (cost 0, nothing held): src/core decide().
  local counted = cost > 0 or reserve
  local expiry = tonumber(nextExpiry)
  if reserve and expiry and expiry <= now then
    -- A reservation past its expiry holds no slot, swept or not: free them before counting.
    sweep(SWEEP_FIRST)
    local m = redis.call('HMGET', tenant, 'n', nRoute, 'x')
    c[12], c[13], expiry = m[1], m[2], tonumber(m[3])
  end
  local busy, busyRoute = tonumber(c[12]) or 0, tonumber(c[13]) or 0
  -- The counters as kept (n, n:<route>: reservations that hold a slot, expired or not, until
  -- a settle or the sweep removes them); busy and busyRoute are what the call is judged by.
  local held, heldRoute = busy, busyRoute
  local kur, kub, krr, krb = keyOf(keySpec)
  -- The key's own buckets, their names and states, when it has limits (else nil: no bucket).
  local bKeyUnits, bKeyRequests, kUnits, kRequests
  if kub or krb then
    bKeyUnits = 'b:key/' .. keyHash .. '/' .. route
    bKeyRequests = bKeyUnits .. '/requests'
    local m = redis.call('HMGET', tenant, bKeyUnits, bKeyRequests)
    kUnits, kRequests = m[1], m[2]
  end
  -- One bucket's level (nil: the bucket is not there), the ticks the call needs from it (its
  -- cost from a units bucket, one from a request bucket, nothing for an uncounted call), and
  -- its state's time. Plain locals rather than a table per bucket, which would cost every
  -- call allocations and rehashes.
  local function probe(found, rate, burst, take)
    if not burst then return nil, 0, nil end
    local ticks, at = stateOf(found)
    return level(ticks, at, rate, burst), take * TICKS, at
  end
  local one = 0
  if counted then one = 1 end
  local ul, un, ua = probe(unitsState, ur, ub, cost)
  local rl, rn, ra = probe(requestsState, rr, rb, one)
  local kl, kn, ka = probe(kUnits, kur, kub, cost)
  local ql, qn, qa = probe(kRequests, krr, krb, one)
  local used = usedToday()
  -- src/core takeTokens(): a take of nothing always fits, even a bucket in debt.
  local ok = (cost == 0 or dailyUnits < 0 or used + cost <= dailyUnits)
    and (not ul or un == 0 or ul >= un) and (not rl or rn == 0 or rl >= rn)
    and (not kl or kn == 0 or kl >= kn) and (not ql or qn == 0 or ql >= qn)
  if reserve then
    local function full() return (conc and busy >= conc) or (rconc and busyRoute >= rconc) end
    -- The counters are kept beside the reservations. Should they ever drift from them (an
    -- older script removed a reservation without its slot, a script stopped by an error, keys
    -- deleted by hand), a call refused at a cap recounts them from the reservations, at most
    -- once a second per tenant and route ('nc:<route>'): a slot is never lost for good, and a
    -- flood of refused calls costs Redis one scan a second per route. The recount writes every
    -- route's count it finds, and judges the call by the reservations still live, past any
    -- the sweep has not reached yet.
    if full() then
      local gate = 'nc:' .. route
      local last = tonumber(redis.call('HGET', tenant, gate))
      if not last or now - last >= 1000 or now < last then
        local perRoute = {}
        held, busy, busyRoute = 0, 0, 0
        for _, raw in ipairs(redis.call('HVALS', res)) do
          local r = split(raw)
          if r[10] then
            held = held + 1
            perRoute[r[1]] = (perRoute[r[1]] or 0) + 1
            if tonumber(r[6]) > now then
              busy = busy + 1
              if r[1] == route then busyRoute = busyRoute + 1 end
            end
          end
        end
        heldRoute = perRoute[route] or 0
        put('n', fmt(held))
        for name, count in pairs(perRoute) do put('n:' .. name, fmt(count)) end
        if heldRoute == 0 then put(nRoute, '0') end
        put(gate, nowText)
      end
    end
    if full() then ok = false end
  end
  -- Ticks taken from the units buckets (the route's, the key's): what a settle may give back.
  local taken, keyTaken = 0, 0
  -- A refused call only moves anything in shadow mode, which counts it but floors each bucket
  -- at zero (src/core forceTakeTokens) and rewrites even those it takes nothing from.
  local floored = not ok
  local function take(field, lvl, need, at)
    if not lvl or (need == 0 and not floored) then return 0 end
    local t = lvl - need
    if floored then
      t = lvl
      if t > 0 then t = math.max(0, t - need) end
    end
    setBucket(field, t, at)
    return lvl - t
  end
  if (ok and counted) or (floored and shadow) then
    taken = take(bUnits, ul, un, ua)
    take(bRequests, rl, rn, ra)
    keyTaken = take(bKeyUnits, kl, kn, ka)
    take(bKeyRequests, ql, qn, qa)
    if cost > 0 or floored then setDaily(used + cost) end
  end
  local allowed = ok or shadow
  if allowed and counted then
    if reserve then
      -- Parts 9 and 10 (the key and the ticks taken from its units bucket) also mark an entry
      -- that holds a slot.
      redis.call('HSET', res, ARGV[7], table.concat({route, fmt(cost), fmt(taken), today, nowText, ARGV[12],
        ARGV[13], ARGV[14], keyHash, fmt(keyTaken)}, '\\t'))
      redis.call('ZADD', resx, ARGV[12], ARGV[7])
      if not expiry or tonumber(ARGV[12]) < expiry then put('x', ARGV[12]) end
      put('n', fmt(held + 1))
      put(nRoute, fmt(heldRoute + 1))
    else
      emit(ARGV[7], route, costText, now, ARGV[13], '', ARGV[14])
    end
  end
  flush()
  if expiry and expiry <= now then sweep(SWEEP) end
  -- The state as found, for decide(), packed in one tab-separated string (a reply of few
  -- elements costs Redis and the caller less than one of fourteen): the cost, 1 if allowed,
  -- each bucket's "ticks:at", the day, and the calls in flight (0 unless reserving); "" for a
  -- part that is absent. No part holds a tab.
  return {'ok', version, json, loadedAt, costText .. '\\t' .. (allowed and '1' or '0') .. '\\t' .. (unitsState or '') .. '\\t' ..
    (requestsState or '') .. '\\t' .. (kUnits or '') .. '\\t' .. (kRequests or '') .. '\\t' .. (dDay or '') .. '\\t' ..
    (dUsed or '') .. '\\t' .. fmt(busy) .. '\\t' .. fmt(busyRoute)}
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
  emit(ARGV[7], ARGV[8], fmt(units), tonumber(ARGV[10]), ARGV[11], '', ARGV[13])
  return {'recorded', version, json, loadedAt, dDay or false, dUsed or false}
end

if op == 'peek' then
  -- A reservation past its expiry holds no slot: sweep before counting them.
  local expiry = tonumber(nextExpiry)
  if expiry and expiry <= now then sweep(SWEEP_FIRST) end
  -- The tenant's counters, as field/value pairs: a bucket per state key (of the caller's key
  -- only, among keys' buckets), the day, and the calls in flight (n, n:<route>).
  local out = {'ok', version, json, loadedAt}
  local all = redis.call('HGETALL', tenant)
  for i = 1, #all, 2 do
    local f = all[i]
    local p = string.sub(f, 1, 2)
    local keep = p == 'n:' or f == 'n' or f == 'd.day' or f == 'd.used'
    if p == 'b:' then
      local h = string.match(f, '^b:key/(%x+)/')
      keep = h == nil or h == keyHash
    end
    if keep then
      out[#out + 1] = f
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end

return redis.error_reply('ERR aegis limiter: unknown op ' .. tostring(op))
`;
