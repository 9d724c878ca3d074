-- Add one scan that was written straight to the database (Redis was down) to
-- its code's state, once: the marker key makes a repeated call a no-op.
-- KEYS: 1 marker of this scan, 2 the code's state hash
-- ARGV: 1 scan time (ms), 2 lat, 3 lng, 4 suspect reason ('' when none)
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 604800) then
  return 0
end
redis.call('HINCRBY', KEYS[2], 'n', 1)
local t = redis.call('HGET', KEYS[2], 't')
if (not t) or tonumber(t) > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[2], 't', ARGV[1])
  if ARGV[2] ~= '' then
    redis.call('HSET', KEYS[2], 'fa', ARGV[2], 'fo', ARGV[3])
  end
end
if ARGV[4] ~= '' then
  redis.call('HSETNX', KEYS[2], 's', ARGV[4])
end
return 1
