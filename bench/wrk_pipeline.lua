-- wrk script: HTTP/1.1 pipelining, 16 GET / requests per write.
-- wrk counts every response, so requests/s is responses/s.
local depth = 16

init = function(args)
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format("GET", "/")
   end
   req = table.concat(r)
end

request = function()
   return req
end
