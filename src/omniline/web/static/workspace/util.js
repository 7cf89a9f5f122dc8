// Small DOM, i18n and time helpers shared by the workspace modules.
// Every piece of data is inserted as text (textContent / text nodes), never as HTML.
import { channelIcon } from './icons.js';

let STRINGS = {};

export function readJSON(id) {
  const node = document.getElementById(id);
  if (!node) return {};
  try {
    return JSON.parse(node.textContent || '{}') || {};
  } catch (err) {
    console.error('bad JSON block', id, err);
    return {};
  }
}

export function setStrings(strings) {
  STRINGS = strings && typeof strings === 'object' ? strings : {};
}

/** Translated string for `key`; `{name}` placeholders are replaced from `vars`. */
export function t(key, vars) {
  let s = Object.prototype.hasOwnProperty.call(STRINGS, key) ? String(STRINGS[key]) : key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (Object.prototype.hasOwnProperty.call(vars, k) && vars[k] != null ? String(vars[k]) : m));
  }
  return s;
}

/** Translation with a fallback when the key is missing (e.g. unknown channel or status names). */
export function tOr(key, fallback, vars) {
  return Object.prototype.hasOwnProperty.call(STRINGS, key) ? t(key, vars) : fallback;
}

/**
 * el('div', {class: 'x', text: 'hello', dataset: {id: 1}, onclick: fn}, child, 'text', [more])
 * Strings among children become text nodes. Attribute values are set with setAttribute (never parsed as HTML).
 */
// Bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what follows them:
// "gpj.exe" shown as "exe.jpg". Every text the workspace shows goes through this.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;
export function shown(value) {
  return String(value).replace(BIDI_CONTROLS, '');
}

export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = shown(v);
      else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) if (dv !== null && dv !== undefined) node.dataset[dk] = String(dv);
      } else if (k === 'hidden') node.hidden = Boolean(v);
      else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  appendChildren(node, children);
  return node;
}

export function appendChildren(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(shown(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Only http(s) URLs (absolute or relative to this page); anything else (javascript:, data:) gives null. */
export function safeUrl(url) {
  if (typeof url !== 'string' || !url) return null;
  try {
    const u = new URL(url, window.location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]/g;

/** Text as a fragment of text nodes, with http(s) links made clickable (anchors built by DOM calls). */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  const s = String(text ?? '');
  let last = 0;
  for (const m of s.matchAll(URL_RE)) {
    const href = safeUrl(m[0]);
    if (!href) continue;
    if (m.index > last) frag.append(document.createTextNode(s.slice(last, m.index)));
    frag.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', text: m[0] }));
    last = m.index + m[0].length;
  }
  if (last < s.length) frag.append(document.createTextNode(s.slice(last)));
  return frag;
}

// ---- time ----

export function locale() {
  return document.documentElement.lang || 'en';
}

/** Date from an API timestamp (microseconds and a missing zone are tolerated; naive = UTC). */
export function parseTime(value) {
  if (!value) return null;
  if (value instanceof Date) return value;
  let s = String(value).replace(/(\.\d{3})\d+/, '$1');
  if (/^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(s)) s += 'Z';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function timeValue(value) {
  const d = parseTime(value);
  return d ? d.getTime() : 0;
}

let rtf = null;
function relFormatter() {
  if (!rtf) {
    try {
      rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto', style: 'short' });
    } catch {
      rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'short' });
    }
  }
  return rtf;
}

/** "now", "5 min. ago", "yesterday", or a date for older times. */
export function relativeTime(value) {
  const d = parseTime(value);
  if (!d) return '';
  const diff = (d.getTime() - Date.now()) / 1000;
  const abs = Math.abs(diff);
  if (abs < 45) return t('just_now');
  if (abs < 3600) return relFormatter().format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return relFormatter().format(Math.round(diff / 3600), 'hour');
  if (abs < 7 * 86400) return relFormatter().format(Math.round(diff / 86400), 'day');
  return shortDate(d);
}

function fmt(d, opts) {
  try {
    return new Intl.DateTimeFormat(locale(), opts).format(d);
  } catch {
    return d.toISOString();
  }
}

export function shortDate(value) {
  const d = parseTime(value);
  if (!d) return '';
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return fmt(d, sameYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' });
}

/** Clock time for today, otherwise date and time. */
export function shortTime(value) {
  const d = parseTime(value);
  if (!d) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return fmt(d, { hour: '2-digit', minute: '2-digit' });
  return `${shortDate(d)} ${fmt(d, { hour: '2-digit', minute: '2-digit' })}`;
}

export function fullTime(value) {
  const d = parseTime(value);
  if (!d) return '';
  return fmt(d, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** A <time> element with a relative label that `refreshTimes` keeps current. */
export function timeEl(value, mode = 'relative') {
  const d = parseTime(value);
  if (!d) return el('time');
  const node = el('time', {
    datetime: d.toISOString(),
    title: fullTime(d),
    'data-mode': mode,
    text: mode === 'relative' ? relativeTime(d) : shortTime(d),
  });
  return node;
}

export function refreshTimes(root = document) {
  for (const node of root.querySelectorAll('time[data-mode="relative"]')) {
    const txt = relativeTime(node.getAttribute('datetime'));
    if (node.textContent !== txt) node.textContent = txt;
  }
}

export function formatSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function statusLabel(status) {
  return tOr(`status_${status}`, String(status ?? ''));
}

export function channelLabel(channel) {
  return tOr(`channel_${channel}`, String(channel ?? ''));
}

export function statusBadge(status, attrs = {}) {
  return el('span', { class: `badge status-badge status-${status}`, 'data-status': status, ...attrs, text: statusLabel(status) });
}

/** Icon and label of a channel (the icon is decorative; the label is the text). */
export function channelBadgeContent(channel) {
  return [channelIcon(channel), el('span', { class: 'channel-label', text: channelLabel(channel) })];
}

export function channelBadge(channel) {
  return el('span', { class: `badge channel-badge channel-${channel}`, 'data-channel': channel }, channelBadgeContent(channel));
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
