// The message box: typing, sending with retry, and attachments.

import { Outbox } from "./outbox.js";
import { t, uuid } from "./util.js";

const MAX_INPUT_HEIGHT = 160; // px, about six lines at the widget's font size

export class Composer {
  /**
   * @param session  api.Session
   * @param list     render.MessageList
   * @param onSent   called with each WidgetMessage the server stored for the visitor
   */
  constructor(session, list, onSent) {
    this.session = session;
    this.list = list;
    this.onSent = onSent;
    this.outbox = new Outbox(session.inboxKey);
    this.ready = false;
    this.form = document.getElementById("ol-form");
    this.input = document.getElementById("ol-input");
    this.send = document.getElementById("ol-send");
    this.attach = document.getElementById("ol-attach");
    this.file = document.getElementById("ol-file");
    this.error = document.getElementById("ol-error");
    this.errorText = document.getElementById("ol-error-text");
    this.errorAction = document.getElementById("ol-error-action");
    this.bind();
  }

  bind() {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => {
      // isComposing: Enter that confirms an IME candidate (e.g. Japanese input) must not send.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => {
      this.autosize();
      this.updateButtons();
    });
    this.input.addEventListener("paste", (e) => {
      const files = Array.from(e.clipboardData?.files || []);
      if (files.length) {
        e.preventDefault(); // a pasted screenshot becomes an attachment, not garbage text
        files.forEach((f) => this.upload(f));
      }
    });
    this.attach.addEventListener("click", () => this.file.click());
    this.file.addEventListener("change", () => {
      const files = Array.from(this.file.files || []);
      this.file.value = ""; // lets the visitor pick the same file again after a failure
      files.forEach((f) => this.upload(f));
    });
    const app = document.querySelector(".ol-app");
    app.addEventListener("dragover", (e) => {
      if (!this.ready || !e.dataTransfer?.types?.includes("Files")) return;
      e.preventDefault();
      app.classList.add("ol-dropping");
    });
    app.addEventListener("dragleave", (e) => {
      if (e.target === app || !app.contains(e.relatedTarget)) app.classList.remove("ol-dropping");
    });
    app.addEventListener("drop", (e) => {
      app.classList.remove("ol-dropping");
      const files = Array.from(e.dataTransfer?.files || []);
      if (!files.length) return;
      e.preventDefault();
      files.forEach((f) => this.upload(f));
    });
    this.errorAction.addEventListener("click", () => this.errorRun?.());
  }

  setReady(ready) {
    this.ready = ready;
    this.updateButtons();
  }

  updateButtons() {
    this.send.disabled = !this.ready || this.input.value.trim() === "";
    this.attach.disabled = !this.ready;
    this.file.disabled = !this.ready;
  }

  autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_INPUT_HEIGHT)}px`;
  }

  focus() {
    this.input.focus({ preventScroll: true });
  }

  /** A quick reply of the bot was pressed: sent as if typed, with its payload. */
  choose(text, payload) {
    if (!this.ready) return;
    this.hideError();
    this.sendText(text, uuid(), payload);
  }

  submit() {
    const text = this.input.value.trim();
    if (!text || !this.ready) return;
    this.input.value = "";
    this.autosize();
    this.updateButtons();
    this.hideError();
    this.sendText(text, uuid());
  }

  // The same client_id on every retry: the server stores the message once even if an earlier
  // attempt did reach it and only the answer was lost.
  async sendText(text, clientId, payload) {
    if (this.list.pendingElement(clientId)) this.list.setPendingState(clientId, "sending", t("sending"));
    else this.list.addPending(clientId, { text });
    this.outbox.put(clientId, text, payload, this.session.owner());
    try {
      const msg = await this.session.sendText(text, clientId, payload);
      this.outbox.remove(clientId);
      this.list.confirm(clientId, msg);
      this.onSent(msg);
    } catch (e) {
      if (e.retryable) {
        this.failed(clientId, () => this.sendText(text, clientId, payload));
        return;
      }
      this.outbox.remove(clientId);
      this.list.removePending(clientId);
      // The text goes back where it came from so nothing typed is lost.
      if (!this.input.value && !payload) {
        this.input.value = text;
        this.autosize();
        this.updateButtons();
      }
      this.showError(e.message || t("notSent"));
    }
  }

  /** After the session starts: send again what an earlier page view left unconfirmed. */
  resendUnconfirmed() {
    for (const m of this.outbox.takeFor(this.session.owner())) {
      this.sendText(m.text, m.clientId, m.payload || undefined);
    }
  }

  async upload(file, clientId = uuid()) {
    if (!this.ready) return;
    this.hideError();
    if (this.list.pendingElement(clientId)) this.list.setPendingState(clientId, "sending", t("uploading"));
    else this.list.addPending(clientId, { file });
    try {
      const msg = await this.session.upload(file);
      this.list.confirm(clientId, msg);
      this.onSent(msg);
    } catch (e) {
      if (e.retryable) {
        this.failed(clientId, () => this.upload(file, clientId));
        return;
      }
      this.list.removePending(clientId);
      const why =
        e.status === 413 ? t("tooLarge") : e.status === 415 ? t("badType") : e.message || t("uploadFailed");
      this.showError(`${file.name}: ${why}`, { label: t("attach"), run: () => this.file.click() });
    }
  }

  failed(clientId, retry) {
    this.list.setPendingState(clientId, "failed", t("notSent"), [
      { label: t("retry"), run: retry },
      {
        label: t("remove"),
        run: () => {
          this.outbox.remove(clientId);
          this.list.removePending(clientId);
          this.focus();
        },
      },
    ]);
  }

  showError(text, action = null) {
    this.errorText.textContent = text;
    this.errorAction.hidden = !action;
    this.errorAction.textContent = action ? action.label : "";
    this.errorRun = action ? action.run : null;
    this.error.hidden = false;
  }

  hideError() {
    this.error.hidden = true;
    this.errorText.textContent = "";
    this.errorRun = null;
  }
}
