// Enshu in the browser: live updates (listen to /events and reload only the
// fragment that changed) and the ticking exercise clock and countdowns.
// No framework; the CSP allows only this file.
"use strict";
(function () {
  const mode = document.body.dataset.live;
  const print = document.getElementById("print-button");
  if (print) print.addEventListener("click", () => window.print());

  // The clock: the server's reading when the page (or the last fragment)
  // was rendered, ticked on from the browser's monotonic clock, so a
  // browser whose own clock is wrong still shows the server's time.
  const clock = document.getElementById("clock");
  let reading = null;
  function read(element) {
    const data = element.dataset;
    return {
      exerciseMs: Number(data.exerciseMs),
      wallMs: Number(data.wallMs),
      offsetMinutes: Number(data.offsetMinutes),
      speed: Math.max(1, Number(data.speed) || 1),
      running: data.state === "running",
      at: performance.now(),
    };
  }
  function two(number) { return String(number).padStart(2, "0"); }
  function offsetText(milliseconds) {
    const seconds = Math.max(0, Math.floor(milliseconds / 1000));
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor(seconds / 60) % 60;
    return hours > 0 ? hours + ":" + two(minutes) + ":" + two(seconds % 60)
      : two(minutes) + ":" + two(seconds % 60);
  }
  function wallText(wallMs, offsetMinutes) {
    const shifted = new Date(wallMs + offsetMinutes * 60000);
    return two(shifted.getUTCHours()) + ":" + two(shifted.getUTCMinutes()) + ":" + two(shifted.getUTCSeconds());
  }
  // Countdowns keep their own reading: each was rendered with the clock.
  function armCountdowns(root) {
    const now = performance.now();
    for (const element of root.querySelectorAll(".countdown[data-remaining-ms]")) {
      element.dataset.armedAt = String(now);
    }
  }
  function tick() {
    if (!reading) return;
    const elapsed = performance.now() - reading.at;
    const exerciseElapsed = reading.running ? elapsed * reading.speed : 0;
    const exercise = document.getElementById("clock-exercise");
    if (exercise) exercise.textContent = offsetText(reading.exerciseMs + exerciseElapsed);
    const wall = document.getElementById("clock-wall");
    if (wall) wall.textContent = wallText(reading.wallMs + elapsed, reading.offsetMinutes);
    for (const element of document.querySelectorAll(".countdown[data-remaining-ms]")) {
      const armedAt = Number(element.dataset.armedAt || reading.at);
      const spent = reading.running ? (performance.now() - armedAt) * reading.speed : 0;
      const left = Number(element.dataset.remainingMs) - spent;
      if (left <= 0) {
        element.textContent = element.dataset.expired || "0:00";
        element.classList.add("soon");
      } else {
        element.textContent = offsetText(left);
        element.classList.toggle("soon", left < 5 * 60000);
      }
    }
    document.body.dataset.ticks = String(Number(document.body.dataset.ticks || 0) + 1);
  }
  if (clock) {
    reading = read(clock);
    armCountdowns(document);
    setInterval(tick, 1000);
  }
  function resync(root) {
    const marker = root.querySelector(".clock-sync");
    if (!marker || !clock) return;
    reading = read(marker);
    for (const name of ["exerciseMs", "wallMs", "state", "speed"]) clock.dataset[name] = marker.dataset[name];
    const state = document.getElementById("clock-state");
    if (state && marker.dataset.stateLabel) {
      state.textContent = marker.dataset.stateLabel;
      state.className = "clock-state " + marker.dataset.state;
    }
    armCountdowns(document);
    tick();
  }

  // Sortable tables: a click on a header with data-sort orders the rows
  // by that column's data-value (again: the other way round). The order
  // is kept across live reloads.
  let sortBy = null;
  function sortTable(table) {
    if (!sortBy || !table) return;
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = a.cells[sortBy.index].dataset.value || "";
      const y = b.cells[sortBy.index].dataset.value || "";
      const order = sortBy.kind === "number" ? Number(x) - Number(y) : x.localeCompare(y);
      return sortBy.descending ? -order : order;
    });
    for (const row of rows) body.appendChild(row);
  }
  document.addEventListener("click", (event) => {
    const header = event.target.closest && event.target.closest("table.sortable th[data-sort]");
    if (!header) return;
    const index = header.cellIndex;
    const descending = sortBy && sortBy.index === index ? !sortBy.descending : false;
    sortBy = { index, kind: header.dataset.sort, descending };
    sortTable(header.closest("table"));
  });

  if (!mode || !window.EventSource) return;
  let pending = null;
  async function refresh() {
    pending = null;
    let url = null;
    if (mode === "scoreboard") url = "/fragments/scoreboard";
    else if (mode === "team") url = "/team/fragment" + location.search;
    else if (mode === "team-page") url = location.pathname + "/fragment";
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
      sortTable(document.querySelector("table.sortable"));
    } else {
      const current = document.getElementById(mode === "team" ? "team-live" : "team-page-live");
      if (current) current.innerHTML = html;
    }
    resync(template.content);
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
