-- wrk script: POST the signed deliveries of BODIES (one compact JWS a line), in turn.
local bodies = {}
local path = os.getenv("BODIES")
for line in io.lines(path) do
  if #line > 0 then bodies[#bodies + 1] = line end
end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/jwt"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
