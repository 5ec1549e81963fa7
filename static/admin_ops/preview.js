// Live "next 10 occurrences" preview for rule fields in the admin (plans and windows).
// Reads the fields named in #ops-preview's data-fields, asks the staff-only preview endpoint
// (same engine and messages as the API) after a short pause in typing, and shows the result.
(function () {
  "use strict";
  // Django's JavaScript catalogue (the admin's jsi18n script, loaded before the form's media)
  // translates; without it the English text stays.
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (m) { return String(obj[m.slice(2, -2)]); });
  };
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var box = document.getElementById("ops-preview");
    if (!box) return;
    var names = JSON.parse(box.dataset.fields);
    var form = box.closest("form") || document.querySelector("form");
    var timer = null, seq = 0;
    // Show the preview right under the rule's own fieldset rather than at the end of the form.
    var ruleField = form.querySelector('[name="' + names.rrule + '"]');
    var fieldset = ruleField && ruleField.closest("fieldset");
    if (fieldset) fieldset.after(box);
    // Plans: only the block of the chosen trigger is shown (the other is null in the API).
    var triggers = form.querySelectorAll('input[name="trigger"]');
    function showTrigger() {
      var chosen = form.querySelector('input[name="trigger"]:checked');
      if (!chosen) return;
      form.querySelectorAll("fieldset.ops-trigger").forEach(function (set) {
        set.hidden = !set.classList.contains("ops-" + chosen.value);
      });
      box.hidden = chosen.value !== "calendar";
    }
    triggers.forEach(function (el) { el.addEventListener("change", showTrigger); });
    showTrigger();

    function field(key) {
      var name = names[key];
      return name ? form.querySelector('[name="' + name + '"]') : null;
    }
    function value(key) {
      var el = field(key);
      if (el && (el.type === "radio" || el.type === "checkbox")) {
        el = form.querySelector('[name="' + names[key] + '"]:checked');
      }
      return el ? el.value.trim() : "";
    }
    // Every value of a field (the builder's weekday boxes).
    function values(key) {
      if (!names[key]) return [];
      return Array.prototype.map.call(
        form.querySelectorAll('[name="' + names[key] + '"]:checked'), function (el) { return el.value; });
    }
    var raw = field("rrule");
    function text(tag, cls, content) {
      var el = document.createElement(tag);
      if (cls) el.className = cls;
      el.textContent = content;
      return el;
    }
    function show(body, ok) {
      var out = box.querySelector(".ops-result");
      out.innerHTML = "";
      if (!ok) {
        out.appendChild(text("p", "ops-error", body.error ? body.error.message : gettext("Preview unavailable")));
        box.dataset.state = "error";
        return;
      }
      out.appendChild(text("p", "ops-description", body.description));
      if (body.rule) out.appendChild(text("p", "ops-rule", "RRULE: " + body.rule));
      // In builder mode the raw box shows (read-only) the rule the builder makes, so
      // switching to advanced starts from it.
      if (raw && value("mode") === "builder" && body.rule) raw.value = body.rule;
      var list = document.createElement("ol");
      list.className = "ops-occurrences";
      // Each occurrence in the object's zone with UTC beside (the server formats both).
      body.occurrences.forEach(function (o) {
        list.appendChild(text("li", "", o.shown ? o.shown + (o.end_shown ? " → " + o.end_shown : "") :
          o.start.replace("T", " ").replace("Z", " UTC") +
          (o.end ? " → " + o.end.replace("T", " ").replace("Z", " UTC") : "")));
      });
      if (!body.occurrences.length) out.appendChild(text("p", "", gettext("No occurrences.")));
      out.appendChild(list);
      if (body.replaced && body.replaced.length) {
        var warn = document.createElement("div");
        warn.className = "ops-replaced";
        warn.appendChild(text("strong", "", interpolate(
          gettext("Saving this schedule replaces %(count)s event(s) that have not started:"),
          { count: body.replaced.length }, true)));
        var ul = document.createElement("ul");
        body.replaced.forEach(function (e) {
          ul.appendChild(text("li", "", "#" + e.id + " " + e.start.replace("T", " ").replace("Z", " UTC") +
            " (" + e.status + (e.is_modified ? gettext(", edited by hand") : "") + ")"));
        });
        warn.appendChild(ul);
        out.appendChild(warn);
      }
      box.dataset.state = "ok";
    }
    // Nothing is asked (and no error shown) until the fields say enough for a schedule: a
    // start date, and a rule or every + unit. Half-typed input is not an error yet.
    function complete() {
      if (!/^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$/.test(value("start_date"))) return false;
      var mode = value("mode");
      if (mode === "builder") return Boolean(value("every") && value("unit"));
      if (value("rrule")) return true;
      return Boolean(names.every && value("every") && value("unit"));
    }
    function idle() {
      var out = box.querySelector(".ops-result");
      out.innerHTML = "";
      out.appendChild(text("p", "ops-hint", box.dataset.hint || ""));
      box.dataset.state = "idle";
    }
    function refresh() {
      if (!complete()) { seq++; idle(); return; }
      var date = value("start_date"), time = value("start_time") || "00:00";
      // The start is wall time in the zone typed on the form (local=1), as the form reads it.
      var params = new URLSearchParams({
        start: date ? date + "T" + time : "",
        local: "1",
        rrule: value("rrule"),
        every: value("every"),
        unit: value("unit"),
        timezone: value("timezone") || "UTC"
      });
      if (names.duration_unit) {
        params.set("duration", value("duration"));
        params.set("duration_unit", value("duration_unit"));
      }
      // The builder's fields: the preview composes them as the form does on save.
      ["mode", "monthday", "time", "end", "count", "until"].forEach(function (key) {
        if (names[key]) params.set(names[key], value(key));
      });
      values("weekdays").forEach(function (day) { params.append(names.weekdays, day); });
      if (box.dataset.maintenanceId) params.set("maintenance_id", box.dataset.maintenanceId);
      var mine = ++seq;
      box.dataset.state = "loading";
      fetch(box.dataset.url + "?" + params.toString(), {credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
        .then(function (res) { if (mine === seq) show(res[1], res[0]); })
        .catch(function () { if (mine === seq) show({}, false); });
    }
    function later() {
      clearTimeout(timer);
      if (!complete()) { seq++; idle(); return; }
      box.dataset.state = "loading";
      timer = setTimeout(refresh, 300);
    }
    Object.keys(names).forEach(function (key) {
      form.querySelectorAll('[name="' + names[key] + '"]').forEach(function (el) {
        el.addEventListener("input", later);
        el.addEventListener("change", later);
      });
    });
    refresh();
  });
})();
