"""What people do to a dashboard: favorite it (anyone who sees it), refresh or rebuild it
(analysts and admins of its instance, not viewers)."""

from __future__ import annotations

from dashboards.models import Dashboard, DashboardFavorite, ReportConfiguration
from dashboards.selectors import can_rebuild
from dashboards.services.building import BuildResult, build_dashboard
from dashboards.services.refresh import request_refresh
from recomamp.errors import Conflict, PermissionDenied


def add_favorite(*, user, dashboard: Dashboard) -> DashboardFavorite:
    """Idempotent: favoriting twice keeps one favorite."""
    favorite, _ = DashboardFavorite.objects.get_or_create(dashboard=dashboard, user=user)
    return favorite


def remove_favorite(*, user, dashboard: Dashboard) -> None:
    DashboardFavorite.objects.filter(dashboard=dashboard, user=user).delete()


def _require_rebuild(user, dashboard: Dashboard) -> None:
    if not can_rebuild(user=user, dashboard=dashboard):
        raise PermissionDenied("Your access to this instance is read-only.")


def refresh(*, user, dashboard: Dashboard) -> bool:
    """Queue a refresh now (coalesced with one already queued); True if a task was queued."""
    _require_rebuild(user, dashboard)
    return request_refresh(dashboard=dashboard)


def rebuild(*, user, dashboard: Dashboard, force: bool = False) -> BuildResult:
    """Rebuild the views from the template (a customised layout only with `force`)."""
    _require_rebuild(user, dashboard)
    configuration = ReportConfiguration.objects.select_related("report").get(dashboard=dashboard)
    if configuration.report is None:
        raise Conflict("This dashboard has no report to rebuild it from.")
    result = build_dashboard(report=configuration.report, force=force)
    request_refresh(dashboard=dashboard)
    return result
