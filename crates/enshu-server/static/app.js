// Enshu live updates: listen to /events and reload only the fragment that
// changed. No framework; the CSP allows only this file.
"use strict";
(function () {
  const mode = document.body.dataset.live;
  const print = document.getElementById("print-button");
  if (print) print.addEventListener("click", () => window.print());
  if (!mode || !window.EventSource) return;
  let pending = null;
  async function refresh() {
    pending = null;
    let url = null;
    if (mode === "scoreboard") url = "/fragments/scoreboard";
    else if (mode === "team") url = "/team/fragment";
    if (!url) return;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const html = await response.text();
    const template = document.createElement("template");
    template.innerHTML = html;
    if (mode === "scoreboard") {
      for (const id of ["scoreboard", "comparison"]) {
        const fresh = template.content.getElementById(id);
        const current = document.getElementById(id);
        if (fresh && current) current.replaceWith(fresh);
      }
    } else {
      const current = document.getElementById("team-live");
      if (current) current.innerHTML = html;
    }
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }
  function schedule() {
    // Coalesce bursts of events into one fragment reload.
    if (!pending) pending = setTimeout(refresh, 150);
  }
  const source = new EventSource("/events");
  source.addEventListener("update", schedule);
  source.addEventListener("resync", schedule);
  const status = document.getElementById("live-status");
  source.onopen = () => { if (status) status.classList.add("connected"); };
  source.onerror = () => { if (status) status.classList.remove("connected"); };
})();
