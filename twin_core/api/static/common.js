// Shared by the pages: the API key (kept in localStorage) and JSON requests with it.
"use strict";
const KEY_STORAGE = "twin.apiKey";

function apiKey() {
  return (document.getElementById("api-key").value || "").trim();
}

function setupKeyField() {
  const field = document.getElementById("api-key");
  field.value = localStorage.getItem(KEY_STORAGE) || "";
  field.addEventListener("change", () => localStorage.setItem(KEY_STORAGE, apiKey()));
  field.addEventListener("input", () => localStorage.setItem(KEY_STORAGE, apiKey()));
}

function authHeaders(extra) {
  const headers = Object.assign({}, extra || {});
  if (apiKey()) headers["Authorization"] = "Bearer " + apiKey();
  return headers;
}

async function errorMessage(res) {
  try {
    const body = await res.json();
    if (body && body.error) return `${res.status}: ${body.error.message}`;
  } catch (e) { /* not JSON */ }
  return `${res.status} ${res.statusText}`;
}

async function api(method, path, body) {
  const init = { method, headers: authHeaders(body ? { "Content-Type": "application/json" } : {}) };
  if (body) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  if (!res.ok) throw new Error(await errorMessage(res));
  return res.json();
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}
