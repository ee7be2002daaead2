// The shop: sign up or in, browse and search, fill the cart, check out. Public API only.
"use strict";
(function () {
  const { call, report, message, money, el, auth, setAuth } = window.Console;
  let page = 1;
  let latest = 0; // only the answer to the latest catalogue request is drawn

  async function signIn(action) {
    const username = document.getElementById("auth-username").value.trim();
    const password = document.getElementById("auth-password").value;
    const email = document.getElementById("auth-email").value.trim();
    try {
      let token;
      if (action === "signup") {
        token = (await call("POST", "/api/auth/register", { username, password, email })).token;
        message("Welcome, " + username + ": account created.", "ok");
      } else {
        token = (await call("POST", "/api/auth/token", { username, password })).token;
        message("Signed in as " + username + ".", "ok");
      }
      setAuth({ username, token });
      loadCart();
    } catch (e) {
      report(e, action === "signup" ? "Sign up" : "Sign in");
    }
  }

  async function loadCategories() {
    try {
      const data = await call("GET", "/api/categories");
      const list = Array.isArray(data) ? data : data.results || [];
      const select = document.getElementById("category");
      for (const c of list) select.append(el("option", { value: c.slug, text: c.name }));
    } catch (e) {
      report(e, "Categories");
    }
  }

  async function loadProducts() {
    const form = document.getElementById("search-form");
    const params = new URLSearchParams();
    for (const name of ["search", "category", "ordering"]) {
      const value = form.elements[name].value;
      if (value) params.set(name, value);
    }
    params.set("page", String(page));
    const list = document.getElementById("products");
    const mine = ++latest;
    try {
      const data = await call("GET", "/api/products?" + params.toString());
      if (mine !== latest) return;
      list.replaceChildren(
        ...data.results.map((p) =>
          el("li", { class: "product", "data-product-id": p.id }, [
            el("h3", { text: p.name }),
            el("p", { class: "muted", text: p.sku + (p.category ? " · " + p.category : "") }),
            el("p", { class: "price", text: money(p.price, p.currency) }),
            el("label", { for: "qty-" + p.id, text: "Quantity" }),
            el("input", { id: "qty-" + p.id, type: "number", min: "1", max: "99", value: "1", class: "qty" }),
            el("button", {
              type: "button",
              class: "add",
              "aria-label": "Add " + p.name + " to cart",
              disabled: p.available ? null : "disabled",
              text: p.available ? "Add to cart" : "Out of stock",
              onclick: () => addToCart(p, document.getElementById("qty-" + p.id).value),
            }),
          ])
        )
      );
      document.getElementById("catalogue-count").textContent = data.count + " product(s), page " + page;
      document.getElementById("prev-page").disabled = !data.previous;
      document.getElementById("next-page").disabled = !data.next;
      list.dataset.query = params.toString();
    } catch (e) {
      report(e, "Catalogue");
    }
  }

  async function addToCart(product, quantity) {
    if (!auth()) {
      message("Sign in first to fill a cart.", "error");
      return;
    }
    try {
      await call("POST", "/api/cart/items", { product_id: product.id, quantity: Number(quantity) });
      message("Added " + product.name + ".", "ok");
      loadCart();
    } catch (e) {
      report(e, "Add to cart");
    }
  }

  async function removeLine(productId) {
    try {
      await call("DELETE", "/api/cart/items/" + productId);
      loadCart();
    } catch (e) {
      report(e, "Remove");
    }
  }

  async function loadCart() {
    const body = document.getElementById("cart-body");
    if (!auth()) {
      body.replaceChildren(el("p", { text: "Sign in to see your cart." }));
      return;
    }
    try {
      const cart = await call("GET", "/api/cart");
      if (!cart.items.length) {
        body.replaceChildren(el("p", { id: "cart-empty", text: "Your cart is empty." }));
        return;
      }
      body.replaceChildren(
        el("ul", { id: "cart-lines" }, cart.items.map((i) =>
          el("li", { "data-product-id": i.product_id }, [
            i.quantity + " × " + i.name + " — " + money(i.line_total, cart.currency) + " ",
            el("button", { type: "button", class: "link", "aria-label": "Remove " + i.name, text: "remove", onclick: () => removeLine(i.product_id) }),
          ])
        )),
        el("p", { class: "total", id: "cart-total", text: "Total " + money(cart.total, cart.currency) })
      );
    } catch (e) {
      report(e, "Cart");
    }
  }

  async function checkout() {
    if (!auth()) {
      message("Sign in first.", "error");
      return;
    }
    const method = document.getElementById("payment-method").value;
    const key = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
    const button = document.getElementById("checkout");
    button.disabled = true;
    try {
      const data = await call("POST", "/api/checkout", { payment_method: method }, { "Idempotency-Key": key });
      message("Order " + data.order_id + " placed: its saga is running.", "ok");
      window.location.assign("/console/orders/" + data.order_id + "/");
    } catch (e) {
      report(e, "Checkout");
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("auth-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      signIn(event.submitter ? event.submitter.value : "signin");
    });
    document.getElementById("signout").addEventListener("click", () => {
      setAuth(null);
      loadCart();
    });
    document.getElementById("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      page = 1;
      loadProducts();
    });
    document.getElementById("prev-page").addEventListener("click", () => { page -= 1; loadProducts(); });
    document.getElementById("next-page").addEventListener("click", () => { page += 1; loadProducts(); });
    document.getElementById("checkout-form").addEventListener("submit", (event) => {
      event.preventDefault();
      checkout();
    });
    loadCategories();
    loadProducts();
    loadCart();
  });
})();
