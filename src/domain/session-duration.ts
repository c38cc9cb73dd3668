/**
 * How long an STS session may last, SPEC §3 rule 4 — the one place this is decided.
 *
 * The window is `[startsAt, endsAt)` and a credential's Expiration must never be later than
 * `endsAt`. STS grants no session shorter than 900 s and counts DurationSeconds from the moment
 * it handles the call, which is a little after Brevet reads its clock. The rule:
 *
 *   left = endsAt − now                                   (Brevet's clock, when it plans the call)
 *   left < 900 s                    → refuse: 409 window-too-short
 *   DurationSeconds = min(profile maximum, max(900, ⌊left⌋ − STS_CALL_DEADLINE_SECONDS))
 *
 * The call's allowance is taken from the time above STS's 900 s floor, never from the floor
 * itself: a 900 s request issued at the start of its window asks STS for 900 s. Where there is
 * room, Brevet aborts the call after STS_CALL_DEADLINE_SECONDS, so STS handles it at most that
 * long after `now` and the session ends by `endsAt`. Where there is no room (900 ≤ left < 900 +
 * the allowance, always the case for a 900 s window) a session of 900 s ends after `endsAt` if
 * STS handles the call later than the time left allows; what AWS answered is therefore checked
 * (`expirationVerdict`), and a credential that would outlive the window is never handed out.
 * The margin is Brevet's: it costs the user nothing at the start of a window and at most the
 * allowance at its end, and the only thing it can cost is a refusal, never a longer session.
 */
import { MIN_SESSION_SECONDS } from './profile.js';

/** The most time one AssumeRole call may take, retries included, before Brevet aborts it. */
export const STS_CALL_DEADLINE_SECONDS = 20;

export type SessionLength = { ok: true; durationSeconds: number } | { ok: false; secondsLeft: number };

export function sessionLengthFor(now: Date, endsAt: Date, profileMaxSeconds: number): SessionLength {
  const leftMs = endsAt.getTime() - now.getTime();
  const secondsLeft = Math.floor(leftMs / 1000);
  if (leftMs < MIN_SESSION_SECONDS * 1000) return { ok: false, secondsLeft: Math.max(0, secondsLeft) };
  const withAllowance = Math.max(MIN_SESSION_SECONDS, secondsLeft - STS_CALL_DEADLINE_SECONDS);
  return { ok: true, durationSeconds: Math.min(profileMaxSeconds, withAllowance) };
}

/**
 * What AWS answered, judged against the window:
 * - `within-window`: Expiration ≤ endsAt, the credential may be handed out;
 * - `window-ran-out`: STS started the session during the call, but by then less than the
 *   session's length was left (only possible for a 900 s session near the floor);
 * - `aws-clock-ahead`: STS counted from a moment after Brevet received its answer, so AWS's
 *   clock is ahead of Brevet's (a whole second of tolerance: AWS prints whole seconds).
 * Only the first is handed out.
 */
export type ExpirationVerdict = 'within-window' | 'window-ran-out' | 'aws-clock-ahead';

export function expirationVerdict(expiration: Date, endsAt: Date, durationSeconds: number, answeredAt: Date): ExpirationVerdict {
  if (expiration.getTime() <= endsAt.getTime()) return 'within-window';
  const stsStartedAt = expiration.getTime() - durationSeconds * 1000;
  return stsStartedAt <= answeredAt.getTime() + 1000 ? 'window-ran-out' : 'aws-clock-ahead';
}

/**
 * The console session's length (getSigninToken's SessionDuration, 900..43200 s): the time left
 * in the window when the sign-in token is requested, so that the console, which outlives the
 * credentials it was made from, ends with the window too. Null when less than 900 s are left.
 */
export function consoleSessionSeconds(now: Date, endsAt: Date): number | null {
  const secondsLeft = Math.floor((endsAt.getTime() - now.getTime()) / 1000);
  if (secondsLeft < MIN_SESSION_SECONDS) return null;
  return Math.min(secondsLeft, CONSOLE_MAX_SESSION_SECONDS);
}

/** getSigninToken's largest SessionDuration (12 hours). */
export const CONSOLE_MAX_SESSION_SECONDS = 43_200;
