// Agent workspace entry point: wires the list, conversation view, contact sidebar, URL state and realtime stream.
import { setToastRoot } from './api.js';
import { readJSON, setStrings, refreshTimes, t, debounce } from './util.js';
import { FilterBar, readUrl, writeUrl } from './filters.js';
import { ConversationList } from './list.js';
import { ConversationView } from './conversation.js';
import { setLookups } from './timeline.js';
import { ContactSidebar } from './sidebar.js';
import { Stream, renderStreamState } from './stream.js';
import { api } from './api.js';
import { TransferDialog } from './transfer.js';
import { MergeDialog } from './merge.js';

function main() {
  setStrings(readJSON('i18n'));
  const boot = readJSON('bootstrap');
  const user = boot.user || {};
  const $ = (sel) => document.querySelector(sel);
  setToastRoot($('#toasts'));
  setLookups({ queues: boot.queues || [] });

  const state = { filters: null, convId: null };
  const baseTitle = document.title;

  const hrefFor = (id) => {
    const q = new URLSearchParams(window.location.search);
    if (id) q.set('c', String(id));
    else q.delete('c');
    const qs = q.toString();
    return window.location.pathname + (qs ? `?${qs}` : '');
  };

  const list = new ConversationList({
    list: $('[data-testid="conv-list"]'),
    more: $('#load-more'),
    status: $('#list-status'),
    countsRoot: $('#ws-filters'),
    userId: user.id,
    hrefFor,
    onOpen: (id) => openConversation(id, true),
  });

  const mergeDialog = $('#merge-dialog') ? new MergeDialog($('#merge-dialog')) : null;
  // Mirrors auth/access.py: QA reads and merges nothing.
  const sidebar = new ContactSidebar($('#contact-sidebar'), (id) => openConversation(id, true), {
    canMerge: user.role !== 'qa',
    mergeDialog,
    // Mirrors privacy/service.py: export and erasure are for administrators.
    canManageData: user.role === 'admin',
  });

  const view = new ConversationView({
    root: $('#conversation'),
    user,
    onSummary: (s) => list.upsert(s),
    onLoaded: (conv) => {
      sidebar.show(conv);
      const name = conv?.contact?.name;
      document.title = name ? `${name} — ${baseTitle}` : baseTitle;
    },
  });

  new TransferDialog({
    button: $('[data-testid="transfer"]'),
    dialog: $('#transfer-dialog'),
    currentId: () => state.convId,
    onDone: (summary) => {
      list.upsert(summary);
      // A transfer to a queue the agent cannot see leaves nothing to show here.
      if (summary?.locked) openConversation(null, true);
      else view.reload();
    },
  });

  const filterBar = new FilterBar($('#ws-filters'), (filters) => {
    state.filters = filters;
    writeUrl(filters, state.convId, false);
    list.load(filters);
  });

  function openConversation(id, push) {
    if (id === state.convId) {
      if (id !== null) view.composer.focus();
      return;
    }
    state.convId = id;
    writeUrl(state.filters, id, push);
    list.setActive(id);
    list.refreshLinks();
    view.open(id);
    document.body.classList.toggle('has-conversation', id !== null);
  }

  function applyUrl() {
    const { filters, convId } = readUrl();
    const filtersChanged = JSON.stringify(filters) !== JSON.stringify(state.filters);
    state.filters = filters;
    filterBar.set(filters);
    if (filtersChanged) list.load(filters);
    if (convId !== state.convId) {
      state.convId = convId;
      list.setActive(convId);
      view.open(convId);
      document.body.classList.toggle('has-conversation', convId !== null);
    }
  }

  window.addEventListener('popstate', applyUrl);

  // Escape closes the open conversation (back to the list) when focus is not in a field.
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || state.convId === null) return;
    const tag = document.activeElement?.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
    openConversation(null, true);
  });
  $('[data-action="close-conversation"]')?.addEventListener('click', () => openConversation(null, true));

  // ---- realtime ----
  const indicator = $('[data-testid="stream-status"]');
  const stream = new Stream({
    onState: (s) => renderStreamState(indicator, s),
    onResync: () => {
      list.reload();
      view.reload();
      sidebar.refresh();
      document.dispatchEvent(new CustomEvent('omniline:resync'));  // softphone.js
    },
    onRepeatedFailure: () => {
      // A 401 here sends the browser to the login page (see api.js).
      api.get('/api/v1/me', null, { quiet: true }).catch(() => {});
    },
    onEvent: (frame) => handleEvent(frame),
  });

  const refreshSidebar = debounce(() => sidebar.refresh(), 1500);

  function handleEvent({ type, data }) {
    document.dispatchEvent(new CustomEvent('omniline:event', { detail: { type, data } }));  // presence.js
    if (!data) return;
    switch (type) {
      case 'conversation.created':
      case 'conversation.updated':
        list.upsert(data);
        if (data.id === state.convId) {
          view.applySummary(data);
          // The open conversation's contact was merged into another one: show that one.
          if (data.contact && sidebar.contactId !== null && String(data.contact.id) !== String(sidebar.contactId)) {
            sidebar.show(view.conv);
          }
        }
        if (data.contact && String(data.contact.id) === String(sidebar.contactId)) refreshSidebar();
        break;
      case 'message.created':
      case 'message.updated': {
        const m = data.message || data;
        const cid = data.conversation_id ?? m.conversation_id;
        if (!m || cid === undefined) return;
        if (m.conversation_id === undefined) m.conversation_id = cid;
        if (type === 'message.created') list.onMessage(cid, m);
        if (cid === state.convId) view.addMessage(m);
        break;
      }
      case 'timeline.event': {
        const ev = data.event || data;
        const cid = data.conversation_id ?? ev.conversation_id;
        if (ev.conversation_id === undefined) ev.conversation_id = cid;
        if (cid === state.convId) view.addEvent(ev);
        break;
      }
      case 'contact.updated':
        if (data.id !== undefined && String(data.id) === String(sidebar.contactId)) sidebar.refresh();
        break;
      default:
        break;
    }
  }

  // The language switcher submits on change (its button stays for keyboard users).
  const localeSelect = document.getElementById('locale-select');
  localeSelect?.addEventListener('change', () => localeSelect.form?.requestSubmit());

  // ---- start ----
  renderStreamState(indicator, 'connecting');
  stream.start();
  const initial = readUrl();
  state.filters = initial.filters;
  filterBar.set(initial.filters);
  list.load(initial.filters);
  state.convId = initial.convId;
  list.setActive(initial.convId);
  document.body.classList.toggle('has-conversation', initial.convId !== null);
  view.open(initial.convId);
  writeUrl(initial.filters, initial.convId, false);

  setInterval(() => refreshTimes(document.getElementById('conv-list-wrap') || document), 30000);

  // For debugging from the console; not used by the page itself.
  window.omniline = { list, view, sidebar, stream, state, t };
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
