// Messages the visitor sent that the server has not confirmed yet, kept in localStorage until
// it does. A visitor who presses Send and at once leaves the page (logs in on the lender's
// site, follows a link) would otherwise lose the message with the request the browser
// cancelled; the next page view sends it again under the same client_id, so the server stores
// it once whichever attempt reached it.
//
// Entries carry their owner like the session token does (api.js): an anonymous visitor's
// message may follow them into a login, a logged-in customer's never goes out under anyone
// else. Text only: a file cannot be kept in storage.

import { local } from "./util.js";

const MAX_AGE_MS = 24 * 60 * 60 * 1000;
const MAX_ENTRIES = 20;

export class Outbox {
  constructor(inboxKey) {
    this.key = `omniline:${inboxKey}:outbox`;
  }

  read() {
    try {
      const items = JSON.parse(local.get(this.key) || "[]");
      return Array.isArray(items) ? items.filter((m) => m && typeof m.clientId === "string") : [];
    } catch {
      return [];
    }
  }

  write(items) {
    if (items.length) local.set(this.key, JSON.stringify(items.slice(-MAX_ENTRIES)));
    else local.remove(this.key);
  }

  put(clientId, text, payload, owner) {
    const items = this.read().filter((m) => m.clientId !== clientId);
    items.push({ clientId, text, payload: payload || null, owner, at: Date.now() });
    this.write(items);
  }

  remove(clientId) {
    const items = this.read();
    const left = items.filter((m) => m.clientId !== clientId);
    if (left.length !== items.length) this.write(left);
  }

  /** What is still to be sent by ``owner`` ("" = anonymous), oldest first; the rest is dropped. */
  takeFor(owner) {
    const now = Date.now();
    const mine = (m) => (m.owner === "" || m.owner === owner) && now - (m.at || 0) < MAX_AGE_MS;
    const items = this.read();
    const kept = items.filter(mine);
    if (kept.length !== items.length) this.write(kept);
    return kept;
  }
}
