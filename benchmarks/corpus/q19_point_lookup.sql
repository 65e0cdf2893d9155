SELECT * FROM orders WHERE o_orderkey = 42
