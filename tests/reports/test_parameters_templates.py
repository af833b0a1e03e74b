"""Realistic AMC templates rendered end to end, checked to the character."""

from datetime import date

import pytest
import sqlglot

from reports.parameters import ParameterErrors, check_template, render_sql

TODAY = date(2026, 11, 23)

CAMPAIGN_PERFORMANCE_SQL = """\
-- Campaign performance by day: traffic joined to attributed purchases.
WITH traffic AS (
  SELECT
    campaign_id,
    campaign,
    event_date AS day,
    SUM(impressions) AS impressions,
    SUM(clicks) AS clicks,
    SUM(spend) / 100000000 AS spend_usd
  FROM sponsored_ads_traffic
  WHERE event_date BETWEEN {{period.start}} AND {{period.end}}
    AND ad_product_type IN ({{ad_products}})
    AND ({{campaigns.is_empty}} OR campaign IN ({{campaigns}}))
  GROUP BY 1, 2, 3
),
conversions AS (
  SELECT
    campaign_id,
    CAST(traffic_event_dt AS DATE) AS day,
    SUM(purchases) AS purchases,
    SUM(product_sales) AS sales
  FROM amazon_attributed_events_by_traffic_time
  WHERE CAST(traffic_event_dt AS DATE) BETWEEN {{period.start}} AND {{period.end}}
  GROUP BY 1, 2
)
SELECT
  t.campaign,
  t.day,
  t.impressions,
  t.clicks,
  t.spend_usd,
  COALESCE(c.purchases, 0) AS purchases,
  COALESCE(c.sales, 0) AS sales,
  COALESCE(c.sales, 0) / NULLIF(t.spend_usd, 0) AS roas
FROM traffic t
LEFT JOIN conversions c ON c.campaign_id = t.campaign_id AND c.day = t.day
WHERE t.impressions >= {{min_impressions}}
  AND t.clicks / NULLIF(t.impressions, 0) >= {{min_ctr}}
ORDER BY t.day, t.spend_usd DESC
"""

CAMPAIGN_PERFORMANCE_DEFINITIONS = [
    {
        "name": "period",
        "type": "date_range",
        "label": "Reporting period",
        "default": {"start": "today-44d", "end": "today-14d"},
        "max_days": 425,
        "description": "AMC data is complete about 14 days after the event.",
    },
    {
        "name": "ad_products",
        "type": "string_list",
        "label": "Ad products",
        "default": ["sponsored_products", "sponsored_brands"],
    },
    {"name": "campaigns", "type": "campaign_list", "required": False},
    {"name": "min_impressions", "type": "integer", "min": 0, "default": 100},
    {"name": "min_ctr", "type": "percentage", "default": 0},
]


def test_campaign_performance_with_date_range_and_optional_campaign_filter():
    rendered = render_sql(
        sql=CAMPAIGN_PERFORMANCE_SQL,
        definitions=CAMPAIGN_PERFORMANCE_DEFINITIONS,
        values={
            "campaigns": "Brand – Exact\nMen's Shoes, Broad\n123456789",
            "min_impressions": "1000",
            "min_ctr": "0.5%",
        },
        today=TODAY,
    )
    expected = (
        CAMPAIGN_PERFORMANCE_SQL.replace("{{period.start}}", "'2026-10-10'")
        .replace("{{period.end}}", "'2026-11-09'")
        .replace("{{ad_products}}", "'sponsored_products', 'sponsored_brands'")
        .replace("{{campaigns.is_empty}}", "FALSE")
        .replace("{{campaigns}}", "'Brand – Exact', 'Men''s Shoes, Broad', '123456789'")
        .replace("{{min_impressions}}", "1000")
        .replace("{{min_ctr}}", "0.005")
    )
    assert rendered.sql == expected
    assert (
        "  WHERE event_date BETWEEN '2026-10-10' AND '2026-11-09'\n"
        "    AND ad_product_type IN ('sponsored_products', 'sponsored_brands')\n"
        "    AND (FALSE OR campaign IN ('Brand – Exact', 'Men''s Shoes, Broad', '123456789'))\n"
    ) in rendered.sql
    assert "WHERE t.impressions >= 1000\n  AND t.clicks / NULLIF(t.impressions, 0) >= 0.005\n" in (
        rendered.sql
    )
    assert rendered.parameters == {
        "period": {"start": "2026-10-10", "end": "2026-11-09"},
        "ad_products": ["sponsored_products", "sponsored_brands"],
        "campaigns": ["Brand – Exact", "Men's Shoes, Broad", "123456789"],
        "min_impressions": 1000,
        "min_ctr": 0.5,
    }
    for dialect in (None, "spark"):
        assert len(sqlglot.parse(rendered.sql, read=dialect)) == 1


