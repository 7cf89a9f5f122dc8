// The supervisors' callback list: rows from GET /api/v1/voice/callbacks, reloaded on
// `voice.callbacks` events; each phone line's PBX link and queues from GET /api/v1/voice/status,
// then `voice.link` / `voice.queues` events. All data is shown as text, never as HTML.
import { api, notify, setToastRoot, ApiError } from '../workspace/api.js';
import { readJSON, setStrings, t, el, clear, shortTime, fullTime, debounce } from '../workspace/util.js';
import { Stream, renderStreamState } from '../workspace/stream.js';

const boot = readJSON('bootstrap');
const label = (map, key) => (map && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : String(key ?? ''));

function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function timeCell(value) {
  return el('td', null, el('time', { datetime: value || '', title: fullTime(value), text: shortTime(value) }));
}

class CallbackList {
  constructor() {
    this.rows = document.querySelector('[data-testid="callback-rows"]');
    this.empty = document.querySelector('[data-testid="callback-empty"]');
    this.lines = new Map();
    for (const node of document.querySelectorAll('.cb-line')) this.lines.set(node.dataset.inboxId, node);
    this.refresh = debounce(() => this.load(), 300);
  }

  async load() {
    try {
      const { items } = await api.get('/api/v1/voice/callbacks', null, { quiet: true });
      this.render(items);
    } catch {
      /* the rows on the page stay; the next event or resync reloads */
    }
  }

  render(items) {
    clear(this.rows);
    for (const cb of items) this.rows.append(this.row(cb));
    this.empty.hidden = items.length > 0;
  }

  row(cb) {
    const actions = el('td', { class: 'actions' });
    if (cb.status === 'pending') {
      actions.append(
        el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'callback-now', text: t('call_now'), onclick: () => this.act(cb, 'now') }),
        el('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'callback-cancel', text: t('cancel'), onclick: () => this.act(cb, 'cancel') }),
      );
    }
    const contact = cb.conversation_id
      ? el('a', { href: `/app?c=${encodeURIComponent(cb.conversation_id)}`, text: cb.contact_name || cb.number })
      : (cb.contact_name || '');
    return el('tr', { 'data-testid': 'callback-row', 'data-id': cb.id, 'data-status': cb.status },
      el('td', { text: cb.number }),
      el('td', { 'data-testid': 'callback-contact' }, contact),
      el('td', { text: label(boot.queues, cb.queue_id) }),
      el('td', { text: label(boot.reasons, cb.reason) }),
      timeCell(cb.place_at),
      el('td', { text: `${cb.attempts} / ${cb.max_attempts}` }),
      timeCell(cb.next_attempt_at),
      el('td', { 'data-testid': 'callback-status', text: label(boot.statuses, cb.status) }),
      actions);
  }

  async act(cb, action) {
    try {
      await api.post(`/api/v1/voice/callbacks/${encodeURIComponent(cb.id)}/${action}`, {}, { quiet: [409] });
      notify(t(action === 'cancel' ? 'cancelled_toast' : 'moved_toast'), 'ok');
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) notify(t('error_conflict'));
    }
    this.load();
  }

  async loadStatus() {
    try {
      const { links } = await api.get('/api/v1/voice/status', null, { quiet: true });
      for (const l of links) {
        this.setLink(l.inbox_id, l.up, l.error);
        if (l.queues) this.setQueues(l.inbox_id, l.queues);
      }
    } catch {
      /* the strip keeps its last state */
    }
  }

  setLink(inboxId, up, error) {
    const node = this.lines.get(String(inboxId));
    if (!node) return;
    node.dataset.up = up ? 'true' : 'false';
    node.querySelector('.cb-link').textContent = t(up ? 'link_up' : 'link_down');
    node.querySelector('.cb-link-error').textContent = !up && error ? String(error) : '';
  }

  setQueues(inboxId, queues) {
    const list = this.lines.get(String(inboxId))?.querySelector('.cb-queues');
    if (!list) return;
    clear(list);
    for (const q of queues) {
      const text = t('queue_line', { queue: label(boot.queues, q.queue_id), waiting: q.waiting, wait: duration(q.longest_wait_s) });
      const extra = q.callbacks_waiting ? ` · ${t('queue_callbacks', { n: q.callbacks_waiting })}` : '';
      list.append(el('li', { 'data-testid': 'queue-stat', 'data-queue-id': q.queue_id, text: text + extra }));
    }
  }

  onEvent({ type, data }) {
    if (!data) return;
    if (type === 'voice.callbacks') this.refresh();
    else if (type === 'voice.link') this.setLink(data.inbox_id, data.up, data.error);
    else if (type === 'voice.queues') this.setQueues(data.inbox_id, data.queues || []);
  }
}

function main() {
  setStrings(readJSON('i18n'));
  setToastRoot(document.getElementById('toasts'));
  const list = new CallbackList();
  const indicator = document.querySelector('[data-testid="stream-status"]');
  const stream = new Stream({
    onState: (s) => renderStreamState(indicator, s),
    onResync: () => { list.load(); list.loadStatus(); },
    onEvent: (frame) => list.onEvent(frame),
  });
  stream.start();
  list.load();
  list.loadStatus();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
