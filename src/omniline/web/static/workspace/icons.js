// Inline SVG icons (fixed path data, drawn with strokes; no emoji fonts needed).
const NS = 'http://www.w3.org/2000/svg';

const PATHS = {
  lock: 'M5 11h14v10H5z M8 11V7a4 4 0 0 1 8 0v4',
  clip: 'M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5',
  // channels
  webchat: 'M4 5h16v11H9l-5 4z',
  mobile: 'M7 2h10v20H7z M11 18h2',
  email: 'M3 5h18v14H3z M3 6l9 7 9-7',
  telegram: 'M21 4L3 11l6 2 2 6 3-4 5 4z M9 13l8-6',
  whatsapp: 'M4 20l1.5-4.5A8 8 0 1 1 9 19z M9 9c0 3 3 6 6 6l1-2-2-1-1 1c-1-.5-2-1.5-2.5-2.5l1-1-1-2z',
  vk: 'M3 7c1 6 4 10 9 10h1v-3c2 0 3 2 4 3h3c-1-2-3-4-4-5 1-1 3-3 3-5h-3c-1 2-2 3-3 4V7h-3v7c-2 0-4-3-4-7z',
  messenger: 'M12 3a9 8 0 0 0-5 14.5V21l3.5-2A9 8 0 1 0 12 3z M7 13l3.5-3.5 2.5 2 4-3.5-3.5 3.5-2.5-2z',
  voice: 'M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2',
  channel: 'M12 3a9 9 0 1 0 0 18 9 9 0 1 0 0-18z',
};

/** The icon of a channel (a plain circle for one without its own drawing). */
export function channelIcon(channel) {
  const name = channel === 'phone' ? 'voice' : channel;
  return icon(Object.prototype.hasOwnProperty.call(PATHS, name) && name !== 'lock' && name !== 'clip' ? name : 'channel', 'channel-icon');
}

export function icon(name, cls = '') {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '14');
  svg.setAttribute('height', '14');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon icon-${name} ${cls}`.trim());
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', PATHS[name] || '');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '2');
  path.setAttribute('stroke-linecap', 'round');
  path.setAttribute('stroke-linejoin', 'round');
  svg.append(path);
  return svg;
}
