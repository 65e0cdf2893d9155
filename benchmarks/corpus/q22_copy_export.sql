COPY (SELECT o_orderkey, o_totalprice, o_orderdate FROM orders WHERE o_orderdate >= DATE '1998-01-01')
TO 'exports/recent_orders.parquet' (FORMAT parquet)
