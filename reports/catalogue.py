"""The demo catalogue: AMC SQL templates agencies run every day.

Each entry has typed parameter definitions (see reports.parameters) and a `report_config`
describing its dashboard widgets (see dashboards). The time window is never a parameter: every
execution sends AMC an explicit window and the SQL reads it with BUILT_IN_PARAMETER.
"""

AD_PRODUCTS = [
    "all",
    "sponsored_products",
    "sponsored_brands",
    "sponsored_display",
    "sponsored_television",
]

CAMPAIGN_PERFORMANCE = {
    "template_id": "campaign-performance-daily",
    "name": "Campaign performance by day",
    "category": "Performance",
    "report_type": "campaign_performance",
    "default_dashboard_type": "performance",
    "description": "Impressions, clicks, spend, purchases, sales and ROAS per campaign and day.",
    "sql_query": """
WITH traffic AS (
  SELECT campaign, campaign_id, event_date,
         SUM(impressions) AS impressions, SUM(clicks) AS clicks, SUM(spend) AS spend
  FROM sponsored_ads_traffic
  WHERE ('{{ad_product}}' = 'all' OR ad_product_type = '{{ad_product}}')
  GROUP BY campaign, campaign_id, event_date
),
conversions AS (
  SELECT campaign_id, traffic_event_date AS event_date,
         SUM(purchases) AS purchases, SUM(product_sales) AS sales
  FROM amazon_attributed_events_by_traffic_time
  GROUP BY campaign_id, traffic_event_date
)
SELECT t.event_date, t.campaign, t.campaign_id, t.impressions, t.clicks,
       t.spend / 100000000.0 AS spend,
       COALESCE(c.purchases, 0) AS purchases,
       COALESCE(c.sales, 0) AS sales,
       CASE WHEN t.spend > 0 THEN COALESCE(c.sales, 0) / (t.spend / 100000000.0) END AS roas
FROM traffic t
LEFT JOIN conversions c ON c.campaign_id = t.campaign_id AND c.event_date = t.event_date
WHERE t.impressions >= {{min_impressions}}
ORDER BY t.event_date, t.campaign
""".strip(),
    "parameter_definitions": [
        {
            "name": "ad_product",
            "type": "enum",
            "label": "Ad product",
            "options": AD_PRODUCTS,
            "default": "all",
        },
        {
            "name": "min_impressions",
            "type": "integer",
            "label": "Minimum impressions per row",
            "default": 0,
            "min": 0,
        },
    ],
    "report_config": {
        "widgets": [
            {
                "type": "metric_card",
                "title": "Spend",
                "metric": "spend",
                "aggregate": "sum",
                "format": "currency",
            },
            {
                "type": "metric_card",
                "title": "Sales",
                "metric": "sales",
                "aggregate": "sum",
                "format": "currency",
            },
            {
                "type": "metric_card",
                "title": "ROAS",
                "metric": "roas",
                "ratio": ["sales", "spend"],
                "format": "ratio",
            },
            {
                "type": "chart",
                "chart": "line",
                "title": "Spend and sales by day",
                "x": "event_date",
                "y": ["spend", "sales"],
            },
            {
                "type": "chart",
                "chart": "bar",
                "title": "Sales by campaign",
                "x": "campaign",
                "y": ["sales"],
                "limit": 10,
            },
            {
                "type": "table",
                "title": "Campaigns",
                "group_by": ["campaign"],
                "columns": ["impressions", "clicks", "spend", "purchases", "sales"],
            },
            {"type": "insight", "title": "Insights", "metric": "sales", "time": "event_date"},
        ]
    },
}

