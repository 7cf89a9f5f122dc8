// The message list. Every piece of text from the server or the visitor goes in through
// textContent / text nodes: a message "<img src=x onerror=alert(1)>" must show as typed.

import { attachmentList, onlyImages, pendingFile } from "./attachments.js";
import { buildSurvey } from "./survey.js";
import { el, t, parseTime, formatTime, formatFull, formatDay, dayKey } from "./util.js";

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

// Turns plain URLs into links without ever parsing HTML: text stays text nodes.
function appendLinkified(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, ""); // sentence punctuation is not part of the link
    const start = match.index;
    if (start > last) parent.appendChild(document.createTextNode(text.slice(last, start)));
    const a = el("a", "ol-link", url);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    parent.appendChild(a);
    last = start + url.length;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

export class MessageList {
  /**
   * @param list      the <ol> element
   * @param scroller  the scrolling container around it
   * @param session   api.Session, for attachment URLs
   */
  constructor(list, scroller, session) {
    this.list = list;
    this.scroller = scroller;
    this.session = session;
    this.byId = new Map(); // id -> {msg, li}
    this.maxId = 0;
    this.closedLine = null;
    this.empty = document.getElementById("ol-empty");
    this.hasGreeting = Boolean(document.querySelector(".ol-greeting"));
    this.onQuickReply = null; // (text, payload) => void, set by the frame
  }

  messages() {
    return Array.from(this.byId.values(), (x) => x.msg);
  }

  lastMessage() {
    return this.byId.get(this.maxId)?.msg || null;
  }

  /** Replaces everything (first load and resync); unsent messages stay at the bottom. */
  renderAll(messages, openConversationId) {
    const pending = Array.from(this.list.querySelectorAll("[data-client-id]"));
    this.list.setAttribute("aria-busy", "true"); // one announcement, not one per old message
    this.list.replaceChildren();
    this.byId.clear();
    this.maxId = 0;
    this.closedLine = null;
    for (const msg of messages) this.add(msg, { scroll: false });
    const last = this.lastMessage();
    if (last && openConversationId !== undefined && openConversationId !== last.conversation_id) {
      this.showClosed(last.conversation_id);
    }
    for (const li of pending) this.list.appendChild(li);
    this.list.setAttribute("aria-busy", "false");
    this.updateEmpty();
    this.scrollToEnd(true);
  }

  /** Adds a server message once; returns false for a duplicate (POST answer vs stream). */
  add(msg, { scroll = true } = {}) {
    if (!msg || msg.id == null || this.byId.has(msg.id)) return false;
    this.dropDeliveredFailure(msg);
    const li = this.buildMessage(msg);
    const stick = this.nearBottom();
    this.insertById(li, msg);
    this.byId.set(msg.id, { msg, li });
    this.maxId = Math.max(this.maxId, msg.id);
    this.updateEmpty();
    if (scroll) this.scrollToEnd(stick || msg.direction === "in");
    return true;
  }

  insertById(li, msg) {
    if (msg.id > this.maxId) {
      // Quick replies belong to the newest message only: older ones are answered or moot.
      for (const old of this.list.querySelectorAll(".ol-quick")) old.remove();
      const prev = this.lastMessage();
      const before = this.firstPending();
      const day = dayKey(parseTime(msg.created_at));
      if (prev && prev.conversation_id !== msg.conversation_id && !this.closedLine) {
        this.list.insertBefore(this.systemLine(t("closed")), before);
      }
      if (!prev || dayKey(parseTime(prev.created_at)) !== day) {
        const sep = el("li", "ol-day", formatDay(parseTime(msg.created_at)));
        sep.setAttribute("role", "separator");
        this.list.insertBefore(sep, before);
      }
      this.list.insertBefore(li, before);
      if (this.closedLine) {
        // The invitation to write again has been taken up; the line stays as history.
        this.closedLine.firstChild.textContent = t("closed");
        this.closedLine = null; // a later close gets its own line
      }
      return;
    }
    // Late arrival (rare): slot it in by id, without separators.
    let next = null;
    for (const [id, item] of this.byId) if (id > msg.id && (!next || id < next.id)) next = { id, li: item.li };
    this.list.insertBefore(li, next ? next.li : this.firstPending());
  }

  // A send whose answer was lost looks failed although the server stored it; once the stream
  // shows the same text from the visitor, the "Not sent" copy would only be a confusing double.
  dropDeliveredFailure(msg) {
    if (msg.direction !== "in" || !msg.text) return;
    for (const li of this.list.querySelectorAll('[data-client-id][data-state="failed"]')) {
      if (li.sentText === msg.text) {
        li.remove();
        return;
      }
    }
  }

  firstPending() {
    return this.list.querySelector("[data-client-id]");
  }

  showClosed(conversationId) {
    if (this.closedLine && this.closedLine.dataset.conversationId === String(conversationId)) return;
    const stick = this.nearBottom();
    this.closedLine = this.systemLine(t("closedNew"));
    this.closedLine.dataset.conversationId = String(conversationId);
    this.list.insertBefore(this.closedLine, this.firstPending());
    this.scrollToEnd(stick);
  }

