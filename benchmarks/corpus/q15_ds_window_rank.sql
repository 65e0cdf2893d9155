-- TPC-DS Q44/Q67 style: window functions over a grouped result
SELECT *
FROM (
    SELECT i_category, i_class, i_brand, d_year, d_qoy, s_store_id,
           sum(coalesce(ss_sales_price * ss_quantity, 0)) AS sumsales,
           rank() OVER (PARTITION BY i_category ORDER BY sum(coalesce(ss_sales_price * ss_quantity, 0)) DESC) AS rk
    FROM store_sales
    JOIN date_dim ON ss_sold_date_sk = d_date_sk
    JOIN store ON ss_store_sk = s_store_sk
    JOIN item ON ss_item_sk = i_item_sk
    WHERE d_month_seq BETWEEN 1200 AND 1211
    GROUP BY ROLLUP (i_category, i_class, i_brand, d_year, d_qoy, s_store_id)
) dw
WHERE rk <= 100
ORDER BY i_category, i_class, i_brand, d_year, d_qoy, s_store_id, sumsales, rk
LIMIT 100
