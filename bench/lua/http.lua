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

-- Up to this many distinct requests are rendered once, in init (outside the
-- measured time), so that a request costs the client a table lookup, not a
-- gsub and a format: the peers' own clients (pgbench, redis-benchmark) are
-- lean C, and on a shared 2-core box every microsecond the client spends is
-- taken from the server (bench/NOTES.md "SQL point SELECT").
local max_rendered = 131072
local rendered = nil

local function render(i)
  local path = static_path and path_t or fill(path_t, i)
  local body = nil
  if body_t then body = static_body or fill(body_t, i) end
  return wrk.format(method, path, headers, body)
end

init = function(args)
  math.randomseed(os.time() + (id or 0) * 7919)
  if static_path and (not body_t or static_body) then
    rendered = { [0] = render(0) }
    n = 1
  elseif n <= max_rendered then
    rendered = {}
    for i = 0, n - 1 do rendered[i] = render(i) end
  end
end

request = function()
  local i = math.random(0, n - 1)
  if rendered then return rendered[i] end
  return render(i)
end
