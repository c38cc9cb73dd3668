/**
 * How long an STS session may last, SPEC §3 rule 4 — the one place this is decided.
 *
 * The window is `[startsAt, endsAt)` and a credential must never be usable after `endsAt`. STS
 * grants no session shorter than 900 s and counts DurationSeconds from the moment it handles the
 * call, a little after Brevet reads its clock. The rule, with `left = endsAt − now`:
 *
 *   left < 900 s − WINDOW_START_GRACE_SECONDS  → refuse: 409 window-too-short
 *   ⌊left⌋ − STS_CALL_ALLOWANCE_SECONDS ≥ 900  → DurationSeconds = min(profile maximum, that)
 *   otherwise (the window's last 920 s)         → DurationSeconds = 900, cut off at endsAt
 *
 * A 900 s window must yield credentials when they are asked for at its start (rule 4), but a
 * request can only reach STS some milliseconds after its window opened, when STS's floor already
 * outlasts the window. Such a session is cut off at `endsAt` by AWS itself: its session policy
 * gets a statement denying every action from `endsAt` on (`windowCutOffPolicy`), and the
 * Expiration handed out is `endsAt`. The margin the call needs is thus kept inside Brevet and AWS's
 * policy evaluation, not taken from the user. The first WINDOW_START_GRACE_SECONDS of a 900 s
 * window count as its start: a request answered within them still gets its credentials.
 */
import { MIN_SESSION_SECONDS } from './profile.js';

/** The most time one AssumeRole call may take, retries included, before Brevet aborts it. */
export const STS_CALL_DEADLINE_SECONDS = 20;

/**
 * Taken off the time left where there is room, so that a session STS starts as late as the call
 * may take (its deadline: a slow or retried attempt) still ends by `endsAt`. With 2 s, one attempt
 * that timed out and was retried (5 s) ended past `endsAt`, and credentials were withheld with most
 * of the window left. The session is then up to 20 s shorter than the window; the credentials
 * asked for in its last 920 s are cut off at `endsAt` instead, so the user loses nothing. A call
 * slower than this is aborted; `expirationVerdict` stays the safety net.
 */
export const STS_CALL_ALLOWANCE_SECONDS = STS_CALL_DEADLINE_SECONDS;

/**
 * How long after a window opens an issuance still counts as "at the start of its window": long
 * enough for credentials asked for as soon as the window opened (the approval's answer, or a
 * long-poll woken within a second of the activation), short enough that a window with less than
 * 900 s left a few seconds in is refused as SPEC §3 rule 4 says.
 */
export const WINDOW_START_GRACE_SECONDS = 2;

export type SessionLength =
  | {
      ok: true;
      durationSeconds: number;
      /** Set when STS's 900 s floor outlasts the window: the session policy must deny everything from then on. */
      cutOffAt: Date | null;
    }
  | { ok: false; secondsLeft: number };

export function sessionLengthFor(now: Date, endsAt: Date, profileMaxSeconds: number): SessionLength {
  const leftMs = endsAt.getTime() - now.getTime();
  const secondsLeft = Math.floor(leftMs / 1000);
  if (leftMs < (MIN_SESSION_SECONDS - WINDOW_START_GRACE_SECONDS) * 1000) return { ok: false, secondsLeft: Math.max(0, secondsLeft) };
  const fitting = secondsLeft - STS_CALL_ALLOWANCE_SECONDS;
  if (fitting >= MIN_SESSION_SECONDS) return { ok: true, durationSeconds: Math.min(profileMaxSeconds, fitting), cutOffAt: null };
  return { ok: true, durationSeconds: MIN_SESSION_SECONDS, cutOffAt: endsAt };
}

/**
 * What AWS answered, judged against the window:
 * - `within-window`: Expiration ≤ endsAt, the credential may be handed out;
 * - `window-ran-out`: STS started the session during the call, but by then less than the
 *   session's length was left (a call slower than STS_CALL_ALLOWANCE_SECONDS);
 * - `aws-clock-ahead`: STS counted from a moment after Brevet received its answer, so AWS's
 *   clock is ahead of Brevet's (a whole second of tolerance: AWS prints whole seconds).
 * Only the first is handed out. A session cut off at the window end by its policy needs no verdict.
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
  const leftMs = endsAt.getTime() - now.getTime();
  if (leftMs < (MIN_SESSION_SECONDS - WINDOW_START_GRACE_SECONDS) * 1000) return null;
  return Math.min(Math.max(MIN_SESSION_SECONDS, Math.floor(leftMs / 1000)), CONSOLE_MAX_SESSION_SECONDS);
}

/** getSigninToken's largest SessionDuration (12 hours). */
export const CONSOLE_MAX_SESSION_SECONDS = 43_200;
