-- POSTs the bodies of a file in turn, one JSON body per line (vector
-- searches: the queries are prepared by bench/kbench). Each thread starts
-- at a different line.
-- Environment: KB_PATH, KB_BODY_FILE, KB_TOKEN, KB_LUA_DIR.
package.path = os.getenv("KB_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local path = os.getenv("KB_PATH")
local headers = common.headers()
headers["Content-Type"] = "application/json"
-- Whole requests, formatted once: the load generator shares the cores with
-- the server, so it should spend as little per request as it can (the
-- in-process peers have no client at all).
local requests = {}
local pos = 1

init = function(args)
  for line in io.lines(os.getenv("KB_BODY_FILE")) do
    if #line > 0 then requests[#requests + 1] = wrk.format("POST", path, headers, line) end
  end
  pos = ((id or 0) * 7919) % #requests + 1
end

request = function()
  local req = requests[pos]
  pos = pos % #requests + 1
  return req
end
