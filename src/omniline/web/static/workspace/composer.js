// Reply box: reply / private note mode, Ctrl/Cmd+Enter to send, attachment upload, error display.
import { api, ApiError } from './api.js';
import { t, formatSize } from './util.js';
import { attachCanned, attachTagSuggestions } from './canned.js';
import { attachMentions } from './mentions.js';

// A lost answer (the network, or the server restarting) is retried once with the same
// Idempotency-Key: if the first attempt was stored, the server returns that message.
const RETRY_STATUSES = [0, 502, 503, 504];
const RETRY_AFTER_MS = 1000;

/** A random key for one reply (crypto.randomUUID needs https; getRandomValues does not). */
function newKey() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Composer {
  /**
   * @param {HTMLFormElement} form
   * @param {(message: object) => void} onSent  called with the created Message
   */
  constructor(form, onSent) {
    this.form = form;
    this.onSent = onSent;
    this.conversationId = null;
    this.sending = false;
    this.blockedReason = null; // the channel refuses free text now; notes still go
    this.file = null;
    this.drafts = new Map(); // conversation id -> {text, private}
    this.pending = null; // the reply being sent, with its Idempotency-Key, until it is stored

    this.input = form.querySelector('[data-testid="reply-input"]');
    this.toggle = form.querySelector('[data-testid="private-toggle"]');
    this.send = form.querySelector('[data-testid="reply-send"]');
    this.error = form.querySelector('.composer-error');
    this.fileInput = form.querySelector('input[type="file"]');
    this.attachBtn = form.querySelector('[data-action="attach"]');
    this.fileChip = form.querySelector('.composer-file');
    this.modeLabel = form.querySelector('.composer-mode-label');

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => {
      this._clearError();
      this._sizeInput();
    });
    this.toggle.addEventListener('change', () => this._mode());
    this.attachBtn?.addEventListener('click', () => this.fileInput.click());
    this.fileInput?.addEventListener('change', () => {
      this._setFile(this.fileInput.files && this.fileInput.files[0] ? this.fileInput.files[0] : null);
    });
    this.fileChip?.querySelector('[data-action="remove-file"]')?.addEventListener('click', () => this._setFile(null));
    // Drop a file on the reply box.
    form.addEventListener('dragover', (ev) => {
      if (ev.dataTransfer && [...ev.dataTransfer.types].includes('Files')) {
        ev.preventDefault();
        form.classList.add('dragging');
      }
    });
    form.addEventListener('dragleave', () => form.classList.remove('dragging'));
    form.addEventListener('drop', (ev) => {
      form.classList.remove('dragging');
      const f = ev.dataTransfer?.files?.[0];
      if (f) {
        ev.preventDefault();
        this._setFile(f);
      }
    });
    this._mode();
    // "/" inserts a canned response; "@" in a private note names a colleague.
    this.canned = attachCanned(this);
    this.mentions = attachMentions(this);
    attachTagSuggestions(document.querySelector('.conv-tag-input'));
  }

  get isPrivate() {
    return this.toggle.type === 'checkbox' ? this.toggle.checked : this.toggle.getAttribute('aria-pressed') === 'true';
  }

  /** Switches to another conversation, keeping an unsent draft per conversation. */
  setConversation(id) {
    if (this.conversationId !== null && this.conversationId !== id) {
      this.drafts.set(this.conversationId, { text: this.input.value, private: this.isPrivate });
    }
    this.conversationId = id;
    const draft = this.drafts.get(id);
    this.input.value = draft ? draft.text : '';
    this.toggle.checked = draft ? draft.private : false;
    this._setFile(null);
    this._clearError();
    this._mode();
    this._sizeInput();
  }

  focus() {
    this.input.focus();
  }

  /** reply_blocked of the conversation (null when free text may be sent). */
  setBlocked(reason) {
    this.blockedReason = reason || null;
    this._mode();
  }

  get _stopped() {
    return Boolean(this.blockedReason) && !this.isPrivate;
  }

  _mode() {
    const priv = this.isPrivate;
    const stopped = this._stopped;
    this.form.classList.toggle('is-private', priv);
    this.form.classList.toggle('is-blocked', stopped);
    this.input.placeholder = priv ? t('placeholder_note') : stopped ? t('placeholder_blocked') : t('placeholder_reply');
    this.send.textContent = priv ? t('send_note') : t('send_reply');
    this.send.disabled = this.sending || stopped;
    if (this.attachBtn) this.attachBtn.disabled = this.sending || stopped;
    if (this.modeLabel) this.modeLabel.textContent = priv ? t('mode_note') : t('mode_reply');
  }

  _sizeInput() {
    this.input.style.height = 'auto';
    const h = Math.min(Math.max(this.input.scrollHeight + 2, 64), 240);
    this.input.style.height = `${h}px`;
  }

  _setFile(file) {
    this.file = file;
    if (!file && this.fileInput) this.fileInput.value = '';
    if (this.fileChip) {
      this.fileChip.hidden = !file;
      const name = this.fileChip.querySelector('.composer-file-name');
      if (name) name.textContent = file ? `${file.name} · ${formatSize(file.size)}` : '';
    }
    this._clearError();
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = false;
    this.input.setAttribute('aria-invalid', 'true');
  }

  _clearError() {
    this.error.textContent = '';
    this.error.hidden = true;
    this.input.removeAttribute('aria-invalid');
  }

  _busy(on) {
    this.sending = on;
    this.send.disabled = on || this._stopped;
    if (this.attachBtn) this.attachBtn.disabled = on || this._stopped;
    this.form.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  /**
   * The Idempotency-Key of this reply: a new one for a new reply, the same one when the same
   * reply (conversation, text, note or not, file) is sent again after a failure.
   */
  _keyFor(id, text, priv, file) {
    const p = this.pending;
    if (p && p.id === id && p.text === text && p.priv === priv && p.file === file) return p.key;
    this.pending = { id, text, priv, file, key: newKey() };
    return this.pending.key;
  }

  async submit() {
    if (this.sending || this.conversationId === null) return;
    if (this._stopped) {
      this.showError(this.blockedReason);
      return;
    }
    const text = this.input.value;
    const priv = this.isPrivate;
    const id = this.conversationId;
    const file = this.file;
    const headers = { 'Idempotency-Key': this._keyFor(id, text, priv, file) };
    this._clearError();
    this._busy(true);
    const base = `/api/v1/conversations/${encodeURIComponent(id)}`;
    const send = () => {
      if (file) {
        const fd = new FormData();
        fd.append('file', file, file.name);
        if (text.trim()) fd.append('text', text);
        fd.append('private', priv ? 'true' : 'false');
        return api.upload(`${base}/attachments`, fd, { quiet: true, headers });
      }
      return api.post(`${base}/messages`, { text, private: priv }, { quiet: true, headers });
    };
    try {
      let message;
      try {
        message = await send();
      } catch (err) {
        if (!(err instanceof ApiError) || !RETRY_STATUSES.includes(err.status)) throw err;
        await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
        message = await send();
      }
      if (this.pending?.key === headers['Idempotency-Key']) this.pending = null;
      if (this.conversationId === id) {
        this.input.value = '';
        this._setFile(null);
        this._sizeInput();
        this.drafts.delete(id);
      }
      if (message) this.onSent(message);
    } catch (err) {
      if (this.conversationId === id && err instanceof ApiError) {
        const field = err.fields?.length ? err.fields.map((f) => f.message && f.field ? `${f.field}: ${f.message}` : f.message).filter(Boolean) : [];
        let msg = err.message;
        if (err.status === 413) msg = err.message || t('error_too_large');
        if (field.length && !field.some((f) => msg.includes(f))) msg = `${msg} (${field.join('; ')})`;
        this.showError(msg);
      }
    } finally {
      this._busy(false);
    }
  }
}
