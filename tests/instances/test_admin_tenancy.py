"""The admin enforces the same tenancy and roles as the API, tried as an attacker would.

Staff users in the `Analysts` group (as `seed_demo` makes them) with a viewer, an analyst
(editor) or an admin role on one client's instance, against another client's data, over the
real admin URLs with Django's test client. Each test performs the attack and shows it fails.
"""

import contextlib
import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from dashboards.models import Dashboard, ReportConfiguration, ReportExport
from instances.models import AccessRole, InstanceAccess
from instances.services import ensure_analysts_group, ensure_operations_group
from recomamp.errors import ValidationFailed
from reports.models import ReportBuilderAudit, ReportDefinition, ReportExecution
from reports.services.reports import update_report
from schedules.models import ReportSchedule
from tests.factories.backfills import BackfillFactory, BackfillSegmentFactory
from tests.factories.dashboards import (
    DashboardFactory,
    DashboardViewFactory,
    ReportExportFactory,
)
from tests.factories.instances import (
    AmcAccountFactory,
    AmcInstanceFactory,
    InstanceAccessFactory,
    UserFactory,
)
from tests.factories.reports import ReportDefinitionFactory, ReportExecutionFactory
from tests.factories.schedules import ReportScheduleFactory

pytestmark = pytest.mark.django_db

REFRESH_TOKEN = "Atzr|IwEBIOurOwnRefreshToken-0123456789"
CLIENT_SECRET = "amzn1.oa2-cs.v1.our-own-client-secret-9876"
FOREIGN_TOKEN = "Atzr|IwEBIForeignRefreshToken-abcdef"
FOREIGN_SECRET = "amzn1.oa2-cs.v1.foreign-client-secret-fedcba"
SECRETS = [REFRESH_TOKEN, CLIENT_SECRET, FOREIGN_TOKEN, FOREIGN_SECRET]


@pytest.fixture
def world(catalogue):
    """Our client (account, instance, report, schedule, backfill, dashboard) and a foreign one,
    each name unique so that any leak shows in the page text."""
    ours = AmcInstanceFactory(
        instance_name="Ours Home US",
        instance_id="amcourshome01",
        account=AmcAccountFactory(
            name="Ours Account",
            lwa_refresh_token=REFRESH_TOKEN,
            lwa_client_secret=CLIENT_SECRET,
        ),
    )
    second = AmcInstanceFactory(instance_name="Ours Second US", account=ours.account)
    foreign = AmcInstanceFactory(
        instance_name="Zeta Foreign Instance",
        instance_id="amczetaforeign",
        account=AmcAccountFactory(
            name="Zeta Foreign Account",
            account_id="ZETAENTITY",
            lwa_refresh_token=FOREIGN_TOKEN,
            lwa_client_secret=FOREIGN_SECRET,
        ),
    )
    template = catalogue["campaign-performance-daily"]
    owner = UserFactory(username="zeta-owner")
    foreign_report = ReportDefinitionFactory(
        name="Zeta Foreign Report", instance=foreign, template=template, owner=owner
    )
    foreign_dashboard = DashboardFactory(name="Zeta Foreign Dashboard", instance=foreign)
    DashboardViewFactory(
        report_configuration__dashboard=foreign_dashboard, view_name="Zeta Foreign View"
    )
    ReportScheduleFactory(report=foreign_report)
    ReportExecutionFactory(report=foreign_report)
    BackfillSegmentFactory(backfill=BackfillFactory(report=foreign_report))
    InstanceAccessFactory(instance=foreign, user=owner, role=AccessRole.ADMIN)

    report = ReportDefinitionFactory(
        name="Ours Daily Report",
        instance=ours,
        template=template,
        owner=UserFactory(),
        parameters={"min_impressions": 10},
    )
    ReportScheduleFactory(report=report)
    ReportExecutionFactory(report=report)
    BackfillSegmentFactory(backfill=BackfillFactory(report=report))
    DashboardViewFactory(
        report_configuration__dashboard=DashboardFactory(name="Ours Dashboard", instance=ours)
    )
    return {
        "ours": ours,
        "second": second,
        "foreign": foreign,
        "report": report,
        "foreign_report": foreign_report,
        "template": template,
        "foreign_names": [
            "Zeta Foreign Instance",
            "amczetaforeign",
            "Zeta Foreign Account",
            "ZETAENTITY",
            "Zeta Foreign Report",
            "Zeta Foreign Dashboard",
            "Zeta Foreign View",
            "zeta-owner",
        ],
    }