  systemLine(text) {
    const li = el("li", "ol-system");
    li.dataset.testid = "widget-system";
    li.appendChild(el("span", "", text));
    return li;
  }

  buildMessage(msg) {
    const author = msg.author || {};
    const type = author.type || (msg.direction === "in" ? "contact" : "agent");
    const li = el("li", `ol-msg ol-msg--${msg.direction === "in" ? "in" : "out"} ol-msg--${type}`);
    li.dataset.testid = "widget-message";
    li.dataset.authorType = type;
    li.dataset.id = String(msg.id);
    li.dataset.state = "sent";
    if (type === "agent" || type === "bot") {
      li.appendChild(el("div", "ol-author", author.name || t(type === "bot" ? "bot" : "agent")));
    } else if (type === "contact") {
      // Screen readers hear who wrote each message; sighted users see it by the alignment.
      li.appendChild(el("span", "ol-visually-hidden", t("you")));
    }
    li.appendChild(this.buildBubble(msg.text || "", msg.attachments || []));
    if (msg.direction === "out" && Array.isArray(msg.buttons) && msg.buttons.length && msg.id >= this.maxId) {
      li.appendChild(this.buildQuickReplies(msg.buttons));
    }
    if (msg.direction === "out" && msg.survey && typeof msg.survey === "object") {
      li.appendChild(buildSurvey(msg.survey, this.session));
    }
    li.appendChild(this.buildMeta(parseTime(msg.created_at)));
    return li;
  }

  buildQuickReplies(buttons) {
    const box = el("div", "ol-quick");
    box.setAttribute("role", "group");
    box.dataset.testid = "quick-replies";
    for (const b of buttons) {
      if (b.url) {
        const a = el("a", "ol-quick-btn ol-quick-link", b.text);
        a.href = b.url;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        box.appendChild(a);
        continue;
      }
      const button = el("button", "ol-quick-btn", b.text);
      button.type = "button";
      button.addEventListener("click", () => {
        box.remove();
        if (this.onQuickReply) this.onQuickReply(b.text, b.payload);
      });
      box.appendChild(button);
    }
    return box;
  }

  buildBubble(text, attachments) {
    const bubble = el("div", "ol-bubble");
    if (text) {
      const p = el("p", "ol-text");
      appendLinkified(p, text);
      bubble.appendChild(p);
    }
    if (attachments.length) {
      // A picture alone reads better without a thick coloured frame around it.
      if (!text && onlyImages(attachments)) bubble.classList.add("ol-bubble--media");
      const urlFor = (url) => this.session.attachmentUrl(url);
      bubble.appendChild(attachmentList(attachments, urlFor, () => this.scrollToEnd(this.nearBottom(200))));
    }
    return bubble;
  }

  buildMeta(date) {
    const meta = el("div", "ol-meta");
    const time = el("time", "", formatTime(date));
    time.dateTime = date.toISOString();
    time.title = formatFull(date);
    meta.appendChild(time);
    return meta;
  }

  /** A message the visitor is sending: shown at once, confirmed or failed later. */
  addPending(clientId, { text = "", file = null }) {
    const li = el("li", "ol-msg ol-msg--in ol-msg--contact");
    li.dataset.testid = "widget-message";
    li.dataset.authorType = "contact";
    li.dataset.clientId = clientId;
    li.sentText = text;
    li.appendChild(el("span", "ol-visually-hidden", t("you")));
    const bubble = this.buildBubble(text, []);
    if (file) bubble.appendChild(pendingFile(file));
    li.appendChild(bubble);
    const meta = el("div", "ol-meta");
    li.appendChild(meta);
    this.list.appendChild(li);
    this.setPendingState(clientId, "sending", file ? t("uploading") : t("sending"));
    this.updateEmpty();
    this.scrollToEnd(true);
    return li;
  }

  pendingElement(clientId) {
    return this.list.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
  }

  /** state: "sending" | "failed"; actions: [{label, run}] buttons shown under the bubble. */
  setPendingState(clientId, state, text, actions = []) {
    const li = this.pendingElement(clientId);
    if (!li) return;
    li.dataset.state = state;
    const meta = li.querySelector(".ol-meta");
    meta.replaceChildren(el("span", "ol-state", text));
    for (const { label, run } of actions) {
      const b = el("button", "ol-link-button", label);
      b.type = "button";
      b.addEventListener("click", run);
      meta.appendChild(b);
    }
  }

  /** The server stored the pending message: show the real one in its place (once). */
  confirm(clientId, msg) {
    this.removePending(clientId);
    this.add(msg);
  }

  removePending(clientId) {
    this.pendingElement(clientId)?.remove();
    this.updateEmpty();
  }

  // A renewed session token invalidates the URLs already on screen.
  refreshAttachmentUrls() {
    for (const node of this.list.querySelectorAll("[data-attachment-url]")) {
      const url = this.session.attachmentUrl(node.dataset.attachmentUrl);
      if (node.tagName === "IMG") node.src = url;
      else node.href = url;
    }
  }

  updateEmpty() {
    if (this.empty) this.empty.hidden = this.hasGreeting || this.list.children.length > 0;
  }

  nearBottom(slack = 80) {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < slack;
  }

  scrollToEnd(force) {
    if (force) this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}
