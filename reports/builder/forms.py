"""The builder's schedule step as a Django form: the friendly schedule, a backfill, a run now.

It only gathers the analyst's choices into the JSON the API takes; the schedule and backfill
services validate them (their errors come back onto these fields, see `field_for_error`).
"""

from __future__ import annotations

from typing import Any

from django import forms

from backfills.segments import SegmentType
from schedules.models import ScheduleType

DAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (0, "Sun")]
MODES = [
    ("once", "Run once (no schedule)"),
    ("recurring", "Run on a schedule"),
]


class BuilderScheduleForm(forms.Form):
    mode = forms.ChoiceField(choices=MODES, widget=forms.RadioSelect, initial="once")
    frequency = forms.ChoiceField(choices=ScheduleType.choices, initial=ScheduleType.WEEKLY)
    time = forms.CharField(
        required=False,
        initial="09:00",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Wall-clock time in the schedule's timezone.",
    )
    days_of_week = forms.TypedMultipleChoiceField(
        choices=DAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, initial=[1]
    )
    day_of_month = forms.CharField(
        required=False, initial="1", max_length=4, help_text="1 to 28, or 'last'."
    )
    cron_expression = forms.CharField(
        required=False, max_length=200, help_text="Five fields, e.g. 0 9 * * 1-5 (custom only)."
    )
    schedule_timezone = forms.CharField(max_length=64, label="Schedule timezone")
    backfill = forms.BooleanField(required=False, label="Backfill history")
    lookback_value = forms.IntegerField(required=False, min_value=1, initial=90, label="Last")
    lookback_unit = forms.ChoiceField(
        choices=[("days", "days"), ("weeks", "weeks"), ("months", "months")],
        initial="days",
        required=False,
        label="Unit",
    )
    segment_type = forms.ChoiceField(
        choices=[(t.value, t.value) for t in SegmentType],
        initial="weekly",
        required=False,
        label="Segments",
        help_text="Each segment is one AMC run; they run in parallel under the instance's cap.",
    )
    run_now = forms.BooleanField(required=False, label="Also run it once now")

    @classmethod
    def initial_from(cls, draft: dict[str, Any], report_timezone: str) -> dict[str, Any]:
        schedule, backfill = draft.get("schedule"), draft.get("backfill")
        initial: dict[str, Any] = {"schedule_timezone": report_timezone}
        if schedule:
            config = schedule.get("schedule_config") or {}
            initial.update(
                mode="recurring",
                frequency=schedule.get("schedule_type"),
                cron_expression=schedule.get("cron_expression") or "",
                time=config.get("time", "09:00"),
                days_of_week=config.get("days_of_week", [1]),
                day_of_month=config.get("day_of_month", 1),
                schedule_timezone=schedule.get("timezone")
                or config.get("timezone")
                or report_timezone,
            )
        if backfill:
            lookback = backfill.get("lookback_config") or {}
            initial.update(
                backfill=True,
                lookback_value=lookback.get("value"),
                lookback_unit=lookback.get("unit", "days"),
                segment_type=(backfill.get("segmentation_config") or {}).get("type", "weekly"),
            )
        initial["run_now"] = draft.get("run_now", False)
        return initial

    def choices(self) -> tuple[dict | None, dict | None, bool]:
        """(schedule, backfill, run_now) as the builder API takes them."""
        data = self.cleaned_data
        schedule = None
        if data["mode"] == "recurring":
            kind = data["frequency"]
            tz_name = data["schedule_timezone"]
            if kind == ScheduleType.CUSTOM:
                schedule = {
                    "schedule_type": kind,
                    "cron_expression": data["cron_expression"],
                    "timezone": tz_name,
                }
            else:
                config: dict[str, Any] = {"time": data["time"] or "", "timezone": tz_name}
                if kind == ScheduleType.WEEKLY:
                    config["days_of_week"] = list(data["days_of_week"])
                if kind in (ScheduleType.MONTHLY, ScheduleType.QUARTERLY):
                    config["day_of_month"] = data["day_of_month"]
                schedule = {"schedule_type": kind, "schedule_config": config}
        backfill = None
        if data["backfill"]:
            backfill = {
                "lookback_config": {
                    "type": "relative",
                    "value": data["lookback_value"],
                    "unit": data["lookback_unit"] or "days",
                },
                "segmentation_config": {"type": data["segment_type"] or "weekly"},
            }
        return schedule, backfill, data["run_now"]

    def field_for_error(self, path: str) -> str | None:
        """This form's field for an API error path such as schedule.schedule_config.time."""
        tail = path.split(".")[-1].split("[")[0]
        mapping = {
            "time": "time",
            "days_of_week": "days_of_week",
            "day_of_month": "day_of_month",
            "cron_expression": "cron_expression",
            "timezone": "schedule_timezone",
            "schedule_type": "frequency",
            "frequency": "frequency",
            "value": "lookback_value",
            "unit": "lookback_unit",
            "type": "segment_type" if "segmentation" in path else "lookback_value",
        }
        return mapping.get(tail)
