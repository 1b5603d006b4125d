-- queue_ack: complete an in-flight item; only the lease owner may.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] id   ARGV[2] owner token
--
-- Returns 1 acked, 0 not in flight (already acked, reaped or never reserved),
-- -1 in flight under another token (the lease expired and was re-reserved).
local id, token = ARGV[1], ARGV[2]
if id == nil or id == '' or token == nil or token == '' then
  return redis.error_reply('ERR queue_ack: id and token are required')
end
-- The token field exists exactly while the item is in flight (reserve sets
-- it; ack, fail, reap and release delete it), so one read tells both cases.
local owner = redis.call('HGET', KEYS[3], id .. ':t')
if owner == false then return 0 end
if owner ~= token then return -1 end
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id .. ':p', id .. ':r', id .. ':e', id .. ':t', id .. ':a', id .. ':s', id .. ':x')
return 1
