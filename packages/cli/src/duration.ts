import { usage } from './errors.js';

const PART = /(\d+)([hms])/g;

/** `90s`, `30m`, `1h`, `1h30m` or plain seconds (SPEC §10), to seconds; anything else is a usage error. */
export function parseDuration(text: string, option: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (/^(\d+h)?(\d+m)?(\d+s)?$/.test(trimmed) && trimmed !== '') {
    let seconds = 0;
    for (const [, amount, unit] of trimmed.matchAll(PART)) seconds += Number(amount) * (unit === 'h' ? 3600 : unit === 'm' ? 60 : 1);
    return seconds;
  }
  throw usage(`${option}: "${text}" is not a duration (90s, 30m, 1h, 1h30m or seconds)`);
}
