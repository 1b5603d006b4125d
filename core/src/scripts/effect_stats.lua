-- effect_stats: add to counter fields of a stats hash, at most once per
-- effect id (see effect_once.lua, appended to this script). The hash gets its
-- TTL when it is created (and regains one if something removed it).
--
-- KEYS[1] stats hash (stats:daily:{date} or stats:hourly:{hour})
-- KEYS[2] effect marks of KEYS[1] (zset in the same slot: fx:{<tag or key>})
-- ARGV[1] effect id   ARGV[2] marks retention ms   ARGV[3] TTL seconds
-- ARGV[4], ARGV[5], ... field, increment (integer) pairs
--
-- Returns {1, {new values}} when applied, {0} when this effect id was
-- already applied (nothing changed).
local function invalid()
  local ttl = tonumber(ARGV[3])
  if ttl == nil or ttl < 1 then return 'ERR effect_stats: bad ttl' end
  if #ARGV < 5 or #ARGV % 2 ~= 1 then return 'ERR effect_stats: expected field, increment pairs' end
  for i = 4, #ARGV, 2 do
    local by = tonumber(ARGV[i + 1])
    if ARGV[i] == '' then return 'ERR effect_stats: empty field' end
    if by == nil or by % 1 ~= 0 then return 'ERR effect_stats: increment must be an integer' end
  end
  return nil
end

local function apply()
  local out = {}
  for i = 4, #ARGV, 2 do
    out[#out + 1] = redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
  return out
end
