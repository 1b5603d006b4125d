
-- utf8_prefix (shared tail of queue_fail and queue_reserve_many): the first n
-- bytes of s, shortened to end on a whole UTF-8 character (a cut inside one
-- would store bytes no reader can decode); then runs the script's `main`.
utf8_prefix = function(s, n)
  if #s <= n then return s end
  local cut = n
  -- Back over continuation bytes (10xxxxxx) to the last character's lead byte.
  while cut > 0 and string.byte(s, cut + 1) ~= nil and string.byte(s, cut + 1) >= 0x80
    and string.byte(s, cut + 1) < 0xC0 do
    cut = cut - 1
  end
  return string.sub(s, 1, cut)
end

return main()
