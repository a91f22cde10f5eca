// The limiter script's ops that read no config: sweep, and load and forget, which write it.
// Part of LIMITER_SCRIPT (limiter-script.ts); they return before the tenant is read.

export const LUA_HOUSEKEEPING = `
if op == 'sweep' then
  return sweep(tonumber(ARGV[8]))
end

if op == 'load' then
  -- ARGV: 7 version, 8 status, 9 rate, 10 burst, 11 request rate, 12 request burst, 13 calls
  -- in flight (9 to 13: "" for none), 14 daily (-1: none), 15 tz, 16 shadow, 17 json, 18 ttl
  -- ms, 19 alert thresholds (bp, ascending, comma-separated), 20 the end of the override the
  -- limits include ("" for none), 21 route count, then route/spec pairs, then key hash/spec
  -- pairs. Counters stay.
  -- fmt() needs a 64-bit long (a 32-bit Redis build would wrap ticks and times); no tenant
  -- is written without one.
  if fmt(2 ^ 53) ~= '9007199254740992' then return redis.error_reply('ERR aegis limiter: needs a 64-bit Redis') end
  local have = redis.call('HGET', tenant, 'v')
  if have and tonumber(have) > tonumber(ARGV[7]) then
    -- A push got here after this load read Postgres: what Redis holds is the newer, and as
    -- fresh as the load; without a new time it would be reloaded again and again. Its
    -- override, if it has one, still ends its time ('ou'): the TTL never reaches past it.
    local held = redis.call('HMGET', tenant, 'ttl', 'ou', 'at', 'cfg', 'h')
    local ttl, ou = tonumber(held[1]) or 0, tonumber(held[2])
    if ou then ttl = math.max(0, math.min(ttl, ou - now - 1)) end
    redis.call('HSET', tenant, 'at', ARGV[2], 'ttl', fmt(ttl))
    -- The packed config, if it is the one the fields hold, gets the same time; else it goes.
    local p = {}
    if held[4] then p = {cmsgpack.unpack(held[4])} end
    if p[13] and p[13] == tonumber(held[3]) and p[14] == held[5] then
      p[4], p[13] = ttl, now
      redis.call('HSET', tenant, 'cfg', cmsgpack.pack(unpack(p, 1, 14)))
    elseif held[4] then
      redis.call('HDEL', tenant, 'cfg')
    end
    return 0
  end
  local old = {}
  for i, f in ipairs(redis.call('HKEYS', tenant)) do
    local kind = string.sub(f, 1, 2)
    if kind == 'k:' or kind == 'r:' then old[#old + 1] = f end
  end
  for j = 1, #old, 1000 do redis.call('HDEL', tenant, unpack(old, j, math.min(j + 999, #old))) end
  local h = redis.sha1hex(ARGV[17])
  -- What a check reads of the config, also packed in one field in the order the tenant piece
  -- unpacks it, numbers as numbers ("" as nil), its last parts this load's time and the
  -- limits' hash, which the fields 'at' and 'h' must still hold for it to be read
  -- (limiter-script-tenant.ts).
  local cfg = cmsgpack.pack(ARGV[7] .. ':' .. h, ARGV[8], ARGV[15], tonumber(ARGV[18]), tonumber(ARGV[9]),
    tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[14]), ARGV[16] == '1', ARGV[19],
    tonumber(ARGV[13]), now, h)
  local f = {'v', ARGV[7], 's', ARGV[8], 'rate', ARGV[9], 'burst', ARGV[10], 'rrate', ARGV[11],
    'rburst', ARGV[12], 'conc', ARGV[13], 'daily', ARGV[14], 'tz', ARGV[15], 'shadow', ARGV[16],
    'json', ARGV[17], 'h', h, 'at', ARGV[2], 'ttl', ARGV[18], 'al', ARGV[19], 'cfg', cfg}
  if ARGV[20] ~= '' then
    f[#f + 1] = 'ou'; f[#f + 1] = ARGV[20]
  else
    redis.call('HDEL', tenant, 'ou')
  end
  local n = tonumber(ARGV[21])
  local i = 22
  for _ = 1, n do
    f[#f + 1] = 'r:' .. ARGV[i]; f[#f + 1] = ARGV[i + 1]; i = i + 2
  end
  for j = i, #ARGV, 2 do f[#f + 1] = 'k:' .. ARGV[j]; f[#f + 1] = ARGV[j + 1] end
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
  now, nowText = math.huge, '+inf'
  while sweep(1000) > 0 do end
  redis.call('DEL', tenant, res, resx)
  redis.call('HSET', tenant, 'v', '-1', 's', 'missing', 'at', at, 'ttl', ARGV[8])
  -- The marker outlives its use by nothing: made-up tenant ids never pile up in Redis.
  redis.call('PEXPIRE', tenant, ARGV[8])
  return 1
end
`;
