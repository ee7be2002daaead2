// For staff, from the public (staff-only) API: the sagas that need a look, polled, and the
// analytics summary.
"use strict";
(function () {
  const { call, report, money, el, auth } = window.Console;

  function revenue(bucket) {
    return bucket.money.map((m) => money(m.revenue, m.currency)).join(", ") || "—";
  }

  async function load() {
    if (!auth()) {
      window.Console.message("Sign in as a staff user on the shop page.", "error");
      return;
    }
    try {
      const s = await call("GET", "/api/analytics/summary?minutes=60&top=5");
      const set = (id, text) => { document.getElementById(id).textContent = text; };
      set("fig-events", String(s.events_processed));
      set("fig-created", String(s.orders.created));
      set("fig-completed", String(s.orders.completed));
      set("fig-failed", String(s.orders.failed));
      set("fig-conversion", (s.conversion.rate * 100).toFixed(1) + " %");
      document.querySelector("#per-minute tbody").replaceChildren(...s.per_minute
        .filter((b) => b.orders_created || b.orders_completed || b.orders_failed)
        .map((b) => el("tr", {}, [
          el("td", { text: new Date(b.start).toISOString().slice(11, 16) }),
          el("td", { text: String(b.orders_created) }),
          el("td", { text: String(b.orders_completed) }),
          el("td", { text: String(b.orders_failed) }),
          el("td", { text: revenue(b) }),
        ])));
      const reasons = s.orders.failure_reasons.map((r) => el("li", { text: "FAILED " + r.reason + ": " + r.count }));
      reasons.unshift(el("li", { text: "COMPLETED: " + s.orders.completed }));
      document.getElementById("reasons").replaceChildren(...reasons);
      document.getElementById("top-products").replaceChildren(...s.top_products.by_revenue.map((p) =>
        el("li", { text: p.name + " (" + p.sku + "): " + p.units + " units, " + money(p.revenue, p.currency) })
      ));
      document.getElementById("staff").dataset.loaded = "true";
    } catch (e) {
      report(e, "Analytics summary");
    }
  }

  const SAGA_POLL_MS = 5000;

  function sagaRow(s) {
    const when = new Date(s.updated_at);
    const admin = s.admin_url
      ? el("a", { href: s.admin_url, class: "admin-link", text: "saga " + s.saga_id })
      : el("span", { class: "muted", text: "not in this edge's admin" });
    return el("tr", { "data-order-id": String(s.order_id), "data-stuck": String(s.stuck) }, [
      el("td", {}, [el("a", { href: "/console/orders/" + s.order_id + "/", text: "order " + s.order_id })]),
      el("td", { text: s.state + (s.stuck ? " (stuck)" : "") }),
      el("td", { text: s.step }),
      el("td", { text: s.failure_reason || "—" }),
      el("td", { text: when.toLocaleString(), title: s.updated_at }),
      el("td", {}, [admin]),
    ]);
  }

  async function loadSagas(section) {
    const tables = section.querySelectorAll("table[data-state]");
    try {
      const pages = await Promise.all(Array.from(tables, (t) =>
        call("GET", section.dataset.url + "?state=" + encodeURIComponent(t.dataset.state))));
      pages.forEach((page, i) => {
        const table = tables[i];
        const rows = page.results.map(sagaRow);
        if (!rows.length) rows.push(el("tr", {}, [el("td", { colspan: "6", class: "muted", text: "none" })]));
        table.querySelector("tbody").replaceChildren(...rows);
        document.getElementById(table.id + "-count").textContent =
          "(" + page.count + (page.count > page.results.length ? ", latest " + page.results.length + " shown" : "") + ")";
      });
      section.dataset.loaded = "true";
      section.dataset.readings = String(Number(section.dataset.readings || 0) + 1);
      return true;
    } catch (e) {
      report(e, "Sagas");
      // Not allowed (a shopper's token) stays not allowed: said once, not every few seconds.
      return !(e.status === 401 || e.status === 403);
    }
  }

  async function pollSagas() {
    const section = document.getElementById("sagas");
    if (!section || !auth()) return;
    if (await loadSagas(section)) setTimeout(pollSagas, SAGA_POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    pollSagas();
    load();
  });
})();
