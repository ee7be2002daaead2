// The shopper's orders, from GET /api/orders.
"use strict";
(function () {
  const { call, report, money, el, auth } = window.Console;

  document.addEventListener("DOMContentLoaded", async () => {
    if (!auth()) return;
    const body = document.getElementById("orders-body");
    try {
      const data = await call("GET", "/api/orders");
      const list = Array.isArray(data) ? data : data.results || [];
      if (!list.length) {
        body.replaceChildren(el("p", { text: "No orders yet." }));
        return;
      }
      body.replaceChildren(el("ul", { class: "orders" }, list.map((o) =>
        el("li", {}, [
          el("a", { href: "/console/orders/" + o.id + "/", text: "Order " + o.id }),
          " — " + o.status + (o.failure_reason ? " (" + o.failure_reason + ")" : "") +
            " — " + money(o.total, o.currency) + " — " + new Date(o.created_at).toLocaleString(),
        ])
      )));
    } catch (e) {
      report(e, "Orders");
    }
  });
})();
