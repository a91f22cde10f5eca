// The limiter script's opening: its KEYS and ARGV as locals, and the helpers every op may call
// (number formatting, the usage event's encoding, the sweep of expired reservations).
// Part of LIMITER_SCRIPT (limiter-script.ts), which documents the KEYS and ARGV.

export const LUA_BASE = `
local tenant, res, resx, stream, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op, now, today, tz, known, keyHash = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]
-- 'checkstale' is a check that takes a config past its time as it is: its reload failed.
local stale = op == 'checkstale'
if stale then op = 'check' end
-- A lease's report accounts for calls already admitted: a config past its time will do.
if op == 'report' then stale = true end
local TICKS = 60000
-- Expired reservations a call records on its way (a check, a peek); a reserved check sweeps
-- more first, since an expired reservation's slot must be free for it.
local SWEEP = 16
local SWEEP_FIRST = 256

-- string.format is the dearest call a check makes: '%d' (a cast to a 64-bit long, exact for
-- every integer here) costs half of '%.0f', the common 0 needs none, and 'now' is formatted
-- once. The load op refuses a Redis whose long is narrower.
local function fmt(n)
  if n == 0 then return '0' end
  return string.format('%d', n)
end
local nowText = fmt(now)

-- One field, e = id TAB route TAB units TAB occurred at TAB metadata TAB settle metadata TAB
-- dimensions: an XADD of one field costs Redis less than of seven. No part holds a tab (JSON
-- escapes them). Entries from before the dimensions have six parts. The units come as fmt()'s
-- text: a check formats its cost once, for the event and for its answer.
local function emit(id, route, unitsText, at, meta, meta2, dims)
  local atText = nowText
  if at ~= now then atText = fmt(at) end
  redis.call('XADD', stream, '*', 'e', id .. '\\t' .. route .. '\\t' .. unitsText .. '\\t' .. atText .. '\\t' ..
    (meta or '') .. '\\t' .. (meta2 or '') .. '\\t' .. (dims or ''))
end

-- A reservation recorded at its estimate: the dimensions its check stored (part 8), or, for one
-- held from before they were stored, just the mark.
local function estimate(r)
  if r[8] and r[8] ~= '' then return r[8] end
  return '{"estimated":true}'
end

-- A token lease held in the reservations hash (limiter-script-lease.ts): its third part starts
-- "L:" where a reservation's holds its ticks. No other part can: every tab is a separator.
local function isLease(raw)
  return string.find(raw, '\t' .. 'L:', 1, true) ~= nil
end

local function split(s)
  local out = {}
  for part in string.gmatch(s .. '\\t', '([^\\t]*)\\t') do out[#out + 1] = part end
  return out
end

-- A reservation past its expiry keeps its estimate: record it, as the Durable Object's alarm
-- does, and give back the calls-in-flight slots it held (n, n:<route>; floored at 0). Entries
-- from before slots were counted have fewer than ten parts and held none.
local function sweep(limit)
  local due = redis.call('ZRANGEBYSCORE', resx, '-inf', nowText, 'LIMIT', 0, limit)
  local w = {}
  if #due > 0 then
    local raws = redis.call('HMGET', res, unpack(due))
    local freed, fields = {}, {}
    for i, id in ipairs(due) do
      if raws[i] then
        local r = split(raws[i])
        -- A lease whose every unit was reported holds nothing to record.
        if r[2] ~= '0' or not isLease(raws[i]) then
          emit('ev_' .. id, r[1], fmt(tonumber(r[2])), tonumber(r[5]), r[7], '', estimate(r))
        end
        if r[10] then
          for _, f in ipairs({'n', 'n:' .. r[1]}) do
            if not freed[f] then freed[f] = 0; fields[#fields + 1] = f end
            freed[f] = freed[f] + 1
          end
        end
      end
    end
    redis.call('HDEL', res, unpack(due))
    redis.call('ZREM', resx, unpack(due))
    if #fields > 0 then
      local have = redis.call('HMGET', tenant, unpack(fields))
      for i, f in ipairs(fields) do
        w[#w + 1] = f
        w[#w + 1] = fmt(math.max(0, (tonumber(have[i]) or 0) - freed[f]))
      end
    end
  end
  local nxt = redis.call('ZRANGE', resx, 0, 0, 'WITHSCORES')
  if nxt[2] then
    w[#w + 1] = 'x'
    w[#w + 1] = nxt[2]
  else
    redis.call('HDEL', tenant, 'x')
  end
  if #w > 0 then redis.call('HSET', tenant, unpack(w)) end
  return #due
end
`;
