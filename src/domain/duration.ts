/**
 * Durations as people type them in chat: `30m`, `1h`, `1h30m`, `90s` or plain seconds.
 * Returns seconds, or null for anything else (no negative, no empty, no unknown units).
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim().toLowerCase();
  if (/^\d{1,6}$/.test(trimmed)) return Number(trimmed);
  const match = /^(?:(\d{1,3})h)?(?:(\d{1,4})m)?(?:(\d{1,6})s)?$/.exec(trimmed);
  if (match === null || trimmed === '') return null;
  const [, h, m, s] = match;
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
}
