-- bench/booking.lua — POST /api/bookings/, each request a distinct free slot:
--   wrk -s bench/booking.lua URL/api/bookings/
-- Environment: SESSIONS (as bench/write.lua), PRIESTS = "id,id,…" (verified,
-- with no future bookings: bench/fixture.sql), SERVICE (60 minutes: a slot
-- occupies 75), DATES = "YYYY-MM-DD,…" (future local days), DAY0 = the first
-- day of DATES this run may use (runs take disjoint days). Thread t books
-- days DAY0 + 10t …, ten starts a day 90 minutes apart per priest, priests
-- in turn: 2,000 slots per day per thread before it wraps (a wrapped slot
-- answers 409 slot_taken, counted as Non-2xx).
local sessions, priests, dates = {}, {}, {}
for cookie, csrf in string.gmatch(os.getenv("SESSIONS") or "", "([^|;]+)|([^;]+)") do
  sessions[#sessions + 1] = {["Content-Type"] = "application/json", ["Cookie"] = cookie, ["X-CSRF-Token"] = csrf,
                             ["Prefer"] = "wait=10"}
end
for id in string.gmatch(os.getenv("PRIESTS") or "", "[^,]+") do priests[#priests + 1] = id end
for d in string.gmatch(os.getenv("DATES") or "", "[^,]+") do dates[#dates + 1] = d end
local service = os.getenv("SERVICE") or "1"
local day0 = tonumber(os.getenv("DAY0") or "0")
local times = {"06:00", "07:30", "09:00", "10:30", "12:00", "13:30", "15:00", "16:30", "18:00", "19:30"}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

local turn, k = 0, 0

function request()
  turn = turn % #sessions + 1
  local p = priests[k % #priests + 1]
  local slot = math.floor(k / #priests)
  local day = day0 + tid * 10 + math.floor(slot / #times) % 10
  k = k + 1
  local body = string.format('{"priest":%s,"service":%s,"booking_date":"%s","booking_time":"%s",' ..
    '"location_address":"12 Temple Road, Pune"}', p, service, dates[day % #dates + 1], times[slot % #times + 1])
  return wrk.format("POST", nil, sessions[turn], body)
end
