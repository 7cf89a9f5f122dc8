// The conversation timeline: messages and events merged by time.
import { icon } from './icons.js';
import { el, t, tOr, clear, timeValue, shortTime, fullTime, linkify, safeUrl, formatSize } from './util.js';
import { metaHead, metaBody, metaFoot } from './meta.js';
import { callEventText } from './call_events.js';
import { request } from './api.js';

// Events that duplicate a message already shown in the timeline.
const HIDDEN_EVENTS = new Set(['message_in', 'message_out', 'note']);

function sortKey(item) {
  // "Conversation started" always opens the timeline, even when the first message was stamped a moment earlier.
  const pinned = item.kind === 'event' && item.data?.type === 'created' ? 0 : 1;
  return [pinned, timeValue(item.created_at), item.kind === 'event' ? 0 : 1, Number(item.id) || 0];
}

function before(a, b) {
  const ka = sortKey(a);
  const kb = sortKey(b);
  for (let i = 0; i < ka.length; i += 1) if (ka[i] !== kb[i]) return ka[i] < kb[i];
  return false;
}

const LOOKUPS = { queues: new Map() };

/** Names for ids that events carry (e.g. queued → {queue_id}). */
export function setLookups({ queues = [] } = {}) {
  LOOKUPS.queues = new Map(queues.map((q) => [String(q.id), q.name]));
}

function nameOf(x) {
  if (!x) return '';
  if (typeof x === 'string') return x;
  return x.name || '';
}

/** Human text for an Event (actor names and data come from the server, shown as text). */
export function eventText(ev) {
  const actor = nameOf(ev.actor);
  const d = ev.data && typeof ev.data === 'object' ? ev.data : {};
  switch (ev.type) {
    case 'created':
      return t('ev_created');
    case 'queued': {
      const queue = nameOf(d.queue) || d.queue_name || LOOKUPS.queues.get(String(d.queue_id)) || '';
      return queue ? t('ev_queued_to', { queue }) : t('ev_queued');
    }
    case 'routed': {
      const queue = d.queue_name || LOOKUPS.queues.get(String(d.queue_id)) || '';
      const rule = d.rule_name || '';
      return queue ? t('ev_routed_to', { queue, rule }) : t('ev_routed', { rule });
    }
    case 'assigned': {
      const who = nameOf(d.assignee) || d.assignee_name || '';
      if (who && actor && who !== actor) return t('ev_assigned_by', { actor, assignee: who });
      if (who || actor) return t('ev_assigned', { name: who || actor });
      return t('ev_assigned_plain');
    }
    case 'unassigned':
      return actor ? t('ev_unassigned_by', { actor }) : t('ev_unassigned');
    case 'contact_merged': {
      const label = t('ev_contact_merged', { name: d.with_name || '' });
      return actor ? `${label} · ${actor}` : label;
    }
    case 'resolved':
      return actor ? t('ev_resolved_by', { actor }) : t('ev_resolved');
    case 'reopened':
      return actor ? t('ev_reopened_by', { actor }) : t('ev_reopened');
    case 'closed':
      return actor ? t('ev_closed_by', { actor }) : t('ev_closed');
    case 'tags_changed': {
      let changes = '';
      if (Array.isArray(d.before) && Array.isArray(d.after)) {
        const added = d.after.filter((x) => !d.before.includes(x)).map((x) => `+${x}`);
        const removed = d.before.filter((x) => !d.after.includes(x)).map((x) => `\u2212${x}`);
        changes = [...added, ...removed].join(' ');
      } else if (Array.isArray(d.tags)) {
        changes = d.tags.length ? d.tags.join(', ') : t('ev_no_tags');
      }
      if (!changes) return actor ? `${t('ev_tags_changed')} · ${actor}` : t('ev_tags_changed');
      return actor ? t('ev_tags_changed_by', { actor, changes }) : t('ev_tags', { changes });
    }
    case 'bot_handoff':
      return t('ev_bot_handoff', { reason: tOr(`bot_outcome_${d.reason}`, String(d.reason || '')) });
    case 'bot_resolved':
      return t('ev_bot_resolved', { reason: tOr(`bot_outcome_${d.reason}`, String(d.reason || '')) });
    default: {
      const call = callEventText(ev, (id) => LOOKUPS.queues.get(String(id)) || '');
      if (call !== null) return actor ? `${call} · ${actor}` : call;
      const label = tOr(`ev_${ev.type}`, String(ev.type || '').replace(/_/g, ' '));
      return actor ? `${label} · ${actor}` : label;
    }
  }
}

