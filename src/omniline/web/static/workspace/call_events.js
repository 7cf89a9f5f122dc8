// Timeline text for the legs of a phone call (channels/voice records them as conversation events).
import { t, tOr } from './util.js';

const seconds = (value) => {
  const n = Number(value);
  return Number.isFinite(n) ? String(Math.round(n)) : '?';
};

function target(d, queueName, prefix) {
  if (d.to_number) return t(`${prefix}_number`, { number: d.to_number });
  const queue = queueName(d.to_queue_id);
  return queue ? t(`${prefix}_queue`, { queue }) : t(prefix);
}

/**
 * Text of a call event, or null when `ev` is not one.
 * @param {object} ev  {type, data, actor}
 * @param {(id: any) => string} queueName  a queue's name by id ('' when unknown)
 */
export function callEventText(ev, queueName) {
  const d = ev.data && typeof ev.data === 'object' ? ev.data : {};
  switch (ev.type) {
    case 'call_started':
      return t(d.direction === 'out' ? 'ev_call_started_out' : 'ev_call_started', { number: d.caller || '?' });
    case 'call_offered': {
      const queue = queueName(d.queue_id);
      return queue ? t('ev_call_offered_queue', { queue }) : t('ev_call_offered');
    }
    case 'call_answered':
      return t('ev_call_answered', { s: seconds(d.wait_s) });
    case 'call_hold':
      return t('ev_call_hold');
    case 'call_unhold':
      return t('ev_call_unhold');
    case 'call_transferred':
      return target(d, queueName, 'ev_call_transferred');
    case 'call_overflow':
      return target(d, queueName, 'ev_call_overflow');
    case 'call_abandoned':
      return t(d.short ? 'ev_call_abandoned_short' : 'ev_call_abandoned', { s: seconds(d.wait_s) });
    case 'call_agent_left':
      return t('ev_call_agent_left');
    case 'call_missed':
      return t('ev_call_missed');
    case 'survey_answered':
      return t('ev_survey_answered', { score: d.score ?? '?' });
    case 'callback_requested':
      return t('ev_callback_requested');
    case 'call_recording':
      return t('ev_call_recording', { s: seconds(d.duration_s) });
    case 'call_ended': {
      const reason = tOr(`call_end_${d.reason}`, String(d.reason || ''));
      const text = reason ? t('ev_call_ended_reason', { reason }) : t('ev_call_ended');
      return d.talk_s !== undefined ? `${text} · ${t('ev_call_talk', { s: seconds(d.talk_s) })}` : text;
    }
    default:
      return null;
  }
}
