// The analytics summary, for staff, from the public (staff-only) API.
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

  document.addEventListener("DOMContentLoaded", load);
})();