SEARCH_TERMS = {
    "template_id": "search-term-performance",
    "name": "Search term performance",
    "category": "Sponsored Products",
    "report_type": "search_terms",
    "default_dashboard_type": "performance",
    "description": "Clicks, spend and purchases by customer search term and match type.",
    "sql_query": """
WITH terms AS (
  SELECT customer_search_term, match_type, campaign_id,
         SUM(impressions) AS impressions, SUM(clicks) AS clicks, SUM(spend) AS spend
  FROM sponsored_ads_traffic
  WHERE ad_product_type = 'sponsored_products'
    AND customer_search_term IS NOT NULL
    AND LOWER(customer_search_term) LIKE LOWER('%{{term_contains}}%')
    AND ('{{match_type}}' = 'ALL' OR match_type = '{{match_type}}')
  GROUP BY customer_search_term, match_type, campaign_id
),
purchases AS (
  SELECT campaign_id, SUM(purchases) AS purchases, SUM(product_sales) AS sales
  FROM amazon_attributed_events_by_traffic_time
  WHERE ad_product_type = 'sponsored_products'
  GROUP BY campaign_id
),
campaign_clicks AS (
  SELECT campaign_id, SUM(clicks) AS clicks FROM terms GROUP BY campaign_id
)
SELECT t.customer_search_term, t.match_type,
       SUM(t.impressions) AS impressions, SUM(t.clicks) AS clicks,
       SUM(t.spend) / 100000000.0 AS spend,
       SUM(COALESCE(p.purchases, 0) * t.clicks / NULLIF(cc.clicks, 0)) AS purchases
FROM terms t
LEFT JOIN purchases p ON p.campaign_id = t.campaign_id
LEFT JOIN campaign_clicks cc ON cc.campaign_id = t.campaign_id
GROUP BY t.customer_search_term, t.match_type
HAVING SUM(t.clicks) >= {{min_clicks}}
ORDER BY clicks DESC
""".strip(),
    "parameter_definitions": [
        {
            "name": "term_contains",
            "type": "string",
            "label": "Search term contains",
            "required": False,
            "max_length": 100,
            "description": "Leave empty for every search term.",
        },
        {
            "name": "match_type",
            "type": "enum",
            "label": "Match type",
            "options": ["ALL", "BROAD", "PHRASE", "EXACT"],
            "default": "ALL",
        },
        {
            "name": "min_clicks",
            "type": "integer",
            "label": "Minimum clicks",
            "default": 1,
            "min": 0,
        },
    ],
    "report_config": {
        "widgets": [
            {"type": "metric_card", "title": "Clicks", "metric": "clicks", "aggregate": "sum"},
            {
                "type": "metric_card",
                "title": "Spend",
                "metric": "spend",
                "aggregate": "sum",
                "format": "currency",
            },
            {
                "type": "chart",
                "chart": "bar",
                "title": "Top search terms by clicks",
                "x": "customer_search_term",
                "y": ["clicks"],
                "limit": 15,
            },
            {
                "type": "chart",
                "chart": "pie",
                "title": "Clicks by match type",
                "x": "match_type",
                "y": ["clicks"],
            },
            {
                "type": "table",
                "title": "Search terms",
                "group_by": ["customer_search_term", "match_type"],
                "columns": ["impressions", "clicks", "spend", "purchases"],
            },
        ]
    },
}

