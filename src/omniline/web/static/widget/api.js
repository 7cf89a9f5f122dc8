// HTTP client for the widget API (docs/api.md, "Widget (customer) API") and the visitor's session.

import { local } from "./util.js";

// The frame lives at BASE/widget/frame; resolving from it keeps working when Omniline is
// served under a path prefix.
const ROOT = new URL("../", location.href);

export function apiUrl(path) {
  return new URL(path.replace(/^\//, ""), ROOT).toString();
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "";
    this.fields = err.fields || [];
  }

  // Worth trying again later with the same idempotency key.
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

// status 0 = the request never got an answer (offline, DNS, timeout, CORS).
class NetworkError extends ApiError {
  constructor(cause) {
    super(0, null);
    this.message = String(cause?.message || cause || "network error");
  }
}

async function call(method, path, { token, json, form, timeoutMs = 30000 } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form; // the browser writes the multipart boundary itself
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let res;
  try {
    res = await fetch(apiUrl(path), { method, headers, body, signal: abort.signal, credentials: "omit" });
  } catch (e) {
    throw new NetworkError(e);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null; // proxies answer 502/504 with HTML
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/**
 * The visitor's widget session. The token is kept per inbox in localStorage so an anonymous
 * visitor keeps the same contact (and history) across visits.
 */
export class Session {
  constructor({ inboxKey, identity, locale }) {
    this.inboxKey = inboxKey;
    this.identity = identity;
    this.locale = locale;
    this.tokenKey = `omniline:${inboxKey}:token`;
    // Whose token it is: "" for an anonymous visitor, else the verified external id.
    this.ownerKey = `omniline:${inboxKey}:owner`;
    this.token = null;
    this.info = null;
    this.refreshing = null;
    this.listeners = new Set();
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  // A previous token is reused only when it cannot hand someone else's history to this
  // visitor: an anonymous token may follow the visitor into a login, but a logged-in
  // customer's token is never reused after logout or by another customer on a shared computer.
  previousToken() {
    const token = local.get(this.tokenKey);
    if (!token) return null;
    const owner = local.get(this.ownerKey) || "";
    const current = this.identity?.external_id || "";
    return owner === "" || owner === current ? token : null;
  }

  async start() {
    const body = { inbox_key: this.inboxKey, locale: this.locale };
    const previous = this.previousToken();
    if (previous) body.session_token = previous;
    if (this.identity) body.identity = this.identity;
    let info;
    try {
      info = await call("POST", "/api/v1/widget/sessions", { json: body });
    } catch (e) {
      if ((e.status === 401 || e.status === 422) && this.identity) {
        // A bad signature is the lender's integration bug; the customer can still chat anonymously.
        console.warn(`Omniline widget: identity refused (${e.message}), continuing anonymously`);
        this.identity = null;
        return this.start();
      }
      if (e.status === 401 && previous) {
        local.remove(this.tokenKey); // expired or revoked: start afresh
        return this.start();
      }
      throw e;
    }
    this.info = info;
    this.token = info.session_token;
    local.set(this.tokenKey, this.token);
    local.set(this.ownerKey, this.owner());
    for (const fn of this.listeners) fn(info);
    return info;
  }

  // Who is chatting: "" for an anonymous visitor, else the verified external id.
  owner() {
    return this.info?.verified && this.identity?.external_id ? this.identity.external_id : "";
  }

  // One refresh for any number of requests that hit 401 at the same time.
  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.start().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async request(method, path, options = {}) {
    const tokenUsed = this.token;
    try {
      return await call(method, path, { ...options, token: tokenUsed });
    } catch (e) {
      if (e.status !== 401) throw e;
      if (this.token === tokenUsed) await this.refresh();
      return call(method, path, { ...options, token: this.token });
    }
  }

  fetchMessages(afterId) {
    const q = afterId ? `?after_id=${encodeURIComponent(afterId)}` : "";
    return this.request("GET", `/api/v1/widget/messages${q}`);
  }

  /** ``payload``: the bot's quick reply pressed (``text`` is then its label). */
  sendText(text, clientId, payload) {
    const json = { text, client_id: clientId };
    if (payload) json.payload = payload;
    return this.request("POST", "/api/v1/widget/messages", { json });
  }

  upload(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    return this.request("POST", "/api/v1/widget/attachments", { form, timeoutMs: 10 * 60 * 1000 });
  }

  // Attachments are fetched by <img>/<a>, which cannot send headers: the token rides in the query.
  attachmentUrl(url) {
    const u = new URL(url, ROOT);
    u.searchParams.set("token", this.token || "");
    return u.toString();
  }

  streamUrl(lastEventId) {
    const u = new URL(apiUrl("/api/v1/widget/stream"));
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("token", this.token || "");
    if (lastEventId) u.searchParams.set("last_event_id", lastEventId);
    return u.toString();
  }
}