def test_campaign_performance_without_campaigns_matches_every_campaign():
    rendered = render_sql(
        sql=CAMPAIGN_PERFORMANCE_SQL,
        definitions=CAMPAIGN_PERFORMANCE_DEFINITIONS,
        values={},
        today=TODAY,
    )
    assert "    AND (TRUE OR campaign IN (NULL))\n" in rendered.sql
    assert "WHERE t.impressions >= 100\n  AND t.clicks / NULLIF(t.impressions, 0) >= 0\n" in (
        rendered.sql
    )


def test_campaign_performance_template_checks_clean():
    check = check_template(CAMPAIGN_PERFORMANCE_SQL, CAMPAIGN_PERFORMANCE_DEFINITIONS)
    assert check.ok
    assert check.undefined == () and check.unused == ()
    assert check.issues == ()


ASIN_CONVERSIONS_SQL = """\
SELECT
  tracked_asin,
  SUM(purchases) AS purchases,
  SUM(units_sold) AS units,
  SUM(product_sales) AS sales,
  SUM(CASE WHEN new_to_brand THEN product_sales ELSE 0 END) AS ntb_sales
FROM amazon_attributed_events_by_conversion_time
WHERE conversion_event_dt >= '{{start_date}}T00:00:00'
  AND conversion_event_dt < '{{end_date}}T00:00:00'
  AND tracked_asin IN ({{asins}})
  AND new_to_brand = {{new_to_brand_only}} OR NOT {{new_to_brand_only}}
GROUP BY tracked_asin
HAVING SUM(purchases) >= {{min_purchases}}
ORDER BY sales DESC
LIMIT {{limit}}
"""

ASIN_CONVERSIONS_DEFINITIONS = [
    {"name": "start_date", "type": "date", "default": "today-30d"},
    {"name": "end_date", "type": "relative_date", "default": "today-14d"},
    {"name": "asins", "type": "asin_list", "label": "ASINs", "max_items": 2000},
    {"name": "new_to_brand_only", "type": "boolean", "default": False},
    {"name": "min_purchases", "type": "integer", "min": 0, "default": 1},
    {"name": "limit", "type": "integer", "min": 1, "max": 10000, "default": 500},
]


def test_asin_conversions_with_an_asin_list_in_filter():
    rendered = render_sql(
        sql=ASIN_CONVERSIONS_SQL,
        definitions=ASIN_CONVERSIONS_DEFINITIONS,
        values={
            "start_date": "2026-10-01",
            "asins": "b0abc12345\nB0XYZ98765, 0123456789\nB0ABC12345",
            "new_to_brand_only": "true",
        },
        today=TODAY,
    )
    assert (
        rendered.sql
        == """\
SELECT
  tracked_asin,
  SUM(purchases) AS purchases,
  SUM(units_sold) AS units,
  SUM(product_sales) AS sales,
  SUM(CASE WHEN new_to_brand THEN product_sales ELSE 0 END) AS ntb_sales
FROM amazon_attributed_events_by_conversion_time
WHERE conversion_event_dt >= '2026-10-01T00:00:00'
  AND conversion_event_dt < '2026-11-09T00:00:00'
  AND tracked_asin IN ('B0ABC12345', 'B0XYZ98765', '0123456789')
  AND new_to_brand = TRUE OR NOT TRUE
GROUP BY tracked_asin
HAVING SUM(purchases) >= 1
ORDER BY sales DESC
LIMIT 500
"""
    )


