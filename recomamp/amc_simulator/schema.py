"""The tables the simulator models, as AMC publishes them: one column list per table, with the
DuckDB type, the unit and a description. This is the only place columns are declared: the
dataset is generated with exactly these columns (dataset._create), the window views read them
(data_rules) and `GET /_simulator/schema` serves them so the product can show analysts the
columns while they write a template.

Units, from AMC's instructional query on costs (checked against public material):
- DSP cost columns (`impression_cost`, `total_cost`, `click_cost`) are in MILLICENTS: divide by
  100,000 for dollars. The DSP fee columns (`supply_cost`, `platform_fee`) are in microcents.
- Sponsored ads `spend` is in MICROCENTS: divide by 100,000,000 for dollars.
- Sales columns (`*_sales`) are in the currency itself (dollars here).
Times: a column ending in `_utc` is UTC; the same name without `_utc` is in the advertiser's
time zone (America/New_York for every simulated advertiser).

AMC's tables have many more columns than these; a query naming one we do not model fails to
compile with "column not found", as it would on AMC for a column that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

MILLICENTS = "millicents (divide by 100,000 for dollars)"
MICROCENTS = "microcents (divide by 100,000,000 for dollars)"
DOLLARS = "currency units (dollars)"
COUNT = "count"
UTC = "UTC"
LOCAL = "advertiser time zone (America/New_York)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    description: str
    unit: str | None = None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "unit": self.unit,
            "description": self.description,
        }


def _c(name: str, kind: str, description: str, unit: str | None = None) -> Column:
    return Column(name, kind, description, unit)


_CAMPAIGN = [
    _c("campaign", "VARCHAR", "Campaign name."),
    _c("campaign_id", "BIGINT", "Campaign ID."),
    _c(
        "campaign_id_string",
        "VARCHAR",
        "Campaign ID as a string; covers DSP and sponsored ads campaign objects.",
    ),
]

SPONSORED_ADS_TRAFFIC = [
    _c("impressions", "BIGINT", "1 for an impression event, else 0.", COUNT),
    _c("clicks", "BIGINT", "1 for a click event, else 0.", COUNT),
    _c(
        "spend",
        "BIGINT",
        "Cost of the event. CPC campaigns carry it on clicks, vCPM campaigns on impressions.",
        MICROCENTS,
    ),
    _c(
        "ad_product_type",
        "VARCHAR",
        "sponsored_products, sponsored_brands, sponsored_display or sponsored_television.",
    ),
    _c("advertiser", "VARCHAR", "Advertiser name."),
    *_CAMPAIGN,
    _c("ad_group", "VARCHAR", "Ad group name."),
    _c("line_item_price_type", "VARCHAR", "How the campaign is bought: CPC or VCPM."),
    _c("creative_asin", "VARCHAR", "ASIN of the advertised product."),
    _c("customer_search_term", "VARCHAR", "What the shopper searched (search placements)."),
    _c("targeting", "VARCHAR", "Keyword or targeting expression of the ad group."),
    _c("match_type", "VARCHAR", "BROAD, PHRASE, EXACT, or NULL for non-keyword targeting."),
    _c("placement_type", "VARCHAR", "Where the ad was shown (e.g. Top of Search on-Amazon)."),
    _c("event_date", "DATE", "Date of the event.", LOCAL),
    _c("event_dt", "TIMESTAMP", "Timestamp of the event.", LOCAL),
    _c("event_date_utc", "DATE", "Date of the event.", UTC),
    _c("event_dt_utc", "TIMESTAMP", "Timestamp of the event.", UTC),
    _c("event_hour", "INTEGER", "Hour of the day of the event (0-23).", LOCAL),
    _c("user_id", "VARCHAR", "Pseudonymous shopper ID; may not be selected in the output."),
    _c("marketplace_name", "VARCHAR", "Marketplace, e.g. AMAZON.COM."),
    _c("currency_iso_code", "VARCHAR", "Currency of spend, e.g. USD."),
    _c("currency_name", "VARCHAR", "Currency name, e.g. US Dollar."),
]

DSP_IMPRESSIONS = [
    _c("impressions", "BIGINT", "Count of impressions (1 per row).", COUNT),
    _c(
        "impression_cost",
        "BIGINT",
        "Cost of the impression, fees included (supply_cost + platform_fee).",
        MILLICENTS,
    ),
    _c("total_cost", "BIGINT", "Impression cost plus the agency fee.", MILLICENTS),
    _c("supply_cost", "BIGINT", "What Amazon DSP paid the publisher.", MICROCENTS),
    _c("platform_fee", "BIGINT", "Amazon DSP's technology fee.", MICROCENTS),
    _c("advertiser", "VARCHAR", "Advertiser name."),
    _c("advertiser_id", "BIGINT", "Advertiser ID."),
    *_CAMPAIGN,
    _c("line_item", "VARCHAR", "Line item name."),
    _c("line_item_id", "BIGINT", "Line item ID."),
    _c("creative", "VARCHAR", "Creative name."),
    _c("creative_id", "BIGINT", "Creative ID."),
    _c("creative_type", "VARCHAR", "Display or Video."),
    _c("device_type", "VARCHAR", "Phone, PC, TV or Tablet."),
    _c("operating_system", "VARCHAR", "Operating system of the device."),
    _c("environment_type", "VARCHAR", "Web or App."),
    _c("impression_date", "DATE", "Date of the impression.", LOCAL),
    _c("impression_dt", "TIMESTAMP", "Timestamp of the impression.", LOCAL),
    _c("impression_date_utc", "DATE", "Date of the impression.", UTC),
    _c("impression_dt_utc", "TIMESTAMP", "Timestamp of the impression.", UTC),
    _c("impression_hour", "INTEGER", "Hour of the day of the impression (0-23).", LOCAL),
    _c("user_id", "VARCHAR", "Pseudonymous shopper ID; may not be selected in the output."),
    _c("iso_country_code", "VARCHAR", "Country of the impression, e.g. US."),
    _c("supply_source", "VARCHAR", "Inventory source."),
    _c("currency_iso_code", "VARCHAR", "Currency of the cost columns, e.g. USD."),
    _c("currency_name", "VARCHAR", "Currency name, e.g. US Dollar."),
]

DSP_CLICKS = [
    _c("clicks", "BIGINT", "Count of clicks (1 per row).", COUNT),
    _c("click_cost", "BIGINT", "Cost of the click (0 for CPM-bought line items).", MILLICENTS),
    *_CAMPAIGN,
    _c("line_item", "VARCHAR", "Line item name."),
    _c("line_item_id", "BIGINT", "Line item ID."),
    _c("click_date", "DATE", "Date of the click.", LOCAL),
    _c("click_dt", "TIMESTAMP", "Timestamp of the click.", LOCAL),
    _c("click_dt_utc", "TIMESTAMP", "Timestamp of the click.", UTC),
    _c("impression_dt", "TIMESTAMP", "Timestamp of the impression clicked.", LOCAL),
    _c("user_id", "VARCHAR", "Pseudonymous shopper ID; may not be selected in the output."),
    _c("device_type", "VARCHAR", "Phone, PC, TV or Tablet."),
]

ATTRIBUTED_EVENTS = [
    _c(
        "ad_product_type",
        "VARCHAR",
        "Ad product of the traffic event; NULL for Amazon DSP.",
    ),
    _c("advertiser", "VARCHAR", "Advertiser name."),
    *_CAMPAIGN,
    _c("line_item", "VARCHAR", "Line item (DSP) or ad group (sponsored ads) name."),
    _c("line_item_id", "BIGINT", "Line item or ad group ID."),
    _c("tracked_asin", "VARCHAR", "Promoted or brand halo ASIN of the conversion."),
    _c("tracked_item", "VARCHAR", "Tracked item (the ASIN here)."),
    _c("conversion_event_category", "VARCHAR", "website or purchase."),
    _c("conversion_event_subtype", "VARCHAR", "detailPageView, shoppingCart or order."),
    _c("conversion_event_date", "DATE", "Date of the conversion.", LOCAL),
    _c("conversion_event_dt", "TIMESTAMP", "Timestamp of the conversion.", LOCAL),
    _c("conversion_event_dt_utc", "TIMESTAMP", "Timestamp of the conversion.", UTC),
    _c("traffic_event_date", "DATE", "Date of the attributed ad view or click.", LOCAL),
    _c("traffic_event_dt", "TIMESTAMP", "Timestamp of the attributed ad view or click.", LOCAL),
    _c(
        "traffic_event_dt_utc",
        "TIMESTAMP",
        "Timestamp of the attributed ad view or click.",
        UTC,
    ),
    _c("traffic_event_subtype", "VARCHAR", "AD_CLICK or AD_IMP (an ad view)."),
    _c("impressions", "BIGINT", "1 if the conversion is attributed to an ad view.", COUNT),
    _c("clicks", "BIGINT", "1 if the conversion is attributed to an ad click.", COUNT),
    _c("conversions", "BIGINT", "Always 1: one conversion event per row.", COUNT),
    _c("purchases", "BIGINT", "Purchases of promoted ASINs.", COUNT),
    _c("units_sold", "BIGINT", "Units of promoted ASINs purchased.", COUNT),
    _c("product_sales", "DECIMAL(12,2)", "Sales of promoted ASINs.", DOLLARS),
    _c("total_purchases", "BIGINT", "purchases + brand_halo_purchases.", COUNT),
    _c("total_units_sold", "BIGINT", "units_sold + brand_halo_units_sold.", COUNT),
    _c(
        "total_product_sales",
        "DECIMAL(12,2)",
        "product_sales + brand_halo_product_sales.",
        DOLLARS,
    ),
    _c("new_to_brand", "BOOLEAN", "The shopper had not bought the brand in the past year."),
    _c(
        "new_to_brand_product_sales",
        "DECIMAL(12,2)",
        "Sales of promoted ASINs to new-to-brand shoppers.",
        DOLLARS,
    ),
    _c(
        "new_to_brand_total_product_sales",
        "DECIMAL(12,2)",
        "Sales of promoted and brand halo ASINs to new-to-brand shoppers.",
        DOLLARS,
    ),
    _c("detail_page_view", "BIGINT", "Detail page views of advertised ASINs.", COUNT),
    _c("add_to_cart", "BIGINT", "Add-to-cart events of promoted ASINs.", COUNT),
    _c("brand_halo_purchases", "BIGINT", "Purchases of other ASINs of the brand.", COUNT),
    _c("brand_halo_units_sold", "BIGINT", "Units of other ASINs of the brand.", COUNT),
    _c(
        "brand_halo_product_sales",
        "DECIMAL(12,2)",
        "Sales of other ASINs of the brand.",
        DOLLARS,
    ),
    _c("user_id", "VARCHAR", "Pseudonymous shopper ID; may not be selected in the output."),
]

CONVERSIONS = [
    _c("conversion_id", "VARCHAR", "Unique ID of the conversion event."),
    _c("event_type", "VARCHAR", "Type of the conversion event."),
    _c("event_category", "VARCHAR", "purchase or website."),
    _c("event_subtype", "VARCHAR", "detailPageView, shoppingCart or order."),
    _c("event_date", "DATE", "Date of the conversion.", LOCAL),
    _c("event_dt", "TIMESTAMP", "Timestamp of the conversion.", LOCAL),
    _c("event_dt_utc", "TIMESTAMP", "Timestamp of the conversion.", UTC),
    _c("event_date_utc", "DATE", "Date of the conversion.", UTC),
    _c("tracked_asin", "VARCHAR", "ASIN of the conversion."),
    _c("tracked_item", "VARCHAR", "Tracked item (the ASIN here)."),
    _c("total_product_sales", "DECIMAL(12,2)", "Sales of the purchase.", DOLLARS),
    _c("total_units_sold", "BIGINT", "Units purchased.", COUNT),
    _c("new_to_brand", "BOOLEAN", "The shopper had not bought the brand in the past year."),
    _c("conversions", "BIGINT", "Always 1: one conversion event per row.", COUNT),
    _c("user_id", "VARCHAR", "Pseudonymous shopper ID; may not be selected in the output."),
    _c("marketplace_name", "VARCHAR", "Marketplace, e.g. AMAZON.COM."),
]

TABLE_COLUMNS: dict[str, list[Column]] = {
    "sponsored_ads_traffic": SPONSORED_ADS_TRAFFIC,
    "dsp_impressions": DSP_IMPRESSIONS,
    "dsp_clicks": DSP_CLICKS,
    "amazon_attributed_events_by_traffic_time": ATTRIBUTED_EVENTS,
    "amazon_attributed_events_by_conversion_time": ATTRIBUTED_EVENTS,
    "conversions": CONVERSIONS,
}

TABLE_DESCRIPTIONS: dict[str, str] = {
    "sponsored_ads_traffic": "Sponsored ads impressions and clicks, one row per event.",
    "dsp_impressions": "Amazon DSP impressions, one row per impression.",
    "dsp_clicks": "Amazon DSP clicks, one row per click.",
    "amazon_attributed_events_by_traffic_time": (
        "Conversions attributed to ad traffic, one row per conversion; the query's time window "
        "applies to the traffic event (conversions up to 14 days later are included)."
    ),
    "amazon_attributed_events_by_conversion_time": (
        "The same rows as amazon_attributed_events_by_traffic_time; the time window applies to "
        "the conversion event (traffic up to 14 days earlier is included)."
    ),
    "conversions": "All conversions of the advertiser's products, attributed or not.",
}


def as_api() -> dict:
    """The body of GET /_simulator/schema."""
    return {
        "tables": [
            {
                "name": table,
                "description": TABLE_DESCRIPTIONS[table],
                "columns": [column.as_dict() for column in columns],
            }
            for table, columns in TABLE_COLUMNS.items()
        ],
        "units": {
            "millicents": "divide by 100,000 for dollars (DSP impression_cost, total_cost, "
            "click_cost)",
            "microcents": "divide by 100,000,000 for dollars (sponsored ads spend; DSP "
            "supply_cost, platform_fee)",
        },
    }
