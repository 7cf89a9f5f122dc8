// One conversation-list row, built from a ConversationSummary with DOM calls only.
import { el, t, timeEl, statusBadge, channelBadge } from './util.js';
import { icon } from './icons.js';

/** mm:ss (h:mm:ss past an hour) of a number of seconds. */
function clockText(seconds) {
  const s = Math.floor(Math.abs(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Refreshes one SLA countdown element from its data-* attributes (see slaBadge). */
export function tickCountdown(node, now = Date.now()) {
  const due = Date.parse(node.dataset.slaDue || '');
  if (Number.isNaN(due)) return;
  const warn = Date.parse(node.dataset.slaWarn || '');
  const left = (due - now) / 1000;
  const breached = node.dataset.slaBreached === 'true' || left <= 0;
  const warned = node.dataset.slaWarned === 'true' || (!Number.isNaN(warn) && now >= warn);
  node.textContent = breached ? `−${clockText(left)}` : clockText(left);
  node.classList.toggle('badge-danger', breached);
  node.classList.toggle('badge-warn', !breached && warned);
  node.classList.toggle('badge-muted', !breached && !warned);
  node.dataset.state = breached ? 'breached' : warned ? 'warning' : 'running';
  const target = t(`sla_${node.dataset.slaTarget}`);
  node.title = breached ? t('sla_breached', { target }) : t('sla_due', { target });
}

/** Every countdown under `root`, once (a page-wide interval calls this each second). */
export function tickCountdowns(root) {
  const now = Date.now();
  for (const node of root.querySelectorAll('[data-sla-due]')) tickCountdown(node, now);
}

/** The SLA countdown of a conversation (null when no SLA clock runs). */
export function slaBadge(sla) {
  if (!sla || !sla.due_at) return null;
  const node = el('span', {
    class: 'badge sla-countdown',
    'data-testid': 'sla-countdown',
    'data-sla-due': sla.due_at,
    'data-sla-warn': sla.warn_at || '',
    'data-sla-breached': sla.breached ? 'true' : 'false',
    'data-sla-warned': sla.warned ? 'true' : 'false',
    'data-sla-target': sla.target || '',
  });
  tickCountdown(node);
  return node;
}

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
    slaBadge(s.sla),
    timeEl(s.last_activity_at || last?.created_at || s.created_at)),
  preview,
  meta,
  tags);
  li.append(link);
  return li;
}
