// Middle column: conversation header, actions, tags editor, timeline and reply box.
import { api, ApiError, notify } from './api.js';
import { el, t, clear, shown, statusLabel, channelBadgeContent, shortTime, fullTime, debounce } from './util.js';
import { Timeline } from './timeline.js';
import { Composer } from './composer.js';
import { slaBadge, tickCountdowns } from './rows.js';
import { TemplatePicker } from './wa_templates.js';

const CLOSED = new Set(['resolved', 'closed']);

export class ConversationView {
  /**
   * @param {object} o
   * @param {HTMLElement} o.root      the middle column
   * @param {object} o.user           {id, name, role}
   * @param {(summary: object) => void} o.onSummary  a fresher ConversationSummary (to update the list)
   * @param {(conversation: object|null) => void} o.onLoaded  the full conversation (sidebar), null when closed
   */
  constructor(o) {
    Object.assign(this, o);
    const q = (sel) => this.root.querySelector(sel);
    this.empty = q('.conv-empty');
    this.pane = q('.conv-pane');
    this.notice = q('.conv-notice');
    this.h = {
      name: q('.conv-name'),
      channel: q('.conv-channel'),
      status: q('[data-testid="conv-status"]'),
      queue: q('.conv-queue'),
      assignee: q('.conv-assignee'),
      since: q('.conv-since'),
      tags: q('.conv-tags-list'),
      tagInput: q('.conv-tag-input'),
      assignMe: q('[data-testid="assign-me"]'),
      resolve: q('[data-testid="resolve"]'),
      reopen: q('[data-testid="reopen"]'),
      transfer: q('[data-testid="transfer"]'),
      assignSelect: q('.conv-assign-select'),
      sla: q('.conv-sla'),
    };
    if (this.h.sla) setInterval(() => tickCountdowns(this.h.sla), 1000);
    // Mirrors the server's rules (auth/access.py): QA reads only; agents assign only themselves.
    this.readOnly = this.user.role === 'qa';
    this.timeline = new Timeline(q('[data-testid="timeline"]'), this.readOnly ? {} : { onRetry: (m) => this._retry(m) });
    this.composer = new Composer(q('.composer'), (m) => this.addMessage(m));
    this.blocked = q('[data-testid="reply-blocked"]');
    this.templateButton = q('[data-testid="send-template"]');
    const templateDialog = document.getElementById('template-dialog');
    if (templateDialog && this.templateButton) {
      const picker = new TemplatePicker({ dialog: templateDialog, currentId: () => this.id, onSent: (m) => this.addMessage(m) });
      this.templateButton.addEventListener('click', () => picker.open());
    }
    // A customer's new message may reopen the channel's reply window (WhatsApp's 24 hours).
    this.recheckBlocked = debounce(() => this._recheckBlocked(), 800);
    this.id = null;
    this.conv = null;
    this.seq = 0;
    this.canAssignOthers = this.user.role === 'admin' || this.user.role === 'supervisor';
    if (!this.canAssignOthers && this.h.assignSelect) {
      for (const opt of [...this.h.assignSelect.options]) if (opt.value !== '__keep' && opt.value !== '') opt.remove();
    }
    if (this.readOnly) {
      this.composer.form.hidden = true;
      this.h.tagInput.hidden = true;
      this.root.querySelector('.conv-readonly')?.removeAttribute('hidden');
    }

    this.h.assignMe.addEventListener('click', () => this._act('assign', { assignee_id: this.user.id }));
    this.h.resolve.addEventListener('click', () => this._act('resolve'));
    this.h.reopen.addEventListener('click', () => this._act('reopen'));
    this.h.assignSelect?.addEventListener('change', () => {
      const v = this.h.assignSelect.value;
      if (v === '__keep') return;
      this._act('assign', { assignee_id: v === '' ? null : Number(v) });
    });
    this.h.tagInput?.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ',') {
        ev.preventDefault();
        const tag = this.h.tagInput.value.trim().replace(/,$/, '');
        if (tag) this._setTags([...this._tags().filter((x) => x !== tag), tag]);
        this.h.tagInput.value = '';
      } else if (ev.key === 'Backspace' && !this.h.tagInput.value) {
        const tags = this._tags();
        if (tags.length) this._setTags(tags.slice(0, -1));
      }
    });
  }

  /** Opens conversation `id` (null shows the empty state). */
  async open(id) {
    const seq = ++this.seq;
    this.id = id;
    this.conv = null;
    this.notice.hidden = true;
    if (id === null) {
      this.pane.hidden = true;
      this.empty.hidden = false;
      this.onLoaded(null);
      return;
    }
    this.empty.hidden = true;
    this.pane.hidden = false;
    this.pane.setAttribute('aria-busy', 'true');
    this._header({ id, status: '', contact: { name: t('loading') } });
    this.timeline.showLoading();
    this.composer.setConversation(id);
    this._showBlocked(null);
    const base = `/api/v1/conversations/${encodeURIComponent(id)}`;
    try {
      const [conv, msgs, evs] = await Promise.all([
        api.get(base, null, { quiet: [403, 404] }),
        api.get(`${base}/messages`, null, { quiet: [403, 404] }),
        api.get(`${base}/events`, null, { quiet: [403, 404] }).catch((err) => {
          if (err instanceof ApiError && err.status === 404) throw err;
          return { items: [] }; // the timeline still works without events
        }),
      ]);
      if (seq !== this.seq) return;
      this.conv = conv;
      this._header(conv);
      this._showBlocked(conv);
      this.timeline.reset(msgs?.items || [], evs?.items || []);
      this.onLoaded(conv);
    } catch (err) {
      if (seq !== this.seq) return;
      this._unavailable(err instanceof ApiError && (err.status === 404 || err.status === 403)
        ? t('conv_unavailable') : t('conv_load_error'));
    } finally {
      if (seq === this.seq) this.pane.removeAttribute('aria-busy');
    }
  }

  reload() {
    if (this.id !== null) return this.open(this.id);
    return Promise.resolve();
  }

  _unavailable(message) {
    this.conv = null;
    this.pane.hidden = true;
    this.empty.hidden = true;
    this.notice.hidden = false;
    clear(this.notice).append(el('p', { text: message }));
    this.onLoaded(null);
  }

  /** Live or action update: a ConversationSummary for the open conversation. */
  applySummary(s) {
    if (!s || s.id !== this.id || !this.conv) return;
    if (s.locked) {
      this._unavailable(t('conv_now_locked'));
      return;
    }
    // Keep the full contact from GET /conversations/{id}; summaries carry only {id, name}.
    const contact = this.conv.contact && s.contact && this.conv.contact.id === s.contact.id
      ? { ...this.conv.contact, name: s.contact.name ?? this.conv.contact.name } : s.contact;
    this.conv = { ...this.conv, ...s, contact };
    this._header(this.conv);
  }

  addMessage(m) {
    if (!m || m.conversation_id !== this.id) return;
    this.timeline.addMessage(m);
    if (m.direction === 'in' && this.conv?.reply_blocked) this.recheckBlocked();
  }

  /** The channel refuses free text now (reply_blocked): say why, allow only notes and templates. */
  _showBlocked(conv) {
    const reason = conv?.reply_blocked || null;
    if (this.blocked) {
      this.blocked.hidden = !reason;
      const text = this.blocked.querySelector('.reply-blocked-text');
      if (text) text.textContent = reason || '';
    }
    if (this.templateButton) {
      this.templateButton.hidden = !reason || this.readOnly || conv?.inbox?.channel !== 'whatsapp';
    }
    this.composer.setBlocked(reason);
  }

  async _recheckBlocked() {
    const id = this.id;
    if (id === null) return;
    try {
      const conv = await api.get(`/api/v1/conversations/${encodeURIComponent(id)}`, null, { quiet: true });
      if (id !== this.id || !this.conv || !conv) return;
      this.conv = { ...this.conv, reply_blocked: conv.reply_blocked };
      this._showBlocked(this.conv);
    } catch {
      // keep the banner; the next message checks again
    }
  }

  async _retry(m) {
    const id = this.id;
    try {
      const updated = await api.post(
        `/api/v1/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(m.id)}/retry`);
      if (updated && id === this.id) this.addMessage(updated);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && id === this.id) this.reload();
    }
  }

  addEvent(ev) {
    if (!ev || ev.conversation_id !== this.id) return;
    this.timeline.addEvent(ev);
  }

  _header(c) {
    const h = this.h;
    h.name.textContent = shown(c.contact?.name || t('unknown_contact', { id: c.contact?.id ?? '' }));
    const channel = c.inbox?.channel;
    clear(h.channel).append(...(channel ? channelBadgeContent(channel) : []));
    h.channel.dataset.channel = channel || '';
    h.channel.title = c.inbox?.name || '';
    h.channel.hidden = !channel;
    h.status.textContent = c.status ? statusLabel(c.status) : '';
    h.status.dataset.status = c.status || '';
    h.status.className = `badge status-badge status-${c.status || 'none'}`;
    h.queue.textContent = c.queue?.name || '—';
    h.assignee.textContent = c.assignee?.name || t('unassigned');
    h.assignee.classList.toggle('muted', !c.assignee);
    if (h.since) {
      h.since.textContent = c.created_at ? shortTime(c.created_at) : '';
      h.since.title = fullTime(c.created_at);
    }
    this._renderTags(Array.isArray(c.tags) ? c.tags : []);
    if (h.sla) {
      // The SLA countdown (conversation GET, or a summary of the SLA domain).
      const badge = CLOSED.has(c.status) ? null : slaBadge(c.sla);
      clear(h.sla);
      if (badge) h.sla.append(badge);
      h.sla.closest('.meta-item')?.toggleAttribute('hidden', !badge);
    }

    const known = Boolean(c.status);
    const closed = CLOSED.has(c.status);
    const mine = c.assignee && String(c.assignee.id) === String(this.user.id);
    const ro = this.readOnly;
    // The ownership rule of auth/access.py: an agent does not take or move a colleague's
    // conversation; a supervisor or an admin may.
    const othersHave = Boolean(c.assignee) && !mine && !this.canAssignOthers;
    h.assignMe.hidden = ro || !known || closed || mine || othersHave;
    h.resolve.hidden = ro || !known || closed;
    h.reopen.hidden = ro || !known || !closed;
    if (h.transfer) h.transfer.hidden = ro || !known || closed || othersHave;
    if (h.assignSelect) {
      h.assignSelect.hidden = ro || !known || closed || (!this.canAssignOthers && !mine);
      h.assignSelect.value = '__keep';
    }
  }

  _tags() {
    return Array.isArray(this.conv?.tags) ? [...this.conv.tags] : [];
  }

  _renderTags(tags) {
    const list = this.h.tags;
    clear(list);
    for (const tag of tags) {
      list.append(el('li', { class: 'tag tag-edit' },
        el('span', { text: tag }),
        this.readOnly ? null : el('button', {
          type: 'button',
          class: 'tag-remove',
          'aria-label': t('remove_tag', { tag }),
          title: t('remove_tag', { tag }),
          text: '×',
          onclick: () => this._setTags(this._tags().filter((x) => x !== tag)),
        })));
    }
  }

  async _setTags(tags) {
    if (!this.conv) return;
    const id = this.id;
    try {
      const s = await api.put(`/api/v1/conversations/${encodeURIComponent(id)}/tags`, { tags });
      if (id === this.id && s) {
        this.applySummary(s);
        this.onSummary(s);
      }
    } catch {
      // api.js showed the error; the header still shows the server's tags
    }
  }

  async _act(action, body) {
    if (!this.conv) return;
    const id = this.id;
    const buttons = [this.h.assignMe, this.h.resolve, this.h.reopen, this.h.assignSelect].filter(Boolean);
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const s = await api.post(`/api/v1/conversations/${encodeURIComponent(id)}/${action}`, body);
      if (s && id === this.id) {
        this.applySummary(s);
        this.onSummary(s);
        if (action === 'resolve') notify(t('resolved_toast'), 'ok');
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && id === this.id) this.reload();
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      if (this.conv) this._header(this.conv);
    }
  }
}
