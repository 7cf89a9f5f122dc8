// @mentions: "@" in a private note suggests colleagues; a colleague who is mentioned
// gets a live "mention" event (app.js re-dispatches stream events as "omniline:event"),
// shown here as a toast that opens the conversation.
import { el, readJSON, t } from './util.js';
import { SuggestBox, replaceToken } from './canned.js';

function colleagues() {
  const boot = readJSON('bootstrap');
  const me = boot.user?.id;
  return (boot.agents || []).filter((a) => a.id !== me);
}

/** "@" suggestions for a Composer, only while it is in private note mode. */
export function attachMentions(composer) {
  const people = colleagues();
  return new SuggestBox(composer.input, {
    trigger: '@',
    label: t('mention_label'),
    enabled: () => composer.isPrivate,
    source: async (q) => {
      const needle = q.trim().toLowerCase();
      return people
        .filter((p) => !needle || p.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(needle)) || p.name.toLowerCase().startsWith(needle))
        .slice(0, 8)
        .map((p) => ({ key: '@', title: p.name, name: p.name }));
    },
    pick: (item, tok) => replaceToken(composer.input, tok, `@${item.name} `),
  });
}

let unseen = 0;
const baseTitle = document.title;

/** A live notice that someone mentioned the current user; `open(id)` shows the conversation. */
export function showMention(data, open) {
  const root = document.getElementById('toasts');
  if (!root || !data) return;
  unseen += 1;
  document.title = `(${unseen}) ${baseTitle}`;
  const seen = () => {
    unseen = Math.max(0, unseen - 1);
    document.title = unseen ? `(${unseen}) ${baseTitle}` : baseTitle;
    node.remove();
  };
  const node = el('div', { class: 'flash toast info', role: 'status', dataset: { testid: 'mention-toast' } },
    el('span', { class: 'toast-text' },
      el('strong', { text: t('mention_by', { name: data.by?.name || '' }) }), ' ',
      el('span', { text: data.excerpt || '' })),
    el('button', {
      type: 'button', class: 'btn btn-small', text: t('mention_open'),
      onclick: () => { seen(); open(data.conversation_id); },
    }),
    el('button', { type: 'button', class: 'toast-close', 'aria-label': t('dismiss'), text: '×', onclick: seen }));
  root.append(node);
}

/** Opens a conversation the way a link in the list does: through the URL (app.js follows it). */
function openConversation(id) {
  const q = new URLSearchParams(window.location.search);
  q.set('c', String(id));
  window.history.pushState(null, '', `${window.location.pathname}?${q}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

document.addEventListener('omniline:event', (ev) => {
  if (ev.detail?.type === 'mention') showMention(ev.detail.data, openConversation);
});
