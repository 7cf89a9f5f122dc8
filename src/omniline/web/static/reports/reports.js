// The reports page: period and filters -> GET /api/v1/reports/summary (with the previous
// period), /breakdown and /heatmap; KPI tiles coloured against the workspace's targets; charts
// with Apache ECharts (window.echarts, from static/vendor). Text is always set as text.
import { api, notify, setToastRoot } from '../workspace/api.js';
import { readJSON, setStrings, t, el, clear } from '../workspace/util.js';

const boot = readJSON('bootstrap');
const TILES = ['offered', 'answered', 'service_level', 'asa_s', 'abandon_rate', 'aht_s', 'frt_s',
  'resolution_rate', 'csat', 'nps', 'bot_containment', 'transfer_rate', 'occupancy'];
const RATIOS = new Set(['service_level', 'abandon_rate', 'answer_rate', 'resolution_rate', 'csat',
  'bot_containment', 'transfer_rate', 'occupancy', 'sla_attainment']);
const SECONDS = (m) => m.endsWith('_s');
const CHART_METRICS = ['offered', 'answered', 'abandoned', 'service_level', 'asa_s', 'aht_s',
  'abandon_rate', 'frt_s', 'resolution_rate', 'csat', 'conversations', 'resolved', 'occupancy'];
const AMBER_MARGIN = 0.1; // the same rule as reports/targets.py

function fmt(metric, value) {
  if (value === null || value === undefined) return '—';
  if (RATIOS.has(metric)) return `${Math.round(value * 1000) / 10} %`;
  if (SECONDS(metric)) return `${Math.round(value * 10) / 10} s`;
  return String(Math.round(value * 100) / 100);
}

function delta(metric, now, before) {
  if (now === null || now === undefined || before === null || before === undefined) return '';
  const d = now - before;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  if (RATIOS.has(metric)) return `${sign}${Math.abs(Math.round(d * 1000) / 10)} pp`;
  if (SECONDS(metric)) return `${sign}${Math.abs(Math.round(d * 10) / 10)} s`;
  return `${sign}${Math.abs(Math.round(d * 100) / 100)}`;
}

export function attainment(target, value) {
  if (!target || value === null || value === undefined) return null;
  const met = target.better === 'higher' ? value >= target.value : value <= target.value;
  if (met) return 'green';
  const gap = target.better === 'higher' ? target.value - value : value - target.value;
  return gap <= Math.abs(target.value) * AMBER_MARGIN ? 'amber' : 'red';
}

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function todayIn(tz) {
  // The workspace's calendar day, whatever the browser's zone.
  try {
    const [y, m, d] = new Intl.DateTimeFormat('en-CA', { timeZone: tz }).format(new Date()).split('-').map(Number);
    return new Date(y, m - 1, d);
  } catch {
    return new Date();
  }
}

export function presetRange(preset, today) {
  const day = (offset) => new Date(today.getFullYear(), today.getMonth(), today.getDate() + offset);
  switch (preset) {
    case 'today': return [today, today];
    case 'yesterday': return [day(-1), day(-1)];
    case 'this_month': return [new Date(today.getFullYear(), today.getMonth(), 1), today];
    case 'last_month': return [new Date(today.getFullYear(), today.getMonth() - 1, 1), new Date(today.getFullYear(), today.getMonth(), 0)];
    default: return [day(-6), today];
  }
}

class Reports {
  constructor() {
    this.form = document.querySelector('[data-testid="rp-controls"]');
    this.status = document.querySelector('[data-testid="rp-status"]');
    this.tiles = document.querySelector('[data-testid="rp-tiles"]');
    this.table = document.querySelector('[data-testid="rp-breakdown-table"]');
    this.charts = {};
    for (const name of ['line', 'bar', 'heatmap']) {
      const node = document.querySelector(`[data-testid="rp-${name}"]`);
      this.charts[name] = window.echarts ? window.echarts.init(node) : null;
    }
    for (const sel of ['rp-line-metric', 'rp-bar-metric']) {
      const select = document.querySelector(`[data-testid="${sel}"]`);
      for (const m of CHART_METRICS) select.append(el('option', { value: m, text: t(`m_${m}`) }));
      select.value = sel === 'rp-line-metric' ? 'offered' : 'answered';
      select.addEventListener('change', () => { this.drawLine(); this.drawBar(); });
    }
    this.form.elements.preset.addEventListener('change', () => { this.applyPreset(); this.load(); });
    for (const name of ['from', 'to']) {
      this.form.elements[name].addEventListener('change', () => { this.form.elements.preset.value = 'custom'; this.load(); });
    }
    for (const node of this.form.querySelectorAll('select[name=by], input[name=compare], .rp-filters select, .rp-filters input')) {
      node.addEventListener('change', () => this.load());
    }
    document.querySelector('[data-testid="rp-dimension"]').addEventListener('change', () => this.loadBreakdown());
    for (const button of this.form.querySelectorAll('[data-export]')) {
      button.addEventListener('click', () => this.exportFile(button.dataset.export, button.dataset.kind));
    }
    this.savedSelect = this.form.elements.saved;
    this.savedSelect.addEventListener('change', () => this.openSaved());
    document.querySelector('[data-testid="rp-save"]').addEventListener('click', () => this.save());
    const mailbox = this.form.elements.saved_mailbox;
    for (const [id, name] of boot.mailboxes || []) mailbox.append(el('option', { value: id, text: name }));
    this.form.elements.saved_every.addEventListener('change', () => this.showSchedule());
    window.addEventListener('resize', () => Object.values(this.charts).forEach((c) => c && c.resize()));
    this.applyPreset();
  }

