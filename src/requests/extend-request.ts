import type { Clock } from '../adapters/clock.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { hasMfa, type Caller } from '../domain/caller.js';
import { checkConditions } from '../domain/conditions.js';
import { nextEscalationAt } from '../domain/escalation.js';
import { extensionPendingExpiry, planExtension } from '../domain/extension.js';
import { newId } from '../domain/ids.js';
import { decideOnCreation } from '../domain/lifecycle.js';
import { Problem } from '../http/problems.js';
import { humanTextField } from '../http/validation.js';
import { findProfileVersion, isProfileDeleted } from '../profiles/repo.js';
import { actorOf, maySeeRequest } from './access.js';
import { applyExtension } from './apply-extension.js';
import { recordChanges, scheduleChanges, type RequestChange, type RequestEffects } from './effects.js';
import { findExtension, insertRequest, lockRequest } from './repo.js';
import { loadRequestView } from './read-requests.js';
import type { RequestApiView } from './view.js';

type Deps = { db: Db; clock: Clock; effects: RequestEffects };

export interface ExtensionInput {
  /** Seconds added to the parent's window (≥ 900). */
  durationSeconds: number;
  justification: string;
  /**
   * The window end the caller saw (the Slack button carries it): the extension is refused once
   * the end moved or an extension from it was already asked, so a replayed click does nothing.
   */
  continuesFrom?: Date;
}

/**
 * `POST /v1/requests/{id}/extend` (SPEC §12): the requester of an active grant asks for more time.
 * The extension is a request of its own, linked to its parent and reviewed like any request under
 * the profile version's `approval.extension`; with `required: 0` it is approved at once and the
 * parent's end moves in this same transaction. The parent's row is locked throughout, so the
 * extension cannot race its parent's end, revocation or another extension.
 */
