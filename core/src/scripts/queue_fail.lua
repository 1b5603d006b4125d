-- queue_fail: a failed attempt of an in-flight item; only the lease owner may.
-- Retry after a delay (computed by the caller from the queue's retry policy,
-- xbot_core::queue::retry_delay_ms) or move to the dead-letter set.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] id   ARGV[2] owner token   ARGV[3] error message (kept: at most 2048
-- bytes, cut on a character boundary)
-- ARGV[4] retry delay ms, or -1 for dead-letter
--
-- Returns {"retry", due ms, attempts} or {"dead", dead ms, attempts};
-- 0 not in flight; -1 in flight under another token.
local utf8_prefix, ready_score, fail_item, release_item -- defined by queue_settle.lua (the shared tail)

local function main()
  local id, token, message, delay = ARGV[1], ARGV[2], ARGV[3] or '', tonumber(ARGV[4])
  if id == nil or id == '' or token == nil or token == '' then
    return redis.error_reply('ERR queue_fail: id and token are required')
  end
  if delay == nil or delay < -1 then return redis.error_reply('ERR queue_fail: bad retry delay') end
  if redis.call('ZSCORE', KEYS[4], id) == false then return 0 end
  if redis.call('HGET', KEYS[3], id .. ':t') ~= token then return -1 end

  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  return fail_item(id, message, delay, now)
end
