// The supervisors' call campaigns: rows from GET /api/v1/voice/campaigns, polled every 5 s for
// their progress; a draft or paused campaign takes its list of customers as CSV (the rows the
// API refuses are listed with their reason), Start and Pause call the API, and each row links
// its results as CSV. The form below creates a campaign (POST /api/v1/voice/campaigns) or,
// after Edit on a draft's row, changes that draft (PUT /api/v1/voice/campaigns/{id}): what
// the page can tell is checked before sending, and the API's refusals are shown beside the
// form with the field's name. All data is shown as text, never as HTML.
import { request, ApiError } from '../workspace/api.js';
import { readJSON, setStrings, t, tOr, el, clear } from '../workspace/util.js';

setStrings(readJSON('i18n'));
const rows = document.querySelector('[data-testid="campaign-rows"]');
const empty = document.querySelector('[data-testid="campaign-empty"]');
const report = document.querySelector('[data-testid="campaign-upload-report"]');
const form = document.querySelector('[data-testid="campaign-form"]');
const formError = document.querySelector('[data-testid="campaign-form-error"]');
const formTitle = document.querySelector('[data-testid="campaign-form-title"]');
const cancelEdit = document.querySelector('[data-testid="campaign-cancel-edit"]');
let editing = null; // the draft the form changes, or null for a new campaign
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
  if (c.status === 'draft' && form) {
    actions.append(el('button', { type: 'button', class: 'btn', 'data-testid': 'campaign-edit', text: t('edit'), onclick: () => edit(c) }));
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


function showError(lines) {
  clear(formError);
  for (const line of lines) formError.append(el('p', {}, line));
  formError.hidden = lines.length === 0;
}

function whole(name, field, min, max) {
  const value = Number(form.elements[name].value);
  if (!Number.isInteger(value) || value < min || value > max) {
    return [null, t('invalid_number', { field: t(`field_${field}`), min, max })];
  }
  return [value, null];
}

// The request body, or the problems the page can see without asking the server.
function campaignBody() {
  const problems = [];
  const name = form.elements.name.value.trim();
  if (!name) problems.push(t('invalid_name'));
  const mode = form.elements.mode.value;
  const flow = form.elements.flow_id.value;
  if (mode === 'bot' && !flow) problems.push(t('invalid_flow'));
  const from = form.elements.from.value;
  const to = form.elements.to.value;
  if (!from || !to || from === to) problems.push(t('invalid_window'));
  const [attempts, e1] = whole('max_attempts', 'max_attempts', 1, 10);
  const [minutes, e2] = whole('retry_minutes', 'retry_after_s', 1, 7 * 24 * 60);
  const [concurrent, e3] = whole('max_concurrent', 'max_concurrent', 1, 200);
  for (const e of [e1, e2, e3]) if (e) problems.push(e);
  if (problems.length) return [null, problems];
  const body = {
    name, mode, inbox_id: Number(form.elements.inbox_id.value), hours: `${from}-${to}`,
    max_attempts: attempts, retry_after_s: minutes * 60, max_concurrent: concurrent,
  };
  if (flow) body.flow_id = Number(flow);
  if (form.elements.queue_id.value) body.queue_id = Number(form.elements.queue_id.value);
  return [body, []];
}

function setEditing(campaign) {
  editing = campaign;
  formTitle.textContent = campaign ? t('edit_title', { name: campaign.name }) : t('new_title');
  form.querySelector('[data-testid="campaign-create"]').textContent = campaign ? t('save') : t('create');
  cancelEdit.hidden = !campaign;
  showError([]);
}

function pick(select, value) {
  const wanted = value == null ? '' : String(value);
  select.value = [...select.options].some((o) => o.value === wanted) ? wanted : '';
}

// Fills the form with a draft's settings; Save changes replaces them.
function edit(c) {
  const f = form.elements;
  f.name.value = c.name;
  pick(f.inbox_id, c.inbox_id);
  f.mode.value = c.mode;
  pick(f.flow_id, c.flow_id);
  pick(f.queue_id, c.queue_id);
  const [from, to] = String(c.hours || '09:00-20:00').split('-');
  f.from.value = from;
  f.to.value = to;
  f.max_attempts.value = String(c.max_attempts);
  f.retry_minutes.value = String(Math.max(1, Math.round(c.retry_after_s / 60)));
  f.max_concurrent.value = String(c.max_concurrent);
  setEditing(c);
  f.name.focus();
}

function refusal(err) {
  if (!(err instanceof ApiError)) return [t('error_generic', { status: 0 })];
  if (err.fields.length) {
    return err.fields.map((f) => {
      const key = String(f.field || '').split('.').pop();
      return `${tOr(`field_${key}`, key)}: ${f.message}`;
    });
  }
  return [err.message];
}

if (form) {
  cancelEdit.addEventListener('click', () => {
    setEditing(null);
    form.elements.name.value = '';
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const [body, problems] = campaignBody();
    showError(problems);
    if (!body) return;
    const button = form.querySelector('[data-testid="campaign-create"]');
    button.disabled = true;
    try {
      const quiet = [409, 404, 422];
      const made = editing
        ? await request('PUT', `/api/v1/voice/campaigns/${editing.id}`, { body, quiet })
        : await request('POST', '/api/v1/voice/campaigns', { body, quiet });
      const message = editing ? t('saved', { name: made.name }) : t('created', { name: made.name });
      setEditing(null);
      form.elements.name.value = '';
      clear(report);
      report.hidden = false;
      report.append(el('p', { 'data-testid': 'campaign-created' }, message));
      await load();
    } catch (err) {
      showError(refusal(err));
    } finally {
      button.disabled = false;
    }
  });
}

load();
setInterval(load, 5000);
