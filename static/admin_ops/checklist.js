// The plan form's checklist editor (maintenance/admin_checklist.py ChecklistEditor): one row
// per item (text, kind, required; unit and limits for a number), added, removed and moved up
// or down. The hidden input keeps the items as JSON, the value the form posts. No inline
// style or script (the CSP forbids them): rows show and hide with the `hidden` attribute.
(function () {
  "use strict";
  // Django's JavaScript catalogue (the admin's jsi18n script, loaded before the form's media)
  // translates; without it the English text stays.
  var gettext = window.gettext || function (s) { return s; };
  var KINDS = [["check", gettext("Check")], ["pass_fail", gettext("Pass / fail")], ["number", gettext("Number")],
    ["text", gettext("Text")]];
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  function el(tag, props) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") node.textContent = props[key]; else node.setAttribute(key, props[key]);
    });
    return node;
  }
  function parse(value) {
    try {
      var items = JSON.parse(value || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }
  function limit(raw) {
    // An empty box is no limit; anything else goes as typed when not a number, so the server
    // refuses it in words naming the item.
    if (raw.trim() === "") return null;
    var number = Number(raw);
    return isNaN(number) ? raw : number;
  }
  function setup(box) {
    var input = document.getElementById(box.getAttribute("data-for"));
    var list = el("ol", { "class": "ops-cl-rows" });
    var add = el("button", { type: "button", "class": "ops-cl-add", text: gettext("Add item") });
    box.appendChild(list);
    box.appendChild(add);

    function save() {
      var items = [];
      list.querySelectorAll("li.ops-cl-row").forEach(function (row) {
        var text = row.querySelector(".ops-cl-item").value;
        if (text.trim() === "") return; // a row left blank is no item
        var kind = row.querySelector(".ops-cl-kind").value;
        var number = kind === "number";
        items.push({
          item: text,
          kind: kind,
          required: row.querySelector(".ops-cl-required").checked,
          unit: number ? row.querySelector(".ops-cl-unit").value : "",
          min: number ? limit(row.querySelector(".ops-cl-min").value) : null,
          max: number ? limit(row.querySelector(".ops-cl-max").value) : null
        });
      });
      input.value = JSON.stringify(items);
    }
    function labelled(text, control) {
      var label = el("label", { "class": "ops-cl-field" });
      label.appendChild(document.createTextNode(text + " "));
      label.appendChild(control);
      return label;
    }
    function button(cls, text, title, action) {
      var b = el("button", { type: "button", "class": cls, title: title, "aria-label": title, text: text });
      b.addEventListener("click", function () { action(); save(); });
      return b;
    }
    function row(item) {
      if (typeof item === "string") item = { item: item };
      var li = el("li", { "class": "ops-cl-row" });
      var text = el("input", { type: "text", "class": "ops-cl-item vTextField", maxlength: "500", "aria-label": gettext("Item") });
      text.value = item.item || "";
      var kind = el("select", { "class": "ops-cl-kind", "aria-label": gettext("Kind") });
      KINDS.forEach(function (pair) {
        var option = el("option", { value: pair[0], text: pair[1] });
        if ((item.kind || "check") === pair[0]) option.selected = true;
        kind.appendChild(option);
      });
      var required = el("input", { type: "checkbox", "class": "ops-cl-required" });
      required.checked = !!item.required;
      var limits = el("span", { "class": "ops-cl-limits" });
      var unit = el("input", { type: "text", "class": "ops-cl-unit", size: "6", maxlength: "32" });
      unit.value = item.unit || "";
      var min = el("input", { type: "text", inputmode: "decimal", "class": "ops-cl-min", size: "6" });
      min.value = item.min === null || item.min === undefined ? "" : String(item.min);
      var max = el("input", { type: "text", inputmode: "decimal", "class": "ops-cl-max", size: "6" });
      max.value = item.max === null || item.max === undefined ? "" : String(item.max);
      limits.appendChild(labelled(gettext("Unit"), unit));
      limits.appendChild(labelled(gettext("Min"), min));
      limits.appendChild(labelled(gettext("Max"), max));
      function showLimits() { limits.hidden = kind.value !== "number"; }
      kind.addEventListener("change", showLimits);
      showLimits();
      li.appendChild(text);
      li.appendChild(kind);
      li.appendChild(labelled(gettext("Required"), required));
      li.appendChild(limits);
      li.appendChild(button("ops-cl-up", "↑", gettext("Move up"), function () {
        if (li.previousElementSibling) list.insertBefore(li, li.previousElementSibling);
      }));
      li.appendChild(button("ops-cl-down", "↓", gettext("Move down"), function () {
        if (li.nextElementSibling) list.insertBefore(li.nextElementSibling, li);
      }));
      li.appendChild(button("ops-cl-remove", "×", gettext("Remove"), function () { li.remove(); }));
      li.addEventListener("input", save);
      li.addEventListener("change", save);
      return li;
    }
    parse(input.value).forEach(function (item) { list.appendChild(row(item)); });
    add.addEventListener("click", function () {
      var li = row({ item: "" });
      list.appendChild(li);
      li.querySelector(".ops-cl-item").focus();
      save();
    });
    if (input.form) input.form.addEventListener("submit", save);
  }
  ready(function () {
    document.querySelectorAll(".ops-checklist-editor").forEach(setup);
  });
})();
