// The agent's softphone panel: the call's state, the caller and their contact card, the
// controls (sent to the voice API; the PBX's answer comes back as `voice.call` events) and
// after-call work (outcome, notes, "Ready"). Realtime frames arrive as `omniline:event`.
// Every piece of data is shown as text (el/textContent), never parsed as HTML.
import { api, ApiError } from './api.js';
import { readJSON, el, clear, parseTime } from './util.js';

const STR = readJSON('softphone-i18n');
const tr = (key, vars) => {
  let s = Object.prototype.hasOwnProperty.call(STR, key) ? String(STR[key]) : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars && vars[k] != null ? String(vars[k]) : m));
  return s;
};

const LIVE = new Set(['ringing', 'talking', 'hold']);
// What the agent's panel shows for a call's state (the call record goes on to the survey).
const SHOWN = { ringing: 'ringing', talking: 'talking', hold: 'hold', wrap_up: 'wrap_up', survey: 'wrap_up', closing: 'wrap_up', ended: 'wrap_up' };
const REASONS = {
  'the call is not connected': 'err_not_connected',
  'the call is over': 'err_over',
  'no such queue': 'err_no_queue',
};

function openConversation(id) {
  const q = new URLSearchParams(window.location.search);
  if (q.get('c') === String(id)) return;
  q.set('c', String(id));
  window.history.pushState(null, '', `${window.location.pathname}?${q}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export class Softphone {
  constructor(root) {
    this.root = root;
    const q = (sel) => root.querySelector(sel);
    this.n = {
      state: q('[data-testid="sp-state"]'), timer: q('[data-testid="sp-timer"]'),
      caller: q('[data-testid="sp-caller"]'), card: q('[data-testid="sp-card"]'), error: q('[data-testid="sp-error"]'),
      transferForm: q('.sp-transfer'), queue: q('#sp-transfer-queue'), number: q('#sp-transfer-number'),
      wrapup: q('.sp-wrapup'), disposition: q('#sp-disposition'), notes: q('#sp-notes'), saved: q('[data-testid="sp-saved"]'),
    };
    this.buttons = [...root.querySelectorAll('.sp-controls [data-action]')];
    this.call = null; // {id, conversation_id, caller, direction, state, acw_until, contact}
    this.opened = new Set(); // `${call}:${state}` already popped, so the agent can look elsewhere
    for (const b of this.buttons) b.addEventListener('click', () => this.press(b.dataset.action));
    q('[data-action="transfer-cancel"]').addEventListener('click', () => this.showTransfer(false));
    this.n.transferForm.addEventListener('submit', (ev) => { ev.preventDefault(); this.transfer(); });
    this.n.wrapup.addEventListener('submit', (ev) => { ev.preventDefault(); this.saveWrapUp(); });
    q('[data-action="ready"]').addEventListener('click', () => this.ready());
    document.addEventListener('omniline:event', (ev) => this.onFrame(ev.detail || {}));
    document.addEventListener('omniline:resync', () => this.load());
    setInterval(() => this.tick(), 1000);
    this.load();
  }

  async load() {
    let me;
    try {
      me = await api.get('/api/v1/voice/me', null, { quiet: true });
    } catch {
      return; // no voice here (or offline): the panel stays as it was
    }
    this.root.hidden = !me.endpoint;
    if (!me.endpoint) return;
    if (me.call) this.apply({ ...me.call, call_id: me.call.id });
    else if (!this.call || LIVE.has(this.call.state)) this.set(null);
  }

  onFrame({ type, data }) {
    if (!data) return;
    if (type === 'voice.call') this.apply(data);
    else if (type === 'voice.error') this.fail(data.action, data.reason);
    else if (type === 'voice.agent') this.agentChanged(data);
    else if (type === 'presence.changed' && data.phone) this.load();
  }

  /** A call view (from the API or a `voice.call` frame). */
  apply(data) {
    const id = data.call_id ?? data.id;
    const shown = SHOWN[data.state];
    if (!shown) return;
    const same = this.call && this.call.id === id;
    const call = {
      ...(same ? this.call : {}),
      id,
      conversation_id: data.conversation_id,
      caller: data.caller,
      direction: data.direction,
      state: shown,
      acw_until: data.acw_until ?? (same ? this.call.acw_until : null),
    };
    if (data.contact !== undefined) call.contact = data.contact;
    if (!same) {
      this.n.disposition.value = data.disposition || '';
      this.n.notes.value = data.notes || '';
      this.n.saved.textContent = '';
      this.showTransfer(false);
    }
    if (this.call?.state !== shown) this.n.error.hidden = true;
    this.set(call);
    if (call.contact === undefined) this.fetchContact(id);
    if ((shown === 'ringing' || shown === 'talking') && call.conversation_id && !this.opened.has(`${id}:${shown}`)) {
      this.opened.add(`${id}:${shown}`);
      openConversation(call.conversation_id);
    }
  }

  async fetchContact(id) {
    try {
      const view = await api.get(`/api/v1/voice/calls/${encodeURIComponent(id)}`, null, { quiet: true });
      if (this.call && this.call.id === id) {
        this.call.contact = view.contact || null;
        this.render();
      }
    } catch {
      /* the card stays empty; the conversation still opens */
    }
  }

  agentChanged(data) {
    // The ringing stopped without an answer (the caller hung up, another agent took it).
    if (this.call?.state === 'ringing' && !data.ringing && !data.talking) this.set(null);
  }

  set(call) {
    this.call = call;
    this.render();
  }

  render() {
    const c = this.call;
    const state = c ? c.state : 'available';
    this.root.dataset.state = state;
    this.n.state.textContent = tr(`state_${state}`);
    this.n.caller.hidden = !c;
    if (c) this.n.caller.textContent = tr(c.direction === 'out' ? 'caller_out' : 'caller', { number: c.caller || tr('unknown_number') });
    this.renderCard(c && state !== 'wrap_up' ? c.contact : null);
    const show = { decline: state === 'ringing', hold: state === 'talking', unhold: state === 'hold',
      transfer: state === 'talking' || state === 'hold', hangup: state === 'talking' || state === 'hold' };
    for (const b of this.buttons) b.hidden = !show[b.dataset.action];
    if (!show.transfer) this.showTransfer(false);
    this.n.wrapup.hidden = state !== 'wrap_up';
    this.tick();
  }

  renderCard(contact) {
    const card = this.n.card;
    clear(card);
    card.hidden = !contact;
    if (!contact) return;
    const row = (label, value, testid) => {
      if (value === null || value === undefined || value === '') return;
      card.append(el('dt', { text: label }), el('dd', { text: String(value), 'data-testid': testid }));
    };
    row(tr('field_name'), contact.name, 'sp-card-name');
    row(tr('field_phone'), contact.phone, 'sp-card-phone');
    row(tr('field_email'), contact.email, 'sp-card-email');
    row(tr('field_crm'), contact.external_id, 'sp-card-crm');
    for (const [k, v] of Object.entries(contact.attributes || {})) {
      row(k, v !== null && typeof v === 'object' ? JSON.stringify(v) : v, 'sp-card-attr');
    }
  }

  tick() {
    const c = this.call;
    const until = c && c.state === 'wrap_up' ? parseTime(c.acw_until) : null;
    const left = until ? (until.getTime() - Date.now()) / 1000 : 0;
    this.n.timer.hidden = left <= 0;
    if (left > 0) this.n.timer.textContent = tr('acw_left', { time: clock(left) });
    else if (c && c.state === 'wrap_up') this.n.state.textContent = tr('state_available');
  }

  fail(action, reason) {
    const key = REASONS[reason];
    const text = key ? tr(key) : tr('err_pbx', { reason: reason || '?' });
    this.n.error.textContent = action ? tr('err_failed', { action: tr(`action_${action}`), reason: text }) : text;
    this.n.error.hidden = false;
  }

  failed(action, err) {
    if (err && err.name === 'AbortError') return;
    const reason = err instanceof ApiError ? err.message : String(err);
    this.n.error.textContent = tr('err_failed', { action: tr(`action_${action}`), reason: REASONS[reason] ? tr(REASONS[reason]) : reason });
    this.n.error.hidden = false;
  }

  async press(action) {
    if (action === 'transfer') {
      this.showTransfer(this.n.transferForm.hidden);
      return;
    }
    const c = this.call;
    if (!c) return;
    this.n.error.hidden = true;
    const button = this.buttons.find((b) => b.dataset.action === action);
    button.disabled = true;
    try {
      await api.post(`/api/v1/voice/calls/${encodeURIComponent(c.id)}/${action}`, {}, { quiet: true });
      if (action === 'decline') this.set(null);
    } catch (err) {
      this.failed(action, err);
    } finally {
      button.disabled = false;
    }
  }

  async showTransfer(open) {
    const form = this.n.transferForm;
    form.hidden = !open;
    this.buttons.find((b) => b.dataset.action === 'transfer')?.setAttribute('aria-expanded', String(open));
    if (!open || this.queuesLoaded) return;
    try {
      const { items } = await api.get('/api/v1/queues', null, { quiet: true });
      for (const q of items) this.n.queue.append(el('option', { value: String(q.id), text: q.name }));
      this.queuesLoaded = true;
    } catch {
      /* a number can still be typed */
    }
  }

  async transfer() {
    const c = this.call;
    if (!c) return;
    const number = this.n.number.value.trim();
    const queue = this.n.queue.value;
    if (!number && !queue) {
      this.n.error.textContent = tr('transfer_pick');
      this.n.error.hidden = false;
      return;
    }
    const body = number ? { to_number: number } : { to_queue_id: Number(queue) };
    try {
      await api.post(`/api/v1/voice/calls/${encodeURIComponent(c.id)}/transfer`, body, { quiet: true });
      this.n.number.value = '';
      this.showTransfer(false);
      this.n.error.hidden = true;
    } catch (err) {
      this.failed('transfer', err);
    }
  }

  async saveWrapUp() {
    const c = this.call;
    if (!c) return;
    const body = { disposition: this.n.disposition.value, notes: this.n.notes.value };
    try {
      await api.put(`/api/v1/voice/calls/${encodeURIComponent(c.id)}/wrapup`, body, { quiet: true });
      this.n.saved.textContent = tr('saved');
      this.n.error.hidden = true;
    } catch (err) {
      this.failed('wrapup', err);
    }
  }

  async ready() {
    try {
      await api.post('/api/v1/voice/ready', {}, { quiet: true });
      this.set(null);
      this.n.error.hidden = true;
    } catch (err) {
      this.failed('ready', err);
    }
  }
}

function start() {
  const root = document.getElementById('softphone');
  if (root) window.omnilineSoftphone = new Softphone(root);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
