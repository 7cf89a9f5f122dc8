// Left column: the conversation list with keyset pagination, status counts and live updates.
import { api } from './api.js';
import { el, t, clear, timeValue, debounce } from './util.js';
import { apiParams, matches } from './filters.js';
import { buildRow, tickCountdowns } from './rows.js';

const PAGE = 50;

function newer(a, b) {
  // Newest activity first; ties by id descending.
  const d = timeValue(b.last_activity_at || b.created_at) - timeValue(a.last_activity_at || a.created_at);
  return d !== 0 ? d : Number(b.id) - Number(a.id);
}

function dueFirst(a, b) {
  // Soonest SLA due first (breached ones are the soonest); rows without a clock last.
  const da = a.sla?.due_at ? timeValue(a.sla.due_at) : Infinity;
  const db = b.sla?.due_at ? timeValue(b.sla.due_at) : Infinity;
  if (da !== db) return da < db ? -1 : 1;
  return Number(a.id) - Number(b.id);
}

export class ConversationList {
  /**
   * @param {object} o
   * @param {HTMLElement} o.list   the <ul data-testid="conv-list">
   * @param {HTMLElement} o.more   "Load more" button
   * @param {HTMLElement} o.status empty/loading/error line
   * @param {HTMLElement} o.countsRoot element holding [data-testid^="count-"]
   * @param {number} o.userId
   * @param {(id: number) => void} o.onOpen
   * @param {(id: number|null) => string} o.hrefFor
   */
  constructor(o) {
    Object.assign(this, o);
    this.filters = null;
    this.items = []; // summaries, sorted
    this.nodes = new Map(); // id -> li
    this.unread = new Set();
    this.activeId = null;
    this.nextCursor = null;
    this.seq = 0;
    this.loading = false;
    this.refreshCounts = debounce(() => this._loadCounts(), 800);
    this.pendingFetch = new Set();

    // "Due first" / "Newest first" (workspace.html #list-sort); SLA countdowns tick each second.
    this.sortSelect = document.getElementById('list-sort');
    this.sort = this.sortSelect?.value === 'due' ? 'due' : 'activity';
    this.sortSelect?.addEventListener('change', () => {
      this.sort = this.sortSelect.value === 'due' ? 'due' : 'activity';
      if (this.filters) this.reload();
    });
    setInterval(() => tickCountdowns(this.list), 1000);

    this.more.addEventListener('click', () => this.loadMore());
    this.list.addEventListener('click', (ev) => this._click(ev));
  }

  _click(ev) {
    const row = ev.target.closest('[data-testid="conv-row"]');
    if (!row || !this.list.contains(row)) return;
    if (row.dataset.locked === 'true') {
      ev.preventDefault();
      return;
    }
    if (ev.target.closest('a') && (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button === 1)) return; // new tab
    ev.preventDefault();
    this.onOpen(Number(row.dataset.id));
  }

