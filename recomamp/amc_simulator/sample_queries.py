"""Eight AMC queries of the shapes agencies run (AMC.md), written in AMC SQL.

They run on AMC as written and on the simulator's demo data, where each returns plausible rows
that pass the 100-user aggregation threshold for a 30-day window. ASIN_FILTER_MARKER in
`asin_conversions` is where a list of ASINs goes (see with_asin_filter).
"""

ASIN_FILTER_MARKER = "-- AND tracked_asin IN ('B0XXXXXXXX', ...)"

CAMPAIGN_PERFORMANCE_BY_DAY = """
-- Impressions, clicks, spend, purchases, sales and ROAS per campaign and day.
-- Traffic and attributed conversions are joined the AMC way: both are put on the same grain
-- (campaign, day, user) and added up, so each row keeps the users behind it.
WITH traffic AS (
  SELECT campaign, campaign_id, ad_product_type, event_date_utc AS report_date,
         impressions, clicks, spend, 0 AS purchases, 0 AS sales, user_id
  FROM sponsored_ads_traffic
  WHERE event_dt_utc >= BUILT_IN_PARAMETER('TIME_WINDOW_START')
), conversions AS (
  SELECT campaign, campaign_id, ad_product_type, CAST(traffic_event_dt_utc AS DATE) AS report_date,
         0 AS impressions, 0 AS clicks, 0 AS spend, purchases, product_sales AS sales, user_id
  FROM amazon_attributed_events_by_traffic_time
  WHERE ad_product_type IS NOT NULL
), combined AS (
  SELECT campaign, campaign_id, ad_product_type, report_date, impressions, clicks, spend,
         purchases, sales, user_id
  FROM traffic
  UNION ALL
  SELECT campaign, campaign_id, ad_product_type, report_date, impressions, clicks, spend,
         purchases, sales, user_id
  FROM conversions
)
SELECT campaign, campaign_id, ad_product_type, report_date,
       SUM(impressions) AS impressions,
       SUM(clicks) AS clicks,
       ROUND(SUM(spend) / 100000000.0, 2) AS spend,
       SUM(purchases) AS purchases,
       ROUND(SUM(sales), 2) AS sales,
       ROUND(SUM(sales) / NULLIF(SUM(spend) / 100000000.0, 0), 2) AS roas
FROM combined
GROUP BY campaign, campaign_id, ad_product_type, report_date
ORDER BY report_date, campaign
""".strip()

SEARCH_TERM_PERFORMANCE = """
-- Clicks, spend and purchases by customer search term and match type (sponsored products).
-- A purchase is credited to the search term of the click it is attributed to.
WITH sp_traffic AS (
  SELECT customer_search_term, match_type, campaign_id, event_dt_utc, user_id,
         impressions, clicks, spend
  FROM sponsored_ads_traffic
  WHERE ad_product_type = 'sponsored_products' AND customer_search_term IS NOT NULL
), sp_purchases AS (
  SELECT t.customer_search_term, t.match_type, a.purchases, a.product_sales, a.user_id
  FROM amazon_attributed_events_by_traffic_time a
  JOIN sp_traffic t
    ON a.user_id = t.user_id
   AND a.campaign_id = t.campaign_id
   AND a.traffic_event_dt_utc = t.event_dt_utc
  WHERE a.ad_product_type = 'sponsored_products' AND a.purchases > 0
), combined AS (
  SELECT customer_search_term, match_type, impressions, clicks, spend,
         0 AS purchases, 0 AS sales, user_id
  FROM sp_traffic
  UNION ALL
  SELECT customer_search_term, match_type, 0, 0, 0, purchases, product_sales, user_id
  FROM sp_purchases
)
SELECT customer_search_term, match_type,
       SUM(impressions) AS impressions,
       SUM(clicks) AS clicks,
       ROUND(SUM(spend) / 100000000.0, 2) AS spend,
       SUM(purchases) AS purchases,
       ROUND(SUM(sales), 2) AS sales,
       ROUND(100.0 * SUM(purchases) / NULLIF(SUM(clicks), 0), 2) AS conversion_rate_pct
FROM combined
GROUP BY customer_search_term, match_type
ORDER BY clicks DESC
""".strip()

