// The bot flow builder. The flow's JSON (docs/bots.md) is the one source of truth: Drawflow
// (from the npm registry, see frontend/package.json) only draws it, lets people drag steps and
// connect them; every change is written back into the JSON, which is saved through the API.
// All text from people goes into the page as text nodes or escaped HTML.

const root = document.getElementById("builder");
const flowId = root.dataset.flowId;
const i18n = JSON.parse(root.dataset.i18n);
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

function t(key, vars = {}) {
  return (i18n[key] || key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of [].concat(children)) if (c) node.append(c);
  return node;
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") init.headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  return { status: res.status, data };
}

// ---------------------------------------------------------------------------------------
// The graph and its edges
// ---------------------------------------------------------------------------------------

let graph = null;
let revision = null;
let dirty = false;
let problems = [];
let selected = null; // node id
let lang = "en";

const TYPES = {
  message: { text: true },
  menu: { text: true },
  ask: { text: true },
  condition: {},
  http: {},
  set: {},
  faq: { text: true },
  handoff: { text: true },
  end: { text: true },
  jump: {},
};

/** The outgoing edges of a node, in the order of its Drawflow outputs. */
function slots(node) {
  const one = (key, label) => ({ label, get: () => node[key] || null, set: (v) => { node[key] = v || undefined; } });
  switch (node.type) {
    case "message":
      return [one("next", "next"), ...(node.buttons || []).map((b, i) => ({
        label: labelOf(b.label) || `button ${i + 1}`, get: () => b.next || null, set: (v) => { b.next = v || undefined; },
      }))];
    case "menu":
      return [...(node.options || []).map((o, i) => ({
        label: labelOf(o.label) || `${i + 1}`, get: () => o.next || null, set: (v) => { o.next = v || undefined; },
      })), one("no_match", "no match")];
    case "ask": return [one("next", "next"), one("failed", "failed")];
    case "condition":
      return [...(node.branches || []).map((b, i) => ({
        label: `if ${i + 1}`, get: () => b.next || null, set: (v) => { b.next = v || undefined; },
      })), one("otherwise", "otherwise")];
    case "http": return [one("next", "next"), one("error", "error")];
    case "set": return [one("next", "next")];
    case "faq": return [one("next", "answered"), one("miss", "not found")];
    default: return [];
  }
}

function labelOf(texts) {
  if (!texts) return "";
  return texts[lang] || texts[graph.fallback_language] || Object.values(texts)[0] || "";
}

function byId(id) {
  return graph.nodes.find((n) => n.id === id) || null;
}

function newId(type) {
  let i = 1;
  while (byId(`${type}${i}`)) i += 1;
  return `${type}${i}`;
}

function blank(type) {
  const texts = () => Object.fromEntries(graph.languages.map((l) => [l, ""]));
  const node = { id: newId(type), type };
  if (type === "message") node.text = texts();
  if (type === "menu") Object.assign(node, { text: texts(), options: [{ label: texts() }] });
  if (type === "ask") Object.assign(node, { text: texts(), variable: "answer", check: "text" });
  if (type === "condition") node.branches = [{ all: [{ subject: "var.answer", op: "eq", value: "" }] }];
  if (type === "http") Object.assign(node, { method: "GET", url: "https://", save: {} });
  if (type === "set") Object.assign(node, { target: "variable", name: "answer", value: "" });
  if (type === "faq") node.text = {};
  if (type === "jump") node.flow = "";
  return node;
}

// ---------------------------------------------------------------------------------------
// Drawing with Drawflow
// ---------------------------------------------------------------------------------------

const editor = new window.Drawflow(document.getElementById("drawflow"));
editor.reroute = false;
editor.start();
let drawing = false;
const dfOf = new Map(); // node id -> drawflow id
const nodeOf = new Map(); // drawflow id -> node id

