"""Django forms for reports: the parameter form generated from a template's definitions.

`ParametersField` is one form field holding all of a template's parameters. Its widget renders
one input per parameter definition (date pickers, relative dates, list textareas that take
pasted text, selects for enums, help texts), guided by the template's `ui_schema`; its clean()
asks the parameter engine through the same builder check the API uses, and marks each bad
parameter. The builder's parameters step and the admin's report change form both use it.

`ui_schema` (optional, on the template): `{"order": ["asins", "since"], "fields": {"asins":
{"help": "...", "placeholder": "...", "rows": 6, "widget": "text" | "textarea" | "date"}}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from recomamp.errors import ValidationFailed
from reports.models import QueryTemplate, ReportDefinition
from reports.parameters import ParameterEngineError
from reports.parameters.rendering import ensure_definitions

RELATIVE_SUGGESTIONS = ["today", "yesterday", "today-7d", "today-14d", "today-30d", "today-1m"]
LIST_HELP = "One per line, or separated by commas. Paste straight from a spreadsheet."
# Kept as the analyst wrote them (a relative date stays relative for later runs).
RAW_TYPES = {"date", "relative_date", "datetime", "date_range", "string"}


def _label(defn) -> str:
    return defn.label or defn.name.replace("_", " ").capitalize()


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ParametersWidget(forms.Widget):
    """All of a template's parameters as one widget: `<name>__<parameter>` inputs."""

    template_name = "reports/widgets/parameters.html"

    class Media:
        css = {"all": ["builder/builder.css"]}
        js = ["builder/builder.js"]

    def __init__(self, template: QueryTemplate | None = None, attrs=None):
        super().__init__(attrs)
        self.query_template = template
        self.errors_by_parameter: dict[str, list[str]] = {}

    def definitions(self):
        if self.query_template is None:
            return ()
        try:
            return ensure_definitions(self.query_template.parameter_definitions)
        except ParameterEngineError:
            return ()

    def ordered(self):
        definitions = list(self.definitions())
        order = (self.query_template.ui_schema or {}).get("order") or []
        rank = {name: index for index, name in enumerate(order)}
        return sorted(definitions, key=lambda d: rank.get(d.name, len(rank)))

    def value_from_datadict(self, data, files, name) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for defn in self.definitions():
            key = f"{name}__{defn.name}"
            if defn.type.value == "date_range":
                start, end = data.get(f"{key}__start", ""), data.get(f"{key}__end", "")
                if start or end:
                    values[defn.name] = {"start": start, "end": end}
            elif defn.type.value == "boolean":
                raw = data.get(key, "")
                if raw != "":
                    values[defn.name] = raw == "true"
            else:
                raw = data.get(key, "")
                if raw.strip() != "":
                    values[defn.name] = raw
        return values

    def value_omitted_from_data(self, data, files, name) -> bool:
        return False

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        value = value if isinstance(value, Mapping) else {}
        hints = (
            (self.query_template.ui_schema or {}).get("fields", {}) if self.query_template else {}
        )
        parameters = []
        for defn in self.ordered():
            kind = defn.type.value
            hint = hints.get(defn.name, {}) if isinstance(hints, Mapping) else {}
            given = value.get(defn.name)
            default = defn.default if defn.has_default else None
            entry = {
                "name": defn.name,
                "input_name": f"{name}__{defn.name}",
                "id": f"id_{name}__{defn.name}",
                "label": _label(defn),
                "kind": kind,
                "required": defn.required and not defn.has_default,
                "help": hint.get("help") or defn.description,
                "placeholder": hint.get("placeholder", ""),
                "rows": hint.get("rows", 4),
                "errors": self.errors_by_parameter.get(defn.name, []),
                "default": _as_text(default) if not isinstance(default, Mapping) else "",
                "value": _as_text(given) if not isinstance(given, Mapping) else "",
            }
            widget = hint.get("widget")
            if kind == "date":
                # A relative value (a default like today-14d) cannot sit in a date picker.
                looks_absolute = not entry["value"] or entry["value"][:1].isdigit()
                entry["input"] = "date" if widget != "text" and looks_absolute else "text"
            elif kind == "relative_date":
                entry["input"] = "relative"
                entry["suggestions"] = RELATIVE_SUGGESTIONS
                entry["placeholder"] = entry["placeholder"] or "today-14d or 2026-01-31"
            elif kind == "datetime":
                entry["input"] = "datetime-local"
            elif kind == "date_range":
                entry["input"] = "range"
                given = given if isinstance(given, Mapping) else {}
                default = default if isinstance(default, Mapping) else {}
                entry["start"] = _as_text(given.get("start"))
                entry["end"] = _as_text(given.get("end"))
                entry["default"] = (
                    f"{default.get('start')} to {default.get('end')}" if default else ""
                )
                entry["suggestions"] = RELATIVE_SUGGESTIONS
            elif kind in ("integer", "number", "percentage"):
                entry["input"] = "number"
                entry["step"] = "1" if kind == "integer" else "any"
                entry["min"] = defn.min if defn.min is not None else ""
                entry["max"] = defn.max if defn.max is not None else ""
                entry["suffix"] = "%" if kind == "percentage" else ""
            elif kind == "enum":
                entry["input"] = "select"
                entry["options"] = list(defn.options)
            elif kind == "boolean":
                entry["input"] = "boolean"
            elif defn.is_list:
                entry["input"] = "text" if widget == "text" else "textarea"
                entry["help"] = " ".join(part for part in (entry["help"], LIST_HELP) if part)
                entry["placeholder"] = entry["placeholder"] or (
                    "B0ABCDEFGH\nB0IJKLMNOP" if kind == "asin_list" else "one per line"
                )
            else:
                entry["input"] = "textarea" if widget == "textarea" else "text"
            parameters.append(entry)
        context["parameters"] = parameters
        context["widget"]["template_id"] = (
            self.query_template.template_id if self.query_template else ""
        )
        return context


