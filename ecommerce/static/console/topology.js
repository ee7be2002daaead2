// Live health: the edge probes each process (short timeouts) and the page colours the dots.
"use strict";
(function () {
  const LABELS = { up: "up", not_ready: "not ready", down: "down", unknown: "checking…" };

  function paint(name, info) {
    const state = (info && info.state) || "unknown";
    const dot = document.getElementById("health-" + name);
    if (dot) {
      dot.setAttribute("class", "health " + state);
      const title = dot.querySelector("title");
      if (title) title.textContent = name + ": " + LABELS[state] + (info && info.ms ? " (" + info.ms + " ms)" : "");
    }
    const text = document.getElementById("health-text-" + name);
    if (text) {
      text.className = "badge " + state;
      text.textContent = LABELS[state] + (info && info.ms !== undefined ? " · " + info.ms + " ms" : "");
      text.title = info && info.error ? info.error : "";
    }
  }

  async function poll(url) {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const data = await response.json();
      for (const [name, info] of Object.entries(data.processes)) paint(name, info);
      document.body.dataset.healthChecked = "true";
    } catch (e) {
      Console.message("Health check failed: " + e.message, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const figure = document.querySelector("[data-health-url]");
    if (!figure) return;
    const url = figure.dataset.healthUrl;
    poll(url);
    setInterval(() => poll(url), 5000);
  });
})();
