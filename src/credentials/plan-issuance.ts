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
import { actorOf, maySeeRequest } from '../requests/access.js';
import { insertPendingIssuanceIfUnchanged, readIssuanceContext, type IssuanceContext } from './repo.js';

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

/** Reading and planning again because the request changed meanwhile ends after this many tries. */
const PLAN_ATTEMPTS = 5;

/**
 * Told of each plan as its write starts: `written` resolves true once it committed, false when
 * the request changed first (the plan is then dropped), and rejects when the write failed.
 */
export type WhileWriting = (plan: Plan, written: Promise<boolean>) => void;

/**
 * State, requester, conditions and the time left are checked (SPEC §3 rules 3 and 4) on one
 * consistent read, and the issuance is written as `pending` before any AWS call, on condition
 * that nothing it was judged on changed meanwhile (see insertPendingIssuanceIfUnchanged);
 * otherwise it is judged again on a fresh read. A refusal is audited and thrown. The plan
 * returned is the last one `whileWriting` was told of.
 */
export async function planIssuance(
  deps: { db: Db; clock: Clock },
  caller: Caller,
  requestId: string,
  kind: IssuanceKind,
  format: string,
  whileWriting: WhileWriting = () => undefined,
  firstRead?: Promise<IssuanceContext | undefined>,
): Promise<Plan> {
  for (let attempt = 1; attempt <= PLAN_ATTEMPTS; attempt += 1) {
    // A read started while the caller was being authenticated (src/http/read-ahead.ts) may be a
    // moment old: it may lead to a write (which lands only if nothing changed), never to a refusal.
    const early = attempt === 1 && firstRead !== undefined;
    const context = await (early ? firstRead : readIssuanceContext(deps.db, requestId));
    if (context === undefined) {
      if (early) continue;
      throw new Problem('not-found', 'no such request');
    }
    const judged = judgeIssuance(context, caller, kind, format, deps.clock.now());
    if ('refused' in judged) {
      if (early) continue;
      const { problem, reason, extra } = judged.refused;
      await appendAudit(deps.db, deps.clock, {
        actor: actorOf(caller),
        action: 'credentials.refused',
        requestId,
        profileId: context.request.profileId,
        sourceIp: caller.sourceIp,
        details: { reason, kind, status: context.request.status, ...extra },
      });
      throw problem;
    }
    const { plan } = judged;
    const pending = {
      id: plan.issuanceId,
      requestId,
      kind,
      sessionName: plan.assumeRole.sessionName,
      sourceIdentity: plan.assumeRole.sourceIdentity,
      sourceIp: caller.sourceIp,
      createdAt: judged.at,
    };
    const written = insertPendingIssuanceIfUnchanged(deps.db, pending, context.rowVersion);
    whileWriting(plan, written);
    if (await written) return plan;
  }
  throw new Problem('conflict', 'the request kept changing while credentials were planned; ask again');
}

type Judged = { plan: Plan; at: Date } | { refused: { problem: Problem; reason: string; extra?: Record<string, unknown> } };

/** The plan for one issuance, or why there is none, from what was read (no I/O). */
function judgeIssuance({ request, definition, profileDeleted, requesterDisabled }: IssuanceContext, caller: Caller, kind: IssuanceKind, format: string, now: Date): Judged {
  const refuse = (problem: Problem, reason: string, extra: Record<string, unknown> = {}): Judged => ({ refused: { problem, reason, extra } });

  if (!maySeeRequest(request, definition, caller, now)) return refuse(new Problem('not-found', 'no such request'), 'not-visible');
  if (caller.id !== request.requesterId) return refuse(new Problem('forbidden', 'only the requester receives credentials'), 'not-requester');
  // Authentication already refuses a disabled caller; this closes the race with a disable that
  // commits between authentication and this read (and the write checks it again).
  if (requesterDisabled) return refuse(new Problem('conflict', 'the requester is disabled'), 'requester-disabled');
  if (request.status !== 'active' || request.endsAt === null || request.endsAt <= now) {
    return refuse(new Problem('invalid-transition', `credentials are issued only while the request is active; it is ${request.status}`), 'not-active');
  }
  if (profileDeleted) return refuse(new Problem('invalid-transition', 'the profile of this request was deleted'), 'profile-deleted');
  const check = checkConditions(definition.conditions, { mfa: hasMfa(caller), sourceIp: caller.sourceIp, at: now });
  if (!check.ok) {
    return refuse(new Problem('condition-failed', check.detail, { condition: check.condition }), 'condition-failed', { condition: check.condition });
  }
  const length = sessionLengthFor(now, request.endsAt, definition.maxDurationSeconds);
  if (!length.ok) {
    const detail = `${length.secondsLeft} s remain in the window, and AWS STS issues no session shorter than ${MIN_SESSION_SECONDS} s`;
    return refuse(new Problem('window-too-short', detail), 'window-too-short', { secondsLeft: length.secondsLeft });
  }

  const sessionName = sessionNameFor(request.id);
  const sourceIdentity = sourceIdentityOf(caller);
  const policy = sessionPolicyFor(definition.sessionPolicy, request.scope as Scope | null);
  return {
    at: now,
    plan: {
      issuanceId: newId('iss'),
      requestId: request.id,
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
    },
  };
}
