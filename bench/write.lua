-- bench/write.lua — one authenticated write, repeated by many users:
--   wrk -s bench/write.lua URL
-- Environment: METHOD, BODY (JSON; "" for none), SESSIONS = "cookie|csrf;cookie|csrf;…"
-- (one pair per signed-in user). Requests take the sessions in turn, so
-- commands keyed by the user id spread over the topic's partitions.
-- wrk counts every answer that is not 2xx as "Non-2xx".
local method = os.getenv("METHOD") or "POST"
local body = os.getenv("BODY")
if body == "" then body = nil end
local sessions = {}
for cookie, csrf in string.gmatch(os.getenv("SESSIONS") or "", "([^|;]+)|([^;]+)") do
  sessions[#sessions + 1] = {
    ["Content-Type"] = "application/json",
    ["Cookie"] = cookie,
    ["X-CSRF-Token"] = csrf,
  }
end
local turn = 0

function request()
  turn = turn % #sessions + 1
  return wrk.format(method, nil, sessions[turn], body)
end
