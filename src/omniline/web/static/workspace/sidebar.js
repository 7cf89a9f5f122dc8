// Right column: the contact of the open conversation (GET /api/v1/contacts/{id}).
import { api, notify } from './api.js';
import { icon } from './icons.js';
import { el, t, clear, timeEl, shortDate, fullTime, statusBadge, channelBadge } from './util.js';
import { fetchDuplicates, mergeContacts, duplicateItems } from './merge.js';

// Channels whose customers can be vouched for by the lender's signed login.
const WIDGET_CHANNELS = new Set(['webchat', 'mobile']);

function displayValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? t('yes') : t('no');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function languageName(code) {
  if (!code) return '';
  try {
    const dn = new Intl.DisplayNames([document.documentElement.lang || 'en'], { type: 'language' });
    const name = dn.of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

function countryName(code) {
  if (!code) return '';
  try {
    const dn = new Intl.DisplayNames([document.documentElement.lang || 'en'], { type: 'region' });
    const name = dn.of(String(code).toUpperCase());
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

function section(title, ...children) {
  return el('section', { class: 'side-section' }, el('h3', { class: 'side-title', text: title }), children);
}

export class ContactSidebar {
  /**
   * @param {HTMLElement} root
   * @param {(id: number) => void} onOpenConversation
   * @param {{canMerge?: boolean, mergeDialog?: import('./merge.js').MergeDialog}} o
   */
  constructor(root, onOpenConversation, o = {}) {
    this.root = root;
    this.onOpenConversation = onOpenConversation;
    this.canMerge = Boolean(o.canMerge && o.mergeDialog);
    this.mergeDialog = o.mergeDialog || null;
    this.canManageData = Boolean(o.canManageData);
    this.contactId = null;
    this.conversationId = null;
    this.channel = null;
    this.contact = null;
    this.seq = 0;
    this.placeholder();
  }

  placeholder() {
    this.contactId = null;
    clear(this.root).append(el('p', { class: 'side-empty muted', text: t('contact_none') }));
  }

  /** Shows the contact of `conversation` (a GET /conversations/{id} answer) or clears the panel. */
  async show(conversation) {
    const seq = ++this.seq;
    if (!conversation || !conversation.contact?.id) {
      this.conversationId = null;
      this.placeholder();
      return;
    }
    if (conversation.id !== this.conversationId) this.bot = null;
    this.conversationId = conversation.id;
    if (conversation.inbox) this.channel = conversation.inbox.channel || null;
    this._loadBot(seq, conversation.id);
    const id = conversation.contact.id;
    if (id !== this.contactId) {
      this.contactId = id;
      this.render({ ...conversation.contact }, true);
    }
    try {
      const contact = await api.get(`/api/v1/contacts/${encodeURIComponent(id)}`, null, { quiet: [403, 404] });
      if (seq === this.seq && contact) {
        this.render(contact, false);
        this._duplicates(seq, contact);
      }
    } catch {
      if (seq === this.seq) this.render({ ...conversation.contact }, false);
    }
  }

  refresh() {
    if (this.contactId === null) return;
    this.show({ id: this.conversationId, contact: { id: this.contactId } });
  }

  render(c, partial) {
    const root = clear(this.root);
    root.setAttribute('aria-busy', partial ? 'true' : 'false');
    const name = c.name || t('unknown_contact', { id: c.id });

    const askForId = c.verified === false && this.channel && !WIDGET_CHANNELS.has(this.channel);
    const head = el('header', { class: 'side-head' },
      el('span', { class: 'avatar avatar-lg', 'aria-hidden': 'true', text: (name.trim()[0] || '?').toUpperCase() }),
      el('div', { class: 'side-head-text' },
        el('h2', { class: 'side-name', 'data-testid': 'contact-name', text: name }),
        c.verified === true
          ? el('span', { class: 'badge badge-ok', 'data-testid': 'contact-verified', title: t('verified_hint'), text: `✓ ${t('verified')}` })
          : c.verified === false ? el('span', {
            class: `badge ${askForId ? 'badge-warn' : 'badge-muted'}`,
            'data-testid': 'contact-not-verified',
            text: askForId ? t('not_verified_ask') : t('not_verified'),
          }) : null));
    root.append(head);
    this.contact = c;

    const props = [
      ['email', c.email, c.email ? el('a', { href: `mailto:${c.email}`, text: c.email }) : null],
      ['phone', c.phone],
      ['language', languageName(c.language)],
      ['country', countryName(c.country)],
      ['timezone', c.timezone],
      ['external_id', c.external_id],
    ].filter(([, v]) => v !== null && v !== undefined && v !== '');
    if (props.length) {
      root.append(section(t('profile'), el('dl', { class: 'props' },
        props.map(([key, v, node]) => [el('dt', { text: t(`field_${key}`) }), el('dd', {}, node || String(v))]))));
    }

    if (Array.isArray(c.identities) && c.identities.length) {
      root.append(section(t('identities'), el('ul', { class: 'side-list' },
        c.identities.map((i) => el('li', {}, channelBadge(i.channel), ' ', el('span', { class: 'mono', text: i.address ?? '' }))))));
    }

    if (partial) {
      root.append(el('p', { class: 'muted small', text: t('loading') }));
      return;
    }

    if (this.bot) root.append(this._botSection(this.bot));

    const attrs = c.attributes && typeof c.attributes === 'object' ? Object.entries(c.attributes) : [];
    root.append(section(t('attributes'), attrs.length
      ? el('table', { class: 'table table-compact side-attrs' },
        el('tbody', {}, attrs.map(([k, v]) => el('tr', {}, el('th', { scope: 'row', text: k }), el('td', { text: displayValue(v) })))))
      : el('p', { class: 'muted small', text: t('no_attributes') })));

    const events = Array.isArray(c.events) ? [...c.events] : [];
    events.sort((a, b) => String(b.occurred_at || '').localeCompare(String(a.occurred_at || '')));
    root.append(section(t('contact_events'), events.length
      ? el('ul', { class: 'side-list side-events' }, events.slice(0, 20).map((e) => el('li', {},
        el('span', { class: 'side-event-name', text: e.name ?? '' }),
        e.data && typeof e.data === 'object' && Object.keys(e.data).length
          ? el('span', { class: 'side-event-data muted', text: JSON.stringify(e.data) }) : null,
        timeEl(e.occurred_at))))
      : el('p', { class: 'muted small', text: t('no_events') })));

    const convs = Array.isArray(c.conversations) ? c.conversations : [];
    root.append(section(t('conversations_history'), convs.length
      ? el('ul', { class: 'side-list side-convs', 'data-testid': 'contact-conversations' }, convs.map((cv) => this._convItem(cv)))
      : el('p', { class: 'muted small', text: t('no_conversations') })));
    this.dupes = el('section', { class: 'side-section', 'data-testid': 'same-person', hidden: true });
    root.append(this.dupes);
    if (this.canManageData) root.append(this._dataSection(c, name));
  }

  /** What the bot collected before the handoff (or is collecting now). */
  async _loadBot(seq, conversationId) {
    try {
      const answer = await api.get(`/api/v1/bots/conversations/${encodeURIComponent(conversationId)}`, null, { quiet: true });
      if (seq !== this.seq || conversationId !== this.conversationId) return;
      this.bot = answer?.session || null;
      if (this.bot && this.contact) this.render(this.contact, false);
    } catch {
      // No bot part for this conversation (or no access): the panel shows the contact only.
    }
  }

  _botSection(bot) {
    const vars = Object.entries(bot.variables || {}).filter(([k]) => k !== 'last_message');
    const status = `${t(`bot_status_${bot.status}`)}${bot.outcome ? ` · ${t(`bot_outcome_${bot.outcome}`)}` : ''}`;
    return section(t('bot_title'),
      el('p', { class: 'small', 'data-testid': 'bot-status', text: `${bot.flow ? bot.flow.name : ''} — ${status}` }),
      vars.length
        ? el('table', { class: 'table table-compact side-attrs', 'data-testid': 'bot-variables' },
          el('tbody', {}, vars.map(([k, v]) => el('tr', {}, el('th', { scope: 'row', text: k }), el('td', { text: displayValue(v) })))))
        : el('p', { class: 'muted small', text: t('bot_no_variables') }),
      bot.path && bot.path.length ? el('p', { class: 'muted small', text: `${t('bot_path')}: ${bot.path.join(' → ')}` }) : null);
  }

  /** Administrators: the customer's data as a JSON file, or erased on their request. */
  _dataSection(c, name) {
    const exportBtn = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'contact-export', text: t('contact_export') });
    const eraseBtn = el('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'contact-erase', text: t('contact_erase') });
    exportBtn.addEventListener('click', async () => {
      try {
        const data = await api.get(`/api/v1/contacts/${encodeURIComponent(c.id)}/export`);
        const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
        const link = el('a', { href: URL.createObjectURL(blob), download: `contact-${c.id}.json` });
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      } catch { /* api.js already showed the error */ }
    });
    eraseBtn.addEventListener('click', async () => {
      if (!window.confirm(t('contact_erase_confirm', { name }))) return;
      try {
        await api.post(`/api/v1/contacts/${encodeURIComponent(c.id)}/erase`, { confirm: true });
        notify(t('contact_erased'), 'ok');
        this.refresh();
      } catch { /* shown by api.js */ }
    });
    return section(t('contact_data'), el('div', { class: 'side-actions' }, exportBtn, ' ', eraseBtn));
  }

  async _duplicates(seq, contact) {
    let data;
    try {
      data = await fetchDuplicates(contact.id);
    } catch {
      return; // the profile still works without the suggestions
    }
    const items = Array.isArray(data?.items) ? data.items : [];
    if (seq !== this.seq || !this.dupes || !items.length) return;
    clear(this.dupes).append(
      el('h3', { class: 'side-title', text: t('same_person') }),
      duplicateItems(items, { canMerge: this.canMerge, onMerge: (d) => this._merge(contact, d) }));
    this.dupes.hidden = false;
  }

  async _merge(contact, other) {
    const keepName = contact.name || t('unknown_contact', { id: contact.id });
    const otherName = other.name || t('unknown_contact', { id: other.id });
    if (!(await this.mergeDialog.confirm(keepName, otherName))) return;
    try {
      const merged = await mergeContacts(contact.id, other.id);
      notify(t('merged_toast', { other: otherName, name: keepName }), 'ok');
      if (merged && merged.id === this.contactId) this.refresh();
    } catch {
      // api.js showed why
    }
  }

  _convItem(cv) {
    const current = cv.id === this.conversationId;
    const body = [
      el('span', { class: 'side-conv-id', text: `#${cv.id}` }),
      cv.inbox?.channel ? channelBadge(cv.inbox.channel) : null,
      cv.status ? statusBadge(cv.status) : null,
      el('span', { class: 'side-conv-date muted', title: fullTime(cv.created_at), text: shortDate(cv.created_at) }),
    ];
    if (cv.locked) {
      return el('li', { class: 'side-conv locked', 'data-locked': 'true', 'data-conversation-id': cv.id, title: t('locked_row') },
        icon('lock', 'lock-icon'), body,
        el('span', { class: 'sr-only', text: t('locked_row') }));
    }
    if (current) {
      return el('li', { class: 'side-conv current', 'aria-current': 'true', 'data-conversation-id': cv.id, title: t('current') }, body,
        el('span', { class: 'sr-only', text: t('current') }));
    }
    return el('li', { class: 'side-conv', 'data-conversation-id': cv.id }, el('button', {
      type: 'button',
      class: 'side-conv-btn',
      'aria-label': t('open_conversation', { id: cv.id }),
      onclick: () => this.onOpenConversation(cv.id),
    }, body));
  }
}
