// Agent presence in the top bar, "Take next" in the list header, and the "Accept" prompt
// for queues that require acceptance. Realtime frames arrive as `omniline:event` DOM events.
import { api, ApiError, notify } from './api.js';
import { readJSON, el } from './util.js';

const STR = readJSON('presence-i18n');
const tr = (key, vars) => {
  let s = Object.prototype.hasOwnProperty.call(STR, key) ? String(STR[key]) : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
};

function openConversation(id) {
  const q = new URLSearchParams(window.location.search);
  q.set('c', String(id));
  window.history.pushState(null, '', `${window.location.pathname}?${q}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

class Presence {
  constructor() {
    this.select = document.querySelector('[data-testid="presence-select"]');
    this.takeNext = document.querySelector('[data-testid="take-next"]');
    this.offers = new Map();
    this.box = el('div', { class: 'offer-prompts', 'aria-live': 'assertive', 'data-testid': 'offer-prompts' });
    document.body.append(this.box);
    this.select?.addEventListener('change', () => this.setStatus(this.select.value));
    this.takeNext?.addEventListener('click', () => this.take());
    document.addEventListener('omniline:event', (ev) => this.onFrame(ev.detail || {}));
    this.timer = setInterval(() => this.tick(), 1000);
    this.load();
  }

  async load() {
    try {
      const me = await api.get('/api/v1/me/presence', null, { quiet: true });
      this.show(me.status);
      for (const o of me.offers || []) this.addOffer(o);
    } catch {
      /* the stream's resync reloads; the selector keeps its last value */
    }
  }

  show(status) {
    if (!this.select || !status) return;
    this.select.value = status;
    this.select.dataset.status = status;
  }

  async setStatus(status) {
    this.select.disabled = true;
    try {
      const me = await api.put('/api/v1/me/presence', { status });
      this.show(me.status);
    } catch {
      await this.load();
    } finally {
      this.select.disabled = false;
    }
  }

  async take() {
    this.takeNext.disabled = true;
    try {
      const conv = await api.post('/api/v1/me/take-next', {}, { quiet: [404, 409] });
      openConversation(conv.id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) notify(tr('nothing_waiting'), 'info');
      else if (err instanceof ApiError && err.status === 409) notify(tr('at_capacity', { detail: err.message }));
    } finally {
      this.takeNext.disabled = false;
    }
  }

  onFrame({ type, data }) {
    if (!data) return;
    if (type === 'presence.changed' && String(data.user_id) === String(this.userId())) this.show(data.status);
    else if (type === 'assignment.offered') this.addOffer(data);
    else if (type === 'assignment.withdrawn') this.dropOffer(data.conversation_id);
  }

  userId() {
    return (readJSON('bootstrap').user || {}).id;
  }

  addOffer(o) {
    if (!o || o.accepted_at || this.offers.has(o.conversation_id)) return;
    const left = el('span', { class: 'offer-left', 'data-testid': 'offer-left' });
    const accept = el('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'offer-accept', text: tr('accept') });
    const node = el('div', { class: 'flash info offer-prompt', role: 'alertdialog', 'data-testid': 'offer-prompt', dataset: { conversationId: o.conversation_id } },
      el('span', { text: tr('offered', { id: o.conversation_id }) }), ' ', left, ' ', accept);
    accept.addEventListener('click', () => this.accept(o.conversation_id));
    this.offers.set(o.conversation_id, { node, left, expires: Date.parse(o.expires_at) });
    this.box.append(node);
    this.tick();
  }

  dropOffer(id) {
    const o = this.offers.get(id);
    if (o) o.node.remove();
    this.offers.delete(id);
  }

  async accept(id) {
    try {
      await api.post(`/api/v1/conversations/${id}/accept`, {});
      this.dropOffer(id);
      openConversation(id);
    } catch {
      this.dropOffer(id);
    }
  }

  tick() {
    const now = Date.now();
    for (const [id, o] of this.offers) {
      const s = Math.max(0, Math.round((o.expires - now) / 1000));
      o.left.textContent = tr('seconds_left', { s });
      if (s <= 0) this.dropOffer(id);
    }
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => new Presence());
else new Presence();