PATH_TO_CONVERSION = {
    "template_id": "path-to-conversion",
    "name": "Path to conversion",
    "category": "Attribution",
    "report_type": "path_to_conversion",
    "default_dashboard_type": "attribution",
    "description": "The ordered ad products each converting user saw before purchase, per path.",
    "sql_query": """
WITH touches AS (
  SELECT user_id, ad_product_type, MIN(event_dt_utc) AS first_touch
  FROM sponsored_ads_traffic
  WHERE user_id IS NOT NULL
  GROUP BY user_id, ad_product_type
),
buyers AS (
  SELECT user_id, MIN(conversion_event_dt_utc) AS purchased_at
  FROM amazon_attributed_events_by_conversion_time
  WHERE purchases > 0
  GROUP BY user_id
),
paths AS (
  SELECT b.user_id,
         STRING_AGG(t.ad_product_type, ' > ' ORDER BY t.first_touch) AS path,
         COUNT(*) AS touchpoints
  FROM buyers b
  JOIN touches t ON t.user_id = b.user_id AND t.first_touch <= b.purchased_at
  GROUP BY b.user_id
)
SELECT path, touchpoints, COUNT(DISTINCT user_id) AS converting_users
FROM paths
WHERE touchpoints <= {{max_touchpoints}}
GROUP BY path, touchpoints
ORDER BY converting_users DESC
""".strip(),
    "parameter_definitions": [
        {
            "name": "max_touchpoints",
            "type": "integer",
            "label": "Longest path to show",
            "default": 4,
            "min": 1,
            "max": 10,
        }
    ],
    "report_config": {
        "widgets": [
            {
                "type": "metric_card",
                "title": "Converting users",
                "metric": "converting_users",
                "aggregate": "sum",
            },
            {
                "type": "chart",
                "chart": "bar",
                "title": "Top paths",
                "x": "path",
                "y": ["converting_users"],
                "limit": 10,
            },
            {
                "type": "table",
                "title": "Paths",
                "group_by": ["path", "touchpoints"],
                "columns": ["converting_users"],
            },
        ]
    },
}

NEW_TO_BRAND = {
    "template_id": "new-to-brand",
    "name": "New-to-brand purchases",
    "category": "Attribution",
    "report_type": "new_to_brand",
    "default_dashboard_type": "attribution",
    "description": "Purchases and sales split by new-to-brand, per campaign.",
    "sql_query": """
SELECT campaign, campaign_id, ad_product_type,
       SUM(purchases) AS purchases,
       SUM(product_sales) AS sales,
       SUM(CASE WHEN new_to_brand THEN purchases ELSE 0 END) AS ntb_purchases,
       SUM(new_to_brand_product_sales) AS ntb_sales,
       SUM(CASE WHEN new_to_brand THEN purchases ELSE 0 END) * 100.0
         / NULLIF(SUM(purchases), 0) AS ntb_purchase_share
FROM amazon_attributed_events_by_traffic_time
WHERE ('{{ad_product}}' = 'all' OR ad_product_type = '{{ad_product}}')
GROUP BY campaign, campaign_id, ad_product_type
HAVING SUM(purchases) > 0
ORDER BY sales DESC
""".strip(),
    "parameter_definitions": [
        {
            "name": "ad_product",
            "type": "enum",
            "label": "Ad product",
            "options": AD_PRODUCTS,
            "default": "all",
        }
    ],
    "report_config": {
        "widgets": [
            {
                "type": "metric_card",
                "title": "NTB sales",
                "metric": "ntb_sales",
                "aggregate": "sum",
                "format": "currency",
            },
            {
                "type": "metric_card",
                "title": "NTB purchase share",
                "metric": "ntb_purchase_share",
                "ratio": ["ntb_purchases", "purchases"],
                "format": "percent",
            },
            {
                "type": "chart",
                "chart": "bar",
                "title": "NTB vs repeat sales by campaign",
                "x": "campaign",
                "y": ["ntb_sales", "sales"],
                "limit": 10,
            },
            {
                "type": "table",
                "title": "Campaigns",
                "group_by": ["campaign", "ad_product_type"],
                "columns": ["purchases", "ntb_purchases", "sales", "ntb_sales"],
            },
        ]
    },
}