function attachmentNode(a, fallbackName) {
  const href = safeUrl(a.url);
  const name = a.filename || fallbackName;
  const isImage = typeof a.content_type === 'string' && a.content_type.startsWith('image/') && href;
  if (isImage) {
    return el('a', { class: 'att att-image', href, target: '_blank', rel: 'noopener noreferrer', title: name },
      el('img', { src: href, alt: name, loading: 'lazy' }));
  }
  const label = [name, formatSize(a.size)].filter(Boolean).join(' · ');
  if (!href) return el('span', { class: 'att att-file', text: label });
  return el('a', { class: 'att att-file', href, target: '_blank', rel: 'noopener noreferrer' },
    icon('clip', 'att-icon'), el('span', { text: label }));
}

const DELIVERY_RANK = { received: 0, pending: 0, queued: 0, retrying: 0, sending: 0, sent: 1, failed: 1, unconfirmed: 1, delivered: 2, read: 3 };

function deliveryRank(m) {
  return DELIVERY_RANK[m?.delivery_status] ?? 0;
}

// Statuses an agent may send again by hand. "unconfirmed": the worker stopped during the
// send on a channel that would show a repeat, so only the agent may decide to send again.
const RETRYABLE = ['failed', 'retrying', 'unconfirmed'];

/** A failed message sent again goes back to "queued": the one step backwards allowed. */
function isRetry(before, after) {
  return RETRYABLE.includes(before?.delivery_status) && ['queued', 'retrying'].includes(after?.delivery_status);
}

function deliveryNode(m) {
  if (m.direction !== 'out' || m.private || !m.delivery_status) return null;
  const status = m.delivery_status;
  const label = tOr(`delivery_${status}`, status);
  const node = el('span', { class: `delivery delivery-${status}`, 'data-delivery': status, text: label });
  if (m.delivery_error) {
    node.title = m.delivery_error;
    node.append(`: ${m.delivery_error}`);
  }
  return node;
}

function retryButton(m, onRetry) {
  // "Retrying": sending it by hand runs the scheduled attempt now (never a second delivery).
  if (!onRetry || m.direction !== 'out' || m.private || !RETRYABLE.includes(m.delivery_status)) return null;
  const button = el('button', { type: 'button', class: 'btn-link msg-retry', 'data-testid': 'retry-delivery', text: t('retry_send') });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await onRetry(m);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/**
 * @param {object} m Message
 * @param {{onRetry?: (m: object) => Promise<void>}} opts  onRetry: send a failed message again
 */
export function messageNode(m, opts = {}) {
  const type = m.author?.type || (m.direction === 'in' ? 'contact' : 'agent');
  const side = m.private ? 'right' : type === 'system' ? 'center' : m.direction === 'in' || type === 'contact' ? 'left' : 'right';
  const author = m.author?.name || tOr(`author_${type}`, type);
  const node = el('article', {
    class: `msg msg-${side} msg-${type}${m.private ? ' msg-private' : ''}`,
    'data-testid': 'message',
    'data-id': m.id,
    'data-author-type': type,
    'data-private': m.private ? 'true' : 'false',
    'data-direction': m.direction,
  });
  const head = el('header', { class: 'msg-head' },
    m.private ? el('span', { class: 'msg-private-label', text: t('private_note') }) : null,
    el('span', { class: 'msg-author', text: author }),
    type === 'bot' ? el('span', { class: 'badge badge-muted', text: t('author_bot') }) : null,
    el('time', { datetime: m.created_at || '', title: fullTime(m.created_at), text: shortTime(m.created_at) }));
  const meta = m.meta && typeof m.meta === 'object' ? m.meta : {};
  const bubble = el('div', { class: 'msg-bubble' }, metaHead(meta));
  if (m.text) bubble.append(el('div', { class: 'msg-text' }, linkify(m.text)));
  const all = Array.isArray(m.attachments) ? m.attachments : [];
  // Pictures the letter's HTML shows (its cid: parts) appear in the letter, not as files:
  // what mail programs do.
  const hasHtml = typeof meta.html === 'string' && meta.html.trim() !== '';
  const atts = hasHtml ? all.filter((a) => !a.inline) : all;
  if (atts.length) bubble.append(el('div', { class: 'msg-atts' }, atts.map((a) => attachmentNode(a, t('attachment')))));
  bubble.append(...metaBody(meta, m.direction === 'out', hasHtml ? all.filter((a) => a.inline) : []));
  node.append(head, bubble);
  const foot = [deliveryNode(m), retryButton(m, opts.onRetry), metaFoot(meta)].filter(Boolean);
  if (foot.length) node.append(el('footer', { class: 'msg-foot' }, foot));
  return node;
}

export function eventNode(ev) {
  const node = el('div', { class: `tl-event ev-${ev.type}`, 'data-testid': 'event', 'data-id': ev.id, 'data-type': ev.type },
    el('span', { class: 'tl-event-text', text: eventText(ev) }),
    el('time', { datetime: ev.created_at || '', title: fullTime(ev.created_at), text: shortTime(ev.created_at) }));
  if (ev.type === 'call_recording' && ev.data && Number.isInteger(ev.data.call_id)) {
    node.append(recordingPlayer(ev.data.call_id));
  }
  return node;
}

// A recording plays through a signed link that expires: asked for on click (and audited),
// never stored in the page.
function recordingPlayer(callId) {
  const box = el('span', { class: 'tl-recording' });
  const button = el('button', { type: 'button', class: 'btn-link', 'data-testid': 'play-recording', text: t('play_recording') });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const link = await request('POST', `/api/v1/voice/calls/${callId}/recording-link`);
      const audio = el('audio', { controls: '', preload: 'none', src: link.url, 'data-testid': 'recording-audio' });
      box.replaceChildren(audio);
      audio.play().catch(() => {});
    } catch {
      button.disabled = false;
    }
  });
  box.append(button);
  return box;
}

