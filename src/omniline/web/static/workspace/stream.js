// Realtime stream: WebSocket /api/v1/stream authenticated by the session cookie.
// Tracks the last event id, reconnects with exponential back-off (resuming from that id),
// answers `resync` by asking the app to reload its views, and drives the connection indicator.
import { t } from './util.js';

const HEARTBEAT_TIMEOUT = 50000; // server sends a heartbeat every 20 s
const PING_EVERY = 25000;
const MAX_DELAY = 30000;

function compareIds(a, b) {
  // Ids are `N` or `MS-SEQ` (see realtime/events.py parse_event_id): compare as number pairs,
  // never as strings ("x-10" must come after "x-9").
  const [ha, ta] = String(a).split('-');
  const [hb, tb] = String(b).split('-');
  const d = Number(ha) - Number(hb);
  if (Number.isFinite(d) && d !== 0) return d;
  const e = Number(ta || 0) - Number(tb || 0);
  if (Number.isFinite(d) && Number.isFinite(e)) return e;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

export class Stream {
  /**
   * @param {object} o
   * @param {string} [o.path]
   * @param {(frame: {id: string, type: string, data: any}) => void} o.onEvent
   * @param {() => void} o.onResync  the client missed events: reload every view from the HTTP API
   * @param {(state: 'open'|'connecting'|'closed') => void} [o.onState]
   * @param {() => void} [o.onRepeatedFailure]  called after several failed attempts (e.g. to check the session)
   */
  constructor(o) {
    this.path = o.path || '/api/v1/stream';
    this.onEvent = o.onEvent;
    this.onResync = o.onResync;
    this.onState = o.onState || (() => {});
    this.onRepeatedFailure = o.onRepeatedFailure || (() => {});
    this.lastId = null;
    this.ws = null;
    this.attempts = 0;
    this.state = 'closed';
    this.retryTimer = null;
    this.watchTimer = null;
    this.lastFrameAt = 0;
    this.stopped = true;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this._connect();
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this._stopWatch();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
    this._setState('closed');
  }

  /** Reconnect at once if we are waiting for a retry. */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this._connect();
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  _url() {
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = `${proto}//${window.location.host}${this.path}`;
    if (this.lastId !== null) url += `?last_event_id=${encodeURIComponent(this.lastId)}`;
    return url;
  }

  _connect() {
    this.retryTimer = null;
    this._setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch (err) {
      console.error('stream: cannot connect', err);
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      this._setState('open');
      this._startWatch();
    });
    ws.addEventListener('message', (ev) => {
      if (this.ws === ws) this._frame(ev.data);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._stopWatch();
      if (!this.stopped) this._scheduleRetry();
    });
    ws.addEventListener('error', () => {
      // a close event follows
    });
  }

  _scheduleRetry() {
    this._setState('closed');
    this.attempts += 1;
    if (this.attempts === 3 || this.attempts % 10 === 0) this.onRepeatedFailure();
    const base = Math.min(MAX_DELAY, 1000 * 2 ** Math.min(this.attempts - 1, 6));
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._connect(), delay);
  }

  _startWatch() {
    this._stopWatch();
    this.watchTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      const idle = Date.now() - this.lastFrameAt;
      if (idle > HEARTBEAT_TIMEOUT) {
        console.warn('stream: no heartbeat, reconnecting');
        ws.close(4000, 'heartbeat timeout');
        // The close event may be slow on a dead link: detach now and retry.
        this.ws = null;
        this._stopWatch();
        this._scheduleRetry();
      } else if (idle > PING_EVERY) {
        try {
          ws.send(JSON.stringify({ type: 'ping' }));
        } catch {
          // ignored: the close handler reconnects
        }
      }
    }, 5000);
  }

  _stopWatch() {
    clearInterval(this.watchTimer);
    this.watchTimer = null;
  }

  _frame(raw) {
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    switch (frame.type) {
      case 'hello': {
        this.attempts = 0;
        const serverId = frame.last_event_id;
        if (serverId !== undefined && serverId !== null && serverId !== '') {
          if (this.lastId === null) {
            this.lastId = String(serverId);
          } else if (compareIds(serverId, this.lastId) < 0) {
            // The server's ids went backwards (restart): our position is meaningless, reload.
            this.lastId = String(serverId);
            this._resync();
          }
        }
        this._setState('open');
        return;
      }
      case 'heartbeat':
      case 'pong':
        return;
      case 'resync':
        this._resync();
        return;
      default:
        break;
    }
    if (frame.id !== undefined && frame.id !== null) {
      if (this.lastId !== null && compareIds(frame.id, this.lastId) <= 0) return; // already seen
      this.lastId = String(frame.id);
    }
    try {
      this.onEvent(frame);
    } catch (err) {
      console.error('stream: handler failed for', frame.type, err);
    }
  }

  _resync() {
    try {
      this.onResync();
    } catch (err) {
      console.error('stream: resync failed', err);
    }
  }
}

/** Updates the connection indicator element (data-state open|connecting|closed). */
export function renderStreamState(node, state) {
  if (!node) return;
  node.dataset.state = state;
  const label = node.querySelector('.label') || node;
  const text = state === 'open' ? t('stream_open') : state === 'connecting' ? t('stream_connecting') : t('stream_closed');
  label.textContent = text;
  node.title = text;
}
