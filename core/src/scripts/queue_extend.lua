-- queue_extend: push an in-flight item's lease deadline out; only the owner may.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] id   ARGV[2] owner token   ARGV[3] lease ms from now
--
-- Returns the new deadline ms; 0 not in flight; -1 in flight under another token.
local id, token, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
if id == nil or id == '' or token == nil or token == '' then
  return redis.error_reply('ERR queue_extend: id and token are required')
end
if lease == nil or lease < 1 then return redis.error_reply('ERR queue_extend: bad lease ms') end
if redis.call('ZSCORE', KEYS[4], id) == false then return 0 end
if redis.call('HGET', KEYS[3], id .. ':t') ~= token then return -1 end
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + lease
redis.call('ZADD', KEYS[4], deadline, id)
return deadline
