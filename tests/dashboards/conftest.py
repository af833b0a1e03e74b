import pytest

from tests.dashboards.demo import build_demo_dashboard, demo_templates


@pytest.fixture
def demo_dashboards(catalogue, instance, analyst):
    """One dashboard per catalogue template on the analyst's instance: [(configuration, cards)]."""
    return [
        build_demo_dashboard(template=template, instance=instance, owner=analyst)
        for template in demo_templates(catalogue)
    ]


@pytest.fixture
def run_export_tasks(django_capture_on_commit_callbacks, monkeypatch):
    """Export builds queued on commit run in this process (the worker's code, no broker)."""
    from dashboards.exports import services, tasks

    monkeypatch.setattr(tasks.build_export, "delay", lambda pk: services.build_export(export_pk=pk))
    return django_capture_on_commit_callbacks
