// Small helpers shared by the widget frame modules.

function readJson(id) {
  const el = document.getElementById(id);
  if (!el) return {};
  try {
    return JSON.parse(el.textContent || "{}");
  } catch {
    return {};
  }
}

// Strings come from the page's gettext catalogue (frame.html); placeholders are {name}.
const STRINGS = readJson("omniline-i18n");
export const CONFIG = readJson("omniline-config");

export function t(key, vars) {
  let text = Object.prototype.hasOwnProperty.call(STRINGS, key) ? String(STRINGS[key]) : key;
  if (vars) {
    for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

// Storage may be blocked for third-party frames (private modes, strict browser settings):
// the chat still works for this page view, it just forgets the visitor on reload.
function makeStore(kind) {
  const memory = new Map();
  let real = null;
  try {
    real = window[kind];
    real.setItem("omniline:probe", "1");
    real.removeItem("omniline:probe");
  } catch {
    real = null;
  }
  return {
    get(key) {
      try {
        return real ? real.getItem(key) : memory.get(key) ?? null;
      } catch {
        return memory.get(key) ?? null;
      }
    },
    set(key, value) {
      memory.set(key, String(value));
      try {
        real?.setItem(key, String(value));
      } catch {
        /* quota or blocked: the memory copy is enough for this page view */
      }
    },
    remove(key) {
      memory.delete(key);
      try {
        real?.removeItem(key);
      } catch {
        /* ignore */
      }
    },
  };
}

export const local = makeStore("localStorage");

// crypto.randomUUID exists only in secure contexts; a self-hosted install on plain http
// still needs idempotency keys.
export function uuid() {
  if (window.crypto?.randomUUID) {
    try {
      return window.crypto.randomUUID();
    } catch {
      /* fall through */
    }
  }
  const b = new Uint8Array(16);
  window.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Times follow the browser's own locale and time zone, not the server's.
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

export function parseTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}

export const formatTime = (d) => timeFormat.format(d);
export const formatFull = (d) => fullFormat.format(d);

export function dayKey(d) {
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function formatDay(d) {
  const today = new Date();
  const start = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = Math.round((start(d) - start(today)) / 86400000);
  if (diff === 0 || diff === -1) {
    const word = relative.format(diff, "day"); // "today" / "yesterday" in the browser's language
    return word.charAt(0).toLocaleUpperCase() + word.slice(1);
  }
  return dayFormat.format(d);
}

export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  const [value, unit] =
    n >= 1048576 ? [n / 1048576, "megabyte"] : n >= 1024 ? [n / 1024, "kilobyte"] : [n, "byte"];
  try {
    return new Intl.NumberFormat(undefined, {
      style: "unit",
      unit,
      unitDisplay: "short",
      maximumFractionDigits: unit === "megabyte" ? 1 : 0,
    }).format(value);
  } catch {
    return `${Math.round(value)} ${unit}`;
  }
}

const COLOR_RE = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

export function validColor(color) {
  return typeof color === "string" && COLOR_RE.test(color) ? color : null;
}

// Pick black or white text for the inbox colour so a pale brand colour stays readable.
export function textColorOn(hex) {
  let h = hex.slice(1);
  if (h.length === 3) h = h.replace(/./g, "$&$&");
  const lin = (i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const lum = 0.2126 * lin(0) + 0.7152 * lin(2) + 0.0722 * lin(4);
  // White wins while its contrast ratio is at least that of black.
  return 1.05 / (lum + 0.05) >= (lum + 0.05) / 0.05 ? "#ffffff" : "#111111";
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
