// Enshu's web terminal (crates/enshu-server/src/terminal): xterm.js on the
// portal's WebSocket, reconnecting to the same shell after a dropped
// connection; the instructor's read-only view and the replay of a
// recording (asciicast v2). The socket carries keys and output as binary
// frames and control as JSON text frames (terminal/socket.rs).
"use strict";
(function () {
  const box = document.getElementById("terminal");
  if (!box || !window.EnshuXterm) return;
  const statusLine = document.getElementById("terminal-status");
  const mode = box.dataset.mode;
  const X = window.EnshuXterm;
  const term = new X.Terminal({
    fontFamily: '"Noto Sans Mono CJK JP", "Noto Sans Mono", "DejaVu Sans Mono", monospace',
    fontSize: 15,
    cursorBlink: mode === "write",
    disableStdin: mode !== "write",
    scrollback: 5000,
  });
  X.open(term, box);
  X.fit(term);
  window.addEventListener("resize", () => X.fit(term));
  // What the screen holds as text, for tests and for copying.
  window.enshuTerminalText = function () {
    return X.lines(term).join("\n");
  };
  function say(name, fallback) {
    statusLine.textContent = fallback || box.dataset["label" + name[0].toUpperCase() + name.slice(1)] || "";
    box.dataset.state = name;
  }
  if (mode === "replay") {
    replay();
    return;
  }

  const storageKey = "enshu-terminal";
  let terminalId = box.dataset.terminal || (mode === "write" && sessionStorage.getItem(storageKey)) || "";
  let socket = null;
  let finished = false;
  let retries = 0;
  const encoder = new TextEncoder();
  function connect() {
    say("connecting");
    const query = new URLSearchParams({ columns: String(term.cols), rows: String(term.rows) });
    if (terminalId) query.set("terminal", terminalId);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/terminal/socket?" + query.toString());
    socket.binaryType = "arraybuffer";
    // One decoder per connection: a character split across frames is whole.
    const decoder = new TextDecoder("utf-8");
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") {
        term.write(decoder.decode(new Uint8Array(event.data), { stream: true }));
        return;
      }
      const message = JSON.parse(event.data);
      if (message.attached) {
        terminalId = message.attached.terminal;
        box.dataset.terminal = terminalId;
        if (mode === "write") sessionStorage.setItem(storageKey, terminalId);
        // The server repaints the last screen on every attach.
        term.reset();
        retries = 0;
        say(mode === "write" ? "attached" : "watching");
        if (mode === "write") term.focus();
      } else if (message.ended) {
        finished = true;
        if (mode === "write") sessionStorage.removeItem(storageKey);
        say("ended");
      } else if (message.replaced) {
        finished = true;
        say("replaced");
      } else if (message.error) {
        finished = true;
        if (mode === "write") sessionStorage.removeItem(storageKey);
        say("error", message.error);
      }
    };
    socket.onclose = () => {
      if (finished) return;
      say("reconnecting");
      retries += 1;
      setTimeout(connect, Math.min(500 * retries, 5000));
    };
  }
  if (mode === "write") {
    X.onData(term, (data) => {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
    });
  }
  X.onResize(term, (size) => {
    if (mode === "write" && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ resize: { columns: size.cols, rows: size.rows } }));
    }
  });
  connect();

  // --- replay -------------------------------------------------------------
  async function replay() {
    const toggle = document.getElementById("replay-toggle");
    const seek = document.getElementById("replay-seek");
    const clock = document.getElementById("replay-time");
    const speedPicker = document.getElementById("replay-speed");
    const response = await fetch(box.dataset.recording, { credentials: "same-origin" });
    if (!response.ok) {
      say("error", String(response.status));
      return;
    }
    const lines = (await response.text()).split("\n").filter((line) => line.length > 0);
    const header = JSON.parse(lines[0]);
    if (header.width && header.height) term.resize(header.width, header.height);
    const events = lines.slice(1).map((line) => JSON.parse(line)).filter((event) => event[1] === "o" || event[1] === "r");
    const duration = events.length ? events[events.length - 1][0] : 0;
    let position = 0; // index of the next event
    let at = 0; // seconds into the recording
    let playing = false;
    let timer = null;
    function show(event) {
      if (event[1] === "o") term.write(event[2]);
      else {
        const [columns, rows] = String(event[2]).split("x").map(Number);
        if (columns && rows) term.resize(columns, rows);
      }
    }
    function paint() {
      clock.textContent = at.toFixed(1) + " s / " + duration.toFixed(1) + " s";
      seek.value = duration ? String(Math.round((at / duration) * 1000)) : "0";
      box.dataset.position = String(position);
    }
    function step() {
      timer = null;
      if (!playing) return;
      if (position >= events.length) {
        playing = false;
        toggle.textContent = box.dataset.labelPlay;
        box.dataset.state = "done";
        return;
      }
      const event = events[position];
      show(event);
      at = event[0];
      position += 1;
      paint();
      const next = events[position];
      const speed = Number(speedPicker.value) || 1;
      const wait = next ? Math.min((next[0] - at) / speed, 2) : 0;
      timer = setTimeout(step, wait * 1000);
    }
    function jump(seconds) {
      term.reset();
      if (header.width && header.height) term.resize(header.width, header.height);
      position = 0;
      while (position < events.length && events[position][0] <= seconds) {
        show(events[position]);
        position += 1;
      }
      at = Math.min(seconds, duration);
      paint();
    }
    toggle.addEventListener("click", () => {
      playing = !playing;
      toggle.textContent = playing ? box.dataset.labelPause : box.dataset.labelPlay;
      if (playing && position >= events.length) jump(0);
      if (playing && !timer) step();
    });
    seek.addEventListener("input", () => jump((Number(seek.value) / 1000) * duration));
    window.enshuReplayTo = jump;
    box.dataset.events = String(events.length);
    paint();
  }
})();
