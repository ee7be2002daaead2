// The phase's figures from /console/metrics.json, with rates between two readings.
"use strict";
(function () {
  const { el } = window.Console;
  let previous = null;

  function set(id, text) { document.getElementById(id).textContent = text; }

  function checkouts(figures) {
    return figures.views.filter((v) => v.view === "checkout" && v.method === "POST")
      .reduce((n, v) => n + v.count, 0);
  }

  function ms(value) { return value === null || value === undefined ? "—" : value + " ms"; }

  function spread(row) { return row ? ms(row.p50_ms) + " / " + ms(row.p95_ms) : "none yet"; }

  function renderSagas(sagas, checkout) {
    const failed = sagas.failed.reduce((n, f) => n + f.count, 0);
    set("fig-sagas-started", String(sagas.started));
    set("fig-sagas-completed", String(sagas.completed));
    set("fig-sagas-failed", String(failed));
    set("fig-checkout-latency", spread(checkout));
    for (const outcome of ["completed", "failed"]) {
      set("fig-saga-latency-" + outcome, spread(sagas.duration.find((d) => d.outcome === outcome)));
    }
    const outcomes = [el("li", { "data-outcome": "completed", text: "COMPLETED: " + sagas.completed })];
    for (const f of sagas.failed) {
      outcomes.push(el("li", { "data-outcome": "failed", "data-reason": f.reason, text: "FAILED " + f.reason + ": " + f.count }));
    }
    document.getElementById("saga-outcomes").replaceChildren(...outcomes);
    const rows = sagas.steps.concat(sagas.compensations).map((s) => el("tr", { "data-step": s.step, "data-outcome": s.outcome }, [
      el("td", { text: s.step }), el("td", { text: s.outcome }), el("td", { text: String(s.count) }),
      el("td", { text: ms(s.mean_ms) }), el("td", { text: ms(s.p50_ms) }), el("td", { text: ms(s.p95_ms) }),
    ]));
    document.querySelector("#saga-steps tbody").replaceChildren(...rows);
  }

  function percent(ratio) { return ratio === null ? "—" : (ratio * 100).toFixed(1) + " %"; }

  function renderParallelRun(run) {
    document.querySelector("#shadow tbody").replaceChildren(...run.shadow.map((s) => el("tr", {
      "data-service": s.service, "data-operation": s.operation, class: s.mismatches ? "mismatch" : null,
    }, [
      el("td", { text: s.service }), el("td", { text: s.operation }),
      el("td", { "data-figure": "calls", text: String(s.calls) }),
      el("td", { "data-figure": "mismatches", text: String(s.mismatches) }),
      el("td", { "data-figure": "errors", text: String(s.errors) }),
      el("td", { "data-figure": "dropped", text: String(s.dropped) }),
      el("td", { text: ms(s.remote_mean_ms) }), el("td", { text: ms(s.remote_p95_ms) }),
    ])));
    document.getElementById("shadow-none").hidden = run.shadow.length > 0;
    document.querySelector("#cutover tbody").replaceChildren(...run.cutover.map((c) => el("tr", { "data-service": c.service }, [
      el("td", { text: c.service }),
      el("td", { "data-figure": "share", text: c.share_percent === null ? "not under cut-over" : c.share_percent + " %" }),
      el("td", { "data-figure": "local", text: String(c.local) }),
      el("td", { "data-figure": "remote", text: String(c.remote) }),
      el("td", { "data-figure": "remote-ratio", text: percent(c.remote_ratio) }),
    ])));
    document.getElementById("cutover-none").hidden = run.cutover.length > 0;
  }

  function render(data, now) {
    renderSagas(data.sagas, data.checkout);
    renderParallelRun(data.parallel_run);
    const edge = data.processes.monolith;
    set("fig-requests", String(edge.http_requests));
    set("fig-checkouts", String(checkouts(edge)));
    if (previous) {
      const seconds = (now - previous.at) / 1000;
      const was = previous.data.processes.monolith;
      set("fig-request-rate", ((edge.http_requests - was.http_requests) / seconds).toFixed(2) + " /s");
      set("fig-checkout-rate", ((checkouts(edge) - checkouts(was)) / seconds).toFixed(2) + " /s");
    } else {
      set("fig-request-rate", "next reading…");
      set("fig-checkout-rate", "next reading…");
    }
    const ratio = edge.catalogue_cache.hit_ratio;
    set("fig-cache", ratio === null ? "no catalogue reads yet" : (ratio * 100).toFixed(1) + " %");
    document.querySelector("#views tbody").replaceChildren(...edge.views.map((v) =>
      el("tr", {}, [el("td", { text: v.view }), el("td", { text: v.method }), el("td", { text: String(v.count) }), el("td", { text: v.mean_ms + " ms" })])
    ));
    const rows = [];
    for (const [name, figures] of Object.entries(data.processes)) {
      for (const c of figures.grpc_client || []) {
        rows.push(el("tr", {}, [el("td", { text: name }), el("td", { text: c.grpc_service }), el("td", { text: c.grpc_method }), el("td", { text: String(c.count) }), el("td", { text: c.mean_ms + " ms" })]));
      }
    }
    document.querySelector("#grpc tbody").replaceChildren(...rows);
    document.getElementById("process-metrics").replaceChildren(...Object.entries(data.processes).map(([name, f]) =>
      el("li", { "data-process": name, text: name + ": " + (f.down ? "down (its /metrics did not answer)" :
        f.http_requests + " HTTP requests, " + (f.grpc_server || []).reduce((n, s) => n + s.count, 0) + " gRPC calls served") })
    ));
    document.getElementById("costs").dataset.readings = String((previous ? 2 : 1));
  }

  async function poll(url) {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const data = await response.json();
      const now = Date.now();
      render(data, now);
      previous = { data, at: now };
    } catch (e) {
      window.Console.message("Metrics: " + e.message, "error");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const url = document.getElementById("costs").dataset.url;
    poll(url);
    setInterval(() => poll(url), 3000);
  });
})();
