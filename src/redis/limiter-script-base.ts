// The limiter script's opening: its KEYS and ARGV as locals, and the helpers every op may call
// (number formatting, the usage event's encoding, the sweep of expired reservations).
// Part of LIMITER_SCRIPT (limiter-script.ts), which documents the KEYS and ARGV.

export const LUA_BASE = `
local tenant, res, resx, stream, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op, now, today, tz, known, keyHash = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]
-- 'checkstale' is a check that takes a config past its time as it is: its reload failed.
local stale = op == 'checkstale'
if stale then op = 'check' end
local TICKS = 60000
local SWEEP = 16

local function fmt(n) return string.format('%.0f', n) end

-- One field, e = id TAB route TAB units TAB occurred at TAB metadata TAB settle metadata TAB
-- dimensions: an XADD of one field costs Redis less than of seven. No part holds a tab (JSON
-- escapes them). Entries from before the dimensions have six parts.
local function emit(id, route, units, at, meta, meta2, dims)
  redis.call('XADD', stream, '*', 'e', id .. '\\t' .. route .. '\\t' .. fmt(units) .. '\\t' .. fmt(at) .. '\\t' ..
    (meta or '') .. '\\t' .. (meta2 or '') .. '\\t' .. (dims or ''))
end

-- A reservation recorded at its estimate: the dimensions its check stored (part 8), or, for one
-- held from before they were stored, just the mark.
local function estimate(r)
  if r[8] and r[8] ~= '' then return r[8] end
  return '{"estimated":true}'
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
      emit('ev_' .. id, r[1], tonumber(r[2]), tonumber(r[5]), r[7], '', estimate(r))
      redis.call('HDEL', res, id)
    end
    redis.call('ZREM', resx, id)
  end
  local nxt = redis.call('ZRANGE', resx, 0, 0, 'WITHSCORES')
  if nxt[2] then redis.call('HSET', tenant, 'x', nxt[2]) else redis.call('HDEL', tenant, 'x') end
  return #due
end
`;
