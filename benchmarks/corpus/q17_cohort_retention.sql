-- Analyst style: monthly cohort retention with date_trunc and window
WITH firsts AS (
    SELECT o_custkey, min(date_trunc('month', o_orderdate)) AS cohort
    FROM orders GROUP BY o_custkey),
activity AS (
    SELECT DISTINCT o.o_custkey, f.cohort, date_trunc('month', o.o_orderdate) AS month
    FROM orders o JOIN firsts f USING (o_custkey))
SELECT cohort, datediff('month', cohort, month) AS age, count(*) AS customers,
       count(*) * 1.0 / first_value(count(*)) OVER (PARTITION BY cohort ORDER BY datediff('month', cohort, month)) AS retention
FROM activity
GROUP BY ALL
ORDER BY cohort, age