def test_asin_conversions_reports_each_bad_asin_and_a_missing_list():
    with pytest.raises(ParameterErrors) as caught:
        render_sql(
            sql=ASIN_CONVERSIONS_SQL,
            definitions=ASIN_CONVERSIONS_DEFINITIONS,
            values={"asins": ["B0ABC12345", "B0ABC1234", "'); DROP TABLE x; --"], "limit": 0},
            today=TODAY,
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("asins[1]", "invalid_asin"),
        ("asins[2]", "invalid_asin"),
        ("limit", "out_of_range"),
    ]


SEARCH_TERMS_SQL = """\
/* Search-term performance for sponsored products. */
SELECT
  customer_search_term,
  match_type,
  SUM(clicks) AS clicks,
  SUM(spend) / 100000000 AS spend_usd,
  SUM(impressions) AS impressions
FROM sponsored_ads_traffic
WHERE ad_product_type = 'sponsored_products'
  AND event_dt >= {{since}}
  AND LOWER(customer_search_term) LIKE LOWER('%{{term}}%')
  AND match_type = {{match_type}}
GROUP BY 1, 2
HAVING SUM(impressions) >= {{min_impressions}}
ORDER BY clicks DESC
"""

SEARCH_TERMS_DEFINITIONS = [
    {"name": "since", "type": "datetime", "default": "today-30d"},
    {"name": "term", "type": "string", "max_length": 200, "required": False},
    {
        "name": "match_type",
        "type": "enum",
        "options": ["BROAD", "PHRASE", "EXACT"],
        "default": "EXACT",
    },
    {"name": "min_impressions", "type": "integer", "min": 0, "default": 100},
]


def test_search_terms_with_like_and_a_hostile_term():
    rendered = render_sql(
        sql=SEARCH_TERMS_SQL,
        definitions=SEARCH_TERMS_DEFINITIONS,
        values={
            "since": "2026-10-01T06:00:00Z",
            "term": "men's shoes'); DROP TABLE x; --",
            "match_type": "phrase",
            "min_impressions": 250,
        },
        today=TODAY,
    )
    assert (
        rendered.sql
        == """\
/* Search-term performance for sponsored products. */
SELECT
  customer_search_term,
  match_type,
  SUM(clicks) AS clicks,
  SUM(spend) / 100000000 AS spend_usd,
  SUM(impressions) AS impressions
FROM sponsored_ads_traffic
WHERE ad_product_type = 'sponsored_products'
  AND event_dt >= '2026-10-01T06:00:00'
  AND LOWER(customer_search_term) LIKE LOWER('%men''s shoes''); DROP TABLE x; --%')
  AND match_type = 'PHRASE'
GROUP BY 1, 2
HAVING SUM(impressions) >= 250
ORDER BY clicks DESC
"""
    )
    (statement,) = sqlglot.parse(rendered.sql)
    like = statement.find(sqlglot.exp.Like)
    assert like.expression.this.this == "%men's shoes'); DROP TABLE x; --%"


def test_search_terms_without_a_term_matches_every_term():
    rendered = render_sql(
        sql=SEARCH_TERMS_SQL, definitions=SEARCH_TERMS_DEFINITIONS, values={}, today=TODAY
    )
    assert "  AND event_dt >= '2026-10-24T00:00:00'\n" in rendered.sql
    assert "LIKE LOWER('%%')" in rendered.sql
    assert "  AND match_type = 'EXACT'\n" in rendered.sql
