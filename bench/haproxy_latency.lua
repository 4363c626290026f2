-- Actions for bench/haproxy_latency.py: a fixed delay per HTTP request, and a delayed 400 for a TLS
-- handshake on the plain-HTTP port. Each sets the variables the log line is made of.
-- Times come from the `date` sample fetch (the wall clock, as the bench's time.time()); core.now() is
-- HAProxy's monotonic clock and may drift from it.

local function stamp(txn)
  local us = txn.f:date(0, "us")
  return string.format("%d.%06d", us // 1000000, us % 1000000)
end

-- http-request lua.delay MS: note when the request arrived, then sleep (yields: other requests go on)
core.register_action("delay", {"http-req"}, function(txn, ms)
  txn:set_var("txn.arrived", stamp(txn))
  local n = tonumber(ms)
  if n > 0 then core.msleep(n) end
end, 1)

-- http-response lua.answered: note when the registry's answer came back
core.register_action("answered", {"http-res"}, function(txn)
  txn:set_var("txn.answered", stamp(txn))
end, 0)

-- tcp-request content lua.tls_probe MS: a client probing HTTPS on this plain port costs one round trip
-- and gets what a plain-HTTP registry answers: 400, then the connection is closed
core.register_action("tls_probe", {"tcp-req"}, function(txn, ms)
  txn:set_var("txn.arrived", stamp(txn))
  local n = tonumber(ms)
  if n > 0 then core.msleep(n) end
  txn:set_var("txn.answered", stamp(txn))
  txn:set_var("txn.method", "TLS")
  txn:set_var("txn.path", "-")
  txn:set_var("txn.status", 400)
  txn.res:send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
  txn:done()
end, 1)

-- tcp-request content lua.hold MS: a TLS client hello waits MS before it goes on (in --tls-cert mode: what a
-- new connection's TCP and TLS handshakes cost across a network, paid when it connects, not at its first
-- request, so a connection opened ahead of its requests pays it then)
core.register_action("hold", {"tcp-req"}, function(txn, ms)
  local n = tonumber(ms)
  if n > 0 then core.msleep(n) end
end, 1)
