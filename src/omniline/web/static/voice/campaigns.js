// The supervisors' call campaigns: rows from GET /api/v1/voice/campaigns, polled every 5 s for
// their progress; a draft or paused campaign takes its list of customers as CSV (the rows the
// API refuses are listed with their reason), Start and Pause call the API, and each row links
// its results as CSV. All data is shown as text, never as HTML.
import { request } from '../workspace/api.js';
import { readJSON, setStrings, t, el, clear } from '../workspace/util.js';

setStrings(readJSON('i18n'));
const rows = document.querySelector('[data-testid="campaign-rows"]');
const empty = document.querySelector('[data-testid="campaign-empty"]');
const report = document.querySelector('[data-testid="campaign-upload-report"]');
const COUNTS = ['total', 'pending', 'dialing', 'done', 'failed', 'skipped'];

function progressCell(progress) {
  const p = progress || {};
  const cell = el('td', { 'data-testid': 'campaign-progress' });
  for (const key of COUNTS) {
    cell.append(el('span', { class: 'count', dataset: { count: key } }, `${t(`count_${key}`)}: ${p[key] || 0}`), ' ');
  }
  const results = Object.entries(p.results || {});
  if (results.length) {
    cell.append(el('div', { class: 'muted', 'data-testid': 'campaign-results' },
      `${t('results')}: ${results.map(([k, v]) => `${k} ${v}`).join(', ')}`));
  }
  return cell;
}

function showReport(campaign, answer) {
  clear(report);
  report.hidden = false;
  report.append(el('p', { 'data-testid': 'campaign-added' }, t('added', { name: campaign.name, n: answer.added })));
  if (answer.rejected && answer.rejected.length) {
    const list = el('ul', { 'data-testid': 'campaign-rejected' });
    for (const r of answer.rejected) {
      list.append(el('li', {}, t('rejected_row', { row: r.row, number: r.number || '', reason: r.reason })));
    }
    report.append(el('p', {}, t('rejected')), list);
  }
}

async function upload(campaign, input) {
  const file = input.files && input.files[0];
  if (!file) return;
  try {
    const answer = await request('POST', `/api/v1/voice/campaigns/${campaign.id}/contacts.csv`, {
      form: new Blob([await file.text()], { type: 'text/csv' }),
      headers: { 'Content-Type': 'text/csv' },
    });
    showReport(campaign, answer);
  } catch {
    /* api.js has shown the error */
  }
  input.value = '';
  await load();
}

async function act(campaign, verb) {
  try {
    await request('POST', `/api/v1/voice/campaigns/${campaign.id}/${verb}`, { body: {} });
  } catch {
    /* api.js has shown the error */
  }
  await load();
}

function row(c) {
  const actions = el('td', { class: 'actions' });
  if (c.status === 'draft' || c.status === 'paused') {
    const input = el('input', { type: 'file', accept: '.csv,text/csv', 'data-testid': 'campaign-csv', 'aria-label': t('upload') });
    input.addEventListener('change', () => upload(c, input));
    actions.append(el('label', { class: 'btn' }, t('upload'), ' ', input));
    actions.append(el('button', { type: 'button', class: 'btn', 'data-testid': 'campaign-start', text: t('start'), onclick: () => act(c, 'start') }));
  }
  if (c.status === 'running') {
    actions.append(el('button', { type: 'button', class: 'btn', 'data-testid': 'campaign-pause', text: t('pause'), onclick: () => act(c, 'pause') }));
  }
  actions.append(el('a', { href: `/api/v1/voice/campaigns/${c.id}/results.csv`, download: '', text: t('results_csv') }));
  return el('tr', { 'data-testid': 'campaign-row', 'data-id': String(c.id), 'data-status': c.status },
    el('td', { text: c.name }),
    el('td', { text: t(`mode_${c.mode}`) }),
    el('td', { 'data-testid': 'campaign-status', text: t(`status_${c.status}`) }),
    progressCell(c.progress),
    actions);
}

async function load() {
  try {
    const { items } = await request('GET', '/api/v1/voice/campaigns', { quiet: true });
    clear(rows);
    for (const c of items) rows.append(row(c));
    empty.hidden = items.length > 0;
  } catch {
    /* the rows stay; the next poll retries */
  }
}

load();
setInterval(load, 5000);