def staff(role: str | None, instance, *, username: str) -> Client:
    """A staff analyst as seed_demo makes them, with `role` on `instance`; a logged-in client."""
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(ensure_analysts_group())
    if role:
        InstanceAccessFactory(user=user, instance=instance, role=role)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def viewer(world):
    return staff(AccessRole.VIEWER, world["ours"], username="vera-viewer")


@pytest.fixture
def editor(world):
    return staff(AccessRole.ANALYST, world["ours"], username="eddie-editor")


@pytest.fixture
def instance_admin(world):
    return staff(AccessRole.ADMIN, world["ours"], username="ada-admin")


@pytest.fixture
def superuser(world):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


# -- reading the admin ------------------------------------------------------------------------


class FormFields(HTMLParser):
    """The values a browser would submit for the page's main form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind in ("submit", "button", "file"):
                return
            self.data.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea:
                self.data[self._textarea][0] = self.data[self._textarea][0].lstrip("\n")
            self._textarea = None


def form_data(client: Client, url: str) -> dict:
    page = client.get(url)
    assert page.status_code == 200, url
    parser = FormFields()
    parser.feed(page.content.decode())
    return {name: values if len(values) != 1 else values[0] for name, values in parser.data.items()}


def sample_rows(model, world) -> list:
    """A few rows of the model: ours and the other tenant's for instance-scoped models."""
    model_admin = admin.site._registry[model]
    rows = model._default_manager.order_by()
    path = getattr(model_admin, "instance_path", None)
    if path is None:
        return list(rows.values_list("pk", flat=True)[:3])
    prefix = f"{path}__" if path else ""
    return [
        pk
        for instance in (world["ours"], world["foreign"])
        for pk in rows.filter(**{f"{prefix}pk": instance.pk}).values_list("pk", flat=True)[:2]
    ]


def admin_urls(world) -> list[str]:
    """Every page of the admin a user can reach: index, app indexes, each model's changelist
    and add form, the change, history and delete pages of sample rows (ours and foreign), and
    the autocomplete of every relation of every model, whatever its admin declares."""
    urls = ["/admin/"]
    for model in admin.site._registry:
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}"
        urls += [f"/admin/{opts.app_label}/", reverse(f"{name}_changelist")]
        urls.append(reverse(f"{name}_add"))
        for pk in sample_rows(model, world):
            for view in ("change", "history", "delete"):
                with contextlib.suppress(NoReverseMatch):
                    urls.append(reverse(f"{name}_{view}", args=[pk]))
        for field in opts.get_fields():
            if field.is_relation and field.concrete and field.related_model is not None:
                urls.append(
                    f"/admin/autocomplete/?app_label={opts.app_label}"
                    f"&model_name={opts.model_name}&field_name={field.name}&term="
                )
    return sorted(set(urls))


def crawl(client: Client, world) -> dict[str, str]:
    pages = {}
    for url in admin_urls(world):
        response = client.get(url)
        assert response.status_code in (200, 302, 403, 404), (url, response.status_code)
        pages[url] = response.content.decode()
    return pages


# -- no secret, no foreign name ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer", "editor", "instance_admin"])
def test_no_admin_page_shows_a_secret_or_another_tenants_names(request, world, who):
    client = request.getfixturevalue(who)
    pages = crawl(client, world)
    assert "Ours Daily Report" in pages["/admin/reports/reportdefinition/"]
    for url, text in pages.items():
        for leak in [*SECRETS, *world["foreign_names"]]:
            assert leak not in text, f"{leak!r} on {url}"


def test_no_admin_page_shows_a_stored_secret_to_a_superuser(world, superuser):
    pages = crawl(superuser, world)
    assert "Zeta Foreign Account" in pages["/admin/instances/amcaccount/"]
    for url, text in pages.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} on {url}"


def test_changelist_filters_offer_only_the_users_instances(world, editor):
    page = editor.get("/admin/reports/reportdefinition/").content.decode()
    assert "Ours Home US" in page
    assert "Zeta Foreign Instance" not in page
    filters = editor.get("/admin/instances/amcinstance/").content.decode()
    assert "Ours Account" in filters
    assert "Zeta Foreign Account" not in filters