PATH_TO_CONVERSION = """
-- The ordered sequence of ad products each converting user saw before their first purchase,
-- counted per path (each ad product once, at its first exposure).
WITH exposures AS (
  SELECT user_id, ad_product_type AS touch, event_dt_utc AS touch_dt
  FROM sponsored_ads_traffic
  WHERE impressions > 0
  UNION ALL
  SELECT user_id, 'amazon_dsp' AS touch, impression_dt_utc AS touch_dt
  FROM dsp_impressions
), first_purchase AS (
  SELECT user_id, MIN(conversion_event_dt_utc) AS purchase_dt
  FROM amazon_attributed_events_by_conversion_time
  WHERE purchases > 0
  GROUP BY user_id
), first_touches AS (
  SELECT e.user_id, e.touch, MIN(e.touch_dt) AS first_touch_dt
  FROM exposures e
  JOIN first_purchase p ON p.user_id = e.user_id AND e.touch_dt <= p.purchase_dt
  GROUP BY e.user_id, e.touch
), ordered AS (
  SELECT user_id, touch,
         ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY first_touch_dt, touch) AS step
  FROM first_touches
), paths AS (
  SELECT user_id,
         CONCAT(
           MAX(CASE WHEN step = 1 THEN touch END),
           COALESCE(' > ' || MAX(CASE WHEN step = 2 THEN touch END), ''),
           COALESCE(' > ' || MAX(CASE WHEN step = 3 THEN touch END), ''),
           COALESCE(' > ' || MAX(CASE WHEN step = 4 THEN touch END), ''),
           CASE WHEN MAX(step) > 4 THEN ' > ...' ELSE '' END
         ) AS path,
         MAX(step) AS touchpoints
  FROM ordered
  GROUP BY user_id
)
SELECT path, touchpoints, COUNT(DISTINCT user_id) AS converting_users
FROM paths
GROUP BY path, touchpoints
ORDER BY converting_users DESC
""".strip()

NEW_TO_BRAND = """
-- Purchases and sales split by new-to-brand, per campaign.
SELECT campaign, campaign_id, ad_product_type,
       SUM(purchases) AS purchases,
       SUM(CASE WHEN new_to_brand THEN purchases ELSE 0 END) AS ntb_purchases,
       SUM(CASE WHEN new_to_brand THEN 0 ELSE purchases END) AS repeat_purchases,
       ROUND(SUM(product_sales), 2) AS sales,
       ROUND(SUM(new_to_brand_product_sales), 2) AS ntb_sales,
       ROUND(SUM(product_sales) - SUM(new_to_brand_product_sales), 2) AS repeat_sales,
       ROUND(100.0 * SUM(CASE WHEN new_to_brand THEN purchases ELSE 0 END)
             / NULLIF(SUM(purchases), 0), 1) AS ntb_purchase_pct
FROM amazon_attributed_events_by_conversion_time
WHERE purchases > 0
GROUP BY campaign, campaign_id, ad_product_type
ORDER BY sales DESC
""".strip()

FREQUENCY_DISTRIBUTION = """
-- Users bucketed by the ad impressions they saw in the window, with the conversion rate per
-- bucket.
WITH exposure AS (
  SELECT user_id, SUM(impressions) AS impressions
  FROM (
    SELECT user_id, impressions FROM sponsored_ads_traffic WHERE impressions > 0
    UNION ALL
    SELECT user_id, impressions FROM dsp_impressions
  ) AS all_impressions
  GROUP BY user_id
), converters AS (
  SELECT user_id, MAX(purchases) AS purchased
  FROM amazon_attributed_events_by_traffic_time
  WHERE purchases > 0
  GROUP BY user_id
), bucketed AS (
  SELECT e.user_id,
         CASE WHEN e.impressions = 1 THEN '01'
              WHEN e.impressions = 2 THEN '02'
              WHEN e.impressions = 3 THEN '03'
              WHEN e.impressions BETWEEN 4 AND 5 THEN '04-05'
              WHEN e.impressions BETWEEN 6 AND 10 THEN '06-10'
              WHEN e.impressions BETWEEN 11 AND 20 THEN '11-20'
              ELSE '21+' END AS frequency_bucket,
         CASE WHEN c.user_id IS NULL THEN 0 ELSE 1 END AS converted
  FROM exposure e
  LEFT JOIN converters c ON c.user_id = e.user_id
)
SELECT frequency_bucket,
       COUNT(DISTINCT user_id) AS users,
       SUM(converted) AS converted_users,
       ROUND(100.0 * SUM(converted) / COUNT(*), 2) AS conversion_rate_pct
FROM bucketed
GROUP BY frequency_bucket
ORDER BY frequency_bucket
""".strip()

