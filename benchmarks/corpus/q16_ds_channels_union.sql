-- TPC-DS Q5 style: three channels through UNION ALL
WITH ssr AS (
    SELECT s_store_id AS id, sum(ss_ext_sales_price) AS sales, sum(ss_net_profit) AS profit
    FROM store_sales JOIN store ON ss_store_sk = s_store_sk
    JOIN date_dim ON ss_sold_date_sk = d_date_sk
    WHERE d_date BETWEEN DATE '2000-08-23' AND DATE '2000-09-06'
    GROUP BY s_store_id),
csr AS (
    SELECT cp_catalog_page_id AS id, sum(cs_ext_sales_price) AS sales, sum(cs_net_profit) AS profit
    FROM catalog_sales JOIN catalog_page ON cs_catalog_page_sk = cp_catalog_page_sk
    JOIN date_dim ON cs_sold_date_sk = d_date_sk
    WHERE d_date BETWEEN DATE '2000-08-23' AND DATE '2000-09-06'
    GROUP BY cp_catalog_page_id),
wsr AS (
    SELECT web_site_id AS id, sum(ws_ext_sales_price) AS sales, sum(ws_net_profit) AS profit
    FROM web_sales JOIN web_site ON ws_web_site_sk = web_site_sk
    JOIN date_dim ON ws_sold_date_sk = d_date_sk
    WHERE d_date BETWEEN DATE '2000-08-23' AND DATE '2000-09-06'
    GROUP BY web_site_id)
SELECT channel, id, sum(sales) AS sales, sum(profit) AS profit
FROM (SELECT 'store channel' AS channel, id, sales, profit FROM ssr
      UNION ALL SELECT 'catalog channel', id, sales, profit FROM csr
      UNION ALL SELECT 'web channel', id, sales, profit FROM wsr) x
GROUP BY ROLLUP (channel, id)
ORDER BY channel, id
LIMIT 100
