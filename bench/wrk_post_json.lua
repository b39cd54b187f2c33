-- wrk script: POST /echo with a 1 KiB (1024-byte) JSON body.
local prefix = '{"data":"'
local suffix = '"}'
local body = prefix .. string.rep("x", 1024 - #prefix - #suffix) .. suffix
assert(#body == 1024)

wrk.method = "POST"
wrk.path = "/echo"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