FREQUENCY = {
    "template_id": "frequency-distribution",
    "name": "Frequency distribution",
    "category": "Audience",
    "report_type": "frequency",
    "default_dashboard_type": "audience",
    "description": "Users bucketed by impressions seen, with the conversion rate per bucket.",
    "sql_query": """
WITH exposure AS (
  SELECT user_id, SUM(impressions) AS impressions
  FROM dsp_impressions
  WHERE user_id IS NOT NULL
  GROUP BY user_id
),
buyers AS (
  SELECT DISTINCT user_id
  FROM amazon_attributed_events_by_conversion_time
  WHERE purchases > 0
),
bucketed AS (
  SELECT e.user_id,
         CASE WHEN e.impressions >= {{max_bucket}} THEN {{max_bucket}} ELSE e.impressions END
           AS frequency,
         CASE WHEN b.user_id IS NULL THEN 0 ELSE 1 END AS converted
  FROM exposure e
  LEFT JOIN buyers b ON b.user_id = e.user_id
)
SELECT frequency, COUNT(DISTINCT user_id) AS users, SUM(converted) AS converted_users,
       SUM(converted) * 100.0 / COUNT(*) AS conversion_rate
FROM bucketed
GROUP BY frequency
ORDER BY frequency
""".strip(),
    "parameter_definitions": [
        {
            "name": "max_bucket",
            "type": "integer",
            "label": "Top frequency bucket (n or more)",
            "default": 10,
            "min": 2,
            "max": 50,
        }
    ],
    "report_config": {
        "widgets": [
            {
                "type": "metric_card",
                "title": "Users reached",
                "metric": "users",
                "aggregate": "sum",
            },
            {
                "type": "chart",
                "chart": "bar",
                "title": "Users by frequency",
                "x": "frequency",
                "y": ["users"],
            },
            {
                "type": "chart",
                "chart": "line",
                "title": "Conversion rate by frequency",
                "x": "frequency",
                "y": ["conversion_rate"],
            },
            {
                "type": "table",
                "title": "Buckets",
                "group_by": ["frequency"],
                "columns": ["users", "converted_users", "conversion_rate"],
            },
        ]
    },
}

OVERLAP = {
    "template_id": "campaign-overlap",
    "name": "Campaign overlap",
    "category": "Audience",
    "report_type": "overlap",
    "default_dashboard_type": "audience",
    "description": "Users reached by campaign A, by campaign B, and by both.",
    "sql_query": """
WITH reach AS (
  SELECT DISTINCT user_id, campaign FROM sponsored_ads_traffic WHERE user_id IS NOT NULL
  UNION
  SELECT DISTINCT user_id, campaign FROM dsp_impressions WHERE user_id IS NOT NULL
),
pairs AS (
  SELECT a.campaign AS campaign_a, b.campaign AS campaign_b, a.user_id
  FROM reach a
  JOIN reach b ON a.user_id = b.user_id AND a.campaign < b.campaign
),
sizes AS (
  SELECT campaign, COUNT(DISTINCT user_id) AS users FROM reach GROUP BY campaign
)
SELECT p.campaign_a, p.campaign_b, sa.users AS users_a, sb.users AS users_b,
       COUNT(DISTINCT p.user_id) AS users_both,
       COUNT(DISTINCT p.user_id) * 100.0 / LEAST(sa.users, sb.users) AS overlap_pct
FROM pairs p
JOIN sizes sa ON sa.campaign = p.campaign_a
JOIN sizes sb ON sb.campaign = p.campaign_b
GROUP BY p.campaign_a, p.campaign_b, sa.users, sb.users
HAVING COUNT(DISTINCT p.user_id) >= {{min_shared_users}}
ORDER BY users_both DESC
""".strip(),
    "parameter_definitions": [
        {
            "name": "min_shared_users",
            "type": "integer",
            "label": "Minimum shared users",
            "default": 100,
            "min": 0,
        }
    ],
    "report_config": {
        "widgets": [
            {
                "type": "chart",
                "chart": "bar",
                "title": "Largest overlaps",
                "x": "campaign_a",
                "series": "campaign_b",
                "y": ["users_both"],
                "limit": 10,
            },
            {
                "type": "table",
                "title": "Campaign pairs",
                "group_by": ["campaign_a", "campaign_b"],
                "columns": ["users_a", "users_b", "users_both", "overlap_pct"],
            },
        ]
    },
}

