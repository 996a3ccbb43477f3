-- One request shape, many requests: the bench's generic wrk script.
-- Environment:
--   KB_METHOD   GET (default), PUT, POST
--   KB_PATH     path template
--   KB_BODY     body template (none for GET)
--   KB_N        placeholders draw integers in [0, KB_N) (default 1)
--   KB_TOKEN    bearer token (also sent to peers that ignore it)
-- Templates: {i} is a random integer, {b64key} is base64("{KB_KEYPREFIX}{i}")
-- (etcd keys), {b64val} is base64 of KB_VALUE.
package.path = os.getenv("KB_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local method = os.getenv("KB_METHOD") or "GET"
local path_t = os.getenv("KB_PATH") or "/"
local body_t = os.getenv("KB_BODY")
local n = tonumber(os.getenv("KB_N") or "1")
local keyprefix = os.getenv("KB_KEYPREFIX") or ""
local b64val = common.base64(os.getenv("KB_VALUE") or "")
local headers = common.headers()
if body_t then headers["Content-Type"] = "application/json" end

local function fill(t, i)
  return (t:gsub("{(%w+)}", function(name)
    if name == "i" then return tostring(i) end
    if name == "b64key" then return common.base64(keyprefix .. i) end
    if name == "b64val" then return b64val end
    return "{" .. name .. "}"
  end))
end

local static_path = not path_t:find("{", 1, true)
local static_body = body_t and not body_t:find("{i}", 1, true) and not body_t:find("{b64key}", 1, true)
                    and fill(body_t, 0)

init = function(args)
  math.randomseed(os.time() + (id or 0) * 7919)
end

request = function()
  local i = math.random(0, n - 1)
  local path = static_path and path_t or fill(path_t, i)
  local body = nil
  if body_t then body = static_body or fill(body_t, i) end
  return wrk.format(method, path, headers, body)
end
