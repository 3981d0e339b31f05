-- bench/checkout.lua — checkout end to end, each preceded by the add_item
-- that fills the cart it orders:  wrk -s bench/checkout.lua URL
-- Environment: SESSIONS (as bench/write.lua), PRODUCT (an id with stock).
-- Users take turns; a user's requests alternate add_item (Redis only) and
-- POST /api/orders/checkout/ (a command: stock, order, payment in one
-- transaction), so checkouts per second are half of wrk's requests per
-- second. Users ≥ connections per thread keeps one user's pair in order.
local sessions, next_step = {}, {}
for cookie, csrf in string.gmatch(os.getenv("SESSIONS") or "", "([^|;]+)|([^;]+)") do
  sessions[#sessions + 1] = {["Content-Type"] = "application/json", ["Cookie"] = cookie, ["X-CSRF-Token"] = csrf,
                             ["Prefer"] = "wait=10"}
  next_step[#sessions] = "add"
end
local add = string.format('{"product_id":%s,"quantity":1}', os.getenv("PRODUCT") or "1")
local address = '{"shipping_address":"12 Temple Road","shipping_city":"Pune","shipping_state":"Maharashtra",' ..
  '"shipping_pincode":"411001","shipping_phone":"+91 98765 43210"}'
local turn = 0

function request()
  turn = turn % #sessions + 1
  if next_step[turn] == "add" then
    next_step[turn] = "checkout"
    return wrk.format("POST", "/api/cart/add_item/", sessions[turn], add)
  end
  next_step[turn] = "add"
  return wrk.format("POST", "/api/orders/checkout/", sessions[turn], address)
end
