// The sources page: GET /v1/sources, POST /v1/sources (add links, start collection), poll the run's state.
"use strict";
let pollTimer = null;

function showCollection(run) {
  const out = document.getElementById("collection-status");
  if (!run || !run.run_id) { out.textContent = "No collection run yet."; return; }
  out.dataset.state = run.state;
  out.textContent = `Run ${run.run_id} (${run.mode || "?"}): ${run.state}` + (run.error ? ` – ${run.error}` : "");
  clearTimeout(pollTimer);
  if (["queued", "running"].includes(run.state)) {
    pollTimer = setTimeout(async () => {
      try { showCollection(await api("GET", "v1/sources/collection/" + encodeURIComponent(run.run_id))); }
      catch (err) { out.textContent = "Error: " + err.message; }
    }, 2000);
  }
}

function renderSources(data) {
  const container = document.getElementById("sources-list");
  const authorSelect = document.getElementById("author");
  container.replaceChildren(...data.authors.map((a) => el("div", { class: "author", "data-author": a.full_name },
    el("h3", {}, a.full_name + (a.handle ? ` (@${a.handle})` : "")),
    el("p", { class: "meta" }, "Configured links"),
    el("ul", { class: "links configured" }, ...a.links.map((l) => el("li", {}, l))),
    el("p", { class: "meta" }, "Added here"),
    el("ul", { class: "links added", id: "added-" + a.full_name.replace(/\W+/g, "-") },
      ...(a.added.length ? a.added.map((l) => el("li", { class: "added-link" }, el("a", { href: l.url, rel: "noopener noreferrer" }, l.url), el("span", { class: "meta" }, ` added ${l.added_at}`))) : [el("li", { class: "hint" }, "none")])),
  )));
  const current = authorSelect.value;
  authorSelect.replaceChildren(...data.authors.map((a) => el("option", { value: a.full_name }, a.full_name)));
  if (current) authorSelect.value = current;
  showCollection(data.collection);
}

async function refresh() {
  const status = document.getElementById("list-status");
  try {
    renderSources(await api("GET", "v1/sources"));
    status.className = "status";
    status.textContent = "";
    status.dataset.state = "loaded";
  } catch (err) {
    status.className = "status error";
    status.textContent = "Error: " + err.message;
    status.dataset.state = "error";
  }
}

async function addLinks(event) {
  event.preventDefault();
  const status = document.getElementById("add-status");
  const links = document.getElementById("links").value.split("\n").map((l) => l.trim()).filter(Boolean);
  try {
    const result = await api("POST", "v1/sources", {
      author: document.getElementById("author").value,
      links,
      collect: document.getElementById("collect").checked,
    });
    const fresh = result.added.filter((a) => a.new).length;
    status.className = "status";
    status.textContent = `${fresh} new link(s) added` + (result.collection ? `; collection ${result.collection.state}` : "");
    status.dataset.state = "added";
    document.getElementById("links").value = "";
    await refresh();
    if (result.collection) showCollection(result.collection);
  } catch (err) {
    status.className = "status error";
    status.textContent = "Error: " + err.message;
    status.dataset.state = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupKeyField();
  document.getElementById("refresh").addEventListener("click", refresh);
  document.getElementById("add-form").addEventListener("submit", addLinks);
  if (apiKey()) refresh();
});
