import type { Clock } from '../adapters/clock.js';
import type { AssumeRoleInput } from '../adapters/aws/sts.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { hasMfa, type Caller } from '../domain/caller.js';
import { checkConditions } from '../domain/conditions.js';
import { sessionNameFor } from '../domain/deny-policy.js';
import { newId } from '../domain/ids.js';
import { MIN_SESSION_SECONDS } from '../domain/profile.js';
import { sessionLengthFor } from '../domain/session-duration.js';
import { sessionPolicyFor, windowCutOffPolicy, type Scope } from '../domain/session-policy.js';
import { Problem } from '../http/problems.js';
import { isDisabledLocked } from '../principals/repo.js';
import { findRequestProfile } from '../profiles/repo.js';
import { actorOf, maySeeRequest } from '../requests/access.js';
import { lockRequest } from '../requests/repo.js';
import { insertIssuance } from './repo.js';

export type IssuanceKind = 'credentials' | 'console';

/** One issuance decided and written as `pending`: what to ask STS, and the window it must fit. */
export interface Plan {
  issuanceId: string;
  requestId: string;
  profileId: string;
  kind: IssuanceKind;
  format: string;
  endsAt: Date;
  /** True when the session policy denies everything from `endsAt` on (STS's floor outlasts the window). */
  cutOffAtWindowEnd: boolean;
  assumeRole: AssumeRoleInput;
}

const SAFE_NAME = /[^\w+=,.@-]/g;

/** SourceIdentity and session names allow `[\w+=,.@-]`, 2..64 characters. */
export function sourceIdentityOf(caller: Pick<Caller, 'email' | 'id'>): string {
  const raw = (caller.email ?? caller.id).replace(SAFE_NAME, '-').slice(0, 64);
  return raw.length >= 2 ? raw : `${raw}--`.slice(0, 2);
}

/**
 * In one transaction with the request locked: state, requester, conditions and the time left
 * are checked (SPEC §3 rules 3 and 4), and the issuance is written as `pending` before any AWS
 * call, or the refusal is audited and thrown.
 */
export async function planIssuance(
  deps: { db: Db; clock: Clock },
  caller: Caller,
  requestId: string,
  kind: IssuanceKind,
  format: string,
): Promise<Plan> {
  const outcome = await deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined) return { refused: new Problem('not-found', 'no such request') };
    const profile = (await findRequestProfile(tx, request.profileId, request.profileVersion))!;
    const { definition } = profile;
    const now = deps.clock.now();

    const refuse = async (problem: Problem, reason: string, extra: Record<string, unknown> = {}) => {
      await appendAudit(tx, deps.clock, {
        actor: actorOf(caller),
        action: 'credentials.refused',
        requestId,
        profileId: request.profileId,
        sourceIp: caller.sourceIp,
        details: { reason, kind, status: request.status, ...extra },
      });
      return { refused: problem };
    };

    if (!maySeeRequest(request, definition, caller, now)) return refuse(new Problem('not-found', 'no such request'), 'not-visible');
    if (caller.id !== request.requesterId) return refuse(new Problem('forbidden', 'only the requester receives credentials'), 'not-requester');
    // Authentication already refuses a disabled caller; this closes the race with a disable that
    // commits between authentication and this transaction.
    if (await isDisabledLocked(tx, request.requesterId)) {
      return refuse(new Problem('conflict', 'the requester is disabled'), 'requester-disabled');
    }
    if (request.status !== 'active' || request.endsAt === null || request.endsAt <= now) {
      return refuse(new Problem('invalid-transition', `credentials are issued only while the request is active; it is ${request.status}`), 'not-active');
    }
    if (profile.deleted) {
      return refuse(new Problem('invalid-transition', 'the profile of this request was deleted'), 'profile-deleted');
    }
    const check = checkConditions(definition.conditions, { mfa: hasMfa(caller), sourceIp: caller.sourceIp, at: now });
    if (!check.ok) {
      return refuse(new Problem('condition-failed', check.detail, { condition: check.condition }), 'condition-failed', { condition: check.condition });
    }
    const length = sessionLengthFor(now, request.endsAt, definition.maxDurationSeconds);
    if (!length.ok) {
      const detail = `${length.secondsLeft} s remain in the window, and AWS STS issues no session shorter than ${MIN_SESSION_SECONDS} s`;
      return refuse(new Problem('window-too-short', detail), 'window-too-short', { secondsLeft: length.secondsLeft });
    }

    const issuanceId = newId('iss');
    const sessionName = sessionNameFor(request.id);
    const sourceIdentity = sourceIdentityOf(caller);
    await insertIssuance(tx, { id: issuanceId, requestId, kind, status: 'pending', sessionName, sourceIdentity, sourceIp: caller.sourceIp, createdAt: now });
    const policy = sessionPolicyFor(definition.sessionPolicy, request.scope as Scope | null);
    const plan: Plan = {
      issuanceId,
      requestId,
      profileId: request.profileId,
      kind,
      format,
      endsAt: request.endsAt,
      cutOffAtWindowEnd: length.cutOffAt !== null,
      assumeRole: {
        roleArn: definition.roleArn,
        sessionName,
        sourceIdentity,
        durationSeconds: length.durationSeconds,
        tags: { ...definition.sessionTags, 'brevet:request-id': request.id, 'brevet:requester': sourceIdentity },
        policy: length.cutOffAt === null ? policy : windowCutOffPolicy(policy, length.cutOffAt),
        externalId: definition.externalId,
        region: definition.region,
      },
    };
    return { plan };
  });
  if ('refused' in outcome) throw outcome.refused;
  return outcome.plan;
}
