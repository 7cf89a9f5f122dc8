// Suggestions in the reply box: "/" at the start of a word opens canned responses
// (inserted rendered for the open conversation), and the tag input suggests the
// workspace's tags. The popup is shared with mentions.js ("@" in private notes).
import { api } from './api.js';
import { el, clear, t, debounce } from './util.js';

const STYLE = `
.suggest { position: absolute; z-index: 40; min-width: 260px; max-width: 420px; max-height: 240px; overflow-y: auto;
  margin: 0; padding: 4px 0; list-style: none; background: #fff; border: 1px solid var(--border, #d0d5dd);
  border-radius: 6px; box-shadow: 0 6px 18px rgba(16, 24, 40, .16); }
.suggest li { padding: 6px 10px; cursor: pointer; display: flex; gap: 8px; align-items: baseline; }
.suggest li[aria-selected="true"] { background: var(--primary-soft, #e8f0fe); }
.suggest .suggest-key { font-family: var(--mono, monospace); font-size: 12px; color: var(--primary, #1d4ed8); }
.suggest .suggest-title { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.suggest .suggest-note { font-size: 12px; color: var(--muted, #667085); }
.suggest li.suggest-empty { cursor: default; color: var(--muted, #667085); }
.composer { position: relative; }
`;

let styled = false;
function ensureStyle() {
  if (styled) return;
  styled = true;
  document.head.append(el('style', { text: STYLE }));
}

/** The word being typed at the caret when it starts with `trigger` at the start of a word. */
export function tokenAt(value, caret, trigger) {
  const before = value.slice(0, caret);
  const start = before.lastIndexOf(trigger);
  if (start < 0) return null;
  if (start > 0 && !/\s/.test(before[start - 1])) return null;
  const query = before.slice(start + 1);
  // Mentions may hold a space ("@Anna Ag"); a canned shortcut may not.
  if (trigger === '/' ? /\s/.test(query) : /\n/.test(query) || query.length > 40) return null;
  return { start, end: caret, query };
}

/**
 * A listbox under a textarea. `source(query)` resolves to items {key, title, note};
 * `pick(item, token)` inserts it. Keyboard: arrows move, Enter/Tab insert, Esc closes.
 */
export class SuggestBox {
  constructor(input, { trigger, source, pick, enabled = () => true, label }) {
    ensureStyle();
    this.input = input;
    this.trigger = trigger;
    this.source = source;
    this.pick = pick;
    this.enabled = enabled;
    this.items = [];
    this.active = 0;
    this.token = null;
    this.seq = 0;
    this.list = el('ul', { class: 'suggest', role: 'listbox', id: `suggest-${trigger === '/' ? 'canned' : 'mention'}`, 'aria-label': label, hidden: true });
    input.parentElement.append(this.list);
    this.list.addEventListener('mousedown', (ev) => ev.preventDefault()); // keep focus in the box
    this.refresh = debounce(() => this._refresh(), 120);
    input.addEventListener('input', () => this.refresh());
    input.addEventListener('keydown', (ev) => this._key(ev));
    input.addEventListener('blur', () => this.close());
  }

  get open() {
    return !this.list.hidden;
  }

  async _refresh() {
    const tok = this.enabled() ? tokenAt(this.input.value, this.input.selectionStart, this.trigger) : null;
    if (!tok) return this.close();
    this.token = tok;
    const seq = ++this.seq;
    let items = [];
    try {
      items = await this.source(tok.query);
    } catch {
      items = [];
    }
    if (seq !== this.seq) return; // a newer keystroke won
    this._render(items);
  }