function cardHtml(node) {
  const marks = problems.filter((p) => p.node === node.id).length;
  const text = labelOf(node.text) || node.title || node.url || node.flow || node.variable || "";
  return `<div class="bn-head"><span class="bn-type">${esc(node.type)}</span>` +
    `<span class="bn-id">${esc(node.id)}</span>${graph.start === node.id ? `<span class="bn-start">${esc(t("start"))}</span>` : ""}` +
    `${marks ? `<span class="bn-problems" title="${esc(marks)}">!</span>` : ""}</div>` +
    `<div class="bn-text">${esc(text.slice(0, 80))}</div>` +
    `<ol class="bn-outs">${slots(node).map((s) => `<li>${esc(s.label.slice(0, 24))}</li>`).join("")}</ol>`;
}

function draw() {
  drawing = true;
  editor.clear();
  dfOf.clear();
  nodeOf.clear();
  graph.nodes.forEach((node, i) => {
    const pos = node.position || {};
    const x = Number.isFinite(pos.x) ? pos.x : 40 + (i % 4) * 260;
    const y = Number.isFinite(pos.y) ? pos.y : 40 + Math.floor(i / 4) * 200;
    const cls = ["bn", `bn-${node.type}`, problems.some((p) => p.node === node.id) ? "has-problem" : "",
      selected === node.id ? "is-selected" : ""].filter(Boolean).join(" ");
    const df = editor.addNode(node.type, 1, slots(node).length, x, y, cls, { id: node.id }, cardHtml(node));
    dfOf.set(node.id, df);
    nodeOf.set(df, node.id);
    const elNode = document.getElementById(`node-${df}`);
    if (elNode) elNode.dataset.node = node.id;
  });
  for (const node of graph.nodes) {
    slots(node).forEach((s, i) => {
      const target = s.get();
      if (target && dfOf.has(target)) editor.addConnection(dfOf.get(node.id), dfOf.get(target), `output_${i + 1}`, "input_1");
    });
  }
  drawing = false;
  renderStart();
}

function changed() {
  dirty = true;
  setStatus(t("unsaved"));
}

editor.on("connectionCreated", ({ output_id, input_id, output_class }) => {
  if (drawing) return;
  const node = byId(nodeOf.get(Number(output_id)));
  const target = nodeOf.get(Number(input_id));
  const index = Number(String(output_class).replace("output_", "")) - 1;
  const slot = node ? slots(node)[index] : null;
  if (!slot) return;
  const previous = slot.get();
  slot.set(target);
  changed();
  // One edge per output: a new connection replaces the old one.
  if (previous && previous !== target) draw();
});

editor.on("connectionRemoved", ({ output_id, input_id, output_class }) => {
  if (drawing) return;
  const node = byId(nodeOf.get(Number(output_id)));
  const index = Number(String(output_class).replace("output_", "")) - 1;
  const slot = node ? slots(node)[index] : null;
  if (slot && slot.get() === nodeOf.get(Number(input_id))) {
    slot.set(null);
    changed();
  }
});

editor.on("nodeMoved", (df) => {
  const node = byId(nodeOf.get(Number(df)));
  const info = editor.getNodeFromId(df);
  if (node && info) {
    node.position = { x: Math.round(info.pos_x), y: Math.round(info.pos_y) };
    changed();
  }
});

editor.on("nodeSelected", (df) => select(nodeOf.get(Number(df))));

editor.on("nodeRemoved", (df) => {
  if (drawing) return;
  removeNode(nodeOf.get(Number(df)), { redraw: false });
});

function removeNode(id, { redraw = true } = {}) {
  if (!id) return;
  graph.nodes = graph.nodes.filter((n) => n.id !== id);
  for (const node of graph.nodes) for (const s of slots(node)) if (s.get() === id) s.set(null);
  if (graph.start === id) graph.start = graph.nodes[0]?.id || null;
  if (selected === id) select(null);
  changed();
  if (redraw) draw();
  else renderStart();
}

// ---------------------------------------------------------------------------------------
// The side panel
// ---------------------------------------------------------------------------------------

