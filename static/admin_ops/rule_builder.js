// The rule builder of plans and windows (core/admin_rules.py) and the UTC shown beside times
// typed in an object's timezone (core/admin_zoned.py). Served from our origin (strict CSP).
// Without JavaScript every field stays visible and the server still reads them the same way.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  function checked(form, name) {
    var el = form.querySelector('input[name="' + name + '"]:checked');
    return el ? el.value : "";
  }
  // The row of a field: the admin (and its themes) mark each with "field-<name>".
  function rowOf(form, name) {
    var el = form.querySelector('[name="' + name + '"]');
    if (!el) return null;
    return el.closest(".field-" + name) || el.parentElement;
  }
  function show(form, name, on) {
    var row = rowOf(form, name);
    // Not the hidden attribute: the admin's flex rows would still show (display wins).
    if (row) row.style.display = on ? "" : "none";
  }
  var BUILDER = ["every", "unit", "rule_weekdays", "rule_monthday", "rule_time", "rule_end",
    "rule_count", "rule_until"];
  var DAILY_OR_LONGER = ["day", "week", "month", "year"];

  function setupBuilder(form) {
    var raw = form.querySelector('[name="rrule"]');
    function update() {
      var advanced = checked(form, "rule_mode") === "advanced";
      var unitField = form.querySelector('[name="unit"]');
      var unit = unitField ? unitField.value : "";
      var end = checked(form, "rule_end") || "never";
      BUILDER.forEach(function (name) { show(form, name, !advanced); });
      if (!advanced) {
        show(form, "rule_weekdays", unit === "week");
        show(form, "rule_monthday", unit === "month");
        show(form, "rule_time", DAILY_OR_LONGER.indexOf(unit) >= 0);
        show(form, "rule_count", end === "count");
        show(form, "rule_until", end === "until");
      }
      // In builder mode the raw rule is what the builder makes (filled by the preview).
      if (raw) raw.readOnly = !advanced;
    }
    form.addEventListener("change", update);
    update();
  }

  // --- UTC beside a wall time in a zone ------------------------------------------------------
  function offsetAt(ms, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute,
      +parts.second) - ms;
  }
  // The first instant whose wall time in `zone` is `wall` (ms as if UTC), or null in a gap.
  function wallToUtc(wall, zone) {
    var day = 86400000, found = null;
    [offsetAt(wall - day, zone), offsetAt(wall + day, zone)].forEach(function (offset) {
      var t = wall - offset;
      if (t + offsetAt(t, zone) === wall && (found === null || t < found)) found = t;
    });
    return found;
  }
  function setupUtc(span) {
    var form = span.closest("form") || document;
    var name = span.dataset.for;
    var date = form.querySelector('[name="' + name + '_0"]');
    var time = form.querySelector('[name="' + name + '_1"]');
    var zoneField = span.dataset.zoneField ? form.querySelector('[name="' + span.dataset.zoneField + '"]') : null;
    if (!date || !time) return;
    function update() {
      var zone = (zoneField ? zoneField.value.trim() : "") || span.dataset.zone || "UTC";
      var d = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(date.value.trim());
      var t = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(time.value.trim());
      if (!d || !t) { span.textContent = ""; return; }
      var wall = Date.UTC(+d[1], +d[2] - 1, +d[3], +t[1], +t[2]);
      var utc;
      try { utc = wallToUtc(wall, zone); } catch (e) { span.textContent = ""; return; }
      span.dataset.state = utc === null ? "nonexistent" : "ok";
      span.textContent = utc === null
        ? "does not exist in " + zone + " (the clocks go forward)"
        : "= " + new Date(utc).toISOString().slice(0, 16).replace("T", " ") + " UTC";
    }
    [date, time, zoneField].forEach(function (el) {
      if (el) { el.addEventListener("input", update); el.addEventListener("change", update); }
    });
    update();
  }

  ready(function () {
    var mode = document.querySelector('input[name="rule_mode"]');
    if (mode && mode.form) setupBuilder(mode.form);
    document.querySelectorAll(".ops-utc[data-for]").forEach(setupUtc);
  });
})();
