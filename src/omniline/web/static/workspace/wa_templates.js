// "Send template" for WhatsApp conversations outside the 24-hour window: the agent picks a
// pre-approved template, fills its numbered parameters and sends it (the whatsapp channel's API:
// GET/POST /api/v1/whatsapp/conversations/{id}/templates|template).
import { api, ApiError } from './api.js';
import { el, clear, t } from './util.js';

export class TemplatePicker {
  /**
   * @param {object} o
   * @param {HTMLDialogElement} o.dialog
   * @param {() => number|null} o.currentId  the open conversation
   * @param {(message: object) => void} o.onSent  the created Message
   */
  constructor({ dialog, currentId, onSent }) {
    this.dialog = dialog;
    this.currentId = currentId;
    this.onSent = onSent;
    this.items = [];
    this.form = dialog.querySelector('form');
    this.select = dialog.querySelector('[data-testid="template-select"]');
    this.preview = dialog.querySelector('[data-testid="template-preview"]');
    this.params = dialog.querySelector('.template-params');
    this.error = dialog.querySelector('.template-error');
    this.send = dialog.querySelector('[data-testid="template-send"]');
    dialog.querySelector('[data-action="cancel"]').addEventListener('click', () => dialog.close());
    this.select.addEventListener('change', () => this._chosen());
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
  }

  _base(id) {
    return `/api/v1/whatsapp/conversations/${encodeURIComponent(id)}`;
  }

  _fail(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  async open() {
    const id = this.currentId();
    if (!id) return;
    this.error.hidden = true;
    clear(this.select);
    clear(this.params);
    this.preview.textContent = '';
    this.items = [];
    this.dialog.showModal();
    try {
      const data = await api.get(`${this._base(id)}/templates`, null, { quiet: true });
      this.items = Array.isArray(data?.items) ? data.items : [];
    } catch (err) {
      this._fail(err instanceof ApiError && err.status === 404 ? t('templates_unavailable') : err.message);
    }
    this.items.forEach((tpl, i) => this.select.append(el('option', {
      value: String(i), text: `${tpl.name} (${tpl.language})`,
    })));
    if (!this.items.length && this.error.hidden) this._fail(t('templates_none'));
    this.send.disabled = !this.items.length;
    this._chosen();
    this.select.focus();
  }

  _chosen() {
    clear(this.params);
    const tpl = this.items[Number(this.select.value)];
    this.preview.textContent = tpl?.body || '';
    const count = Math.max(0, Math.min(Number(tpl?.params) || 0, 20));
    for (let i = 1; i <= count; i += 1) {
      const inputId = `template-param-${i}`;
      this.params.append(
        el('label', { for: inputId, text: t('template_param', { n: i }) }),
        el('input', { id: inputId, type: 'text', maxlength: '1000', required: true, 'data-testid': 'template-param' }));
    }
  }

  async submit() {
    const id = this.currentId();
    const tpl = this.items[Number(this.select.value)];
    if (!id || !tpl) return;
    const params = [...this.params.querySelectorAll('input')].map((i) => i.value);
    this.send.disabled = true;
    try {
      const message = await api.post(`${this._base(id)}/template`, {
        name: tpl.name, language: tpl.language, params,
      }, { quiet: true });
      this.dialog.close();
      if (message) this.onSent(message);
    } catch (err) {
      this._fail(err?.message || String(err));
    } finally {
      this.send.disabled = false;
    }
  }
}