def test_foreign_rows_cannot_be_opened_even_by_their_id(world, editor):
    for url in [
        f"/admin/reports/reportdefinition/{world['foreign_report'].pk}/change/",
        f"/admin/instances/amcinstance/{world['foreign'].pk}/change/",
    ]:
        assert editor.get(url).status_code in (302, 404)


# -- roles on reports -------------------------------------------------------------------------


def test_a_viewer_cannot_change_add_delete_or_run_a_report(world, viewer):
    report = world["report"]
    url = f"/admin/reports/reportdefinition/{report.pk}/change/"
    page = viewer.get(url)
    assert page.status_code == 200  # reads it
    assert 'name="_save"' not in page.content.decode()
    assert viewer.post(url, {"name": "Renamed by a viewer"}).status_code == 403
    delete = viewer.post(f"/admin/reports/reportdefinition/{report.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    viewer.post(
        "/admin/reports/reportdefinition/",
        {"action": "run_now", "_selected_action": [report.pk]},
    )
    viewer.post(
        "/admin/reports/reportdefinition/",
        {"action": "delete_selected", "_selected_action": [report.pk], "post": "yes"},
    )
    report.refresh_from_db()
    assert report.name == "Ours Daily Report"
    assert ReportExecution.objects.filter(report=report).count() == 1  # the factory's only


def test_a_viewer_cannot_bulk_delete_through_a_role_held_elsewhere(world, viewer):
    """Editor on a second instance, viewer on ours: the model permission is not enough."""
    InstanceAccessFactory(user=viewer.user, instance=world["second"], role=AccessRole.ANALYST)
    report = world["report"]
    response = viewer.post(
        "/admin/reports/reportdefinition/",
        {"action": "delete_selected", "_selected_action": [report.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert ReportDefinition.objects.filter(pk=report.pk).exists()


def test_an_editor_changes_a_report_through_the_service(world, editor):
    report = world["report"]
    url = f"/admin/reports/reportdefinition/{report.pk}/change/"
    data = form_data(editor, url)
    data.update({"name": "Ours Daily Report v2", "parameters__min_impressions": "50"})
    response = editor.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    report.refresh_from_db()
    assert report.name == "Ours Daily Report v2"
    assert report.parameters == {"min_impressions": 50}
    assert ReportBuilderAudit.objects.filter(report=report, action="report changed").exists()


def test_an_editor_cannot_move_a_report_to_another_instance(world, editor):
    InstanceAccessFactory(user=editor.user, instance=world["second"], role=AccessRole.ANALYST)
    report = world["report"]
    url = f"/admin/reports/reportdefinition/{report.pk}/change/"
    data = form_data(editor, url)
    data.update(instance=str(world["second"].pk), template=str(world["template"].pk))
    editor.post(url, data)
    report.refresh_from_db()
    assert report.instance == world["ours"]
    with pytest.raises(ValidationFailed) as refused:
        update_report(report=report, user=editor.user, instance=world["second"])
    assert refused.value.errors[0].field == "instance"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"parameters__min_impressions": "lots"}, "parameters"),
        ({"parameters__min_impressions": "-5"}, "parameters"),
        ({"parameters__ad_product": "television"}, "parameters"),
        ({"lookback_days": "0"}, "lookback_days"),
        ({"lookback_days": "400"}, "lookback_days"),
    ],
)
def test_no_report_is_saved_that_the_engine_cannot_run(world, editor, change, field):
    report = world["report"]
    url = f"/admin/reports/reportdefinition/{report.pk}/change/"
    before = (report.timezone, report.parameters, report.lookback_days, report.updated_at)
    response = editor.post(url, {**form_data(editor, url), **change})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    report.refresh_from_db()
    assert (report.timezone, report.parameters, report.lookback_days, report.updated_at) == before


def test_the_schedule_form_offers_only_reports_the_user_may_write_to(world, viewer):
    """Viewer on ours, editor on the second: a schedule can be added to the second only."""
    InstanceAccessFactory(user=viewer.user, instance=world["second"], role=AccessRole.ANALYST)
    writable = ReportDefinitionFactory(
        name="Second Instance Report", instance=world["second"], template=world["template"]
    )
    page = viewer.get("/admin/schedules/reportschedule/add/").content.decode()
    assert "Second Instance Report" in page
    assert "Ours Daily Report" not in page
    response = viewer.post(
        "/admin/schedules/reportschedule/add/",
        {
            "report": str(world["report"].pk),
            "schedule_type": "custom",
            "cron_expression": "0 6 * * *",
            "timezone": "UTC",
            "schedule_config": "",
            "default_parameters": "{}",
        },
    )
    assert response.status_code == 200
    assert "report" in response.context["adminform"].form.errors
    assert ReportSchedule.objects.filter(report=world["report"]).count() == 1
    assert not ReportSchedule.objects.filter(report=writable).exists()