  /** Loads the first page for `filters` (replaces the list). */
  async load(filters) {
    this.filters = { ...filters };
    const seq = ++this.seq;
    this.loading = true;
    this.list.setAttribute('aria-busy', 'true');
    this._status(t('loading'));
    this.more.hidden = true;
    try {
      const data = await api.get('/api/v1/conversations', { ...apiParams(this.filters), ...this._sortParam(), limit: PAGE });
      if (seq !== this.seq) return;
      this.items = [];
      this.nodes.clear();
      clear(this.list);
      this._append(data.items || []);
      this.nextCursor = data.next_cursor || null;
      this.renderCounts(data.counts);
      this._after();
    } catch (err) {
      if (seq !== this.seq) return;
      this._status(t('list_error'), true);
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.list.removeAttribute('aria-busy');
      }
    }
  }

  _sortParam() {
    return this.sort === 'due' ? { sort: 'due' } : {};
  }

  _order(a, b) {
    return this.sort === 'due' ? dueFirst(a, b) : newer(a, b);
  }

  reload() {
    return this.load(this.filters);
  }

  async loadMore() {
    if (!this.nextCursor || this.loading) return;
    const seq = this.seq;
    this.loading = true;
    this.more.disabled = true;
    try {
      const data = await api.get('/api/v1/conversations', {
        ...apiParams(this.filters), ...this._sortParam(), limit: PAGE, cursor: this.nextCursor,
      });
      if (seq !== this.seq) return;
      this._append(data.items || []);
      this.nextCursor = data.next_cursor || null;
      if (data.counts) this.renderCounts(data.counts);
      this._after();
    } catch {
      // api.js already showed the message
    } finally {
      this.loading = false;
      this.more.disabled = false;
    }
  }

  _append(items) {
    for (const s of items) {
      if (this.nodes.has(s.id)) {
        this._replace(s);
        continue;
      }
      this.items.push(s);
      const node = this._build(s);
      this.nodes.set(s.id, node);
      this.list.append(node);
    }
  }

  _after() {
    this.more.hidden = !this.nextCursor;
    if (this.items.length === 0) this._status(t('list_empty'));
    else this._status('');
  }

  _status(text, isError = false) {
    this.status.textContent = '';
    this.status.hidden = !text;
    this.status.classList.toggle('error', isError);
    if (!text) return;
    this.status.append(el('span', { text }));
    if (isError) {
      this.status.append(' ', el('button', { type: 'button', class: 'btn-link', text: t('retry'), onclick: () => this.reload() }));
    }
  }

  _build(s) {
    return buildRow(s, {
      active: s.id === this.activeId,
      unread: this.unread.has(s.id),
      href: this.hrefFor(s.id),
    });
  }

  _replace(s) {
    const i = this.items.findIndex((x) => x.id === s.id);
    if (i >= 0) this.items[i] = s;
    const old = this.nodes.get(s.id);
    const node = this._build(s);
    this.nodes.set(s.id, node);
    if (old) old.replaceWith(node);
    return node;
  }

  /** Sorted position: moves the row so the list stays newest-first. */
  _place(s) {
    const node = this.nodes.get(s.id);
    this.items = this.items.filter((x) => x.id !== s.id);
    let i = this.items.findIndex((x) => this._order(s, x) < 0);
    if (i < 0) i = this.items.length;
    this.items.splice(i, 0, s);
    const before = this.items[i + 1] ? this.nodes.get(this.items[i + 1].id) : null;
    const focused = node.contains(document.activeElement);
    if (before) this.list.insertBefore(node, before);
    else this.list.append(node);
    if (focused) node.querySelector('a')?.focus();
  }

  _remove(id) {
    const node = this.nodes.get(id);
    if (node) node.remove();
    this.nodes.delete(id);
    this.items = this.items.filter((x) => x.id !== id);
  }

  setActive(id) {
    this.activeId = id;
    this.unread.delete(id);
    for (const [rid, node] of this.nodes) {
      const on = rid === id;
      if (node.classList.contains('active') !== on || (on && node.classList.contains('unread'))) {
        const s = this.items.find((x) => x.id === rid);
        if (s) this._replace(s);
      }
    }
  }

  get(id) {
    return this.items.find((x) => x.id === id) || null;
  }

  /** Live conversation.created / conversation.updated (or an action's answer). */
  upsert(s) {
    if (!s || s.id === undefined || !this.filters) return;
    const known = this.nodes.has(s.id);
    const prev = known ? this.get(s.id) : null;
    // Only the SLA domain's updates carry the countdown; others keep the one known.
    if (prev && !('sla' in s) && 'sla' in prev) s = { ...s, sla: prev.sla, sla_due_at: prev.sla_due_at };
    if (!matches(s, this.filters, this.userId)) {
      if (known) {
        this._remove(s.id);
        this._after();
      }
      this.refreshCounts();
      return;
    }
    if (!known && this.nextCursor && this.items.length) {
      // Older than everything loaded: it belongs to a page not fetched yet.
      const last = this.items[this.items.length - 1];
      if (this._order(s, last) > 0) {
        this.refreshCounts();
        return;
      }
    }
    if (known) this._replace(s);
    else {
      const node = this._build(s);
      this.nodes.set(s.id, node);
      this.items.push(s);
    }
    this._place(s);
    this._after();
    this.refreshCounts();
  }

  /** Live message.created: preview + bump; fetches the summary of a conversation not in the list. */
  onMessage(conversationId, message) {
    if (message.direction === 'in' && conversationId !== this.activeId) this.unread.add(conversationId);
    const s = this.get(conversationId);
    if (!s) {
      this._fetchSummary(conversationId);
      return;
    }
    const updated = { ...s };
    if (!message.private) {
      updated.last_message = { text: message.text || '', direction: message.direction, created_at: message.created_at };
    }
    if (timeValue(message.created_at) >= timeValue(s.last_activity_at)) updated.last_activity_at = message.created_at;
    this.upsert(updated);
  }

  _fetchSummary(id) {
    if (this.pendingFetch.has(id)) return;
    this.pendingFetch.add(id);
    setTimeout(async () => {
      try {
        if (this.get(id)) return; // a conversation.updated arrived meanwhile
        const s = await api.get(`/api/v1/conversations/${encodeURIComponent(id)}`, null, { quiet: true });
        if (s && !this.get(id)) this.upsert(s);
      } catch {
        // locked or gone: nothing to show
      } finally {
        this.pendingFetch.delete(id);
      }
    }, 600);
  }

  async _loadCounts() {
    if (!this.filters) return;
    const seq = this.seq;
    try {
      const data = await api.get('/api/v1/conversations', { ...apiParams(this.filters, { includeStatus: false }), limit: 1 }, { quiet: true });
      if (seq === this.seq && data?.counts) this.renderCounts(data.counts);
    } catch {
      // counts stay as they were
    }
  }

  renderCounts(counts) {
    if (!counts || typeof counts !== 'object') return;
    const all = ['open', 'resolved', 'closed'].reduce((n, k) => n + (Number(counts[k]) || 0), 0);
    const values = { ...counts, all: counts.all ?? all };
    for (const node of this.countsRoot.querySelectorAll('[data-testid^="count-"]')) {
      const key = node.dataset.testid.slice('count-'.length);
      const v = values[key];
      node.textContent = v === undefined || v === null ? '' : String(v);
      node.classList.toggle('zero', !v);
    }
  }

  /** Re-renders rows (e.g. to refresh relative times is done elsewhere; this rebuilds hrefs after filter changes). */
  refreshLinks() {
    for (const node of this.nodes.values()) {
      const a = node.querySelector('a.row-link');
      if (a) a.setAttribute('href', this.hrefFor(Number(node.dataset.id)));
    }
  }
}