export class Timeline {
  /**
   * @param {HTMLElement} root
   * @param {{onRetry?: (m: object) => Promise<void>}} opts  passed to messageNode
   */
  constructor(root, opts = {}) {
    this.root = root;
    this.opts = opts;
    this.items = []; // {kind, id, created_at, node}
    this.keys = new Map();
  }

  reset(messages = [], events = []) {
    this.root.setAttribute('aria-busy', 'true');
    clear(this.root);
    this.items = [];
    this.keys.clear();
    const all = [
      ...messages.map((m) => ({ kind: 'message', id: m.id, created_at: m.created_at, data: m })),
      ...events.filter((e) => !HIDDEN_EVENTS.has(e.type)).map((e) => ({ kind: 'event', id: e.id, created_at: e.created_at, data: e })),
    ];
    all.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    const frag = document.createDocumentFragment();
    for (const item of all) {
      item.node = item.kind === 'message' ? messageNode(item.data, this.opts) : eventNode(item.data);
      this.items.push(item);
      this.keys.set(`${item.kind}:${item.id}`, item);
      frag.append(item.node);
    }
    if (!all.length) frag.append(el('p', { class: 'tl-empty muted', text: t('timeline_empty') }));
    this.root.append(frag);
    this.root.removeAttribute('aria-busy');
    this.scrollToBottom();
  }

  showLoading() {
    clear(this.root);
    this.items = [];
    this.keys.clear();
    this.root.append(el('p', { class: 'tl-empty muted', text: t('loading') }));
  }

  lastMessageId() {
    let max = 0;
    for (const it of this.items) if (it.kind === 'message' && Number(it.id) > max) max = Number(it.id);
    return max;
  }

  addMessage(m) {
    return this._add({ kind: 'message', id: m.id, created_at: m.created_at, data: m });
  }

  addEvent(ev) {
    if (HIDDEN_EVENTS.has(ev.type)) return false;
    return this._add({ kind: 'event', id: ev.id, created_at: ev.created_at, data: ev });
  }

  /** Inserts (or replaces, e.g. a delivery status change) keeping time order. */
  _add(item) {
    const key = `${item.kind}:${item.id}`;
    const stick = this.nearBottom();
    item.node = item.kind === 'message' ? messageNode(item.data, this.opts) : eventNode(item.data);
    const old = this.keys.get(key);
    if (old && item.kind === 'message' && deliveryRank(item.data) < deliveryRank(old.data)
        && !isRetry(old.data, item.data)) {
      return false; // a late copy (e.g. the POST answer after a message.updated): keep the newer status
    }
    if (old) {
      old.node.replaceWith(item.node);
      old.node = item.node;
      old.data = item.data;
      return false;
    }
    this.root.querySelector('.tl-empty')?.remove();
    let i = this.items.length;
    while (i > 0 && before(item, this.items[i - 1])) i -= 1;
    this.items.splice(i, 0, item);
    this.keys.set(key, item);
    const next = this.items[i + 1];
    if (next) this.root.insertBefore(item.node, next.node);
    else this.root.append(item.node);
    if (stick) this.scrollToBottom();
    return true;
  }

  nearBottom() {
    const r = this.root;
    return r.scrollHeight - r.scrollTop - r.clientHeight < 80;
  }

  scrollToBottom() {
    this.root.scrollTop = this.root.scrollHeight;
    // Images load later and change the height.
    requestAnimationFrame(() => { this.root.scrollTop = this.root.scrollHeight; });
  }
}
