/*
 * Omniline web-chat loader.
 *
 * A lender pastes ONE tag into its site:
 *   <script src="https://omni.example/widget.js" data-inbox-key="demo-widget" async></script>
 * Optional (customer logged in, identity vouched for by the lender's server):
 *   data-external-id, data-name, data-email, data-phone, data-expires (Unix seconds) and
 *   data-signature (hex HMAC of all of them, docs/widget.md)
 * or, before the tag: window.OmnilineSettings = {inboxKey, identity: {external_id, name, ...}}.
 * data-color (or OmnilineSettings.color) paints the bubble before the chat has ever been opened.
 *
 * This file runs inside someone else's page, so it is a classic script (not a
 * module: it must work with a plain `async` tag), touches only elements it
 * creates, keeps every selector behind an `omniline-` prefix and never reads
 * anything from the frame except counts, labels and a colour it validates.
 *
 * postMessage protocol (every message carries source: "omniline"):
 *   frame -> page: {type: "ready", labels: {open, close, unread}, color, title}
 *                  {type: "unread", count}
 *                  {type: "close"}
 *   page -> frame: {type: "visibility", open: bool, focus: bool}
 */
(function () {
  "use strict";

  if (window.__omnilineWidget) return; // pasted twice, or a SPA re-ran the tag

  var SOURCE = "omniline";
  var DEFAULT_COLOR = "#1f6feb";
  var COLOR_RE = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

  function findScript() {
    if (document.currentScript && document.currentScript.src) return document.currentScript;
    // currentScript is null when the tag was injected by a tag manager after the fact.
    var list = document.querySelectorAll('script[src*="widget.js"]');
    for (var i = list.length - 1; i >= 0; i--) {
      if (list[i].hasAttribute("data-inbox-key")) return list[i];
    }
    return list.length ? list[list.length - 1] : null;
  }

  var script = findScript();
  var settings = window.OmnilineSettings || {};
  var data = (script && script.dataset) || {};

  // Both /widget.js and /static/widget/widget.js are valid tag targets.
  var scriptUrl = new URL(script ? script.src : "/widget.js", location.href);
  var basePath = scriptUrl.pathname.replace(/\/(?:static\/widget\/)?widget\.js$/, "");
  var BASE = scriptUrl.origin + basePath;
  var ORIGIN = scriptUrl.origin;

  var inboxKey = data.inboxKey || settings.inboxKey;
  if (!inboxKey) {
    if (window.console) console.warn("Omniline widget: data-inbox-key is missing on the script tag");
    return;
  }
  window.__omnilineWidget = true;

  function readIdentity() {
    var src = settings.identity || {};
    var out = {};
    var fields = {
      external_id: "externalId",
      name: "name",
      email: "email",
      phone: "phone",
      expires: "expires",
      signature: "signature"
    };
    var any = false;
    for (var field in fields) {
      // The tag's own attributes win: they are what the lender's server rendered for this page.
      var value = data[fields[field]] || src[field];
      if (value) {
        out[field] = String(value);
        any = true;
      }
    }
    return any ? out : null;
  }
  var identity = readIdentity();

  // Storage can throw (Safari private mode, storage blocked by the user): degrade to memory.
  function store(kind) {
    try {
      var s = window[kind];
      var probe = "omniline:probe";
      s.setItem(probe, "1");
      s.removeItem(probe);
      return s;
    } catch (e) {
      var mem = {};
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(mem, k) ? mem[k] : null; },
        setItem: function (k, v) { mem[k] = String(v); },
        removeItem: function (k) { delete mem[k]; },
      };
    }
  }
  var session = store("sessionStorage");
  var local = store("localStorage");
  var PREFIX = "omniline:" + inboxKey + ":";
  var OPEN_KEY = PREFIX + "open"; // per tab: the panel stays open across page loads
  var STARTED_KEY = PREFIX + "started"; // per browser: visitor has chatted, keep the frame warm
  var COLOR_KEY = PREFIX + "color";

  // Only until the frame (which has gettext catalogues) sends its own labels.
  var FALLBACK_LABELS = {
    en: { open: "Open chat", close: "Close chat", unread: "Unread messages: {n}" },
    ru: { open: "Открыть чат", close: "Закрыть чат", unread: "Непрочитанных сообщений: {n}" },
    uk: { open: "Відкрити чат", close: "Закрити чат", unread: "Непрочитаних повідомлень: {n}" },
  };
  var lang = (document.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var labels = FALLBACK_LABELS[lang] || FALLBACK_LABELS.en;

  // Every declaration becomes !important: host pages do write things like
  // `button{background:red!important}`, and an id selector alone does not beat that.
  function important(css) {
    return css.replace(/([^{};]+:[^{};]+)(?=[;}])/g, "$1!important");
  }

  var CSS =
    "#omniline-bubble{all:initial;box-sizing:border-box;position:fixed;right:20px;bottom:20px;" +
    "z-index:2147483000;width:60px;height:60px;border-radius:50%;cursor:pointer;" +
    "background:var(--omniline-color," + DEFAULT_COLOR + ");color:#fff;display:flex;align-items:center;" +
    "justify-content:center;box-shadow:0 6px 20px rgba(16,24,40,.25);transition:transform .15s ease}" +
    "#omniline-bubble:hover{transform:scale(1.06)}" +
    "#omniline-bubble:focus-visible{outline:3px solid #111;outline-offset:3px}" +
    "#omniline-bubble svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;" +
    "stroke-linecap:round;stroke-linejoin:round;pointer-events:none}" +
    "#omniline-bubble .omniline-icon-close{display:none}" +
    "#omniline-bubble[aria-expanded=true] .omniline-icon-chat{display:none}" +
    "#omniline-bubble[aria-expanded=true] .omniline-icon-close{display:block}" +
    "#omniline-badge{all:initial;box-sizing:border-box;position:absolute;top:-4px;right:-4px;min-width:24px;" +
    "height:24px;padding:0 6px;border-radius:12px;background:#d92d20;color:#fff;border:2px solid #fff;" +
    "font:700 13px/20px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;text-align:center}" +
    "#omniline-badge[hidden]{display:none}" +
    "#omniline-frame{all:initial;box-sizing:border-box;position:fixed;right:20px;bottom:92px;" +
    "z-index:2147483001;width:380px;height:560px;max-height:calc(100vh - 112px);border:0;" +
    "border-radius:16px;background:#fff;box-shadow:0 12px 40px rgba(16,24,40,.28);" +
    "transition:opacity .18s ease,transform .18s ease;opacity:1;transform:none}" +
    "#omniline-frame.omniline-hidden{opacity:0;transform:translateY(12px);visibility:hidden;pointer-events:none}" +
    // Narrow phones: the panel takes the whole screen; the frame has its own close button.
    "@media (max-width:480px){#omniline-frame{right:0;bottom:0;left:0;top:0;width:100%;height:100%;" +
    "max-height:none;border-radius:0}}" +
    "@media (prefers-reduced-motion:reduce){#omniline-frame,#omniline-bubble{transition:none}}";

  var ICONS =
    '<svg class="omniline-icon-chat" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/></svg>' +
    '<svg class="omniline-icon-close" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path d="M6 6l12 12M18 6L6 18"/></svg>';

  var bubble, badge, frame;
  var isOpen = false;
  var unread = 0;
  var frameReady = false; // the frame's script said "ready": messages to it are no longer lost
  var wantFocus = false;

  // On our own button, never on the host's <html>: the page's elements are not ours to touch.
  function setColor(color) {
    if (!COLOR_RE.test(color || "") || !bubble) return;
    bubble.style.setProperty("--omniline-color", color);
  }

  function updateBubbleLabel() {
    var label = isOpen ? labels.close : labels.open;
    if (unread > 0 && !isOpen) label += ". " + labels.unread.replace("{n}", String(unread));
    bubble.setAttribute("aria-label", label);
    bubble.title = isOpen ? labels.close : labels.open;
  }

  function setUnread(count) {
    unread = Math.max(0, Math.floor(Number(count)) || 0);
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.hidden = unread === 0;
    updateBubbleLabel();
  }

  function frameUrl() {
    var url = BASE + "/widget/frame?key=" + encodeURIComponent(inboxKey);
    // The hash never reaches server logs or Referer headers.
    if (identity) url += "#identity=" + encodeURIComponent(JSON.stringify(identity));
    return url;
  }

  // Until "ready" the frame still shows about:blank (the host's origin): a message would be
  // refused with a console warning, and the frame asks for the state itself when it is ready.
  function postToFrame(message) {
    if (!frame || !frame.contentWindow || !frameReady) return;
    message.source = SOURCE;
    frame.contentWindow.postMessage(message, ORIGIN);
  }

  function ensureFrame() {
    if (frame) return frame;
    frame = document.createElement("iframe");
    frame.id = "omniline-frame";
    frame.className = "omniline-hidden";
    frame.title = labels.open;
    frame.src = frameUrl();
    document.body.appendChild(frame);
    return frame;
  }

  function setOpen(open, opts) {
    isOpen = open;
    session.setItem(OPEN_KEY, open ? "1" : "0");
    if (open) {
      local.setItem(STARTED_KEY, "1");
      ensureFrame();
    }
    if (frame) {
      frame.className = open ? "" : "omniline-hidden";
      frame.setAttribute("aria-hidden", open ? "false" : "true");
    }
    bubble.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) setUnread(0);
    updateBubbleLabel();
    // focus: the visitor asked for the panel, so the frame may move focus to its message box
    // (never on a page load that merely restores an open panel: that would steal the host's focus).
    wantFocus = !!(open && opts && opts.focus);
    postToFrame({ type: "visibility", open: open, focus: wantFocus && frameReady });
    if (frameReady) wantFocus = false;
    if (opts && opts.focus) {
      if (open && frame) frame.focus();
      else bubble.focus();
    }
  }

  function onMessage(event) {
    // Only our own frame may talk to us: same origin as the script and the very iframe we made.
    if (!frame || event.origin !== ORIGIN || event.source !== frame.contentWindow) return;
    var msg = event.data;
    if (!msg || typeof msg !== "object" || msg.source !== SOURCE) return;
    if (msg.type === "unread") {
      setUnread(isOpen ? 0 : msg.count);
    } else if (msg.type === "close") {
      setOpen(false, { focus: true });
    } else if (msg.type === "ready") {
      var l = msg.labels || {};
      if (typeof l.open === "string" && typeof l.close === "string" && typeof l.unread === "string") {
        labels = { open: l.open, close: l.close, unread: l.unread };
        updateBubbleLabel();
      }
      if (typeof msg.title === "string" && msg.title) frame.title = msg.title;
      if (COLOR_RE.test(msg.color || "")) {
        setColor(msg.color);
        local.setItem(COLOR_KEY, msg.color);
      }
      frameReady = true;
      postToFrame({ type: "visibility", open: isOpen, focus: wantFocus && isOpen });
      wantFocus = false;
    }
  }

  function mount() {
    var style = document.createElement("style");
    style.id = "omniline-style";
    style.textContent = important(CSS);
    (document.head || document.documentElement).appendChild(style);

    bubble = document.createElement("button");
    bubble.id = "omniline-bubble";
    bubble.type = "button";
    bubble.setAttribute("aria-controls", "omniline-frame");
    bubble.setAttribute("aria-expanded", "false");
    bubble.innerHTML = ICONS; // static markup of this file, no data
    badge = document.createElement("span");
    badge.id = "omniline-badge";
    badge.setAttribute("aria-hidden", "true"); // the count is part of the bubble's aria-label
    badge.hidden = true;
    bubble.appendChild(badge);
    bubble.addEventListener("click", function () {
      setOpen(!isOpen, { focus: !isOpen });
    });
    // Until the frame reports the inbox colour: the tag's own, else the one seen last visit.
    setColor(data.color || settings.color || local.getItem(COLOR_KEY) || DEFAULT_COLOR);
    document.body.appendChild(bubble);
    updateBubbleLabel();

    window.addEventListener("message", onMessage);
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && isOpen) setOpen(false, { focus: true });
    });

    if (session.getItem(OPEN_KEY) === "1") {
      setOpen(true);
    } else if (local.getItem(STARTED_KEY) === "1") {
      // A returning visitor: load the frame hidden so agent replies light up the badge.
      ensureFrame();
    }
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
