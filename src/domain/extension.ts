/**
 * Extending an active grant (SPEC §12). An extension is a request of its own, reviewed like any
 * other under the profile's `approval.extension`; once approved it is a record, and its parent's
 * window end moves later by exactly the seconds it asked for. Pure: the caller persists.
 */
import { MIN_SESSION_SECONDS, type ExtensionPolicy } from './profile.js';
import type { RequestStatus } from './lifecycle.js';

/** What the rules need to know about the request being extended. */
export interface ExtensibleFacts {
  kind: 'access' | 'extension';
  status: RequestStatus;
  startsAt: Date | null;
  endsAt: Date | null;
}

export type ExtensionRefusal =
  /** Only an active grant is extended (an extension itself never is: it is never active). */
  | { reason: 'not-active' }
  /** The window with the extension would last longer than `maxTotalSeconds`. */
  | { reason: 'too-long'; totalSeconds: number; maxTotalSeconds: number }
  /** Fewer than MIN_SESSION_SECONDS added: STS could not even use them on their own. */
  | { reason: 'too-short' };

export type ExtensionPlan =
  | {
      ok: true;
      /** The window the extension adds: from the parent's current end, `addSeconds` long. */
      window: { startsAt: Date; endsAt: Date };
      /** The parent's whole window once extended. */
      totalSeconds: number;
    }
  | { ok: false; refusal: ExtensionRefusal };

function isLive(parent: ExtensibleFacts, now: Date): parent is ExtensibleFacts & { startsAt: Date; endsAt: Date } {
  return parent.kind === 'access' && parent.status === 'active' && parent.startsAt !== null && parent.endsAt !== null && parent.endsAt > now;
}

/**
 * Whether `parent` may be extended by `addSeconds` now. The total is the parent's current window
 * (earlier extensions included) plus the seconds added, and must fit `maxTotalSeconds`.
 */
export function planExtension(parent: ExtensibleFacts, policy: ExtensionPolicy, addSeconds: number, now: Date): ExtensionPlan {
  if (!isLive(parent, now)) return { ok: false, refusal: { reason: 'not-active' } };
  if (!Number.isInteger(addSeconds) || addSeconds < MIN_SESSION_SECONDS) return { ok: false, refusal: { reason: 'too-short' } };
  const currentSeconds = (parent.endsAt.getTime() - parent.startsAt.getTime()) / 1000;
  const totalSeconds = currentSeconds + addSeconds;
  if (totalSeconds > policy.maxTotalSeconds) {
    return { ok: false, refusal: { reason: 'too-long', totalSeconds, maxTotalSeconds: policy.maxTotalSeconds } };
  }
  return { ok: true, window: { startsAt: parent.endsAt, endsAt: new Date(parent.endsAt.getTime() + addSeconds * 1000) }, totalSeconds };
}

/**
 * The parent's new window end once an extension is approved: later by exactly the seconds the
 * extension asked for, with no gap. Refused when the parent is no longer live, or its end is not
 * where the extension continues from (it cannot be: one extension is pending at a time and only
 * an approval moves the end — this holds the line should that ever change).
 */
export function extendedEnd(
  parent: ExtensibleFacts & { durationSeconds: number },
  extension: { startsAt: Date | null; durationSeconds: number },
  now: Date,
): { ok: true; endsAt: Date; durationSeconds: number } | { ok: false; reason: 'not-active' | 'moved' } {
  if (!isLive(parent, now)) return { ok: false, reason: 'not-active' };
  if (extension.startsAt === null || extension.startsAt.getTime() !== parent.endsAt.getTime()) return { ok: false, reason: 'moved' };
  return {
    ok: true,
    endsAt: new Date(parent.endsAt.getTime() + extension.durationSeconds * 1000),
    durationSeconds: parent.durationSeconds + extension.durationSeconds,
  };
}

/** A pending extension waits for review until its TTL, and never past its parent's end. */
export function extensionPendingExpiry(parentEndsAt: Date, now: Date, pendingTtlSeconds: number): Date {
  const ttl = new Date(now.getTime() + pendingTtlSeconds * 1000);
  return parentEndsAt < ttl ? parentEndsAt : ttl;
}