CAMPAIGN_OVERLAP = """
-- Users reached by campaign A, by campaign B and by both, for every pair of campaigns.
WITH reach AS (
  SELECT DISTINCT campaign, user_id FROM sponsored_ads_traffic WHERE impressions > 0
  UNION
  SELECT DISTINCT campaign, user_id FROM dsp_impressions
), reach_per_campaign AS (
  SELECT campaign, COUNT(DISTINCT user_id) AS users
  FROM reach
  GROUP BY campaign
), overlap AS (
  SELECT a.campaign AS campaign_a, b.campaign AS campaign_b,
         COUNT(DISTINCT a.user_id) AS users_both
  FROM reach a
  JOIN reach b ON a.user_id = b.user_id AND a.campaign < b.campaign
  GROUP BY a.campaign, b.campaign
)
SELECT o.campaign_a, ra.users AS users_a, o.campaign_b, rb.users AS users_b, o.users_both,
       ROUND(100.0 * o.users_both / ra.users, 2) AS pct_of_a,
       ROUND(100.0 * o.users_both / rb.users, 2) AS pct_of_b
FROM overlap o
JOIN reach_per_campaign ra ON ra.campaign = o.campaign_a
JOIN reach_per_campaign rb ON rb.campaign = o.campaign_b
ORDER BY o.users_both DESC
""".strip()

FUNNEL = """
-- Users at each step of impression -> click -> detail page view -> add to cart -> purchase;
-- a user counts at a step only after reaching every step before it.
WITH impressed AS (
  SELECT user_id FROM sponsored_ads_traffic WHERE impressions > 0
  UNION
  SELECT user_id FROM dsp_impressions
), clicked AS (
  SELECT user_id FROM sponsored_ads_traffic WHERE clicks > 0
  UNION
  SELECT user_id FROM dsp_clicks
), engaged AS (
  SELECT user_id,
         MAX(detail_page_view) AS viewed,
         MAX(add_to_cart) AS carted,
         MAX(purchases) AS purchased
  FROM amazon_attributed_events_by_traffic_time
  GROUP BY user_id
), journey AS (
  SELECT i.user_id,
         CASE WHEN c.user_id IS NOT NULL THEN 1 ELSE 0 END AS clicked,
         COALESCE(e.viewed, 0) AS viewed,
         COALESCE(e.carted, 0) AS carted,
         COALESCE(e.purchased, 0) AS purchased
  FROM impressed i
  LEFT JOIN clicked c ON c.user_id = i.user_id
  LEFT JOIN engaged e ON e.user_id = i.user_id
)
SELECT 1 AS step, 'impression' AS stage, COUNT(DISTINCT user_id) AS users FROM journey
UNION ALL
SELECT 2, 'click', COUNT(DISTINCT user_id) FROM journey WHERE clicked = 1
UNION ALL
SELECT 3, 'detail_page_view', COUNT(DISTINCT user_id) FROM journey
WHERE clicked = 1 AND viewed > 0
UNION ALL
SELECT 4, 'add_to_cart', COUNT(DISTINCT user_id) FROM journey
WHERE clicked = 1 AND viewed > 0 AND carted > 0
UNION ALL
SELECT 5, 'purchase', COUNT(DISTINCT user_id) FROM journey
WHERE clicked = 1 AND viewed > 0 AND carted > 0 AND purchased > 0
ORDER BY step
""".strip()

ASIN_CONVERSIONS = f"""
-- Purchases and sales per tracked ASIN (brand halo purchases of other brand ASINs included);
-- replace the comment below with a filter to keep only some ASINs.
SELECT tracked_asin,
       SUM(purchases) AS purchases,
       SUM(units_sold) AS units_sold,
       ROUND(SUM(product_sales), 2) AS sales,
       SUM(brand_halo_purchases) AS brand_halo_purchases,
       ROUND(SUM(brand_halo_product_sales), 2) AS brand_halo_sales,
       SUM(CASE WHEN new_to_brand THEN total_purchases ELSE 0 END) AS ntb_purchases
FROM amazon_attributed_events_by_conversion_time
WHERE total_purchases > 0
  {ASIN_FILTER_MARKER}
GROUP BY tracked_asin
ORDER BY sales DESC
""".strip()

SAMPLE_QUERIES: dict[str, str] = {
    "campaign_performance_by_day": CAMPAIGN_PERFORMANCE_BY_DAY,
    "search_term_performance": SEARCH_TERM_PERFORMANCE,
    "path_to_conversion": PATH_TO_CONVERSION,
    "new_to_brand": NEW_TO_BRAND,
    "frequency_distribution": FREQUENCY_DISTRIBUTION,
    "campaign_overlap": CAMPAIGN_OVERLAP,
    "funnel": FUNNEL,
    "asin_conversions": ASIN_CONVERSIONS,
}


def with_asin_filter(sql: str, asins: list[str]) -> str:
    """`asin_conversions` restricted to `asins` (ASINs are B0 + 8 uppercase letters/digits)."""
    for asin in asins:
        if not (len(asin) == 10 and asin.isalnum() and asin.upper() == asin):
            raise ValueError(f"not an ASIN: {asin!r}")
    listed = ", ".join(f"'{asin}'" for asin in asins)
    return sql.replace(ASIN_FILTER_MARKER, f"AND tracked_asin IN ({listed})")