export async function extendRequest(deps: Deps, caller: Caller, parentId: string, input: ExtensionInput): Promise<RequestApiView> {
  const justification = humanTextField('/body/justification', input.justification);
  const outcome = await deps.db.transaction(async (tx) => {
    const parent = await lockRequest(tx, parentId);
    const definition = parent === undefined ? undefined : await findProfileVersion(tx, parent.profileId, parent.profileVersion);
    const now = deps.clock.now();
    if (parent === undefined || definition === undefined || !maySeeRequest(parent, definition, caller, now)) {
      return { refused: new Problem('not-found', 'no such request') };
    }
    const refuse = async (problem: Problem, reason: string, extra: Record<string, unknown> = {}) => {
      await appendAudit(tx, deps.clock, {
        actor: actorOf(caller),
        action: 'request.refused',
        requestId: parent.id,
        profileId: parent.profileId,
        sourceIp: caller.sourceIp,
        details: { reason, command: 'extend', status: parent.status, ...extra },
      });
      return { refused: problem };
    };

    // Audited like every refusal below (SPEC §3 rule 9).
    if (parent.requesterId !== caller.id) return refuse(new Problem('forbidden', 'only the requester extends this request'), 'not-allowed');

    const policy = definition.approval.extension;
    const plan = planExtension(parent, policy, input.durationSeconds, now);
    if (!plan.ok && plan.refusal.reason === 'not-active') {
      return refuse(new Problem('invalid-transition', `only an active request is extended; this one is ${parent.kind === 'extension' ? 'an extension' : parent.status}`), 'not-active');
    }
    if (await isProfileDeleted(tx, parent.profileId)) return refuse(new Problem('invalid-transition', 'the profile of this request was deleted'), 'profile-deleted');
    if (input.continuesFrom !== undefined && (parent.endsAt?.getTime() !== input.continuesFrom.getTime() || (await findExtension(tx, parent.id, { startsAt: input.continuesFrom })) !== undefined)) {
      return refuse(new Problem('conflict', 'this window was already extended, or an extension of it asked for'), 'already-extended');
    }
    // Bad input is named as such (400) before any conflict with the request's state (409).
    if (!plan.ok) {
      const message =
        plan.refusal.reason === 'too-long'
          ? `would make the window ${plan.refusal.totalSeconds} s long; this profile allows at most ${plan.refusal.maxTotalSeconds} s with extensions`
          : 'must add at least 900 seconds';
      return { refused: new Problem('validation', `/body/durationSeconds ${message}`, { errors: [{ field: '/body/durationSeconds', message }] }) };
    }
    if ((await findExtension(tx, parent.id, { pending: true })) !== undefined) {
      return refuse(new Problem('conflict', 'an extension of this request is already waiting for review'), 'extension-pending');
    }
    const check = checkConditions(definition.conditions, {
      mfa: hasMfa(caller),
      sourceIp: caller.sourceIp,
      at: now,
      request: { ticket: parent.ticket, justification },
    });
    if (!check.ok) {
      return refuse(new Problem('condition-failed', check.detail, { condition: check.condition }), 'condition-failed', { condition: check.condition });
    }

    const remindAt = definition.approval.remindAfterSeconds === null ? null : new Date(now.getTime() + definition.approval.remindAfterSeconds * 1000);
    const pendingExpiresAt = extensionPendingExpiry(plan.window.startsAt, now, definition.approval.pendingTtlSeconds);
    const row = {
      id: newId('req'),
      kind: 'extension' as const,
      parentId: parent.id,
      profileId: parent.profileId,
      profileVersion: parent.profileVersion,
      requesterId: caller.id,
      durationSeconds: input.durationSeconds,
      justification,
      ticket: parent.ticket,
      scope: parent.scope,
      // The window it adds: from the parent's current end, with no gap.
      startsAt: plan.window.startsAt,
      endsAt: plan.window.endsAt,
      approvalsRequired: policy.required,
      breakGlass: false,
      pendingExpiresAt,
      remindAt: remindAt !== null && remindAt < pendingExpiresAt ? remindAt : null,
      slackChannel: definition.notify.slackChannel,
    };
    const decision = decideOnCreation({ ...row, status: 'pending', reviews: [] }, now);
    if (!decision.ok) throw new Error('a new extension cannot be refused by the lifecycle');
    const pending = decision.status === 'pending';
    const extension = await insertRequest(tx, {
      ...row,
      status: decision.status,
      decidedAt: pending ? null : now,
      escalateAt: pending ? nextEscalationAt(definition.approval.escalation, 0, now, pendingExpiresAt) : null,
      createdAt: now,
      updatedAt: now,
    });
    const audit = (action: string, details: Record<string, unknown>) =>
      appendAudit(tx, deps.clock, { actor: actorOf(caller), action, requestId: extension.id, profileId: extension.profileId, sourceIp: caller.sourceIp, details });
    await audit('request.created', {
      kind: 'extension',
      parentId: parent.id,
      profileVersion: extension.profileVersion,
      durationSeconds: extension.durationSeconds,
      justification,
      startsAt: row.startsAt.toISOString(),
      endsAt: row.endsAt.toISOString(),
      approvalsRequired: extension.approvalsRequired,
    });
    for (const event of decision.events) await audit(event, { parentId: parent.id, startsAt: row.startsAt.toISOString(), endsAt: row.endsAt.toISOString() });

    const followUps: RequestChange[] = [];
    if (decision.status === 'ended') {
      await applyExtension(tx, deps.clock, parent, extension, { actor: actorOf(caller), sourceIp: caller.sourceIp });
      followUps.push({ requestId: parent.id, events: ['request.extended'] });
    }
    const changes = await recordChanges(deps.effects, tx, [{ requestId: extension.id, events: ['request.created', ...decision.events] }, ...followUps]);
    return { extension, changes };
  });
  if ('refused' in outcome) throw outcome.refused;
  await scheduleChanges(deps.effects, outcome.changes);
  return loadRequestView(deps.db, outcome.extension);
}
