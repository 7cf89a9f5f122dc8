// "Possibly the same person" in the contact sidebar: contacts with the same phone or email
// (GET /api/v1/contacts/{id}/duplicates) and merging one into the open contact after a confirmation.
import { api } from './api.js';
import { el, t, channelBadge } from './util.js';

export function fetchDuplicates(contactId) {
  return api.get(`/api/v1/contacts/${encodeURIComponent(contactId)}/duplicates`, null, { quiet: true });
}

export function mergeContacts(keepId, otherId) {
  return api.post(`/api/v1/contacts/${encodeURIComponent(keepId)}/merge`, { other_id: otherId });
}

/** The confirmation <dialog id="merge-dialog">: resolves true when the agent confirms. */
export class MergeDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.text = dialog.querySelector('.merge-text');
    this.answer = null;
    dialog.querySelector('[data-action="cancel"]').addEventListener('click', () => dialog.close('cancel'));
    dialog.querySelector('form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      dialog.close('merge');
    });
    dialog.addEventListener('close', () => {
      const done = this.answer;
      this.answer = null;
      if (done) done(dialog.returnValue === 'merge');
    });
  }

  confirm(keepName, otherName) {
    this.text.textContent = t('merge_question', { other: otherName, name: keepName });
    this.dialog.returnValue = '';
    return new Promise((resolve) => {
      this.answer = resolve;
      this.dialog.showModal();
    });
  }
}

function verifiedBadge(verified) {
  return verified
    ? el('span', { class: 'badge badge-ok', text: `✓ ${t('verified')}` })
    : el('span', { class: 'badge badge-muted', text: t('not_verified') });
}

/**
 * @param {object[]} items  duplicates
 * @param {{canMerge: boolean, onMerge: (item: object) => void}} o
 */
export function duplicateItems(items, o) {
  return el('ul', { class: 'side-list side-dupes', 'data-testid': 'duplicates' }, items.map((d) => el('li', {
    class: 'side-dupe', 'data-testid': 'duplicate', 'data-contact-id': d.id,
  },
  el('div', { class: 'side-dupe-head' },
    el('span', { class: 'side-dupe-name', text: d.name || t('unknown_contact', { id: d.id }) }),
    verifiedBadge(d.verified)),
  el('div', { class: 'side-dupe-meta' },
    (Array.isArray(d.channels) ? d.channels : []).map((ch) => channelBadge(ch)),
    el('span', { class: 'muted', text: t('dupe_conversations', { n: d.conversations ?? 0 }) }),
    (Array.isArray(d.same) ? d.same : []).map((f) => el('span', { class: 'muted', text: t(`dupe_same_${f}`) }))),
  o.canMerge ? el('button', {
    type: 'button', class: 'btn btn-small', 'data-testid': 'merge-contact', text: t('merge'),
    onclick: () => o.onMerge(d),
  }) : null)));
}