  _render(items) {
    this.items = items;
    this.active = 0;
    clear(this.list);
    if (!items.length) {
      this.list.append(el('li', { class: 'suggest-empty', text: t(this.trigger === '/' ? 'canned_none' : 'mention_none') }));
    }
    items.forEach((item, i) => {
      this.list.append(el('li', {
        role: 'option',
        id: `${this.list.id}-${i}`,
        'aria-selected': i === 0 ? 'true' : 'false',
        onclick: () => this._choose(i),
      },
      el('span', { class: 'suggest-key', text: item.key }),
      el('span', { class: 'suggest-title', text: item.title }),
      item.note ? el('span', { class: 'suggest-note', text: item.note }) : null));
    });
    this.list.style.left = '0';
    this.list.style.bottom = `${this.input.parentElement.offsetHeight - this.input.offsetTop + 4}px`;
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.input.setAttribute('aria-controls', this.list.id);
    this._mark();
  }

  _mark() {
    [...this.list.children].forEach((li, i) => li.setAttribute('aria-selected', i === this.active ? 'true' : 'false'));
    const cur = this.list.children[this.active];
    if (cur && this.items.length) {
      this.input.setAttribute('aria-activedescendant', cur.id);
      cur.scrollIntoView({ block: 'nearest' });
    }
  }

  close() {
    this.seq++;
    this.list.hidden = true;
    this.items = [];
    this.token = null;
    this.input.removeAttribute('aria-activedescendant');
    this.input.setAttribute('aria-expanded', 'false');
  }

  _key(ev) {
    if (!this.open) return;
    const n = this.items.length;
    if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      this.close();
    } else if (ev.key === 'ArrowDown' && n) {
      ev.preventDefault();
      this.active = (this.active + 1) % n;
      this._mark();
    } else if (ev.key === 'ArrowUp' && n) {
      ev.preventDefault();
      this.active = (this.active - 1 + n) % n;
      this._mark();
    } else if ((ev.key === 'Enter' || ev.key === 'Tab') && !ev.ctrlKey && !ev.metaKey && n) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      this._choose(this.active);
    }
  }

  async _choose(i) {
    const item = this.items[i];
    const tok = this.token;
    this.close();
    if (item && tok) await this.pick(item, tok);
  }
}

/** Replaces the typed token with `text`, leaving the caret after it. */
export function replaceToken(input, tok, text) {
  const v = input.value;
  input.value = v.slice(0, tok.start) + text + v.slice(tok.end);
  const caret = tok.start + text.length;
  input.setSelectionRange(caret, caret);
  input.dispatchEvent(new Event('input', { bubbles: true }));
  input.focus();
}

/** "/" suggestions for a Composer: the agent's own and shared responses. */
export function attachCanned(composer) {
  return new SuggestBox(composer.input, {
    trigger: '/',
    label: t('canned_label'),
    source: async (q) => {
      const data = await api.get('/api/v1/canned', { q, limit: 8 }, { quiet: true });
      return (data?.items || []).map((c) => ({
        id: c.id, key: `/${c.shortcut}`, title: c.title, note: c.shared ? t('canned_shared') : t('canned_personal'),
      }));
    },
    pick: async (item, tok) => {
      const id = composer.conversationId;
      if (id === null) return;
      const res = await api.get(`/api/v1/conversations/${encodeURIComponent(id)}/canned/${encodeURIComponent(item.id)}/render`);
      if (res && composer.conversationId === id) replaceToken(composer.input, tok, res.text);
    },
  });
}

/** Fills a <datalist> for the tag input with the workspace's tags, most used first. */
export function attachTagSuggestions(input) {
  if (!input) return;
  const list = el('datalist', { id: 'tag-suggestions' });
  input.after(list);
  input.setAttribute('list', list.id);
  let loaded = 0;
  const load = async () => {
    if (Date.now() - loaded < 60000) return; // fresh enough; tags change slowly
    loaded = Date.now();
    try {
      const data = await api.get('/api/v1/tags', { limit: 200 }, { quiet: true });
      clear(list);
      for (const it of data?.items || []) list.append(el('option', { value: it.tag }));
    } catch {
      loaded = 0;
    }
  };
  input.addEventListener('focus', load);
}