FUNNEL = {
    "template_id": "impressions-to-purchase-funnel",
    "name": "Impressions to purchase funnel",
    "category": "Funnel",
    "report_type": "funnel",
    "default_dashboard_type": "funnel",
    "description": "Users with an impression, click, detail page view, add to cart, purchase.",
    "sql_query": """
WITH impressed AS (
  SELECT DISTINCT user_id FROM sponsored_ads_traffic WHERE impressions > 0
  UNION
  SELECT DISTINCT user_id FROM dsp_impressions WHERE impressions > 0
),
clicked AS (
  SELECT DISTINCT user_id FROM sponsored_ads_traffic WHERE clicks > 0
  UNION
  SELECT DISTINCT user_id FROM dsp_clicks WHERE clicks > 0
),
events AS (
  SELECT user_id,
         MAX(CASE WHEN detail_page_view > 0 THEN 1 ELSE 0 END) AS viewed,
         MAX(CASE WHEN add_to_cart > 0 THEN 1 ELSE 0 END) AS carted,
         MAX(CASE WHEN purchases > 0 THEN 1 ELSE 0 END) AS purchased
  FROM amazon_attributed_events_by_conversion_time
  GROUP BY user_id
)
SELECT 1 AS stage_order, 'impression' AS stage, COUNT(*) AS users FROM impressed
UNION ALL
SELECT 2, 'click', COUNT(*) FROM clicked
UNION ALL
SELECT 3, 'detail_page_view', SUM(viewed) FROM events
UNION ALL
SELECT 4, 'add_to_cart', SUM(carted) FROM events
UNION ALL
SELECT 5, 'purchase', SUM(purchased) FROM events
ORDER BY stage_order
""".strip(),
    "parameter_definitions": [],
    "report_config": {
        "widgets": [
            {
                "type": "chart",
                "chart": "funnel",
                "title": "Funnel",
                "x": "stage",
                "y": ["users"],
                "order_by": "stage_order",
            },
            {
                "type": "table",
                "title": "Stages",
                "group_by": ["stage_order", "stage"],
                "columns": ["users"],
            },
        ]
    },
}

ASIN_CONVERSIONS = {
    "template_id": "asin-conversions",
    "name": "ASIN conversions",
    "category": "Product",
    "report_type": "asin_conversions",
    "default_dashboard_type": "performance",
    "description": "Purchases, units and sales per tracked ASIN, for the ASINs you choose.",
    "sql_query": """
SELECT tracked_asin,
       SUM(purchases) AS purchases,
       SUM(units_sold) AS units_sold,
       SUM(product_sales) AS sales,
       SUM(CASE WHEN new_to_brand THEN purchases ELSE 0 END) AS ntb_purchases
FROM amazon_attributed_events_by_conversion_time
WHERE tracked_asin IN ({{asins}})
GROUP BY tracked_asin
ORDER BY sales DESC
""".strip(),
    "parameter_definitions": [
        {
            "name": "asins",
            "type": "asin_list",
            "label": "ASINs",
            "required": True,
            "max_items": 1000,
            "description": "Tracked ASINs, comma or newline separated.",
        }
    ],
    "report_config": {
        "widgets": [
            {
                "type": "metric_card",
                "title": "Sales",
                "metric": "sales",
                "aggregate": "sum",
                "format": "currency",
            },
            {
                "type": "chart",
                "chart": "bar",
                "title": "Sales by ASIN",
                "x": "tracked_asin",
                "y": ["sales"],
                "limit": 20,
            },
            {
                "type": "table",
                "title": "ASINs",
                "group_by": ["tracked_asin"],
                "columns": ["purchases", "units_sold", "sales", "ntb_purchases"],
            },
        ]
    },
}

TEMPLATES = [
    CAMPAIGN_PERFORMANCE,
    SEARCH_TERMS,
    PATH_TO_CONVERSION,
    NEW_TO_BRAND,
    FREQUENCY,
    OVERLAP,
    FUNNEL,
    ASIN_CONVERSIONS,
]
