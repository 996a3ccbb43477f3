-- Reads of the present or of the past (issue 25): GET /v1/state/{key} of a
-- random key, with ?at=<random offset> when KB_AT_LO is set. The same
-- script serves both sides of the history row, so the client's work per
-- request is the same on both; only the query string differs.
-- Environment:
--   KB_KEYPREFIX  key prefix (default "h:"); keys are prefix .. [0, KB_N)
--   KB_N          number of keys
--   KB_AT_LO, KB_AT_HI   offsets drawn uniformly in [LO, HI] (both
--                 inclusive); unset: reads of the present
--   KB_TOKEN      bearer token
package.path = os.getenv("KB_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local prefix = "/v1/state/" .. (os.getenv("KB_KEYPREFIX") or "h:")
local n = tonumber(os.getenv("KB_N") or "1")
local at_lo = tonumber(os.getenv("KB_AT_LO") or "")
local at_hi = tonumber(os.getenv("KB_AT_HI") or "") or at_lo
local headers = common.headers()

init = function(args)
  math.randomseed(os.time() + (id or 0) * 7919)
end

request = function()
  local path = prefix .. math.random(0, n - 1)
  if at_lo then path = path .. "?at=" .. math.random(at_lo, at_hi) end
  return wrk.format("GET", path, headers)
end
