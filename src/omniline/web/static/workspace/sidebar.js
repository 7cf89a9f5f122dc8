// Right column: the contact of the open conversation (GET /api/v1/contacts/{id}).
import { api } from './api.js';
import { icon } from './icons.js';
import { el, t, clear, timeEl, shortDate, fullTime, statusBadge, channelBadge } from './util.js';

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
   */
  constructor(root, onOpenConversation) {
    this.root = root;
    this.onOpenConversation = onOpenConversation;
    this.contactId = null;
    this.conversationId = null;
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
    this.conversationId = conversation.id;
    const id = conversation.contact.id;
    if (id !== this.contactId) {
      this.contactId = id;
      this.render({ ...conversation.contact }, true);
    }
    try {
      const contact = await api.get(`/api/v1/contacts/${encodeURIComponent(id)}`, null, { quiet: [403, 404] });
      if (seq === this.seq && contact) this.render(contact, false);
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

    const head = el('header', { class: 'side-head' },
      el('span', { class: 'avatar avatar-lg', 'aria-hidden': 'true', text: (name.trim()[0] || '?').toUpperCase() }),
      el('div', { class: 'side-head-text' },
        el('h2', { class: 'side-name', text: name }),
        c.verified === true
          ? el('span', { class: 'badge badge-ok', title: t('verified_hint'), text: `✓ ${t('verified')}` })
          : c.verified === false ? el('span', { class: 'badge badge-muted', text: t('not_verified') }) : null));
    root.append(head);

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
      ? el('ul', { class: 'side-list side-convs' }, convs.map((cv) => this._convItem(cv)))
      : el('p', { class: 'muted small', text: t('no_conversations') })));
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
      return el('li', { class: 'side-conv locked', 'data-locked': 'true', title: t('locked_row') },
        icon('lock', 'lock-icon'), body,
        el('span', { class: 'sr-only', text: t('locked_row') }));
    }
    if (current) {
      return el('li', { class: 'side-conv current', 'aria-current': 'true', title: t('current') }, body,
        el('span', { class: 'sr-only', text: t('current') }));
    }
    return el('li', { class: 'side-conv' }, el('button', {
      type: 'button',
      class: 'side-conv-btn',
      'aria-label': t('open_conversation', { id: cv.id }),
      onclick: () => this.onOpenConversation(cv.id),
    }, body));
  }
}
