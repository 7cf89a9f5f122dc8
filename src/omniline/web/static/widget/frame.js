// Entry point of the chat panel (templates/widget/frame.html): wires the session, the history,
// the realtime stream, the message box and the loader in the lender's page together.

import { Session } from "./api.js";
import { ParentBridge } from "./bridge.js";
import { Composer } from "./composer.js";
import { MessageList } from "./render.js";
import { Stream } from "./stream.js";
import { CONFIG, t, textColorOn, validColor } from "./util.js";

const IDENTITY_FIELDS = ["external_id", "name", "email", "phone", "expires", "signature"];

// The loader passes the lender-vouched identity in the hash (#identity=<JSON>): a hash is
// never sent to the server in the URL, so it stays out of access logs.
function identityFromHash() {
  const m = /(?:^#|&)identity=([^&]*)/.exec(location.hash);
  if (!m) return null;
  let raw;
  try {
    raw = JSON.parse(decodeURIComponent(m[1]));
  } catch {
    return null;
  }
  if (!raw || typeof raw !== "object") return null;
  const out = {};
  for (const f of IDENTITY_FIELDS) if (typeof raw[f] === "string" && raw[f]) out[f] = raw[f];
  // Attributes are text; the API takes the expiry as a number of Unix seconds.
  if (out.expires !== undefined) {
    const seconds = /^\d{1,15}$/.test(out.expires) ? Number(out.expires) : NaN;
    if (Number.isSafeInteger(seconds)) out.expires = seconds;
    else delete out.expires;
  }
  // Without the lender's signature the server cannot trust any of it: chat anonymously.
  return out.external_id && out.signature ? out : null;
}

// Inbox colour from the server; set through the CSSOM, which a strict CSP still allows.
function applyColor(color) {
  const c = validColor(color);
  if (!c) return null;
  const root = document.documentElement.style;
  root.setProperty("--ol-primary", c);
  root.setProperty("--ol-on-primary", textColorOn(c));
  return c;
}

class StatusLine {
  constructor(node) {
    this.node = node;
    this.text = node.querySelector(".ol-status-text");
  }

  set(state) {
    const text = { connected: t("connected"), reconnecting: t("reconnecting"), error: t("unavailable") };
    this.node.dataset.state = state;
    this.text.textContent = text[state] || t("connecting");
  }
}

function mergeById(a, b) {
  const map = new Map();
  for (const m of [...a, ...b]) if (m && m.id != null) map.set(m.id, m);
  return Array.from(map.values()).sort((x, y) => x.id - y.id);
}

const session = new Session({ inboxKey: CONFIG.inboxKey, identity: identityFromHash(), locale: CONFIG.locale });
const color = applyColor(CONFIG.color);
const status = new StatusLine(document.getElementById("ol-status"));
const list = new MessageList(document.getElementById("ol-messages"), document.getElementById("ol-scroll"), session);
let composer = null;
const bridge = new ParentBridge(CONFIG.inboxKey, list, ({ focus }) => {
  if (focus) composer?.focus();
});

// The visitor's open conversation; null once it is resolved (the next message starts a new one).
let openConversationId;
let historyLoaded = false;

function noteConversation(msg) {
  if (msg && msg.conversation_id != null) openConversationId = msg.conversation_id;
}

async function loadHistory() {
  const { items = [] } = await session.fetchMessages();
  if (!historyLoaded) {
    // Merge: stream events may have landed while the request was under way.
    list.renderAll(mergeById(items, list.messages()), openConversationId);
    historyLoaded = true;
  } else {
    items.forEach((m) => list.add(m));
    const last = list.lastMessage();
    if (last && openConversationId === null) list.showClosed(last.conversation_id);
  }
  bridge.update();
}

function onEvent(frame) {
  const data = frame.data || {};
  if (frame.type === "message.created") {
    noteConversation(data);
    if (list.add(data)) bridge.update();
  } else if (frame.type === "conversation.updated") {
    if (data.status === "resolved" || data.status === "closed") {
      if (openConversationId === data.conversation_id) openConversationId = null;
      // Only the conversation on screen at the bottom gets the "write to start a new one" line.
      if (list.lastMessage()?.conversation_id === data.conversation_id) list.showClosed(data.conversation_id);
    } else if (data.conversation_id != null) {
      openConversationId = data.conversation_id;
    }
  }
}

// Events were lost, possibly a "resolved" one too: ask the server again which conversation is
// open (a new session answer says so) before merging the history.
async function resync() {
  try {
    const info = await session.refresh();
    openConversationId = info.conversation_id ?? null;
  } catch {
    /* keep what we believed; the history below may still load */
  }
  await loadHistory();
}

const stream = new Stream(session, {
  onEvent,
  onResync: () => resync().catch(() => {}), // the next reconnect tries again
  onState: (state, { resumed } = {}) => {
    status.set(state);
    // A fresh socket (no last_event_id to resume from) cannot replay what happened while we
    // were away, so fetch what is missing.
    if (state === "connected" && !resumed && historyLoaded) loadHistory().catch(() => {});
  },
});

composer = new Composer(session, list, (msg) => {
  noteConversation(msg);
  bridge.update();
});
list.onQuickReply = (text, payload) => composer.choose(text, payload);

session.onChange(() => list.refreshAttachmentUrls());

// "Call me back" (a phone line exists): the number goes to the callback list.
function setUpCallback() {
  const open = document.getElementById("ol-callback-open");
  const form = document.getElementById("ol-callback");
  if (!CONFIG.callback || !open || !form) return;
  const input = document.getElementById("ol-callback-phone");
  const note = document.getElementById("ol-callback-note");
  open.addEventListener("click", () => {
    form.hidden = !form.hidden;
    open.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) input.focus();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    note.textContent = "";
    try {
      const booked = await session.request("POST", "/api/v1/widget/callback", { json: { phone: input.value.trim() } });
      note.textContent = t("callbackBooked").replace("{number}", booked.number);
      input.value = "";
    } catch {
      note.textContent = t("callbackFailed");
    }
  });
}
setUpCallback();

document.getElementById("ol-close").addEventListener("click", () => bridge.close());
if (!bridge.embedded) document.getElementById("ol-close").hidden = true;
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") bridge.close();
});

bridge.ready({ open: t("open"), close: t("close"), unread: t("unread") }, color, document.title);

let booting = false;
let bootTimer = null;
let bootAttempt = 0;
let historyAttempt = 0;

async function loadHistoryUntilDone() {
  try {
    await loadHistory();
  } catch {
    // Keep what the stream delivers meanwhile; retry with back-off (2 s .. 30 s).
    historyAttempt += 1;
    setTimeout(loadHistoryUntilDone, Math.min(30000, 1000 * 2 ** historyAttempt));
  }
}

async function boot() {
  if (booting) return;
  booting = true;
  clearTimeout(bootTimer);
  status.set("connecting");
  let info;
  try {
    info = await session.start();
  } catch {
    booting = false;
    status.set("error");
    composer.showError(t("unavailable"), { label: t("tryAgain"), run: boot });
    // The server may be restarting: try again by itself too, more and more slowly.
    bootAttempt += 1;
    bootTimer = setTimeout(boot, Math.min(60000, 2000 * 2 ** bootAttempt));
    return;
  }
  composer.hideError();
  openConversationId = info.conversation_id ?? null;
  composer.setReady(true);
  // Stream first, history second: nothing created in between can fall through the gap.
  stream.start();
  await loadHistoryUntilDone();
  composer.resendUnconfirmed();
}

boot();