class ParametersField(forms.Field):
    """A template's parameter values (a dict), validated by the parameter engine."""

    widget = ParametersWidget

    def __init__(self, *, template: QueryTemplate | None = None, tz_name: str = "UTC", **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.tz_name = tz_name
        self.set_template(template)

    def set_template(self, template: QueryTemplate | None) -> None:
        self.query_template = template
        self.widget.query_template = template

    def has_changed(self, initial, data) -> bool:
        """Changed when the values differ once cleaned (a list pasted again is no change)."""
        try:
            return self.clean(data) != (initial or {})
        except forms.ValidationError:
            return True

    def clean(self, value) -> dict[str, Any]:
        from reports.builder.services import check_parameters_step

        value = dict(value or {})
        if self.query_template is None:
            return value
        self.widget.errors_by_parameter = {}
        try:
            check = check_parameters_step(
                template=self.query_template, parameters=value, tz_name=self.tz_name
            )
        except ValidationFailed as exc:  # the template's definitions are broken
            raise forms.ValidationError([e.message for e in exc.errors]) from None
        if check.errors:
            for error in check.errors:
                name = error.field.removeprefix("parameters.").split("[")[0].split(".")[0]
                self.widget.errors_by_parameter.setdefault(name, []).append(error.message)
            raise forms.ValidationError(
                [error.message for error in check.errors], code="invalid_parameters"
            )
        cleaned = {}
        for defn in ensure_definitions(self.query_template.parameter_definitions):
            if defn.name not in value:
                continue
            keep_raw = defn.type.value in RAW_TYPES
            cleaned[defn.name] = value[defn.name] if keep_raw else check.parameters[defn.name]
        return cleaned


def _parameters_timezone(form: forms.BaseForm, fallback: str) -> str:
    from reports.services.reports import validate_timezone

    name = (form.data.get(form.add_prefix("timezone")) if form.is_bound else None) or fallback
    try:
        return validate_timezone(name)
    except ValidationFailed:
        return fallback


class ReportAdminForm(forms.ModelForm):
    """The admin's report form: the generated parameter form instead of a JSON textarea."""

    class Meta:
        model = ReportDefinition
        fields = [
            "name",
            "description",
            "template",
            "instance",
            "owner",
            "parameters",
            "frequency",
            "timezone",
            "lookback_days",
            "is_active",
            "dashboard",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        report = self.instance
        if "parameters" in self.fields and report.pk and report.template_id:
            field = ParametersField(
                template=report.template,
                tz_name=_parameters_timezone(self, report.timezone),
                label=_("Parameters"),
                help_text=_("Checked against the template as you type and as you save."),
            )
            field.widget.attrs.update(
                {
                    "data-validate-url": reverse("builder-validate"),
                    "data-instance": str(report.instance_id),
                }
            )
            self.fields["parameters"] = field


class BuilderParametersForm(forms.Form):
    """The builder's parameters step: what the report is called, where it runs, its values."""

    name = forms.CharField(max_length=200)
    instance = forms.ModelChoiceField(queryset=None, empty_label=None)
    timezone = forms.CharField(
        max_length=64, help_text=_("The report's timezone (AMC windows follow its days).")
    )
    lookback_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        initial=7,
        help_text=_("Days of data each scheduled run covers, ending at AMC's data lag."),
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    parameters = ParametersField()

    def __init__(self, *args, user, template: QueryTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        from instances.selectors import instances_for_user

        self.fields["instance"].queryset = instances_for_user(user=user).order_by("instance_name")
        first = self.fields["instance"].queryset.first()
        fallback = self.initial.get("timezone") or (first.time_zone if first else "UTC")
        self.fields["parameters"].set_template(template)
        self.fields["parameters"].tz_name = _parameters_timezone(self, fallback)
        self.fields["timezone"].initial = fallback

    def clean_timezone(self) -> str:
        from reports.services.reports import validate_timezone

        try:
            return validate_timezone(self.cleaned_data["timezone"])
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.errors[0].message) from None
