// One conversation-list row, built from a ConversationSummary with DOM calls only.
import { el, t, timeEl, statusBadge, channelBadge } from './util.js';
import { icon } from './icons.js';

/**
 * @param {object} s ConversationSummary
 * @param {{active: boolean, unread: boolean, href: string}} o
 */
export function buildRow(s, o) {
  const locked = Boolean(s.locked);
  const li = el('li', {
    class: `conv-row${locked ? ' locked' : ''}${o.active ? ' active' : ''}${o.unread ? ' unread' : ''}`,
    'data-testid': 'conv-row',
    'data-id': s.id,
    'data-locked': locked ? 'true' : 'false',
    'data-status': s.status,
  });
  const channel = s.inbox?.channel;
  const meta = el('div', { class: 'row-meta' },
    channel ? channelBadge(channel) : null,
    statusBadge(s.status),
    s.queue?.name ? el('span', { class: 'row-queue', title: t('queue'), text: s.queue.name }) : null,
    el('span', { class: 'row-assignee', title: t('assignee') },
      s.assignee?.name ? s.assignee.name : el('span', { class: 'muted', text: t('unassigned') })),
  );

  if (locked) {
    li.setAttribute('aria-disabled', 'true');
    li.title = t('locked_row');
    li.append(el('div', { class: 'row-body' },
      el('div', { class: 'row-top' },
        el('span', { class: 'row-name' },
          icon('lock', 'lock-icon'),
          el('span', { class: 'row-name-text', text: t('locked_row') })),
        timeEl(s.last_activity_at || s.created_at)),
      el('div', { class: 'row-preview muted', text: t('locked_hint') }),
      meta));
    return li;
  }

  const name = s.contact?.name || t('unknown_contact', { id: s.contact?.id ?? '' });
  const last = s.last_message;
  let preview;
  if (last && (last.text || '').trim()) {
    preview = el('div', { class: 'row-preview' },
      last.direction === 'out' ? el('span', { class: 'row-out', text: `${t('preview_you')} ` }) : null,
      last.text.replace(/\s+/g, ' ').slice(0, 200));
  } else if (last) {
    preview = el('div', { class: 'row-preview muted', text: t('preview_attachment') });
  } else {
    preview = el('div', { class: 'row-preview muted', text: t('preview_empty') });
  }
  const tags = Array.isArray(s.tags) && s.tags.length
    ? el('div', { class: 'row-tags' }, s.tags.slice(0, 4).map((tag) => el('span', { class: 'tag', text: tag })))
    : null;

  const link = el('a', {
    class: 'row-link',
    href: o.href,
    'aria-current': o.active ? 'true' : null,
  },
  el('div', { class: 'row-top' },
    el('span', { class: 'row-name' },
      o.unread ? el('span', { class: 'unread-dot', title: t('unread'), 'aria-label': t('unread') }) : null,
      el('span', { class: 'row-name-text', text: name })),
    s.priority > 0 ? el('span', { class: 'badge badge-danger row-priority', text: t('priority_high') }) : null,
    timeEl(s.last_activity_at || last?.created_at || s.created_at)),
  preview,
  meta,
  tags);
  li.append(link);
  return li;
}
