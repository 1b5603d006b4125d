-- queue_plan: fix the side effects of an in-flight item. The first lease
-- holder's plan is stored (HSETNX in the item's meta, field <id>:x); every
-- later delivery gets that stored plan back, so a redelivery re-applies the
-- very same effects (each at most once: see effect_once.lua). Only the lease
-- owner may store or read a plan; the ack deletes it. An item marked
-- applied by an older runner (<id>:a) gets a plan without effects.
--
-- KEYS[1] ready  KEYS[2] items  KEYS[3] meta  KEYS[4] inflight  KEYS[5] delayed
-- KEYS[6] dead   KEYS[7] seq    (see queue_push.lua)
-- ARGV[1] id   ARGV[2] owner token   ARGV[3] plan (JSON object)
--
-- Returns the stored plan (a string), 0 when the item is not in flight, -1
-- when it is in flight under another token (the lease was lost).
local id, token, plan = ARGV[1], ARGV[2], ARGV[3]
if id == nil or id == '' or token == nil or token == '' then
  return redis.error_reply('ERR queue_plan: id and token are required')
end
if plan == nil or string.sub(plan, 1, 1) ~= '{' or not pcall(cjson.decode, plan) then
  return redis.error_reply('ERR queue_plan: the plan must be a JSON object')
end
local owner = redis.call('HGET', KEYS[3], id .. ':t')
if owner == false then return 0 end
if owner ~= token then return -1 end
-- An item an older runner marked applied (<id>:a: all its effects done,
-- only the ack missing) gets an empty plan: nothing is applied again.
if redis.call('HEXISTS', KEYS[3], id .. ':a') == 1 then
  plan = '{"scope":"' .. id .. '","effects":[]}'
end
redis.call('HSETNX', KEYS[3], id .. ':x', plan)
return redis.call('HGET', KEYS[3], id .. ':x')