  applyPreset() {
    const preset = this.form.elements.preset.value;
    if (preset === 'custom') return;
    const [from, to] = presetRange(preset, todayIn(boot.tz));
    this.form.elements.from.value = isoDay(from);
    this.form.elements.to.value = isoDay(to);
    if (preset === 'today' || preset === 'yesterday') this.form.elements.by.value = 'hour';
    else if (this.form.elements.by.value === 'hour') this.form.elements.by.value = 'day';
  }

  params(extra = {}) {
    const f = this.form.elements;
    const out = { from: f.from.value, to: f.to.value };
    for (const key of ['channel', 'inbox_id', 'queue_id', 'team_id', 'agent_id', 'country', 'language', 'tag']) {
      const v = (f[key].value || '').trim();
      if (v) out[key] = v;
    }
    return { ...out, ...extra };
  }

  async load() {
    const f = this.form.elements;
    if (!f.from.value || !f.to.value) return;
    // Only the latest request draws: a slow answer for an earlier period (the "from" date
    // typed before the "to" date) must not replace a quicker one for the period asked now.
    const seq = (this.seq = (this.seq || 0) + 1);
    const current = () => seq === this.seq;
    this.status.textContent = t('loading');
    this.status.dataset.state = 'loading';
    try {
      const [summary, heat] = await Promise.all([
        api.get('/api/v1/reports/summary', this.params({ by: f.by.value, compare: f.compare.checked ? 'true' : 'false' })),
        api.get('/api/v1/reports/heatmap', this.params({ metric: 'offered' })),
      ]);
      if (!current()) return;
      this.summary = summary;
      this.drawTiles();
      this.drawLine();
      this.drawHeatmap(heat.cells || []);
      await this.loadBreakdown(current);
      if (!current()) return;
      this.status.textContent = t('loaded', { from: summary.from, to: summary.to });
      this.status.dataset.state = 'ready';
      this.status.dataset.from = summary.from;
      this.status.dataset.to = summary.to;
    } catch {
      if (!current()) return;
      this.status.textContent = '';
      this.status.dataset.state = 'error';
    }
  }

  async loadBreakdown(current = () => true) {
    const dimension = document.querySelector('[data-testid="rp-dimension"]').value;
    const { rows } = await api.get('/api/v1/reports/breakdown', this.params({ dimension }));
    if (!current()) return;
    this.rows = rows || [];
    this.drawBar();
    this.drawTable();
  }

  drawTiles() {
    clear(this.tiles);
    const total = this.summary.total || {};
    const previous = this.summary.previous || null;
    for (const m of TILES) {
      const target = boot.targets?.[m];
      const colour = attainment(target, total[m]);
      this.tiles.append(el('div', { class: `rp-tile${colour ? ` rp-${colour}` : ''}`, 'data-testid': 'rp-tile', 'data-metric': m, 'data-attainment': colour || '' },
        el('span', { class: 'rp-tile-label', text: t(`m_${m}`) }),
        el('span', { class: 'rp-tile-value', 'data-testid': 'rp-tile-value', text: fmt(m, total[m]) }),
        previous ? el('span', { class: 'rp-tile-delta', 'data-testid': 'rp-tile-delta', title: t('previous', { value: fmt(m, previous[m]) }), text: delta(m, total[m], previous[m]) }) : null,
        target ? el('span', { class: 'rp-tile-target', text: t('target', { value: fmt(m, target.value) }) }) : null));
    }
  }

