/* The report builder's pages: template search, inline parameter errors as the analyst types
   (POST /api/builder/validate/), the live schedule and backfill preview
   (POST /api/builder/schedule-preview/), and a submit button that cannot be pressed twice.
   Plain JavaScript, no build step. The server checks everything again on each step. */
(function () {
  "use strict";

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  let sequence = 0;
  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = { errors: [{ field: "non_field_errors", message: "The server did not answer." }] };
    }
    return { status: response.status, data: data };
  }

  function fill(list, messages) {
    list.replaceChildren();
    messages.forEach(function (message) {
      const item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
    });
  }

  /* -- template picker ----------------------------------------------------------------- */
  function setupPicker() {
    const search = document.getElementById("builder-search");
    if (!search) return;
    search.addEventListener("input", function () {
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      document.querySelectorAll(".builder-category").forEach(function (section) {
        let inSection = 0;
        section.querySelectorAll(".builder-card").forEach(function (card) {
          const text = card.dataset.search || "";
          const match = words.every(function (w) { return text.includes(w); });
          card.hidden = !match;
          if (match) inSection += 1;
        });
        section.hidden = inSection === 0;
        shown += inSection;
      });
      document.getElementById("builder-no-match").hidden = shown !== 0;
    });
  }

  /* -- parameters: inline errors ------------------------------------------------------- */
  function parameterValues(container) {
    const values = {};
    container.querySelectorAll("[data-param]").forEach(function (input) {
      const name = input.dataset.param;
      const value = input.value;
      if (input.dataset.part) {
        values[name] = values[name] || {};
        if (value.trim() !== "") values[name][input.dataset.part] = value;
        return;
      }
      if (value.trim() === "") return;
      values[name] = input.dataset.kind === "boolean" ? value === "true" : value;
    });
    Object.keys(values).forEach(function (name) {
      if (typeof values[name] === "object" && !Object.keys(values[name]).length) {
        delete values[name];
      }
    });
    return values;
  }

  function parameterName(field) {
    return field.replace(/^parameters\./, "").split(/[.[]/)[0];
  }

  function setupParameters() {
    const container = document.querySelector(".builder-parameters");
    if (!container) return;
    const form = container.closest("form");
    const url = (form && form.dataset.validateUrl) || container.dataset.validateUrl;
    if (!url) return;
    const instanceInput = form.querySelector("[name=instance]");
    const timezoneInput = form.querySelector("[name=timezone]");
    const sql = document.getElementById("builder-sql");
    const touched = new Set();

    const check = debounce(async function () {
      const instance = instanceInput ? instanceInput.value : container.dataset.instance;
      if (!instance) return;
      const mine = ++sequence;
      const body = {
        template: form.dataset.template || container.dataset.template,
        instance: instance,
        parameters: parameterValues(container),
        live: true,
      };
      if (timezoneInput && timezoneInput.value) body.timezone = timezoneInput.value;
      const answer = await postJSON(url, body);
      if (mine !== sequence) return; // a newer check is on its way
      const byName = {};
      (answer.data.errors || []).forEach(function (error) {
        if (!error.field.startsWith("parameters.")) return;
        const name = parameterName(error.field);
        (byName[name] = byName[name] || []).push(error.message);
      });
      container.querySelectorAll("[data-errors-for]").forEach(function (list) {
        const name = list.dataset.errorsFor;
        // Missing values are only flagged once the analyst has been in the field.
        const messages = (byName[name] || []).filter(function (message) {
          return touched.has(name) || !/required/.test(message);
        });
        fill(list, messages);
        const row = list.closest(".builder-parameter");
        if (row) row.classList.toggle("errors", messages.length > 0);
      });
      if (sql && typeof answer.data.sql === "string") sql.textContent = answer.data.sql;
      container.dataset.checked = String(mine);
    }, 250);

    container.addEventListener("input", function (event) {
      if (event.target.dataset.param) touched.add(event.target.dataset.param);
      check();
    });
    container.addEventListener("change", check);
    if (instanceInput) instanceInput.addEventListener("change", check);
    if (timezoneInput) timezoneInput.addEventListener("change", check);
    check();
  }

  /* -- schedule: live preview ---------------------------------------------------------- */
  function clientTimezone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    } catch (e) {
      return "UTC";
    }
  }

  function scheduleChoices(form) {
    const value = function (name) {
      const input = form.querySelector("[name=" + name + "]");
      return input ? input.value : "";
    };
    const mode = (form.querySelector("[name=mode]:checked") || {}).value || "once";
    const frequency = value("frequency");
    const tz = value("schedule_timezone") || form.dataset.reportTimezone;
    let schedule = null;
    if (mode === "recurring") {
      if (frequency === "custom") {
        schedule = { schedule_type: "custom", cron_expression: value("cron_expression"), timezone: tz };
      } else {
        const config = { time: value("time"), timezone: tz };
        if (frequency === "weekly") {
          config.days_of_week = Array.from(
            form.querySelectorAll("[name=days_of_week]:checked")
          ).map(function (box) { return Number(box.value); });
        }
        if (frequency === "monthly" || frequency === "quarterly") {
          config.day_of_month = value("day_of_month");
        }
        schedule = { schedule_type: frequency, schedule_config: config };
      }
    }
    let backfill = null;
    const wantBackfill = form.querySelector("[name=backfill]");
    if (wantBackfill && wantBackfill.checked) {
      backfill = {
        lookback_config: {
          type: "relative",
          value: Number(value("lookback_value")),
          unit: value("lookback_unit") || "days",
        },
        segmentation_config: { type: value("segment_type") || "weekly" },
      };
    }
    return { mode: mode, frequency: frequency, schedule: schedule, backfill: backfill };
  }

  function showRows(form, choices) {
    const backfill = form.querySelector("[name=backfill]");
    form.querySelectorAll("[data-show]").forEach(function (row) {
      const needs = row.dataset.show.split(" ");
      let visible = true;
      if (needs[0] === "recurring") {
        visible = choices.mode === "recurring" &&
          (needs.length === 1 || needs.indexOf(choices.frequency) > 0);
      } else if (needs[0] === "backfill") {
        visible = !!(backfill && backfill.checked);
      }
      row.hidden = !visible;
    });
  }

  function cell(row, text, tag) {
    const element = document.createElement(tag || "td");
    element.textContent = text;
    row.appendChild(element);
  }

  function formatIn(iso, zone) {
    const date = new Date(iso);
    return date.toLocaleString("en-GB", {
      timeZone: zone, weekday: "short", year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short",
    });
  }

  function renderRuns(target, schedule) {
    target.replaceChildren();
    if (!schedule) {
      const p = document.createElement("p");
      p.textContent = "No schedule: the report runs when you run it.";
      target.appendChild(p);
      return;
    }
    const intro = document.createElement("p");
    intro.textContent = "Next runs (" + schedule.cron_expression + " in " + schedule.timezone +
      ", about " + schedule.runs_per_month + " a month):";
    target.appendChild(intro);
    const table = document.createElement("table");
    table.id = "builder-runs-table";
    const head = document.createElement("tr");
    cell(head, schedule.timezone, "th");
    cell(head, "Your time (" + schedule.client_timezone + ")", "th");
    cell(head, "UTC", "th");
    cell(head, "", "th");
    table.appendChild(head);
    schedule.runs.forEach(function (run) {
      const row = document.createElement("tr");
      cell(row, formatIn(run.utc, schedule.timezone));
      cell(row, formatIn(run.utc, schedule.client_timezone));
      cell(row, formatIn(run.utc, "UTC"));
      cell(row, run.dst_note || "");
      table.appendChild(row);
    });
    target.appendChild(table);
    const policy = document.createElement("p");
    policy.className = "help";
    policy.textContent = schedule.dst_policy;
    target.appendChild(policy);
  }

  function renderBackfill(target, backfill) {
    target.replaceChildren();
    if (!backfill) return;
    const p = document.createElement("p");
    p.id = "builder-backfill-summary";
    const minutes = Math.max(1, Math.round(backfill.estimated_seconds / 60));
    p.textContent = "Backfill " + backfill.start_date + " to " + backfill.end_date + " (" +
      backfill.days + " days): " + backfill.segment_count + " " + backfill.segment_type +
      " segments, up to " + backfill.segmentation_config.parallel_limit +
      " at a time (instance cap " + backfill.instance_cap + "), about " + minutes +
      " min.";
    target.appendChild(p);
  }

  function setupSchedule() {
    const form = document.getElementById("builder-schedule-form");
    if (!form) return;
    const zone = clientTimezone();
    document.getElementById("id_client_timezone").value = zone;
    const errors = document.getElementById("builder-preview-errors");
    const runs = document.getElementById("builder-runs");
    const backfillBox = document.getElementById("builder-backfill");

    const preview = debounce(async function () {
      const choices = scheduleChoices(form);
      showRows(form, choices);
      if (!choices.schedule && !choices.backfill) {
        fill(errors, []);
        renderRuns(runs, null);
        renderBackfill(backfillBox, null);
        return;
      }
      const mine = ++sequence;
      const answer = await postJSON(form.dataset.previewUrl, {
        instance: form.dataset.instance,
        timezone: form.dataset.reportTimezone,
        client_timezone: zone,
        schedule: choices.schedule,
        backfill: choices.backfill,
        live: true,
      });
      if (mine !== sequence) return;
      if (answer.status !== 200) {
        fill(errors, (answer.data.errors || []).map(function (e) {
          return e.field + ": " + e.message;
        }));
        runs.replaceChildren();
        backfillBox.replaceChildren();
        return;
      }
      fill(errors, []);
      renderRuns(runs, answer.data.schedule);
      renderBackfill(backfillBox, answer.data.backfill);
      form.dataset.previewed = String(mine);
    }, 200);

    form.addEventListener("input", preview);
    form.addEventListener("change", preview);
    showRows(form, scheduleChoices(form));
    preview();
  }

  /* -- submit once ---------------------------------------------------------------------- */
  function setupSubmit() {
    const form = document.getElementById("builder-submit-form");
    if (!form) return;
    form.addEventListener("submit", function () {
      const button = document.getElementById("builder-submit");
      // Disabled after the browser has read the form; the server also answers a second
      // submit of this walk with the first one's report.
      if (button) setTimeout(function () { button.disabled = true; }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupPicker();
    setupParameters();
    setupSchedule();
    setupSubmit();
  });
})();
