// The live wallboard: the first figures come with the page (bootstrap), then `wallboard`
// frames pushed on the staff socket after subscribing to them. Times in state and waits tick
// locally between frames. All data is shown as text, never as HTML.
import { api, setToastRoot } from '../workspace/api.js';
import { readJSON, setStrings, t, el, clear } from '../workspace/util.js';
import { Stream, renderStreamState } from '../workspace/stream.js';

const STATES = ['available', 'busy', 'on_call', 'wrap_up', 'away', 'offline'];

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(h ? 2 : 1, '0');
  return h ? `${h}:${mm}:${String(s % 60).padStart(2, '0')}` : `${mm}:${String(s % 60).padStart(2, '0')}`;
}

function percent(value) {
  return value === null || value === undefined ? '—' : `${Math.round(Number(value) * 1000) / 10} %`;
}

class Wallboard {
  constructor() {
    this.queues = document.querySelector('[data-testid="wb-queues"]');
    this.agents = document.querySelector('[data-testid="wb-agent-rows"]');
    this.alerts = document.querySelector('[data-testid="wb-alerts"]');
    this.receivedAt = Date.now();
    this.board = null;
    setInterval(() => this.tick(), 1000);
  }

  async load() {
    try {
      this.render(await api.get('/api/v1/wallboard', null, { quiet: true }));
    } catch {
      /* the figures on the page stay; the next frame or resync reloads */
    }
  }

  render(board) {
    if (!board || !Array.isArray(board.queues)) return;
    this.board = board;
    this.receivedAt = Date.now();
    clear(this.alerts);
    for (const a of board.alerts || []) {
      this.alerts.append(el('p', { class: 'wb-alert-line', 'data-testid': 'wb-alert', 'data-queue-id': a.queue_id,
        text: t('alert_sl', { queue: a.name, value: percent(a.service_level), target: percent(a.target) }) }));
    }
    clear(this.queues);
    for (const q of board.queues) this.queues.append(this.queueCard(q));
    clear(this.agents);
    for (const a of board.agents || []) this.agents.append(this.agentRow(a));
  }

  queueCard(q) {
    const waiting = (q.waiting?.chats || 0) + (q.waiting?.calls || 0);
    const states = el('ul', { class: 'wb-states' });
    for (const s of STATES) {
      states.append(el('li', { class: `wb-state wb-${s}`, 'data-state': s, text: `${t(`state_${s}`)} ${q.agents?.[s] ?? 0}` }));
    }
    const stat = (key, value, testid, extra) => el('div', { class: 'wb-stat' },
      el('span', { class: 'wb-label', text: t(key) }),
      el('span', { class: 'wb-value', 'data-testid': testid, text: value }),
      extra ? el('span', { class: 'wb-note', text: extra }) : null);
    return el('article', { class: `wb-queue${q.alert ? ' wb-alert' : ''}`, 'data-testid': 'wb-queue', 'data-queue-id': q.queue_id },
      el('h3', { text: q.name }),
      el('div', { class: 'wb-row' },
        stat('waiting', String(waiting), 'wb-waiting', `${t('chats')} ${q.waiting?.chats || 0} · ${t('calls')} ${q.waiting?.calls || 0}`),
        stat('longest_wait', duration(q.longest_wait_s), 'wb-longest', null),
        stat('ewt', q.estimated_wait_s === null ? t('no_estimate') : duration(q.estimated_wait_s), 'wb-ewt', null)),
      el('div', { class: 'wb-row' },
        stat('service_level', percent(q.service_level), 'wb-sl',
          t('sl_target', { target: percent(q.service_level_target), seconds: q.service_level_seconds })),
        stat('answered', String(q.answered), 'wb-answered', null),
        stat('abandoned', String(q.abandoned), 'wb-abandoned', null)),
      states);
  }

  agentRow(a) {
    return el('tr', { 'data-testid': 'wb-agent', 'data-user-id': a.user_id, 'data-state': a.state },
      el('td', { text: a.name }),
      el('td', null, el('span', { class: `wb-state wb-${a.state}`, text: t(`state_${a.state}`) })),
      el('td', { class: 'wb-in-state', 'data-seconds': a.seconds_in_state ?? '', text: duration(a.seconds_in_state) }),
      el('td', { text: String(a.open_chats) }),
      el('td', { text: String(a.open_calls) }),
      el('td', { class: 'wb-occupancy', 'data-testid': 'wb-occupancy', text: percent(a.occupancy_today) }));
  }

  tick() {
    const passed = (Date.now() - this.receivedAt) / 1000;
    for (const cell of this.agents.querySelectorAll('.wb-in-state')) {
      if (cell.dataset.seconds !== '') cell.textContent = duration(Number(cell.dataset.seconds) + passed);
    }
    if (!this.board) return;
    for (const q of this.board.queues) {
      const node = this.queues.querySelector(`[data-queue-id="${Number(q.queue_id)}"] [data-testid="wb-longest"]`);
      const waiting = (q.waiting?.chats || 0) + (q.waiting?.calls || 0);
      if (node && waiting) node.textContent = duration(q.longest_wait_s + passed);
    }
  }
}

function setupFullscreen() {
  const button = document.querySelector('[data-testid="wb-fullscreen"]');
  const root = document.querySelector('[data-testid="wallboard"]');
  if (!button || !root) return;
  if (!document.fullscreenEnabled) button.hidden = true;
  button.addEventListener('click', () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else root.requestFullscreen().catch(() => {});
  });
  document.addEventListener('fullscreenchange', () => {
    const on = Boolean(document.fullscreenElement);
    root.classList.toggle('wb-fullscreen', on);
    button.textContent = t(on ? 'exit_full_screen' : 'full_screen');
  });
}

function main() {
  setStrings(readJSON('i18n'));
  setToastRoot(document.getElementById('toasts'));
  const board = new Wallboard();
  board.render(readJSON('bootstrap'));
  setupFullscreen();
  const indicator = document.querySelector('[data-testid="stream-status"]');
  const stream = new Stream({
    onState: (s) => {
      renderStreamState(indicator, s);
      // Each new socket asks for the snapshots again, then reloads what it may have missed.
      if (s === 'open' && stream.ws) {
        stream.ws.send(JSON.stringify({ type: 'subscribe', topic: 'wallboard' }));
        board.load();
      }
    },
    onResync: () => board.load(),
    onEvent: (frame) => { if (frame.type === 'wallboard') board.render(frame.data); },
  });
  stream.start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
