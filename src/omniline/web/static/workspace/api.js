// fetch wrapper for the staff API: same-origin cookie auth, CSRF header on writes,
// `{error: {message}}` bodies turned into ApiError and shown to the user unless the caller handles them.
import { t, el } from './util.js';

export class ApiError extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = Array.isArray(fields) ? fields : [];
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') || '' : '';
}

function defaultMessage(status) {
  switch (status) {
    case 0: return t('error_network');
    case 401: return t('error_unauthorized');
    case 403: return t('error_forbidden');
    case 404: return t('error_not_found');
    case 409: return t('error_conflict');
    case 413: return t('error_too_large');
    case 415: return t('error_unsupported_type');
    case 422: return t('error_validation');
    default: return status >= 500 ? t('error_server') : t('error_generic', { status });
  }
}

function isQuiet(quiet, status) {
  if (quiet === true) return true;
  return Array.isArray(quiet) && quiet.includes(status);
}

let redirecting = false;
function goToLogin() {
  if (redirecting) return;
  redirecting = true;
  const next = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
}

export function buildUrl(path, params) {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

/**
 * request('POST', '/api/v1/...', {body, params, form, quiet, signal, headers})
 * quiet: true (never show errors) or a list of statuses the caller shows itself.
 * headers: more request headers, e.g. {'Idempotency-Key': key}.
 */
export async function request(method, path, opts = {}) {
  const { body, params, form, quiet, signal } = opts;
  const headers = { ...(opts.headers || {}), Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  if (form) init.body = form;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(buildUrl(path, params), init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    const e = new ApiError(0, 'network_error', defaultMessage(0));
    if (!isQuiet(quiet, 0)) notify(e.message);
    throw e;
  }
  let data = null;
  if (res.status !== 204) {
    const type = res.headers.get('content-type') || '';
    try {
      data = type.includes('json') ? await res.json() : null;
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const info = (data && typeof data === 'object' && data.error) || {};
    const message = typeof info.message === 'string' && info.message ? info.message : defaultMessage(res.status);
    const e = new ApiError(res.status, info.code || `http_${res.status}`, message, info.fields);
    if (res.status === 401) goToLogin();
    else if (!isQuiet(quiet, res.status)) notify(e.message);
    throw e;
  }
  return data;
}

export const api = {
  get: (path, params, opts = {}) => request('GET', path, { ...opts, params }),
  post: (path, body, opts = {}) => request('POST', path, { ...opts, body: body === undefined ? {} : body }),
  put: (path, body, opts = {}) => request('PUT', path, { ...opts, body }),
  upload: (path, form, opts = {}) => request('POST', path, { ...opts, form }),
};

// ---- toasts ----

let toastRoot = null;

export function setToastRoot(node) {
  toastRoot = node;
}

/** Shows a dismissible message (kind: 'error' | 'ok' | 'info'); errors stay 10 s, others 5 s. */
export function notify(message, kind = 'error') {
  if (!toastRoot) {
    console.warn(message);
    return;
  }
  // Collapse repeats of the same message.
  for (const node of toastRoot.children) {
    if (node.dataset.message === message) node.remove();
  }
  const close = el('button', { type: 'button', class: 'toast-close', 'aria-label': t('dismiss'), text: '×' });
  const node = el('div', { class: `flash toast ${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: { message } },
    el('span', { class: 'toast-text', text: message }), close);
  const remove = () => node.remove();
  close.addEventListener('click', remove);
  toastRoot.append(node);
  while (toastRoot.children.length > 4) toastRoot.firstElementChild.remove();
  setTimeout(remove, kind === 'error' ? 10000 : 5000);
}
