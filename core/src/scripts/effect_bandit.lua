-- effect_bandit: apply one observed reward to an arm's Beta posterior,
-- alpha += r and beta += 1 - r, at most once per effect id (see
-- effect_once.lua, appended to this script).
--
-- KEYS[1] alpha key   KEYS[2] beta key   (strings, floats; one hash tag)
-- KEYS[3] effect marks of the arm (zset fx:{<tag>}, same slot)
-- ARGV[1] effect id   ARGV[2] marks retention ms
-- ARGV[3] reward r in [0, 1]   ARGV[4] prior alpha   ARGV[5] prior beta
--
-- Returns {1, {alpha, beta}} when applied (strings, full precision), {0}
-- when this effect id was already applied (nothing changed).
local function invalid()
  local r, a0, b0 = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  if r == nil or r < 0 or r > 1 then return 'ERR effect_bandit: reward must be in [0, 1]' end
  if a0 == nil or a0 <= 0 or b0 == nil or b0 <= 0 then return 'ERR effect_bandit: bad prior' end
  return nil
end

local function apply()
  local r = tonumber(ARGV[3])
  redis.call('SET', KEYS[1], ARGV[4], 'NX')
  redis.call('SET', KEYS[2], ARGV[5], 'NX')
  local a = redis.call('INCRBYFLOAT', KEYS[1], ARGV[3])
  local b = redis.call('INCRBYFLOAT', KEYS[2], 1 - r)
  return {a, b}
end
