import type { AuditRow } from './repo.js';

/** The public form of an event: also exactly the fields its hash covers (with prevHash and hash). */
export function auditView(row: AuditRow) {
  return {
    id: row.id.toString(),
    occurredAt: row.occurredAt.toISOString(),
    actor: { id: row.actorId, kind: row.actorKind },
    action: row.action,
    requestId: row.requestId,
    profileId: row.profileId,
    sourceIp: row.sourceIp,
    details: row.details as Record<string, unknown>,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
