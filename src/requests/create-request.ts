import { createHash } from 'node:crypto';
import type { Clock } from '../adapters/clock.js';
import { canonicalJson } from '../audit/proof.js';
import { appendAudit, auditEventsJson } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { hasMfa, type Caller } from '../domain/caller.js';
import { checkConditions } from '../domain/conditions.js';
import { newId } from '../domain/ids.js';
import { decideOnCreation } from '../domain/lifecycle.js';
import { MIN_SESSION_SECONDS, type ProfileDefinition } from '../domain/profile.js';
import { checkScope, sessionPolicyFor, type Scope } from '../domain/session-policy.js';
import { refuseErrors, validatePolicy, type ValidateDeps } from '../evidence/validate-policy.js';
import { checkSensitiveAccess, type SensitiveAccessDeps } from '../evidence/sensitive-access.js';
import { approvalsRequiredFor, raisesApprovals } from '../domain/evidence.js';
import { Problem } from '../http/problems.js';
import { humanTextField } from '../http/validation.js';
import { mayRequest } from '../profiles/manage-profiles.js';
import { findCurrentProfile, forgetProfile, rememberedProfile, rememberProfile, type ProfileVersion } from '../profiles/repo.js';
import { actorOf } from './access.js';
import { creationEvents, newRequestRow, type Plan } from './new-request.js';
import { onCallScheduleOf, type OnCallDeps } from './on-call-approval.js';
import { recordChanges, scheduleChanges, type RequestEffects } from './effects.js';
import { holdOpenPendingCap, OpenPendingCapReached } from './open-pending-cap.js';
import { claimIdempotencyKey, findIdempotencyKey, findRequest, insertRequestWithAudit } from './repo.js';
import { loadRequestView } from './read-requests.js';
import { requestApiView, type RequestApiView } from './view.js';

type Deps = { db: Db; clock: Clock; effects: RequestEffects } & OnCallDeps & ValidateDeps & SensitiveAccessDeps;

export interface NewRequest {
  profile: string;
  durationSeconds?: number;
  justification: string;
  ticket?: string | null;
  startsAt?: string | null;
  scope?: Scope | null;
  breakGlass?: boolean;
}

/**
 * A start this far in the past is still "now": clocks of clients and servers differ a little.
 * A start in the future, however near, is kept: access never begins before the time asked for.
 */
const START_TOLERANCE_MS = 60_000;
/** Scheduled access is for planned work, not standing access booked far ahead. */
const MAX_SCHEDULE_AHEAD_MS = 90 * 86_400_000;

/**
 * Opens a request (SPEC §1, §2, §3 rules 3 and 9). Eligibility and every condition are checked
 * first; a refusal is audited as `request.refused` and creates nothing. With an Idempotency-Key,
 * a retry returns the request the first call created, even when the calls race.
 */
export async function createRequest(
  deps: Deps,
  caller: Caller,
  input: NewRequest,
  idempotencyKey?: string,
): Promise<{ view: RequestApiView; replayed: boolean }> {
  // Only a call with an Idempotency-Key needs its body's hash (to tell a retry from a different request).
  const idempotency =
    idempotencyKey === undefined ? undefined : { key: idempotencyKey, requestHash: createHash('sha256').update(canonicalJson(input)).digest('hex') };
  // Free text is checked and normalised first, for the API and Slack alike (see humanText).
  input = {
    ...input,
    justification: humanTextField('/body/justification', input.justification),
    ...(input.ticket === undefined ? {} : { ticket: ticketOf(input.ticket) }),
  };
  if (idempotency !== undefined) {
    const replay = await replayOf(deps, caller, idempotency.key, idempotency.requestHash);
    if (replay !== undefined) return { view: replay, replayed: true };
  }

  // The profile version an earlier create read spares this one the read. Nothing decided from it
  // counts unless it is still current: the INSERT writes only if it is (in its own snapshot), and a
  // refusal or a 400 is answered only after a fresh read shows it unchanged. A changed, renamed or
  // deleted profile costs one more round trip, never a request judged by an old version.
  const remembered = rememberedProfile(deps.db, input.profile);
  if (remembered !== undefined) {
    try {
      return await createFor(deps, caller, input, idempotency, { profile: remembered, confirm: () => confirmCurrent(deps, input.profile, remembered) });
    } catch (error) {
      if (!(error instanceof ProfileChanged)) throw error;
    }
  }
  const profile = await findCurrentProfile(deps.db, input.profile);
  if (profile === undefined) throw noSuchProfile(input.profile);
  rememberProfile(deps.db, input.profile, profile);
  return createFor(deps, caller, input, idempotency, { profile });
}

