// What channels add to a message (Message.meta, conversations/inbound.py MESSAGE_META):
// email subject, quoted text, the original letter, buttons, files still downloading or refused.
// Everything is inserted as text; the original letter's HTML goes only into a sandboxed frame.
import { el, t, safeUrl } from './util.js';

// No scripts, no same-origin (sandbox=""), and inside the frame nothing remote loads:
// tracking pixels and remote images stay blocked, links go nowhere (no popups allowed).
// The letter's own pictures (cid: parts, linked by the server to their attachment URLs) are
// fetched here, through the access-checked download, and put in as data: URLs.
const ORIGINAL_HEAD = '<meta http-equiv="Content-Security-Policy" '
  + 'content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'">'
  + '<base target="_blank">';

function toggle(label, hideLabel, build, testid) {
  const wrap = el('div', { class: 'msg-fold' });
  const button = el('button', {
    type: 'button', class: 'btn-link msg-toggle', 'aria-expanded': 'false', 'data-testid': testid, text: label,
  });
  let body = null;
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') === 'true';
    if (open) {
      body?.remove();
      body = null;
    } else {
      body = build();
      wrap.append(body);
    }
    button.setAttribute('aria-expanded', open ? 'false' : 'true');
    button.textContent = open ? label : hideLabel;
  });
  wrap.append(button);
  return wrap;
}

function originalFrame(html, inline) {
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', '');
  frame.setAttribute('referrerpolicy', 'no-referrer');
  frame.setAttribute('title', t('original_letter'));
  frame.setAttribute('data-testid', 'original-frame');
  frame.className = 'msg-original-frame';
  const doc = inert(String(html), inline);
  frame.srcdoc = ORIGINAL_HEAD + doc.documentElement.outerHTML;
  const pictures = [...doc.querySelectorAll('img[data-inline-src]')];
  if (pictures.length) {
    // The second document replaces the first only after the first has loaded, and the frame
    // says its pictures are in once the document holding them has loaded (a new srcdoc
    // navigates asynchronously; marking it at once raced the navigation).
    const firstLoad = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
    Promise.all([embedPictures(pictures, inline), firstLoad]).then(() => {
      frame.addEventListener('load', () => frame.setAttribute('data-pictures', 'loaded'), { once: true });
      frame.srcdoc = ORIGINAL_HEAD + doc.documentElement.outerHTML;
    });
  }
  return frame;
}

// Raster pictures only: what the frame's policy lets load as data: URLs.
const PICTURE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

async function embedPictures(pictures, inline) {
  const types = new Map(inline.map((a) => [a.url, a.content_type]));
  await Promise.all(pictures.map(async (img) => {
    const url = img.getAttribute('data-inline-src');
    img.removeAttribute('data-inline-src');
    try {
      const res = await fetch(url, { credentials: 'same-origin' });
      if (!res.ok) return;
      const blob = await res.blob();
      const type = blob.type.split(';')[0];
      if (!PICTURE_TYPES.has(type) || type !== types.get(url)) return;
      img.setAttribute('src', await dataUrl(blob));
    } catch (err) {
      console.warn('a picture of the letter could not be loaded', err);
    }
  }));
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

const REMOTE_ATTRS = ['src', 'srcset', 'background', 'poster', 'data'];

/**
 * The letter without anything that would load from elsewhere (tracking pixels, remote
 * CSS): the frame's policy forbids it too, but a browser may start fetching images
 * before it reads a policy given in the document itself. DOMParser documents load nothing.
 * A picture whose source is one of the message's own inline attachments keeps it aside
 * (data-inline-src) for embedPictures.
 */
function inert(html, inline) {
  const own = new Set(inline.map((a) => a.url));
  const doc = new DOMParser().parseFromString(html, 'text/html');
  doc.querySelectorAll('link, base, meta, script, object, embed, iframe').forEach((n) => n.remove());
  doc.querySelectorAll('img[src]').forEach((n) => {
    if (own.has(n.getAttribute('src'))) n.setAttribute('data-inline-src', n.getAttribute('src'));
  });
  doc.querySelectorAll('*').forEach((n) => {
    for (const name of REMOTE_ATTRS) {
      const value = n.getAttribute(name);
      if (value !== null && !value.trim().toLowerCase().startsWith('data:')) n.removeAttribute(name);
    }
    const style = n.getAttribute('style');
    if (style && /url\s*\(/i.test(style)) n.setAttribute('style', style.replace(/url\s*\([^)]*\)/gi, 'none'));
  });
  doc.querySelectorAll('style').forEach((n) => {
    n.textContent = n.textContent.replace(/url\s*\([^)]*\)/gi, 'none').replace(/@import[^;]*;/gi, '');
  });
  return doc;
}

