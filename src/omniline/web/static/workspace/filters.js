// Conversation list filters: the server-rendered filter controls, the URL query string
// (so a reload keeps the view) and the matching rule used for live updates.
import { debounce } from './util.js';

export const STATUSES = ['open', 'bot', 'queued', 'assigned', 'waiting_customer', 'resolved', 'closed', 'all'];
const CLOSED = new Set(['resolved', 'closed']);

const EMPTY = { status: 'open', queue_id: '', inbox_id: '', channel: '', assignee_id: '', tag: '' };

/** Filters and the open conversation id from the current URL. */
export function readUrl() {
  const q = new URLSearchParams(window.location.search);
  const f = { ...EMPTY };
  const status = q.get('status');
  if (status && STATUSES.includes(status)) f.status = status;
  for (const key of ['queue_id', 'inbox_id', 'assignee_id']) {
    const v = q.get(key);
    if (v && /^(\d+|me|none)$/.test(v) && (key === 'assignee_id' || /^\d+$/.test(v))) f[key] = v;
  }
  const channel = q.get('channel');
  if (channel && /^[\w.-]{1,40}$/.test(channel)) f.channel = channel;
  const tag = q.get('tag');
  if (tag) f.tag = tag.slice(0, 100);
  const c = q.get('c');
  const convId = c && /^\d+$/.test(c) ? Number(c) : null;
  return { filters: f, convId };
}

/** Writes filters + open conversation into the URL (push = new history entry). */
export function writeUrl(filters, convId, push = false) {
  const q = new URLSearchParams();
  if (convId) q.set('c', String(convId));
  if (filters.status && filters.status !== 'open') q.set('status', filters.status);
  for (const key of ['queue_id', 'inbox_id', 'channel', 'assignee_id', 'tag']) {
    if (filters[key]) q.set(key, filters[key]);
  }
  const qs = q.toString();
  const url = window.location.pathname + (qs ? `?${qs}` : '');
  if (url === window.location.pathname + window.location.search) return;
  if (push) window.history.pushState({ c: convId }, '', url);
  else window.history.replaceState({ c: convId }, '', url);
}

/** Query parameters for GET /api/v1/conversations. */
export function apiParams(filters, { includeStatus = true } = {}) {
  const p = {};
  if (includeStatus && filters.status && filters.status !== 'all') p.status = filters.status;
  if (filters.queue_id) p.queue_id = filters.queue_id;
  if (filters.inbox_id) p.inbox_id = filters.inbox_id;
  if (filters.channel) p.channel = filters.channel;
  if (filters.assignee_id) p.assignee_id = filters.assignee_id;
  if (filters.tag) p.tag = filters.tag;
  return p;
}

/** Would the server list this ConversationSummary under these filters? (used for live updates) */
export function matches(summary, filters, userId) {
  const s = summary || {};
  const status = s.status;
  if (filters.status === 'open') {
    if (CLOSED.has(status)) return false;
  } else if (filters.status && filters.status !== 'all' && status !== filters.status) {
    return false;
  }
  if (filters.queue_id && String(s.queue?.id ?? '') !== String(filters.queue_id)) return false;
  if (filters.inbox_id && String(s.inbox?.id ?? '') !== String(filters.inbox_id)) return false;
  if (filters.channel && (s.inbox?.channel ?? '') !== filters.channel) return false;
  if (filters.assignee_id) {
    const a = s.assignee?.id ?? null;
    if (filters.assignee_id === 'me') {
      if (String(a) !== String(userId)) return false;
    } else if (filters.assignee_id === 'none') {
      if (a !== null) return false;
    } else if (String(a) !== String(filters.assignee_id)) {
      return false;
    }
  }
  if (filters.tag) {
    const want = filters.tag.trim().toLowerCase();
    const tags = Array.isArray(s.tags) ? s.tags.map((x) => String(x).toLowerCase()) : [];
    if (want && !tags.includes(want)) return false;
  }
  return true;
}

