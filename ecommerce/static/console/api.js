// The console's one way to the platform: the public REST API, with the shopper's token.
"use strict";
(function () {
  const KEY = "console.auth";

  function auth() {
    try { return JSON.parse(localStorage.getItem(KEY)) || null; } catch (e) { return null; }
  }

  function setAuth(value) {
    if (value) localStorage.setItem(KEY, JSON.stringify(value));
    else localStorage.removeItem(KEY);
    showWho();
  }

  function showWho() {
    const who = document.getElementById("who");
    if (!who) return;
    const a = auth();
    who.textContent = a ? "signed in as " + a.username : "not signed in";
  }

  function message(text, kind) {
    const box = document.getElementById("messages");
    const item = document.createElement("p");
    item.className = "message " + (kind || "info");
    item.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.setAttribute("aria-label", "Dismiss message");
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.appendChild(close);
    box.prepend(item);
    while (box.children.length > 4) box.lastChild.remove();
  }

  class ApiError extends Error {
    constructor(status, code, text, details) {
      super(text);
      this.status = status;
      this.code = code;
      this.details = details;
    }
  }

  // fetch() a path of the public API; JSON in and out; errors in the API's shape become ApiError.
  async function call(method, path, body, headers) {
    const h = Object.assign({ Accept: "application/json" }, headers || {});
    const a = auth();
    if (a && a.token) h.Authorization = "Token " + a.token;
    if (body !== undefined) h["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method: method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, "network_error", "The platform did not answer: " + e.message, {});
    }
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(
        response.status,
        err.code || "http_" + response.status,
        err.message || response.statusText || "request failed",
        err.details || {}
      );
    }
    return data;
  }

  // Show an API error as a message, never as a blank page.
  function report(e, what) {
    if (e instanceof ApiError) {
      let text = (what ? what + ": " : "") + e.message + " (" + e.status + " " + e.code + ")";
      if (e.status === 503) text += " — a service is down or not ready; see the topology page.";
      message(text, "error");
    } else {
      message((what ? what + ": " : "") + String(e), "error");
    }
  }

  function money(minor, currency) {
    const value = (minor || 0) / 100;
    try {
      return new Intl.NumberFormat("en", { style: "currency", currency: currency || "USD" }).format(value);
    } catch (e) {
      return value.toFixed(2) + " " + (currency || "");
    }
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    }
    for (const c of children || []) node.append(c);
    return node;
  }

  window.Console = { auth, setAuth, call, report, message, money, el, ApiError };
  document.addEventListener("DOMContentLoaded", showWho);
})();