/** The profile version a create was judged by is no longer current: it starts again with a fresh read. */
class ProfileChanged extends Error {}

async function confirmCurrent(deps: Deps, ref: string, remembered: ProfileVersion): Promise<void> {
  const fresh = await findCurrentProfile(deps.db, ref);
  if (fresh !== undefined && fresh.profile.id === remembered.profile.id && fresh.profile.name === remembered.profile.name && fresh.version === remembered.version) return;
  forgetProfile(deps.db, ref);
  throw new ProfileChanged();
}

/** A refusal decided while planning, audited (SPEC §3 rule 9) once the profile it was judged by is confirmed. */
class Refused extends Error {
  constructor(
    readonly problem: Problem,
    readonly reason: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

async function createFor(
  deps: Deps,
  caller: Caller,
  input: NewRequest,
  idempotency: { key: string; requestHash: string } | undefined,
  source: { profile: ProfileVersion; confirm?: () => Promise<void> },
): Promise<{ view: RequestApiView; replayed: boolean }> {
  const { profile, confirm } = source;
  const now = deps.clock.now();
  const prepared = await prepare(deps, caller, profile, input, now).catch(async (error: unknown) => {
    await confirm?.();
    if (error instanceof Refused) await auditRefusal(deps, caller, profile, error.reason, error.extra);
    throw error instanceof Refused ? error.problem : error;
  });
  const { request, decision, audit } = prepared;
  const change = { requestId: request.id, events: ['request.created' as const, ...decision.events], known: { request, profileName: profile.profile.name } };
  // A remembered version is written only if it is still the current one (see createRequest).
  const ifProfileNamed = confirm === undefined ? undefined : profile.profile.name;

  // The common case needs no transaction of its own: nothing to claim, no cap to hold, no outbox
  // rows. The request and its events are then one statement, committed by itself.
  const capped = decision.status === 'pending' && profile.definition.requesters.maxOpenPending > 0;
  const recorded = idempotency === undefined && !capped ? deps.effects.recordWithoutWrites(change) : undefined;
  if (recorded !== undefined) {
    if (!(await insertRequestWithAudit(deps.db, request, audit, ifProfileNamed))) throw new ProfileChanged();
    await scheduleChanges(deps.effects, [recorded]);
    return { view: requestApiView(request, [], profile.profile.name), replayed: false };
  }

  const created = await deps.db.transaction(async (tx) => {
    if (idempotency !== undefined) {
      const claim = await claimIdempotencyKey(tx, {
        principalId: caller.id,
        key: idempotency.key,
        requestHash: idempotency.requestHash,
        requestId: request.id,
        createdAt: now,
      });
      if (!claim.claimed) return { kind: 'replay' as const, requestId: claim.requestId, requestHash: claim.requestHash };
    }
    if (decision.status === 'pending') await holdOpenPendingCap(tx, caller, profile);
    if (!(await insertRequestWithAudit(tx, request, audit, ifProfileNamed))) throw new ProfileChanged();
    return { kind: 'created' as const, changes: await recordChanges(deps.effects, tx, [change]) };
  }).catch(async (error: unknown) => {
    // Over the cap, the transaction rolled back (an Idempotency-Key it claimed is free again);
    // the refusal is audited in a transaction of its own, as other refusals are.
    if (!(error instanceof OpenPendingCapReached)) throw error;
    await confirm?.();
    await auditRefusal(deps, caller, profile, 'max-open-pending', { maxOpenPending: error.cap });
    throw error.problem;
  });

  if (created.kind === 'replay') {
    if (created.requestHash !== idempotency?.requestHash) throw idempotencyMismatch();
    return { view: await viewOf(deps, created.requestId), replayed: true };
  }
  await scheduleChanges(deps.effects, created.changes);
  // A new request has no reviews yet, and its profile's name was read with it: nothing to read again.
  return { view: requestApiView(request, [], profile.profile.name), replayed: false };
}

/** Everything a create decides before it writes: the plan, the checks that call out, the decision, the row and its events. */
async function prepare(deps: Deps, caller: Caller, profile: ProfileVersion, input: NewRequest, now: Date) {
  const planned = await planOrRefuse(deps, caller, profile, input, now);
  // Outside any transaction, like every network call below: no row is locked while AWS or PagerDuty answer.
  const approval = profile.definition.approval;
  const evidence = deps.config.evidence.enabled
    ? await checkSensitiveAccess(deps, profile.definition, sessionPolicyFor(profile.definition.sessionPolicy, planned.scope as Scope | null))
    : null;
  const plan = { ...planned, approvalsRequired: approvalsRequiredFor(approval, evidence) };
  // Sensitive access (or an unchecked grant) keeps the approvals sensitiveRequired asks for: no on-call shortcut.
  const needsApproval = plan.approvalsRequired > 0 && !plan.breakGlass && !raisesApprovals(approval, evidence);
  const onCallSchedule = needsApproval ? await onCallScheduleOf(deps, caller, profile.definition.approval.onCall) : null;

  const facts = { ...plan, kind: 'access' as const, reviews: [], status: 'pending' as const, requesterId: caller.id, endsAt: plan.endsAt };
  // On call now: the whole approval is the system's, whatever `required` says (SPEC §12).
  const decision = decideOnCreation(onCallSchedule === null ? facts : { ...facts, approvalsRequired: 0 }, now);
  if (!decision.ok) throw new Error('a new request cannot be refused by the lifecycle');
  const request = newRequestRow(plan, decision, { caller, profile, evidence, now });
  const audit = auditEventsJson(creationEvents(request, decision.events, { caller, profile, plan, evidence, onCallSchedule }), deps.clock);
  return { request, decision, audit };
}

/** Everything decided before the transaction: eligibility, input rules, conditions. */
async function planOrRefuse(deps: Deps, caller: Caller, profile: ProfileVersion, input: NewRequest, now: Date): Promise<Plan> {
  const definition = profile.definition;
  const refuse = (problem: Problem, reason: string, extra: Record<string, unknown> = {}): never => {
    throw new Refused(problem, reason, extra);
  };

  if (!mayRequest(definition, caller)) {
    // SPEC §7's not-eligible, even for a profile the caller may not list: that its name exists is
    // all it tells, and the refusal is audited (SPEC §3 rule 9).
    return refuse(new Problem('not-eligible', 'you may not request this profile'), 'not-eligible');
  }
  if (input.breakGlass === true && !definition.approval.breakGlass) {
    return refuse(new Problem('not-eligible', 'this profile has no break-glass access'), 'break-glass-not-allowed');
  }

  const durationSeconds = input.durationSeconds ?? definition.defaultDurationSeconds;
  if (durationSeconds < MIN_SESSION_SECONDS || durationSeconds > definition.maxDurationSeconds) {
    throw fieldProblem('durationSeconds', `must be from ${MIN_SESSION_SECONDS} to ${definition.maxDurationSeconds} for this profile`);
  }
  const startsAt = scheduledStart(input.startsAt, now);
  if (startsAt !== null && input.breakGlass === true) throw fieldProblem('startsAt', 'break-glass access starts now; omit startsAt');

  if (input.scope !== undefined && input.scope !== null) {
    const scopeCheck = checkScope(definition.sessionPolicy, input.scope);
    if (!scopeCheck.ok) throw fieldProblem('scope', `may only narrow the profile's access: ${scopeCheck.reason}`);
    if (deps.config.evidence.enabled) {
      // The session policy this scope makes (SPEC §13). Access Analyzer unreachable: STS still
      // judges the policy at issuance, so the request goes on.
      const validation = await validatePolicy(deps, sessionPolicyFor(definition.sessionPolicy, input.scope)!);
      if (validation.ok) refuseErrors(validation.findings, '/body/scope');
    }
  }

  const at = startsAt ?? now;
  const ticket = input.ticket ?? null;
  const check = checkConditions(definition.conditions, {
    mfa: hasMfa(caller),
    sourceIp: caller.sourceIp,
    at,
    request: { ticket, justification: input.justification },
  });
  if (!check.ok) {
    return refuse(new Problem('condition-failed', check.detail, { condition: check.condition }), 'condition-failed', { condition: check.condition });
  }

  const endsAt = startsAt === null ? null : new Date(startsAt.getTime() + durationSeconds * 1000);
  return {
    id: newId('req'),
    durationSeconds,
    justification: input.justification,
    ticket,
    scope: input.scope ?? null,
    startsAt,
    endsAt,
    approvalsRequired: definition.approval.required,
    breakGlass: input.breakGlass === true,
    pendingExpiresAt: pendingExpiry(definition, now, endsAt),
    remindAt: definition.approval.remindAfterSeconds === null ? null : new Date(now.getTime() + definition.approval.remindAfterSeconds * 1000),
  };
}

/** `request.refused` (SPEC §3 rule 9), committed on its own: the refused request wrote nothing. */
async function auditRefusal(deps: Deps, caller: Caller, profile: ProfileVersion, reason: string, extra: Record<string, unknown>): Promise<void> {
  await deps.db.transaction((tx) =>
    appendAudit(tx, deps.clock, {
      actor: actorOf(caller),
      action: 'request.refused',
      profileId: profile.profile.id,
      sourceIp: caller.sourceIp,
      details: { reason, ...extra },
    }),
  );
}

function scheduledStart(raw: string | null | undefined, now: Date): Date | null {
  if (raw === undefined || raw === null) return null;
  const startsAt = new Date(raw);
  if (Number.isNaN(startsAt.getTime())) throw fieldProblem('startsAt', 'must be an ISO-8601 date-time');
  const ahead = startsAt.getTime() - now.getTime();
  if (ahead < -START_TOLERANCE_MS) throw fieldProblem('startsAt', 'is in the past');
  if (ahead > MAX_SCHEDULE_AHEAD_MS) throw fieldProblem('startsAt', 'is more than 90 days ahead');
  return ahead <= 0 ? null : startsAt;
}

/** A scheduled request cannot wait for approval past the end of the window it asks for. */
function pendingExpiry(definition: ProfileDefinition, now: Date, endsAt: Date | null): Date {
  const ttl = new Date(now.getTime() + definition.approval.pendingTtlSeconds * 1000);
  return endsAt !== null && endsAt < ttl ? endsAt : ttl;
}

async function replayOf(deps: Deps, caller: Caller, key: string, requestHash: string): Promise<RequestApiView | undefined> {
  const existing = await findIdempotencyKey(deps.db, caller.id, key);
  if (existing === undefined) return undefined;
  if (existing.requestHash !== requestHash) throw idempotencyMismatch();
  return viewOf(deps, existing.requestId);
}

async function viewOf(deps: Deps, requestId: string): Promise<RequestApiView> {
  return loadRequestView(deps.db, (await findRequest(deps.db, requestId))!);
}

const noSuchProfile = (ref: string) => new Problem('not-found', `no profile ${ref}`);

/** A ticket is text like any other; one with nothing visible in it is refused rather than matched. */
function ticketOf(raw: string | null): string | null {
  return raw === null ? null : humanTextField('/body/ticket', raw);
}

const idempotencyMismatch = () => new Problem('conflict', 'this Idempotency-Key was used with a different request body');

function fieldProblem(field: string, message: string): Problem {
  return new Problem('validation', `/body/${field} ${message}`, { errors: [{ field: `/body/${field}`, message }] });
}