  drawLine() {
    const chart = this.charts.line;
    if (!chart || !this.summary) return;
    const m = document.querySelector('[data-testid="rp-line-metric"]').value;
    const periods = Object.entries(this.summary.periods || {});
    chart.setOption({
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: periods.map(([k]) => k.replace('T', ' ').slice(0, 16)) },
      yAxis: { type: 'value' },
      series: [{ name: t(`m_${m}`), type: 'line', smooth: true, data: periods.map(([, v]) => v[m]) }],
    }, true);
  }

  drawBar() {
    const chart = this.charts.bar;
    if (!chart || !this.rows) return;
    const m = document.querySelector('[data-testid="rp-bar-metric"]').value;
    const rows = [...this.rows].sort((a, b) => (b.metrics[m] ?? -Infinity) - (a.metrics[m] ?? -Infinity)).slice(0, 20);
    chart.setOption({
      tooltip: { trigger: 'axis' },
      grid: { left: 140 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: rows.map((r) => String(r.label ?? r.key)) },
      series: [{ name: t(`m_${m}`), type: 'bar', data: rows.map((r) => r.metrics[m]) }],
    }, true);
  }

  drawTable() {
    const cols = ['offered', 'answered', 'service_level', 'asa_s', 'aht_s', 'abandon_rate', 'resolution_rate', 'csat', 'occupancy'];
    const head = this.table.tHead;
    clear(head).append(el('tr', null, el('th', { text: t('col_name') }), ...cols.map((c) => el('th', { text: t(`m_${c}`) }))));
    const body = clear(this.table.tBodies[0]);
    for (const r of this.rows) {
      body.append(el('tr', { 'data-testid': 'rp-breakdown-row', 'data-key': r.key },
        el('td', { text: String(r.label ?? r.key) }), ...cols.map((c) => el('td', { text: fmt(c, r.metrics[c]) }))));
    }
  }

  drawHeatmap(cells) {
    const chart = this.charts.heatmap;
    if (!chart) return;
    const max = cells.reduce((a, c) => Math.max(a, c[2] || 0), 0);
    chart.setOption({
      tooltip: {},
      xAxis: { type: 'category', data: Array.from({ length: 24 }, (_, h) => String(h)) },
      yAxis: { type: 'category', data: readJSON('i18n').days || [] },
      visualMap: { min: 0, max: Math.max(1, max), calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ type: 'heatmap', data: cells.map(([d, h, v]) => [h, d, v]) }],
    }, true);
  }

  async loadSaved(selectId) {
    try {
      const { items } = await api.get('/api/v1/reports/saved', null, { quiet: true });
      this.saved = new Map(items.map((r) => [String(r.id), r]));
      while (this.savedSelect.options.length > 1) this.savedSelect.remove(1);
      for (const r of items) {
        const label = r.shared ? `${r.name} ${t('shared_mark')}` : r.name;
        this.savedSelect.append(el('option', { value: r.id, text: label }));
      }
      if (selectId) this.savedSelect.value = String(selectId);
    } catch {
      /* the picker stays empty */
    }
  }

  openSaved() {
    const r = this.saved && this.saved.get(this.savedSelect.value);
    if (!r) return;
    const f = this.form.elements;
    f.preset.value = r.preset;
    f.by.value = r.by;
    document.querySelector('[data-testid="rp-dimension"]').value = r.dimension;
    for (const key of ['channel', 'inbox_id', 'queue_id', 'team_id', 'agent_id', 'country', 'language', 'tag']) {
      f[key].value = r.filters[key] ?? '';
    }
    f.saved_name.value = r.name;
    f.saved_shared.checked = r.shared;
    const sch = r.schedule;
    f.saved_every.value = sch ? sch.every : '';
    if (sch) {
      f.saved_hour.value = String(sch.hour);
      f.saved_recipients.value = sch.recipients.join(', ');
      f.saved_mailbox.value = String(sch.inbox_id);
    }
    this.showSchedule();
    this.applyPreset();
    if (r.by) f.by.value = r.by;
    this.load();
  }

  async save() {
    const f = this.form.elements;
    const preset = f.preset.value === 'custom' ? 'last7' : f.preset.value;
    const filters = {};
    for (const [k, v] of Object.entries(this.params())) {
      if (k === 'from' || k === 'to') continue;
      filters[k] = k.endsWith('_id') ? Number(v) : v;
    }
    const body = { name: f.saved_name.value.trim(), shared: f.saved_shared.checked, preset, by: f.by.value,
      dimension: document.querySelector('[data-testid="rp-dimension"]').value, filters };
    body.schedule = f.saved_every.value
      ? {
        every: f.saved_every.value,
        hour: Number(f.saved_hour.value),
        recipients: f.saved_recipients.value.split(/[,;\s]+/).filter(Boolean),
        inbox_id: Number(f.saved_mailbox.value),
      }
      : null;
    const current = this.saved && this.saved.get(this.savedSelect.value);
    try {
      const r = current && current.name === body.name
        ? await api.put(`/api/v1/reports/saved/${encodeURIComponent(current.id)}`, body)
        : await api.post('/api/v1/reports/saved', body);
      await this.loadSaved(r.id);
      notify(t('saved_ok'), 'ok');
    } catch {
      /* the error is shown by api.js */
    }
  }

  showSchedule() {
    const f = this.form.elements;
    const on = Boolean(f.saved_every.value);
    document.querySelector('[data-testid="rp-schedule"]').hidden = !on;
    const none = !(boot.mailboxes || []).length;
    document.querySelector('[data-testid="rp-no-mailbox"]').hidden = !none;
    f.saved_mailbox.disabled = none;
  }

  exportFile(format, kind) {
    const f = this.form.elements;
    const dimension = document.querySelector('[data-testid="rp-dimension"]').value;
    const query = new URLSearchParams(this.params({ format, kind, by: f.by.value, dimension, compare: f.compare.checked ? 'true' : 'false' }));
    window.location.assign(`/api/v1/reports/export?${query}`);
  }
}

function main() {
  setStrings(readJSON('i18n'));
  setToastRoot(document.getElementById('toasts'));
  const page = new Reports();
  page.load();
  page.loadSaved();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