/**
 * Binds the filter controls in `root`:
 *  - status tabs: [role=tab][data-status]
 *  - selects/inputs: [name=queue_id], [name=source] ("inbox:ID" | "channel:NAME"), [name=assignee_id], [name=tag]
 * onChange(filters) fires on every user change.
 */
export class FilterBar {
  constructor(root, onChange) {
    this.root = root;
    this.onChange = onChange;
    this.filters = { ...EMPTY };
    this.tabs = [...root.querySelectorAll('[role="tab"][data-status]')];
    this.queue = root.querySelector('[name="queue_id"]');
    this.source = root.querySelector('[name="source"]');
    this.assignee = root.querySelector('[name="assignee_id"]');
    this.tag = root.querySelector('[name="tag"]');

    for (const tab of this.tabs) {
      tab.addEventListener('click', () => this._update({ status: tab.dataset.status }));
      tab.addEventListener('keydown', (ev) => this._tabKey(ev, tab));
    }
    this.queue?.addEventListener('change', () => this._update({ queue_id: this.queue.value }));
    this.assignee?.addEventListener('change', () => this._update({ assignee_id: this.assignee.value }));
    this.source?.addEventListener('change', () => {
      const [kind, value] = splitSource(this.source.value);
      this._update({ inbox_id: kind === 'inbox' ? value : '', channel: kind === 'channel' ? value : '' });
    });
    if (this.tag) {
      const fire = debounce(() => this._update({ tag: this.tag.value.trim() }), 400);
      this.tag.addEventListener('input', fire);
      this.tag.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
          ev.preventDefault();
          fire.cancel();
          this._update({ tag: this.tag.value.trim() });
        }
      });
    }
    root.querySelector('form')?.addEventListener('submit', (ev) => ev.preventDefault());
    root.querySelector('[data-action="clear-filters"]')?.addEventListener('click', () => {
      this.set({ ...EMPTY, status: this.filters.status });
      this.onChange({ ...this.filters });
    });
  }

  _tabKey(ev, tab) {
    const i = this.tabs.indexOf(tab);
    let next = null;
    if (ev.key === 'ArrowRight') next = this.tabs[(i + 1) % this.tabs.length];
    else if (ev.key === 'ArrowLeft') next = this.tabs[(i - 1 + this.tabs.length) % this.tabs.length];
    else if (ev.key === 'Home') next = this.tabs[0];
    else if (ev.key === 'End') next = this.tabs[this.tabs.length - 1];
    if (next) {
      ev.preventDefault();
      next.focus();
      next.click();
    }
  }

  _update(patch) {
    const next = { ...this.filters, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this.filters)) return;
    this.set(next);
    this.onChange({ ...this.filters });
  }

  /** Sets the controls to `filters` without firing onChange. */
  set(filters) {
    this.filters = { ...EMPTY, ...filters };
    const f = this.filters;
    for (const tab of this.tabs) {
      const on = tab.dataset.status === f.status;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
    }
    if (this.queue) setSelect(this.queue, f.queue_id);
    if (this.assignee) setSelect(this.assignee, f.assignee_id);
    if (this.source) setSelect(this.source, f.inbox_id ? `inbox:${f.inbox_id}` : f.channel ? `channel:${f.channel}` : '');
    if (this.tag && document.activeElement !== this.tag) this.tag.value = f.tag;
    const active = Boolean(f.queue_id || f.inbox_id || f.channel || f.assignee_id || f.tag);
    this.root.classList.toggle('has-filters', active);
  }

  get() {
    return { ...this.filters };
  }
}

function splitSource(value) {
  const i = value.indexOf(':');
  return i < 0 ? ['', ''] : [value.slice(0, i), value.slice(i + 1)];
}

function setSelect(select, value) {
  const v = value || '';
  if (![...select.options].some((o) => o.value === v)) {
    // A value from the URL that the server-rendered list lacks (e.g. a channel): add it so it shows.
    if (v) select.append(new Option(v.replace(/^\w+:/, ''), v));
  }
  select.value = v;
}
