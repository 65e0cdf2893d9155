UPDATE orders SET o_orderstatus = 'F'
WHERE o_orderdate < DATE '1995-01-01' AND o_orderstatus = 'O' AND o_totalprice > 1000
