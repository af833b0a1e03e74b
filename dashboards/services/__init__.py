"""Writes for dashboards: building them from templates, refreshing their data, favorites."""
