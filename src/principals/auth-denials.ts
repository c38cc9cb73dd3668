import type { Clock } from '../adapters/clock.js';
import { appendAudit, systemActor, type AuditActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';

/** Why an identity was refused at the door; the audit's `details.reason`. */
export type AuthDeniedReason =
  | 'principal-disabled'
  | 'email-linked-to-another-identity'
  | 'email-linked-to-another-slack-user';

export interface AuthDenial {
  /** The principal the credential belongs to (disabled), or the one it was refused a match with. */
  principal: AuditActor;
  /** True when the credential is the principal's own (its key or token); false for a refused match. */
  ownCredential: boolean;
  via: Caller['via'];
  reason: AuthDeniedReason;
  sourceIp: string | null;
  /** What was presented, e.g. the OIDC subject or the Slack user id; never a secret. */
  presented?: Record<string, string>;
}

/**
 * Audits one refused authentication as `auth.denied`, in its own transaction (nothing else is
 * written). A refused match is Brevet's act, not the principal's: someone else presented an
 * identity that named it, so the actor is `system` and the principal is in the details.
 */
export async function auditAuthDenied(deps: { db: Db; clock: Clock }, denial: AuthDenial): Promise<void> {
  await deps.db.transaction((tx) =>
    appendAudit(tx, deps.clock, {
      actor: denial.ownCredential ? denial.principal : systemActor,
      action: 'auth.denied',
      sourceIp: denial.sourceIp,
      details: { reason: denial.reason, via: denial.via, principalId: denial.principal.id, ...denial.presented },
    }),
  );
}
