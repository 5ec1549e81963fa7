// The public maintenance page: show every <time class="local-time"> in the viewer's own
// timezone (the server renders UTC, which stays as the fallback without JavaScript).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const format = new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  for (const element of document.querySelectorAll("time.local-time")) {
    const instant = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(instant.getTime())) continue;
    element.title = element.textContent.trim();
    element.textContent = format.format(instant);
  }
  const label = document.getElementById("viewer-zone");
  if (label) label.textContent = zone;
});
