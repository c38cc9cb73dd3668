import { systemActor, type AuditEntry } from '../audit/writer.js';
import type { Caller } from '../domain/caller.js';
import type { Evidence } from '../domain/evidence.js';
import { nextEscalationAt } from '../domain/escalation.js';
import type { Decision, LifecycleEvent } from '../domain/lifecycle.js';
import type { ProfileVersion } from '../profiles/repo.js';
import { actorOf } from './access.js';
import type { RequestRow } from './repo.js';

/** What a create decides before it writes anything: the new row's own fields. */
export type Plan = Pick<
  RequestRow,
  | 'id'
  | 'durationSeconds'
  | 'justification'
  | 'ticket'
  | 'scope'
  | 'startsAt'
  | 'endsAt'
  | 'approvalsRequired'
  | 'breakGlass'
  | 'pendingExpiresAt'
  | 'remindAt'
>;

/** The new request's row, every column set: it is stored as it is and nothing is read back. */
export function newRequestRow(
  plan: Plan,
  decision: Extract<Decision, { ok: true }>,
  context: { caller: Caller; profile: ProfileVersion; evidence: Evidence | null; now: Date },
): RequestRow {
  const { caller, profile, now } = context;
  const pending = decision.status === 'pending';
  return {
    id: plan.id,
    kind: 'access',
    parentId: null,
    profileId: profile.profile.id,
    profileVersion: profile.version,
    requesterId: caller.id,
    status: decision.status,
    durationSeconds: plan.durationSeconds,
    justification: plan.justification,
    ticket: plan.ticket,
    scope: plan.scope,
    startsAt: decision.window?.startsAt ?? plan.startsAt,
    endsAt: decision.window?.endsAt ?? plan.endsAt,
    approvalsRequired: plan.approvalsRequired,
    breakGlass: plan.breakGlass,
    pendingExpiresAt: plan.pendingExpiresAt,
    remindAt: plan.remindAt,
    remindedAt: null,
    decidedAt: pending ? null : now,
    escalateAt: pending ? nextEscalationAt(profile.definition.approval.escalation, 0, now, plan.pendingExpiresAt) : null,
    escalatedTiers: 0,
    endingNoticeAt: null,
    revokedReason: null,
    denyPolicyStatus: null,
    revocationCleanupAt: null,
    denySweptBefore: null,
    evidence: context.evidence,
    slackChannel: profile.definition.notify.slackChannel,
    slackMessages: [],
    slackRender: 0,
    slackPostingUntil: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** `request.created`, then the events of the decision taken at creation (approval, activation). */
export function creationEvents(
  request: RequestRow,
  events: readonly LifecycleEvent[],
  context: { caller: Caller; profile: ProfileVersion; plan: Plan; evidence: Evidence | null; onCallSchedule: string | null },
): AuditEntry[] {
  const { caller, profile, plan, evidence, onCallSchedule } = context;
  const about = { requestId: request.id, profileId: request.profileId, sourceIp: caller.sourceIp };
  const created: AuditEntry = {
    ...about,
    actor: actorOf(caller),
    action: 'request.created',
    details: {
      profileVersion: profile.version,
      durationSeconds: request.durationSeconds,
      justification: request.justification,
      ticket: request.ticket,
      startsAt: plan.startsAt?.toISOString() ?? null,
      scope: request.scope,
      breakGlass: request.breakGlass,
      approvalsRequired: request.approvalsRequired,
      ...(evidence === null ? {} : { evidence }),
    },
  };
  const window = { startsAt: request.startsAt?.toISOString() ?? null, endsAt: request.endsAt?.toISOString() ?? null };
  return [
    created,
    ...events.map((event): AuditEntry => {
      if (onCallSchedule === null) return { ...about, actor: actorOf(caller), action: event, details: { ...window, breakGlass: request.breakGlass } };
      const provider = profile.definition.approval.onCall!.provider;
      return {
        ...about,
        actor: systemActor,
        action: event,
        details: { ...window, breakGlass: false, ...(event === 'request.approved' ? { reason: 'on-call', provider, scheduleId: onCallSchedule } : {}) },
      };
    }),
  ];
}