const editorCard = document.getElementById("b-editor");
const editorBody = document.getElementById("b-editor-body");

function select(id) {
  selected = id || null;
  document.querySelectorAll(".drawflow-node.is-selected").forEach((n) => n.classList.remove("is-selected"));
  if (selected && dfOf.has(selected)) document.getElementById(`node-${dfOf.get(selected)}`)?.classList.add("is-selected");
  renderEditor();
}

function field(label, input, help) {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return el("div", { class: "bf" }, [el("label", { for: id, text: label }), input, help ? el("p", { class: "help", text: help }) : null]);
}

function textInput(value, onChange, attrs = {}) {
  return el("input", { value: value ?? "", ...attrs, oninput: (e) => { onChange(e.target.value); changed(); } });
}

function area(value, onChange, attrs = {}) {
  const a = el("textarea", { rows: 3, ...attrs, oninput: (e) => { onChange(e.target.value); changed(); refreshCard(); } });
  a.value = value ?? "";
  return a;
}

function choice(value, options, onChange) {
  const s = el("select", { onchange: (e) => { onChange(e.target.value); changed(); refreshCard(); } },
    options.map(([v, label]) => el("option", { value: v, text: label, selected: v === value })));
  return s;
}

/** A text of the node in the language of the current tab. */
function langText(owner, key, label, attrs = {}) {
  owner[key] = owner[key] || {};
  return field(`${label} (${lang})`, area(owner[key][lang], (v) => { owner[key][lang] = v; }, { "data-testid": `text-${key}`, ...attrs }));
}

function refreshCard() {
  const node = byId(selected);
  if (!node || !dfOf.has(node.id)) return;
  const box = document.querySelector(`#node-${dfOf.get(node.id)} .drawflow_content_node`);
  if (box) box.innerHTML = cardHtml(node);
}

function tabs() {
  const bar = el("div", { class: "lang-tabs", role: "tablist" });
  for (const l of graph.languages) {
    bar.append(el("button", {
      type: "button", role: "tab", "aria-selected": String(l === lang), class: l === lang ? "is-on" : "",
      text: l, "data-testid": `tab-${l}`, onclick: () => { lang = l; renderEditor(); draw(); },
    }));
  }
  return bar;
}