function buttonChip(b) {
  const label = String(b?.text ?? '');
  const href = safeUrl(b?.url);
  if (href) {
    return el('a', { class: 'chip chip-link', href, target: '_blank', rel: 'noopener noreferrer nofollow', title: href, text: label });
  }
  return el('span', { class: 'chip', title: b?.payload ? String(b.payload) : null, text: label });
}

/** Lines shown above the text: the email subject, an automatic letter. */
export function metaHead(meta) {
  const out = [];
  if (typeof meta.subject === 'string' && meta.subject.trim()) {
    out.push(el('div', { class: 'msg-subject', 'data-testid': 'msg-subject', text: meta.subject }));
  }
  if (meta.auto_submitted) {
    out.push(el('div', { class: 'msg-note msg-auto', 'data-testid': 'msg-auto', text: t('auto_submitted') }));
  }
  return out;
}

/** Parts shown under the text: folded quote, the original letter, files, buttons. */
export function metaBody(meta, outbound, inline = []) {
  const out = [];
  if (typeof meta.quoted === 'string' && meta.quoted.trim()) {
    out.push(toggle(t('show_quoted'), t('hide_quoted'),
      () => el('div', { class: 'msg-quoted', 'data-testid': 'msg-quoted', text: meta.quoted }), 'show-quoted'));
  }
  if (typeof meta.html === 'string' && meta.html.trim()) {
    out.push(toggle(t('show_original'), t('hide_original'), () => originalFrame(meta.html, inline), 'show-original'));
  }
  if (meta.not_fully_read) {
    out.push(el('div', { class: 'msg-note msg-not-fully-read', 'data-testid': 'not-fully-read', text: t('not_fully_read') }));
  }
  if ((Number(meta.files_not_listed) || 0) > 0) {
    out.push(el('div', { class: 'msg-note', 'data-testid': 'files-not-listed', text: t('files_not_listed', { n: Number(meta.files_not_listed) }) }));
  }
  if ((Number(meta.cards_masked) || 0) > 0) {
    out.push(el('div', { class: 'msg-note msg-cards-masked', 'data-testid': 'cards-masked', text: t('cards_masked') }));
  }
  const pending = Number(meta.media_pending) || 0;
  if (pending > 0) {
    out.push(el('div', { class: 'msg-note msg-media-pending', 'data-testid': 'media-pending', text: t('media_pending') }));
  }
  if (Array.isArray(meta.media_failed)) {
    for (const f of meta.media_failed) {
      out.push(el('div', {
        class: 'msg-note msg-media-failed',
        'data-testid': 'media-failed',
        text: t('media_failed', { name: f?.filename || t('attachment'), reason: f?.reason || '' }),
      }));
    }
  }
  if (meta.template && typeof meta.template === 'object') {
    out.push(el('div', { class: 'msg-note', text: t('template_sent', { name: meta.template.name || '' }) }));
  }
  if (outbound && Array.isArray(meta.buttons) && meta.buttons.length) {
    out.push(el('div', { class: 'msg-buttons', 'data-testid': 'msg-buttons' }, meta.buttons.map(buttonChip)));
  }
  if (typeof meta.button_payload === 'string' && meta.button_payload) {
    out.push(el('div', { class: 'msg-note msg-pressed', 'data-testid': 'msg-pressed', title: meta.button_payload, text: t('pressed_button') }));
  }
  return out;
}

/** The footer line "also sent by email to …" of an agent's reply. */
export function metaFoot(meta) {
  if (typeof meta.sent_by_email !== 'string' || !meta.sent_by_email) return null;
  return el('span', { class: 'msg-by-email', 'data-testid': 'sent-by-email', text: t('sent_by_email', { address: meta.sent_by_email }) });
}
