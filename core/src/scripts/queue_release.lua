-- queue_release: hand an in-flight item back to ready without counting an
-- attempt (a worker shutting down gracefully); only the lease owner may.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] id   ARGV[2] owner token
--
-- Returns 1 released, 0 not in flight, -1 in flight under another token.
local utf8_prefix, ready_score, fail_item, release_item -- defined by queue_settle.lua (the shared tail)

local function main()
  local id, token = ARGV[1], ARGV[2]
  if id == nil or id == '' or token == nil or token == '' then
    return redis.error_reply('ERR queue_release: id and token are required')
  end
  if redis.call('ZSCORE', KEYS[4], id) == false then return 0 end
  if redis.call('HGET', KEYS[3], id .. ':t') ~= token then return -1 end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  release_item(id, now)
  return 1
end
