// Talks to the loader (widget.js) in the lender's page and keeps the unread count.
//
// frame -> page: {source: "omniline", type: "ready", labels: {open, close, unread}, color, title}
//                {source: "omniline", type: "unread", count}
//                {source: "omniline", type: "close"}
// page -> frame: {source: "omniline", type: "visibility", open: bool, focus: bool}
//
// Messages to the page go to "*": the frame cannot know which site embeds it, and they carry
// nothing private (a count, translated labels, the inbox colour and name). The loader checks
// that they come from Omniline's origin and its own iframe.

import { local } from "./util.js";

export class ParentBridge {
  /**
   * @param inboxKey  scopes the "seen" marker
   * @param list      render.MessageList, the source of truth for what was received
   * @param onShown   called with {focus} when the panel becomes visible
   */
  constructor(inboxKey, list, onShown) {
    this.list = list;
    this.onShown = onShown;
    this.embedded = window.parent !== window;
    // Opened directly (a support link, a test): always visible, nobody to report to.
    this.open = !this.embedded;
    // Highest message id the visitor has had on screen; kept across reloads and shared by tabs.
    this.seenKey = `omniline:${inboxKey}:seen`;
    this.lastSeen = Number(local.get(this.seenKey)) || 0;
    this.sentCount = null;

    window.addEventListener("message", (e) => this.receive(e));
    document.addEventListener("visibilitychange", () => this.update());
  }

  post(message) {
    if (!this.embedded) return;
    window.parent.postMessage({ source: "omniline", ...message }, "*");
  }

  receive(event) {
    // Only the embedding page may drive us; anything else (other frames, extensions) is ignored.
    if (!this.embedded || event.source !== window.parent) return;
    const msg = event.data;
    if (!msg || typeof msg !== "object" || msg.source !== "omniline") return;
    if (msg.type === "visibility") {
      const wasOpen = this.open;
      this.open = Boolean(msg.open);
      if (this.open && (!wasOpen || msg.focus)) this.onShown({ focus: Boolean(msg.focus) });
      this.update();
    }
  }

  ready(labels, color, title) {
    this.post({ type: "ready", labels, color, title });
  }

  close() {
    this.post({ type: "close" });
  }

  // Seen = the panel is open AND the page is in front; a panel left open in a background
  // tab still collects unread messages.
  get seen() {
    return this.open && document.visibilityState === "visible";
  }

  update() {
    const stored = Number(local.get(this.seenKey)) || 0;
    this.lastSeen = Math.max(this.lastSeen, stored); // another tab may have read them
    let count = 0;
    if (this.seen) {
      if (this.list.maxId > this.lastSeen) {
        this.lastSeen = this.list.maxId;
        local.set(this.seenKey, this.lastSeen);
      }
    } else {
      for (const m of this.list.messages()) if (m.direction === "out" && m.id > this.lastSeen) count += 1;
    }
    if (count !== this.sentCount) {
      this.sentCount = count;
      this.post({ type: "unread", count });
    }
  }
}
