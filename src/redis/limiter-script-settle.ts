// The limiter script's settle: one reservation of a tenant, or a batch of them, settled to the
// units used. Part of LIMITER_SCRIPT (limiter-script.ts).
//
// A batch is applied in order, each settle as it would be alone, so it equals the same settles
// one after another (an id settled earlier in the batch is unknown the second time, a charge
// that crosses a quota alert's threshold fires it with the day's count at that point). What a
// batch saves is Redis's work around the settles: the reservations are read by one HMGET and
// removed by one HDEL and one ZREM, the tenant's fields they move are read by one HMGET and
// written by one HSET, whatever the batch's size. Each usage event (and alert) is still its
// own stream entry, as the stream's reader expects.

export const LUA_SETTLE = `
if op == 'settle' then
  -- ARGV 8 onwards, four per reservation, in the order they are settled: id, units, metadata
  -- JSON, dimensions JSON. A reservation is recorded once, as ev_<id>. Answers the status of
  -- each (settled, expired, unknown) from slot 5, in order.
  local n = (#ARGV - 7) / 4
  -- unpack() is bounded by Lua's C stack: a long list goes to Redis in slices.
  local function sliced(cmd, key, list)
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
  -- First pass: which reservation each settle finds, and the tenant fields the batch reads.
  local items, taken, fields, wanted = {}, {}, {}, {}
  local function need(f)
    if not wanted[f] then
      wanted[f] = true
      fields[#fields + 1] = f
    end
  end
  for i = 1, n do
    local at = 4 * i + 4
    local id, s = ARGV[at], slotOf[ARGV[at]]
    local raw = raws[s]
    if raw then
      -- Settled here: the same id later in the batch finds nothing.
      raws[s] = false
      taken[#taken + 1] = id
      local r = split(raw)
      local actual = tonumber(ARGV[at + 1])
      -- Parts 9 and 10 are absent from entries written before keys had limits and slots were counted.
      local it = {id = id, r = r, actual = actual, meta = ARGV[at + 2], dims = ARGV[at + 3],
        name = r[1], units = tonumber(r[2]), key = r[9] or '', slot = r[10] ~= nil}
      it.live = tonumber(r[6]) > now
      it.delta = it.units - actual
      it.adjusting = it.live and it.delta ~= 0
      if it.slot then
        need('n')
        need('n:' .. it.name)
      end
      -- The buckets only when they move: a settle at the estimate reads just the slots.
      if it.adjusting then
        need('r:' .. it.name)
        need('b:' .. it.name)
        if it.key ~= '' then
          need('k:' .. it.key)
          need('b:key/' .. it.key .. '/' .. it.name)
        end
      end
      items[i] = it
    end
  end
  if #taken > 0 then
    sliced('HDEL', res, taken)
    sliced('ZREM', resx, taken)
  end
  local found = {}
  if #fields > 0 then
    local vals = sliced('HMGET', tenant, fields)
    for j = 1, #fields do found[fields[j]] = vals[j] end
  end
  -- A field as the settles before this one left it: written by the batch, else as read.
  local function get(f)
    local w = written[f]
    if w then return writes[w] end
    return found[f]
  end
  -- src/core reconcile(): the units buckets (the route's, the key's) and the day move by the
  -- difference; a refund gives back no more than was taken.
  local function adjust(field, rate, burst, held, delta)
    if not burst then return end
    local ticks, at = stateOf(get(field))
    local d = delta * TICKS
    if delta > 0 then d = math.min(d, held) end
    setBucket(field, math.min(burst * TICKS, level(ticks, at, rate, burst) + d), at)
  end
  local out = {'ok', version, json, loadedAt}
  for i = 1, n do
    local it = items[i]
    if not it then
      out[#out + 1] = 'unknown'
    else
      local r, name, delta = it.r, it.name, it.delta
      if it.slot then
        put('n', fmt(math.max(0, (tonumber(get('n')) or 0) - 1)))
        put('n:' .. name, fmt(math.max(0, (tonumber(get('n:' .. name)) or 0) - 1)))
      end
      if it.adjusting then
        local rate, burst = routeOf(get('r:' .. name))
        adjust('b:' .. name, rate, burst, tonumber(r[3]), delta)
        if it.key ~= '' then
          local krate, kburst = keyOf(get('k:' .. it.key))
          adjust('b:key/' .. it.key .. '/' .. name, krate, kburst, tonumber(r[10]) or 0, delta)
        end
        -- A refund for a day that has ended is dropped; a charge always lands.
        if r[4] == today or delta < 0 then
          setDaily(usedToday() - delta)
          -- The next settle counts from here, as it would reading what this one wrote.
          dDay, dUsed, c[24] = latest('d.day', dDay), latest('d.used', dUsed), latest('d.al', c[24])
        end
      end
      local eventId, reservedAt = 'ev_' .. it.id, tonumber(r[5])
      if it.live then
        emit(eventId, name, it.actual, reservedAt, r[7], it.meta, it.dims)
        out[#out + 1] = 'settled'
      else
        emit(eventId, name, it.units, reservedAt, r[7], it.meta, estimate(r))
        out[#out + 1] = 'expired'
      end
    end
  end
  flush()
  return out
end
`;
