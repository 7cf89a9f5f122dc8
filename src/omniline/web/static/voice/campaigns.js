// The supervisors' call campaigns: rows from GET /api/v1/voice/campaigns, polled every 5 s for
// their progress; Start and Pause call the API. All data is shown as text, never as HTML.
import { api } from '../workspace/api.js';
import { readJSON, setStrings, t, el, clear } from '../workspace/util.js';

setStrings(readJSON('i18n'));
const rows = document.querySelector('[data-testid="campaign-rows"]');
const empty = document.querySelector('[data-testid="campaign-empty"]');

function progressText(progress) {
  return Object.entries(progress || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
}

async function act(campaign, verb) {
  try {
    await api.post(`/api/v1/voice/campaigns/${campaign.id}/${verb}`, {});
  } catch {
    /* api.js has shown the error */
  }
  await load();
}

function row(c) {
  const actions = el('td', { class: 'actions' });
  if (c.status === 'draft' || c.status === 'paused') {
    actions.append(el('button', { type: 'button', class: 'btn', text: t('start'), onclick: () => act(c, 'start') }));
  }
  if (c.status === 'running') {
    actions.append(el('button', { type: 'button', class: 'btn', text: t('pause'), onclick: () => act(c, 'pause') }));
  }
  return el('tr', { 'data-testid': 'campaign-row', 'data-id': String(c.id), 'data-status': c.status },
    el('td', { text: c.name }),
    el('td', { text: t(`mode_${c.mode}`) }),
    el('td', { text: c.status }),
    el('td', { 'data-testid': 'campaign-progress', text: progressText(c.progress) }),
    actions);
}

async function load() {
  try {
    const { items } = await api.get('/api/v1/voice/campaigns', null, { quiet: true });
    clear(rows);
    for (const c of items) rows.append(row(c));
    empty.hidden = items.length > 0;
  } catch {
    /* the rows stay; the next poll retries */
  }
}

load();
setInterval(load, 5000);
