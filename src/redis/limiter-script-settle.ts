// The limiter script's settle: one reservation of a tenant, or a batch of them, settled to the
// units used. Part of LIMITER_SCRIPT (limiter-script.ts).
//
// A batch is applied in order, each settle as it would be alone, so it equals the same settles
// one after another (an id settled earlier in the batch is unknown the second time, a charge
// that crosses a quota alert's threshold fires it with the day's count at that point). What a
// batch saves is Redis's work around the settles: the reservations are read by one HMGET and
// removed by one HDEL and one ZREM, and the tenant's fields they move are written by one HSET,
// whatever the batch's size. Those fields are read as the settles first need them, one HMGET
// for those a settle needs that no settle before it read: one for a batch on one route and
// key. Each usage event (and alert) is still its own stream entry, as the stream's reader
// expects. A single settle is a batch of one, making the same Redis calls as before batches.

export const LUA_SETTLE = `
if op == 'settle' then
  -- ARGV 8 onwards, four per reservation, in the order they are settled: id, units, metadata
  -- JSON, dimensions JSON. A reservation is recorded once, as ev_<id>. Answers the status of
  -- each (settled, expired, unknown) from slot 5, in order.
  local n = (#ARGV - 7) / 4
  -- unpack() is bounded by Lua's C stack: a long list goes to Redis in slices.
  local function sliced(cmd, key, list)
    if #list <= 1000 then return redis.call(cmd, key, unpack(list)) end
    local out = {}
    for j = 1, #list, 1000 do
      local part = redis.call(cmd, key, unpack(list, j, math.min(j + 999, #list)))
      if type(part) == 'table' then
        for k = 1, #part do out[#out + 1] = part[k] end
      end
    end
    return out
  end
  local ids, slotOf = {}, {}
  for i = 1, n do
    local id = ARGV[4 * i + 4]
    if not slotOf[id] then
      ids[#ids + 1] = id
      slotOf[id] = #ids
    end
  end
  local raws = sliced('HMGET', res, ids)
  -- The tenant's fields as read (false: not there), and reading those not read yet.
  local read = {}
  local function fetch(...)
    local miss = {}
    for _, field in ipairs({...}) do
      if read[field] == nil then miss[#miss + 1] = field end
    end
    if #miss == 0 then return end
    local got = redis.call('HMGET', tenant, unpack(miss))
    for j = 1, #miss do read[miss[j]] = got[j] end
  end
  -- A field as the settles before this one left it: written by the batch, else as read.
  local function get(field)
    local w = written[field]
    if w then return writes[w] end
    return read[field]
  end
  local out, taken = {'ok', version, json, loadedAt}, {}
  for i = 1, n do
    local at = 4 * i + 4
    local id = ARGV[at]
    local s = slotOf[id]
    local raw = raws[s]
    -- A lease is no reservation: it is reported, never settled.
    if not raw or isLease(raw) then
      out[#out + 1] = 'unknown'
    else
      -- Settled here: the same id later in the batch finds nothing.
      raws[s] = false
      taken[#taken + 1] = id
      local r = split(raw)
      local name, units, held, day, reservedAt = r[1], tonumber(r[2]), tonumber(r[3]), r[4], tonumber(r[5])
      -- Parts 9 and 10 are absent from entries written before keys had limits and slots were counted.
      local key, keyHeld, slot = r[9] or '', tonumber(r[10]) or 0, r[10] ~= nil
      local live = tonumber(r[6]) > now
      local actual = tonumber(ARGV[at + 1])
      local delta = units - actual
      local adjusting = live and delta ~= 0
      local nRes, kf = 'n:' .. name, 'b:key/' .. key .. '/' .. name
      -- The buckets only when they move: a settle at the estimate reads just the slots.
      if adjusting then
        fetch('n', nRes, 'r:' .. name, 'b:' .. name, 'k:' .. key, kf)
      elseif slot then
        fetch('n', nRes)
      end
      if slot then
        put('n', fmt(math.max(0, (tonumber(get('n')) or 0) - 1)))
        put(nRes, fmt(math.max(0, (tonumber(get(nRes)) or 0) - 1)))
      end
      if adjusting then
        -- src/core reconcile(): the units buckets (the route's, the key's) and the day move by
        -- the difference; a refund gives back no more than was taken.
        local function adjust(field, rate, burst, took)
          if not burst then return end
          local ticks, at = stateOf(get(field))
          local d = delta * TICKS
          if delta > 0 then d = math.min(d, took) end
          setBucket(field, math.min(burst * TICKS, level(ticks, at, rate, burst) + d), at)
        end
        local rate, burst = routeOf(get('r:' .. name))
        adjust('b:' .. name, rate, burst, held)
        if key ~= '' then
          local krate, kburst = keyOf(get('k:' .. key))
          adjust(kf, krate, kburst, keyHeld)
        end
        -- A refund for a day that has ended is dropped; a charge always lands.
        if day == today or delta < 0 then
          setDaily(usedToday() - delta)
          -- The next settle counts from here, as it would reading what this one wrote.
          dDay, dUsed, dAl = latest('d.day', dDay), latest('d.used', dUsed), latest('d.al', dAl)
        end
      end
      if live then
        emit('ev_' .. id, name, fmt(actual), reservedAt, r[7], ARGV[at + 2], ARGV[at + 3])
        out[#out + 1] = 'settled'
      else
        emit('ev_' .. id, name, fmt(units), reservedAt, r[7], ARGV[at + 2], estimate(r))
        out[#out + 1] = 'expired'
      end
    end
  end
  if #taken > 0 then
    sliced('HDEL', res, taken)
    sliced('ZREM', resx, taken)
  end
  flush()
  return out
end
`;