def test_a_viewer_cannot_pause_a_schedule_or_cancel_a_backfill(world, viewer):
    schedule = ReportSchedule.objects.get(report=world["report"])
    viewer.post(
        "/admin/schedules/reportschedule/",
        {"action": "pause", "_selected_action": [schedule.pk]},
    )
    schedule.refresh_from_db()
    assert not schedule.is_paused
    url = f"/admin/schedules/reportschedule/{schedule.pk}/change/"
    assert viewer.post(url, {"cron_expression": "* * * * *"}).status_code == 403
    collection = world["report"].backfills.get()
    viewer.post(
        "/admin/backfills/backfill/",
        {"action": "cancel", "_selected_action": [collection.pk]},
    )
    collection.refresh_from_db()
    assert collection.status != "cancelled"


def test_an_editor_pauses_a_schedule(world, editor):
    schedule = ReportSchedule.objects.get(report=world["report"])
    editor.post(
        "/admin/schedules/reportschedule/",
        {"action": "pause", "_selected_action": [schedule.pk]},
    )
    schedule.refresh_from_db()
    assert schedule.is_paused


def test_no_one_edits_executions_segments_or_slots_by_hand(world, editor):
    execution = ReportExecution.objects.get(report=world["report"])
    url = f"/admin/reports/reportexecution/{execution.pk}/change/"
    assert editor.post(url, {"status": "completed"}).status_code == 403
    assert (
        editor.post(
            f"/admin/reports/reportexecution/{execution.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    execution.refresh_from_db()
    assert execution.status == "pending"


# -- shared objects ---------------------------------------------------------------------------


def test_analysts_cannot_change_templates_or_beat_tasks(world, editor, instance_admin):
    template = world["template"]
    task = PeriodicTask.objects.create(
        name="Some task",
        task="reports.tasks.sweep",
        interval=IntervalSchedule.objects.create(every=10, period="seconds"),
    )
    for client in (editor, instance_admin):
        assert client.get("/admin/reports/querytemplate/").status_code == 200  # may read
        url = f"/admin/reports/querytemplate/{template.pk}/change/"
        assert client.post(url, {"name": "Hijacked", "sql_query": "SELECT 1"}).status_code == 403
        assert client.get("/admin/reports/querytemplate/add/").status_code == 403
        assert (
            client.post(
                f"/admin/reports/querytemplate/{template.pk}/delete/", {"post": "yes"}
            ).status_code
            == 403
        )
        assert client.get("/admin/django_celery_beat/periodictask/").status_code == 403
        task_url = f"/admin/django_celery_beat/periodictask/{task.pk}/change/"
        assert client.post(task_url, {"name": "x", "enabled": ""}).status_code == 403
    template.refresh_from_db()
    task.refresh_from_db()
    assert template.name != "Hijacked"
    assert task.enabled


def test_the_operations_group_changes_the_template_catalogue(world):
    operator = staff(None, world["ours"], username="otto-operator")
    operator.user.groups.add(ensure_operations_group())
    template = world["template"]
    url = f"/admin/reports/querytemplate/{template.pk}/change/"
    data = {**form_data(operator, url), "description": "Reviewed by operations"}
    assert operator.post(url, data).status_code == 302
    template.refresh_from_db()
    assert template.description == "Reviewed by operations"
    assert operator.get("/admin/django_celery_beat/periodictask/").status_code == 200


def test_the_analysts_group_holds_no_instances_beat_or_template_write_permission():
    permissions = set(
        ensure_analysts_group().permissions.values_list("content_type__app_label", "codename")
    )
    assert ("reports", "view_querytemplate") in permissions
    assert ("reports", "change_reportdefinition") in permissions
    for app, codename in permissions:
        assert app not in ("instances", "django_celery_beat"), codename
        assert codename not in ("add_querytemplate", "change_querytemplate", "delete_querytemplate")


# -- accounts and credentials -----------------------------------------------------------------


def test_analysts_cannot_see_or_change_accounts(world, viewer, editor, instance_admin):
    account = world["ours"].account
    for client in (viewer, editor, instance_admin):
        assert client.get("/admin/instances/amcaccount/").status_code == 403
        url = f"/admin/instances/amcaccount/{account.pk}/change/"
        assert client.get(url).status_code == 403
        assert (
            client.post(url, {"name": "x", "token_url": "https://evil.example"}).status_code == 403
        )
        assert (
            client.post(
                f"/admin/instances/amcinstance/{world['ours'].pk}/change/",
                {"instance_name": "x", "concurrency_cap": "50"},
            ).status_code
            == 403
        )
    account.refresh_from_db()
    assert account.name == "Ours Account"
    assert account.lwa_refresh_token == REFRESH_TOKEN


def test_secrets_are_write_only_even_for_superusers(world, superuser):
    account = world["ours"].account
    url = f"/admin/instances/amcaccount/{account.pk}/change/"
    page = superuser.get(url).content.decode()
    assert REFRESH_TOKEN not in page and CLIENT_SECRET not in page
    assert "Replace LWA refresh token" in page

    data = form_data(superuser, url)
    assert superuser.post(url, {**data, "name": "Ours Account renamed"}).status_code == 302
    account.refresh_from_db()
    assert account.name == "Ours Account renamed"
    assert account.lwa_refresh_token == REFRESH_TOKEN  # blank "replace" keeps it
    assert account.lwa_client_secret == CLIENT_SECRET

    data = form_data(superuser, url)
    data.update(replace_refresh_token="Atzr|rotated-token")
    assert superuser.post(url, data).status_code == 302
    account.refresh_from_db()
    assert account.lwa_refresh_token == "Atzr|rotated-token"


def test_an_account_manager_permission_opens_accounts(world):
    client = staff(None, world["ours"], username="manny-manager")
    assert client.get("/admin/instances/amcaccount/").status_code == 403
    client.user.user_permissions.add(Permission.objects.get(codename="manage_accounts"))
    assert client.get("/admin/instances/amcaccount/").status_code == 200


def test_an_account_cannot_be_pointed_at_a_foreign_token_host(world, superuser, settings):
    settings.AMC_SIMULATOR_URL = ""
    account = world["ours"].account
    url = f"/admin/instances/amcaccount/{account.pk}/change/"
    for field, value in [
        ("token_url", "https://collector.evil.example/token"),
        ("api_base_url", "http://127.0.0.1:6379"),
    ]:
        data = {**form_data(superuser, url), field: value}
        response = superuser.post(url, data)
        assert response.status_code == 200
        assert field in response.context["adminform"].form.errors
    account.refresh_from_db()
    assert account.token_url == "" and account.api_base_url == ""


def test_an_instance_with_an_unknown_timezone_is_not_saved(world, superuser):
    instance = world["ours"]
    url = f"/admin/instances/amcinstance/{instance.pk}/change/"
    response = superuser.post(url, {**form_data(superuser, url), "time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors
    instance.refresh_from_db()
    assert instance.time_zone == "UTC"


# -- access -----------------------------------------------------------------------------------


def test_nobody_raises_their_own_role(world, viewer, editor, instance_admin):
    ours = world["ours"]
    for client in (viewer, editor):
        own = InstanceAccess.objects.get(user=client.user, instance=ours)
        url = f"/admin/instances/instanceaccess/{own.pk}/change/"
        assert client.post(url, {"role": "admin"}).status_code == 403
        assert client.get("/admin/instances/instanceaccess/add/").status_code == 403
        client.post(
            "/admin/instances/instanceaccess/add/",
            {"username": client.user.username, "instance": str(ours.pk), "role": "admin"},
        )
        own.refresh_from_db()
        assert own.role != AccessRole.ADMIN
    # An instance admin cannot touch their own row either (nor give themselves another one).
    own = InstanceAccess.objects.get(user=instance_admin.user, instance=ours)
    url = f"/admin/instances/instanceaccess/{own.pk}/change/"
    assert instance_admin.post(url, {"role": "viewer"}).status_code == 403
    response = instance_admin.post(
        "/admin/instances/instanceaccess/add/",
        {
            "username": instance_admin.user.username,
            "instance": str(world["foreign"].pk),
            "role": "admin",
        },
    )
    assert response.status_code == 200
    assert not InstanceAccess.objects.filter(
        user=instance_admin.user, instance=world["foreign"]
    ).exists()


def test_only_an_instance_admin_manages_access_to_it(world, editor, instance_admin):
    newcomer = UserFactory(username="nina-newcomer")
    add = {"username": "nina-newcomer", "instance": str(world["ours"].pk), "role": "analyst"}
    editor.post("/admin/instances/instanceaccess/add/", add)
    assert not InstanceAccess.objects.filter(user=newcomer).exists()

    assert instance_admin.post("/admin/instances/instanceaccess/add/", add).status_code == 302
    access = InstanceAccess.objects.get(user=newcomer, instance=world["ours"])
    assert access.role == AccessRole.ANALYST

    editors_row = InstanceAccess.objects.get(user=editor.user)
    url = f"/admin/instances/instanceaccess/{editors_row.pk}/change/"
    assert instance_admin.post(url, {"role": "viewer"}).status_code == 302
    editors_row.refresh_from_db()
    assert editors_row.role == AccessRole.VIEWER

    foreign_row = InstanceAccess.objects.get(instance=world["foreign"])
    url = f"/admin/instances/instanceaccess/{foreign_row.pk}/change/"
    assert instance_admin.post(url, {"role": "viewer"}).status_code in (302, 404)
    foreign_row.refresh_from_db()
    assert foreign_row.role == AccessRole.ADMIN


def test_the_user_autocomplete_lists_no_one(world, instance_admin):
    response = instance_admin.get(
        "/admin/autocomplete/?app_label=instances&model_name=instanceaccess&field_name=user&term="
    )
    assert response.status_code == 403
    assert "zeta-owner" not in response.content.decode()


def test_instance_autocomplete_lists_only_the_users_instances(world, editor):
    response = editor.get(
        "/admin/autocomplete/?app_label=reports&model_name=reportdefinition"
        "&field_name=instance&term="
    )
    assert response.status_code == 200
    names = [item["text"] for item in json.loads(response.content)["results"]]
    assert names and all(re.match("Ours Home US", name) for name in names)


# -- dashboards -------------------------------------------------------------------------------


def test_a_dashboard_cannot_be_moved_to_another_instance(world, editor):
    InstanceAccessFactory(user=editor.user, instance=world["second"], role=AccessRole.ANALYST)
    dashboard = Dashboard.objects.get(name="Ours Dashboard")
    url = f"/admin/dashboards/dashboard/{dashboard.pk}/change/"
    data = {**form_data(editor, url), "instance": str(world["second"].pk), "name": "Moved"}
    assert editor.post(url, data).status_code == 302
    dashboard.refresh_from_db()
    assert (dashboard.name, dashboard.instance) == ("Moved", world["ours"])


def test_a_dashboard_shows_reports_of_its_own_instance_only(world, editor):
    InstanceAccessFactory(user=editor.user, instance=world["second"], role=AccessRole.ANALYST)
    other = ReportDefinitionFactory(instance=world["second"], template=world["template"])
    dashboard = DashboardFactory(instance=world["ours"])
    data = form_data(editor, "/admin/dashboards/reportconfiguration/add/")
    data.update(dashboard=str(dashboard.pk), report=str(other.pk))
    response = editor.post("/admin/dashboards/reportconfiguration/add/", data)
    assert response.status_code == 200
    assert "report" in response.context["adminform"].form.errors
    assert not ReportConfiguration.objects.filter(dashboard=dashboard).exists()


def test_exports_are_seen_by_their_owner_only(world, editor, instance_admin):
    configuration = ReportConfiguration.objects.get(dashboard__name="Ours Dashboard")
    mine = ReportExportFactory(report_configuration=configuration, user=editor.user)
    theirs = ReportExportFactory(report_configuration=configuration, user=instance_admin.user)
    page = editor.get("/admin/dashboards/reportexport/").content.decode()
    assert str(mine.pk) in page and str(theirs.pk) not in page
    url = f"/admin/dashboards/reportexport/{theirs.pk}/change/"
    assert editor.get(url).status_code in (302, 404)
    delete = editor.post(f"/admin/dashboards/reportexport/{mine.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert ReportExport.objects.filter(pk=mine.pk).exists()
