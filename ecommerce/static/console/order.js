// One order's saga as a timeline, polled from GET /api/orders/<id> while it runs.
"use strict";
(function () {
  const { call, report, money, el, auth } = window.Console;

  function fmtTime(value) {
    return value ? new Date(value).toISOString().slice(11, 23) : "—";
  }

  function duration(step) {
    if (!step.started_at) return "—";
    const end = step.finished_at ? new Date(step.finished_at) : new Date();
    const ms = end - new Date(step.started_at);
    return (ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(2) + " s") + (step.finished_at ? "" : "…");
  }

  function render(order, root) {
    const compensations = root.dataset.compensations.split(",");
    const status = document.getElementById("order-status");
    status.textContent = order.status;
    status.className = "status " + order.status.toLowerCase();
    document.getElementById("order-reason").textContent = order.failure_reason ? "reason: " + order.failure_reason : "";
    document.getElementById("saga-step").textContent = order.saga.step;
    document.getElementById("order-total").textContent = money(order.total, order.currency);
    const history = order.saga.history;
    const current = order.status === "PENDING" ? order.saga.step : null;
    document.getElementById("timeline").replaceChildren(...history.map((s) => {
      const kind = compensations.includes(s.step) ? "compensation" : "step";
      return el("li", {
        class: "tl " + kind + " " + s.status.toLowerCase() + (s.step === current ? " current" : ""),
        "data-step": s.step, "data-status": s.status, "data-kind": kind,
        "aria-current": s.step === current ? "step" : null,
      }, [
        el("span", { class: "tl-name", text: (kind === "compensation" ? "↶ " : "") + s.step }),
        el("span", { class: "tl-status", text: s.status }),
        el("span", { class: "tl-time", text: duration(s) + (s.attempts > 1 ? " · " + s.attempts + " attempts" : "") }),
        s.error ? el("span", { class: "tl-error", text: s.error }) : "",
      ]);
    }));
    document.querySelector("#steps tbody").replaceChildren(...history.map((s, i) => el("tr", {
      class: s.step === current ? "current" : "",
    }, [
      el("td", { text: String(i + 1) }),
      el("th", { scope: "row", text: s.step }),
      el("td", { text: compensations.includes(s.step) ? "compensation" : "step" }),
      el("td", { text: s.status }),
      el("td", { text: fmtTime(s.started_at) }),
      el("td", { text: fmtTime(s.finished_at) }),
      el("td", { text: duration(s) }),
      el("td", { text: String(s.attempts) }),
      el("td", { text: s.error || "" }),
    ])));
    document.getElementById("lines").replaceChildren(...order.lines.map((l) =>
      el("li", { text: l.quantity + " × " + l.name + " (" + l.sku + ") — " + money(l.line_total, order.currency) })
    ));
    const trace = document.getElementById("trace");
    const traceId = order.trace_id || (order.saga && order.saga.trace_id);
    if (traceId && root.dataset.jaegerUrl) {
      trace.replaceChildren(el("a", { href: root.dataset.jaegerUrl.replace(/\/$/, "") + "/trace/" + traceId, text: "Trace " + traceId + " in Jaeger" }));
    } else if (traceId) {
      trace.textContent = "Trace id " + traceId;
    }
    root.dataset.status = order.status;
  }

  async function poll(root, id) {
    try {
      const order = await call("GET", "/api/orders/" + id);
      render(order, root);
      if (order.status === "PENDING") setTimeout(() => poll(root, id), 400);
    } catch (e) {
      report(e, "Order " + id);
      // A client error (not found, not yours) will not heal; anything else may.
      const final = e.status >= 400 && e.status < 500 && e.status !== 429;
      if (!final) setTimeout(() => poll(root, id), 2000);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("order");
    if (!auth()) {
      Console.message("Sign in on the shop page to follow your orders.", "error");
      return;
    }
    poll(root, root.dataset.orderId);
  });
})();
