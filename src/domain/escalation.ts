/**
 * Escalation tiers (SPEC §12): approvers who may also review a request still pending after
 * `afterSeconds`, counted from its creation. Who approves is answered by request-access.ts; this
 * module answers when each tier is announced (notified, audited `request.escalated`). Pure.
 */
import type { EscalationTier } from './profile.js';

/**
 * When the next tier after the first `announced` ones is due, or null when none is left or it
 * would come after the request stops waiting (`pendingExpiresAt`): then it never escalates.
 */
export function nextEscalationAt(tiers: readonly EscalationTier[], announced: number, createdAt: Date, pendingExpiresAt: Date): Date | null {
  const next = tiers[announced];
  if (next === undefined) return null;
  const at = new Date(createdAt.getTime() + next.afterSeconds * 1000);
  return at < pendingExpiresAt ? at : null;
}

/**
 * The tiers to announce now, after the first `announced`: every one whose moment has passed (a
 * late job announces several at once, in order), with its 1-based number.
 */
export function tiersDue(tiers: readonly EscalationTier[], announced: number, createdAt: Date, now: Date): { tier: number; afterSeconds: number; approverGroups: string[] }[] {
  const pendingSeconds = (now.getTime() - createdAt.getTime()) / 1000;
  return tiers
    .map((t, i) => ({ tier: i + 1, afterSeconds: t.afterSeconds, approverGroups: t.approverGroups }))
    .slice(announced)
    .filter((t) => t.afterSeconds <= pendingSeconds);
}
