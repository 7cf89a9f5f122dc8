// "Transfer" in the conversation header: send the conversation to another queue
// (first line -> second line) with an optional private note for the next agent.
import { api, notify } from './api.js';
import { el, clear, t } from './util.js';

export class TransferDialog {
  constructor({ button, dialog, currentId, onDone }) {
    this.button = button;
    this.dialog = dialog;
    this.currentId = currentId;
    this.onDone = onDone;
    this.form = dialog.querySelector('form');
    this.select = dialog.querySelector('#transfer-queue');
    this.note = dialog.querySelector('#transfer-note');
    this.error = dialog.querySelector('.transfer-error');
    button.addEventListener('click', () => this.open());
    dialog.querySelector('[data-action="cancel"]').addEventListener('click', () => dialog.close());
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
  }

  async open() {
    const id = this.currentId();
    if (!id) return;
    this.error.hidden = true;
    this.note.value = '';
    clear(this.select);
    try {
      // All queues, also those the agent cannot see: second line is usually someone else's.
      const { items } = await api.get('/api/v1/queues');
      for (const q of items) this.select.append(el('option', { value: String(q.id), text: q.name }));
    } catch {
      return;
    }
    this.dialog.showModal();
    this.select.focus();
  }

  async submit() {
    const id = this.currentId();
    if (!id) return;
    const submit = this.form.querySelector('[type="submit"]');
    submit.disabled = true;
    try {
      const summary = await api.post(`/api/v1/conversations/${encodeURIComponent(id)}/transfer`, {
        queue_id: Number(this.select.value),
        note: this.note.value,
      });
      this.dialog.close();
      notify(t('transferred_toast', { queue: summary?.queue?.name || '' }), 'ok');
      this.onDone(summary);
    } catch (err) {
      this.error.textContent = err?.message || String(err);
      this.error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  }
}
