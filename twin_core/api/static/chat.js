// The chat page: streams POST /v1/generate (stream=true) over fetch + ReadableStream, lists the sources,
// and sends thumbs up/down or an edited answer to POST /v1/feedback.
"use strict";
let requestId = null;

async function loadContentTypes() {
  const select = document.getElementById("content-type");
  let types = [{ name: "answer", description: "A plain answer" }];
  try {
    const health = await (await fetch("health")).json();
    if (health.content_types && health.content_types.length) types = health.content_types;
  } catch (e) { /* keep the default */ }
  select.replaceChildren(...types.map((t) => el("option", { value: t.name }, t.description ? `${t.name} – ${t.description}` : t.name)));
}

function renderSources(sources) {
  const list = document.getElementById("sources");
  list.replaceChildren(...sources.map((s) => {
    const title = s.title || s.link;
    const link = /^https?:/.test(s.link) ? el("a", { href: s.link, rel: "noopener noreferrer", target: "_blank" }, title) : el("span", {}, title);
    return el("li", { class: "source", "data-chunk-id": s.chunk_id }, link,
      el("div", { class: "meta" }, `${s.platform} · ${s.category} · score ${Number(s.score).toFixed(3)}`),
      el("div", { class: "hint" }, s.snippet || ""));
  }));
}

function parseEvents(buffer) {
  // split complete SSE events off the buffer: [[name, data], ...], rest
  const events = [];
  const blocks = buffer.replace(/\r\n/g, "\n").split("\n\n");
  const rest = blocks.pop();
  for (const block of blocks) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) events.push([name, data.join("\n")]);
  }
  return [events, rest];
}

async function ask(event) {
  event.preventDefault();
  const status = document.getElementById("status");
  const answer = document.getElementById("answer");
  const button = document.getElementById("ask");
  const query = document.getElementById("question").value.trim();
  if (!query) { status.textContent = "Type a question first."; return; }
  requestId = null;
  answer.textContent = "";
  answer.dataset.pieces = "0";  // how many streamed pieces were rendered (read by the browser test)
  answer.setAttribute("aria-busy", "true");
  document.getElementById("sources").replaceChildren();
  document.getElementById("feedback").hidden = true;
  document.getElementById("feedback-status").textContent = "";
  status.className = "status";
  status.textContent = "Thinking…";
  button.disabled = true;
  try {
    const res = await fetch("v1/generate", {
      method: "POST",
      headers: authHeaders({ "Content-Type": "application/json", "Accept": "text/event-stream" }),
      body: JSON.stringify({ query, content_type: document.getElementById("content-type").value || null, stream: true }),
    });
    if (!res.ok) throw new Error(await errorMessage(res));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let done = false;
    while (!done) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      const [events, rest] = parseEvents(buffer);
      buffer = rest;
      for (const [name, raw] of events) {
        const data = JSON.parse(raw);
        if (name === "start") { requestId = data.request_id; status.textContent = "Writing…"; }
        else if (name === "sources") renderSources(data);
        else if (name === "delta") {
          answer.textContent += data.text;
          answer.dataset.pieces = String(Number(answer.dataset.pieces) + 1);
        }
        else if (name === "done") {
          requestId = data.request_id;
          answer.textContent = data.answer;
          renderSources(data.sources);
          document.getElementById("edit-answer").value = data.answer;
          document.getElementById("feedback").hidden = false;
          status.textContent = `Done in ${(data.timings.total_s || 0).toFixed(2)} s · ${data.sources.length} sources`;
          status.dataset.state = "done";
          done = true;
        } else if (name === "error") throw new Error(data.error.message);
      }
    }
  } catch (err) {
    status.className = "status error";
    status.textContent = "Error: " + err.message;
    status.dataset.state = "error";
  } finally {
    answer.setAttribute("aria-busy", "false");
    button.disabled = false;
  }
}

async function sendFeedback(body) {
  const out = document.getElementById("feedback-status");
  if (!requestId) return;
  try {
    await api("POST", "v1/feedback", Object.assign({ request_id: requestId }, body));
    out.className = "status";
    out.textContent = "Thanks, feedback stored.";
    out.dataset.state = "stored";
  } catch (err) {
    out.className = "status error";
    out.textContent = "Error: " + err.message;
    out.dataset.state = "error";
  }
}

function rate(rating) {
  document.getElementById("thumbs-up").setAttribute("aria-pressed", String(rating === "up"));
  document.getElementById("thumbs-down").setAttribute("aria-pressed", String(rating === "down"));
  sendFeedback({ rating });
}

document.addEventListener("DOMContentLoaded", () => {
  setupKeyField();
  loadContentTypes();
  document.getElementById("ask-form").addEventListener("submit", ask);
  document.getElementById("thumbs-up").addEventListener("click", () => rate("up"));
  document.getElementById("thumbs-down").addEventListener("click", () => rate("down"));
  document.getElementById("send-edit").addEventListener("click", () => {
    const pressed = ["up", "down"].find((r) => document.getElementById("thumbs-" + r).getAttribute("aria-pressed") === "true");
    sendFeedback({ rating: pressed || null, edited_answer: document.getElementById("edit-answer").value });
  });
});
