-- a write: materialise a summary table from a join
CREATE TABLE nation_revenue AS
SELECT n_name, date_trunc('year', o_orderdate) AS year,
       sum(l_extendedprice * (1 - l_discount)) AS revenue, count(DISTINCT o_custkey) AS customers
FROM lineitem JOIN orders ON l_orderkey = o_orderkey
JOIN customer ON o_custkey = c_custkey JOIN nation ON c_nationkey = n_nationkey
GROUP BY n_name, year
