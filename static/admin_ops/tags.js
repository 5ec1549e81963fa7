// Tags for list fields typed with commas (core/admin_fields.py TagListField): the text box
// stays the value sent; under it each tag is shown with a button to remove it.
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
  function split(value) {
    var seen = {};
    return value.split(/[,\n]/).map(function (t) { return t.trim(); }).filter(function (t) {
      if (!t || seen[t]) return false;
      seen[t] = true;
      return true;
    });
  }
  ready(function () {
    document.querySelectorAll("input.ops-tags").forEach(function (input) {
      var list = document.createElement("ul");
      list.className = "ops-tag-list";
      list.id = input.id + "_tags";
      input.after(list);
      function draw() {
        list.innerHTML = "";
        split(input.value).forEach(function (tag) {
          var item = document.createElement("li");
          item.className = "ops-tag";
          item.appendChild(document.createTextNode(tag));
          var remove = document.createElement("button");
          remove.type = "button";
          remove.className = "ops-tag-remove";
          remove.setAttribute("aria-label", interpolate(gettext("remove %(tag)s"), { tag: tag }, true));
          remove.textContent = "×";
          remove.addEventListener("click", function () {
            input.value = split(input.value).filter(function (t) { return t !== tag; }).join(", ");
            draw();
          });
          item.appendChild(remove);
          list.appendChild(item);
        });
      }
      input.addEventListener("input", draw);
      input.addEventListener("change", function () { input.value = split(input.value).join(", "); draw(); });
      draw();
    });
  });
})();
