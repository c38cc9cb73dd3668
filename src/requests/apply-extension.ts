import type { Clock } from '../adapters/clock.js';
import { appendAudit, type AuditActor } from '../audit/writer.js';
import type { Tx } from '../db/client.js';
import { extendedEnd } from '../domain/extension.js';
import { updateRequest, type RequestRow } from './repo.js';

/**
 * Moves the parent's end once its extension is approved (SPEC §12), in the transaction that
 * approved it, both rows locked (parent first): later by exactly the seconds the extension asked
 * for, audited `request.extended` on the parent. The requester hears again before the new end.
 * The refusal (parent no longer active) is checked by the caller first with `extendedEnd`.
 */
export async function applyExtension(
  tx: Tx,
  clock: Clock,
  parent: RequestRow,
  extension: RequestRow,
  context: { actor: AuditActor; sourceIp: string | null },
): Promise<RequestRow> {
  const now = clock.now();
  const moved = extendedEnd(parent, extension, now);
  if (!moved.ok) throw new Error(`extension ${extension.id} cannot apply to ${parent.id}: ${moved.reason}`);
  const updated = await updateRequest(tx, parent.id, { endsAt: moved.endsAt, durationSeconds: moved.durationSeconds, endingNoticeAt: null, updatedAt: now });
  await appendAudit(tx, clock, {
    actor: context.actor,
    action: 'request.extended',
    requestId: parent.id,
    profileId: parent.profileId,
    sourceIp: context.sourceIp,
    details: {
      extensionId: extension.id,
      durationSeconds: extension.durationSeconds,
      previousEndsAt: parent.endsAt?.toISOString() ?? null,
      endsAt: moved.endsAt.toISOString(),
    },
  });
  return updated;
}