function renderEditor() {
  const node = byId(selected);
  editorCard.hidden = !node;
  editorBody.replaceChildren();
  if (!node) return;
  document.getElementById("b-editor-title").textContent = `${node.type}: ${node.id}`;
  const parts = [tabs()];
  parts.push(field("Title", textInput(node.title, (v) => { node.title = v; })));
  if (TYPES[node.type]?.text) parts.push(langText(node, "text", "Text"));
  const restructure = () => { changed(); draw(); renderEditor(); };
  if (node.type === "message") {
    (node.buttons || []).forEach((b, i) => {
      parts.push(langText(b, "label", `Button ${i + 1}`, { rows: 1 }));
      parts.push(field("Link (optional)", textInput(b.url, (v) => { b.url = v || undefined; })));
    });
    parts.push(el("button", { class: "btn", type: "button", text: "+ button", onclick: () => {
      node.buttons = node.buttons || [];
      node.buttons.push({ label: Object.fromEntries(graph.languages.map((l) => [l, ""])) });
      restructure();
    } }));
  }
  if (node.type === "menu") {
    node.options.forEach((o, i) => {
      parts.push(langText(o, "label", `Option ${i + 1}`, { rows: 1, "data-testid": `option-${i}` }));
      parts.push(field("Switch language to (optional)", textInput(o.set_language, (v) => { o.set_language = v || undefined; })));
    });
    parts.push(el("div", { class: "row" }, [
      el("button", { class: "btn", type: "button", text: "+ option", "data-testid": "add-option", onclick: () => {
        node.options.push({ label: Object.fromEntries(graph.languages.map((l) => [l, ""])) });
        restructure();
      } }),
      node.options.length ? el("button", { class: "btn", type: "button", text: "− option", onclick: () => { node.options.pop(); restructure(); } }) : null,
    ]));
    const faq = el("input", { type: "checkbox", checked: node.faq ? true : undefined, onchange: (e) => { node.faq = e.target.checked; changed(); } });
    parts.push(field("Answer typed questions from the FAQ", faq));
  }
  if (node.type === "ask") {
    parts.push(field("Variable", textInput(node.variable, (v) => { node.variable = v; }, { "data-testid": "variable" })));
    parts.push(field("Check", choice(node.check || "text", [["text", "any text"], ["phone", "phone"], ["email", "email"], ["date", "date"], ["number", "number"], ["choice", "choice"], ["pattern", "pattern"]], (v) => { node.check = v; })));
    parts.push(field("Pattern (regular expression)", textInput(node.pattern, (v) => { node.pattern = v || undefined; })));
    parts.push(field("Choices (one per line)", area((node.choices || []).join("\n"), (v) => { node.choices = v.split("\n").map((x) => x.trim()).filter(Boolean); })));
    parts.push(langText(node, "retry_text", "Asked again with"));
  }
  if (node.type === "condition") {
    node.branches.forEach((b, i) => {
      const c = b.all[0] || (b.all[0] = { subject: "var.answer", op: "eq", value: "" });
      parts.push(el("fieldset", { class: "bf-branch" }, [
        el("legend", { text: `if ${i + 1}` }),
        field("Subject (var.NAME, contact.FIELD, channel, language, event.NAME, business_hours)", textInput(c.subject, (v) => { c.subject = v; })),
        field("Test", choice(c.op, ["eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists", "matches"].map((o) => [o, o]), (v) => { c.op = v; })),
        field("Value", textInput(c.value, (v) => { c.value = v; })),
      ]));
    });
    parts.push(el("button", { class: "btn", type: "button", text: "+ branch", onclick: () => {
      node.branches.push({ all: [{ subject: "var.answer", op: "eq", value: "" }] });
      restructure();
    } }));
  }
  if (node.type === "http") {
    parts.push(field("Method", choice(node.method || "GET", ["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => [m, m]), (v) => { node.method = v; })));
    parts.push(field("URL", textInput(node.url, (v) => { node.url = v; }, { "data-testid": "url" }), "{{variable}} and {{contact.phone}} are filled in."));
    parts.push(field("Headers (Name: value per line; {{secret.NAME}} for stored secrets)", area(
      Object.entries(node.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n"),
      (v) => { node.headers = Object.fromEntries(v.split("\n").map((l) => l.split(/:(.*)/s).map((x) => (x || "").trim())).filter(([k]) => k).map(([k, val]) => [k, val])); },
    )));
    parts.push(field("Keep from the answer (variable = path per line)", area(
      Object.entries(node.save || {}).map(([k, v]) => `${k} = ${v}`).join("\n"),
      (v) => { node.save = Object.fromEntries(v.split("\n").map((l) => l.split("=").map((x) => x.trim())).filter(([k, p]) => k && p)); },
    )));
    parts.push(field("Timeout, seconds", textInput(node.timeout_seconds ?? 5, (v) => { node.timeout_seconds = Number(v) || 5; }, { type: "number", min: "1", max: "30" })));
  }
  if (node.type === "set") {
    parts.push(field("What", choice(node.target || "variable", [["variable", "a variable"], ["attribute", "a contact attribute"], ["tag", "a conversation tag"]], (v) => { node.target = v; })));
    parts.push(field("Name", textInput(node.name, (v) => { node.name = v; })));
    parts.push(field("Value", textInput(node.value, (v) => { node.value = v; })));
  }
  if (node.type === "handoff") {
    parts.push(field("Topic", textInput(node.topic, (v) => { node.topic = v || undefined; })));
    parts.push(field("Queue (name)", textInput(node.queue, (v) => { node.queue = v || undefined; })));
    parts.push(field("Priority (0-10)", textInput(node.priority, (v) => { node.priority = v === "" ? undefined : Number(v); }, { type: "number", min: "0", max: "10" })));
  }
  if (node.type === "end") {
    const survey = el("input", { type: "checkbox", checked: node.survey ? true : undefined, onchange: (e) => { node.survey = e.target.checked; changed(); } });
    parts.push(field("Ask for a rating after", survey));
  }
  if (node.type === "jump") parts.push(field("Flow key", textInput(node.flow, (v) => { node.flow = v; })));
  parts.push(el("div", { class: "row" }, [
    el("button", { class: "btn", type: "button", text: t("start"), onclick: () => { graph.start = node.id; changed(); draw(); } }),
    el("button", { class: "btn btn-danger", type: "button", text: t("delete"), "data-testid": "delete-node", onclick: () => removeNode(node.id) }),
  ]));
  const mine = problems.filter((p) => p.node === node.id);
  if (mine.length) parts.push(el("ul", { class: "bf-problems" }, mine.map((p) => el("li", { text: p.message }))));
  editorBody.replaceChildren(...parts);
}

// ---------------------------------------------------------------------------------------
// Flow settings, problems, saving, publishing, versions
// ---------------------------------------------------------------------------------------

const statusEl = document.getElementById("b-status");
function setStatus(text, kind = "") {
  statusEl.textContent = text;
  statusEl.dataset.kind = kind;
}

function renderStart() {
  const start = document.getElementById("b-start");
  start.replaceChildren(...graph.nodes.map((n) => el("option", { value: n.id, text: n.id, selected: n.id === graph.start })));
}

document.getElementById("b-start").addEventListener("change", (e) => { graph.start = e.target.value; changed(); draw(); });
document.getElementById("b-languages").addEventListener("change", (e) => {
  const list = e.target.value.split(",").map((x) => x.trim()).filter(Boolean);
  if (list.length) {
    graph.languages = list;
    if (!list.includes(lang)) lang = list[0];
    changed();
    renderEditor();
  }
});
document.getElementById("b-fallback").addEventListener("change", (e) => { graph.fallback_language = e.target.value.trim(); changed(); });

function renderProblems() {
  const list = document.getElementById("b-problems");
  if (!problems.length) {
    list.replaceChildren(el("li", { class: "ok", text: t("no_problems") }));
    return;
  }
  list.replaceChildren(...problems.map((p) => el("li", { "data-node": p.node || "", "data-code": p.code }, [
    p.node ? el("button", { type: "button", class: "link", text: p.node, onclick: () => select(p.node) }) : null,
    document.createTextNode(` ${p.message}`),
  ])));
}

async function save() {
  const { status, data } = await api("PUT", `/api/v1/bots/flows/${flowId}`, { graph, revision });
  if (status === 409) {
    setStatus(t("conflict"), "error");
    return false;
  }
  if (status !== 200) {
    setStatus(`${t("error")}: ${data?.error?.message || status}`, "error");
    return false;
  }
  revision = data.revision;
  problems = data.problems || [];
  dirty = false;
  setStatus(t("saved"), "ok");
  renderProblems();
  draw();
  renderEditor();
  return true;
}

async function publish() {
  if (dirty && !(await save())) return;
  const { status, data } = await api("POST", `/api/v1/bots/flows/${flowId}/publish`, {});
  if (status === 409 && data?.error?.problems) {
    problems = data.error.problems;
    renderProblems();
    draw();
    setStatus(t("problems"), "error");
    return;
  }
  if (status !== 201) {
    setStatus(`${t("error")}: ${data?.error?.message || status}`, "error");
    return;
  }
  setStatus(t("published", { n: data.number }), "ok");
  await loadVersions();
}

async function loadVersions() {
  const { data } = await api("GET", `/api/v1/bots/flows/${flowId}`);
  const list = document.getElementById("b-versions");
  list.replaceChildren(...(data.versions || []).map((v) => el("li", {}, [
    el("strong", { text: `v${v.number}` }),
    document.createTextNode(` ${v.published_at ? new Date(v.published_at).toLocaleString() : ""} ${v.published_by || ""} ${v.note || ""} `),
    el("button", { type: "button", class: "link", text: t("rollback"), onclick: async () => {
      const r = await api("POST", `/api/v1/bots/flows/${flowId}/rollback`, { version: v.number });
      if (r.status === 201) setStatus(t("published", { n: r.data.number }), "ok");
      else setStatus(`${t("error")}: ${r.data?.error?.message || r.status}`, "error");
      await loadVersions();
    } }),
  ])));
  return data;
}

document.getElementById("b-save").addEventListener("click", save);
document.getElementById("b-publish").addEventListener("click", publish);
document.getElementById("b-add").addEventListener("click", () => {
  const node = blank(document.getElementById("b-add-type").value);
  const pos = graph.nodes.length;
  node.position = { x: 40 + (pos % 4) * 260, y: 40 + Math.floor(pos / 4) * 200 };
  graph.nodes.push(node);
  if (!graph.start) graph.start = node.id;
  changed();
  draw();
  select(node.id);
});

window.addEventListener("beforeunload", (e) => { if (dirty) e.preventDefault(); });

// ---------------------------------------------------------------------------------------
// The test chat (runs the saved draft through the API)
// ---------------------------------------------------------------------------------------

const chat = document.getElementById("b-chat");
let chatState = null;

function bubble(who, text, buttons = []) {
  const li = el("li", { class: `tc tc-${who}`, "data-testid": `tc-${who}` }, [el("span", { text })]);
  if (buttons.length) {
    li.append(el("div", { class: "tc-buttons" }, buttons.map((b) => b.url
      ? el("a", { href: b.url, target: "_blank", rel: "noopener noreferrer", text: b.text })
      : el("button", { type: "button", class: "btn", text: b.text, onclick: () => turn(b.text, b.payload) }))));
  }
  chat.append(li);
  li.scrollIntoView({ block: "nearest" });
}

async function turn(text, payload) {
  if (dirty && !(await save())) return;
  if (text !== undefined) bubble("you", text);
  const body = { state: chatState, language: lang };
  if (text !== undefined) body.text = text;
  if (payload) body.payload = payload;
  const { status, data } = await api("POST", `/api/v1/bots/flows/${flowId}/test`, body);
  if (status !== 200) {
    bubble("end", `${t("error")}: ${data?.error?.message || status}`);
    return;
  }
  for (const s of data.says) bubble("bot", s.text, s.buttons || []);
  chatState = data.state;
  if (data.outcome.kind !== "wait") {
    bubble("end", t("bot_ended", { kind: [data.outcome.kind, data.outcome.reason].filter(Boolean).join(": ") }));
    chatState = null;
  }
}

document.getElementById("b-chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("b-chat-text");
  const text = input.value.trim();
  input.value = "";
  if (!chatState) {
    chat.replaceChildren();
    turn(text || undefined);
  } else if (text) turn(text);
});
document.getElementById("b-chat-restart").addEventListener("click", () => {
  chatState = null;
  chat.replaceChildren();
  turn();
});

// ---------------------------------------------------------------------------------------

async function boot() {
  const data = await loadVersions();
  graph = data.graph || {};
  graph.languages = graph.languages?.length ? graph.languages : ["en"];
  graph.fallback_language = graph.fallback_language || graph.languages[0];
  graph.nodes = graph.nodes || [];
  revision = data.revision;
  problems = data.problems || [];
  lang = graph.languages[0];
  document.getElementById("b-languages").value = graph.languages.join(", ");
  document.getElementById("b-fallback").value = graph.fallback_language;
  renderProblems();
  draw();
  root.dataset.ready = "true";
}

boot();
