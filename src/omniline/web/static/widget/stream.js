// The widget's WebSocket (docs/api.md, "Realtime protocol"): resumes from the last event id,
// reconnects with exponential back-off, and treats silence as a dead connection.

const MIN_DELAY = 1000;
const MAX_DELAY = 30000;
// The server sends a heartbeat every 20 s; two missed ones mean the link is dead even if the
// browser has not noticed (a phone that changed networks keeps a zombie socket for minutes).
const SILENCE_LIMIT = 50000;
// Close codes a server uses for a refused token; the session is renewed before trying again.
const AUTH_CLOSE_CODES = new Set([1008, 4001, 4003, 4401, 4403]);

// Event ids are "N" (in-process bus) or "MS-SEQ" (Redis stream); both order as pairs.
function compareIds(a, b) {
  const [a1, a2 = 0] = String(a).split("-").map(Number);
  const [b1, b2 = 0] = String(b).split("-").map(Number);
  return a1 - b1 || a2 - b2;
}

export class Stream {
  /**
   * @param session  api.Session (gives the URL and renews the token)
   * @param handlers {onEvent(frame), onResync(),
   *                  onState("connecting"|"connected"|"reconnecting", {resumed}) - resumed: the
   *                  socket was opened with a last_event_id, so the server replays what we missed}
   */
  constructor(session, { onEvent, onResync, onState }) {
    this.session = session;
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.onState = onState;
    this.lastEventId = null;
    this.ws = null;
    this.attempt = 0;
    this.failuresBeforeHello = 0;
    this.retryTimer = null;
    this.silenceTimer = null;
    this.stopped = false;

    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  start() {
    this.stopped = false;
    this.onState("connecting");
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.detach();
  }

  // Skips the back-off wait when we have reason to think the network is back.
  reconnectNow() {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.connect();
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.detach(); // never leave an orphan socket behind when two wake-ups race
    let ws;
    try {
      ws = new WebSocket(this.session.streamUrl(this.lastEventId));
    } catch {
      this.scheduleRetry(false);
      return;
    }
    this.ws = ws;
    const resumed = Boolean(this.lastEventId);
    let greeted = false;
    ws.onmessage = (msg) => {
      if (ws !== this.ws) return;
      this.watchSilence();
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (!frame || typeof frame !== "object") return;
      if (frame.type === "hello") {
        greeted = true;
        this.attempt = 0;
        this.failuresBeforeHello = 0;
        // Adopt the server's position only on a fresh start; when resuming, the server replays
        // what we missed after hello and our own id must stay until those frames arrive.
        const head = frame.last_event_id != null ? String(frame.last_event_id) : null;
        if (!this.lastEventId && head) this.lastEventId = head;
        this.onState("connected", { resumed });
        if (resumed && head && compareIds(head, this.lastEventId) < 0) {
          // The server is behind what we saw: it restarted with an in-memory buffer and cannot
          // know what we missed in between, so reload from the API as a resync would.
          this.lastEventId = head;
          this.onResync();
        }
        return;
      }
      if (frame.type === "heartbeat" || frame.type === "pong") return;
      if (frame.type === "resync") {
        this.onResync();
        return;
      }
      if (frame.id != null) this.lastEventId = String(frame.id);
      this.onEvent(frame);
    };
    ws.onopen = () => this.watchSilence();
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      clearTimeout(this.silenceTimer);
      this.ws = null;
      if (this.stopped) return;
      if (!greeted) this.failuresBeforeHello += 1;
      // A socket that never says hello is most often a refused (expired) token.
      const renew = AUTH_CLOSE_CODES.has(ev.code) || this.failuresBeforeHello >= 2;
      this.scheduleRetry(renew);
    };
    ws.onerror = () => {
      /* onclose follows and does the work */
    };
  }

  // Forget the current socket; its late events are ignored because it is no longer this.ws.
  detach() {
    const old = this.ws;
    this.ws = null;
    clearTimeout(this.silenceTimer);
    if (old) {
      try {
        old.close(4000);
      } catch {
        /* already closed */
      }
    }
    return old;
  }

  watchSilence() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      // Do not wait for onclose: on a dead link the closing handshake itself can hang for minutes.
      if (this.detach() && !this.stopped) this.scheduleRetry(false);
    }, SILENCE_LIMIT);
  }

  scheduleRetry(renewSession) {
    this.onState("reconnecting");
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
    // Jitter spreads thousands of widgets reconnecting after a server restart.
    const delay = Math.round(base * (0.75 + Math.random() * 0.25));
    this.attempt += 1;
    this.retryTimer = setTimeout(async () => {
      if (this.stopped) return;
      if (renewSession) {
        this.failuresBeforeHello = 0;
        try {
          await this.session.refresh();
        } catch {
          /* offline or server down: the next attempt will fail and back off further */
        }
      }
      this.connect();
    }, delay);
  }
}
