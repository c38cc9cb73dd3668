import type { Clock } from '../adapters/clock.js';
import type { ConsoleSignIn } from '../adapters/aws/federation.js';
import { FederationFailure } from '../adapters/aws/federation.js';
import { StsFailure, type CredentialIssuer, type SessionCredentials } from '../adapters/aws/sts.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { hasMfa, type Caller } from '../domain/caller.js';
import { checkConditions } from '../domain/conditions.js';
import { sessionNameFor } from '../domain/deny-policy.js';
import { newId } from '../domain/ids.js';
import { MIN_SESSION_SECONDS } from '../domain/profile.js';
import { sessionPolicyFor, type Scope } from '../domain/session-policy.js';
import { Problem } from '../http/problems.js';
import { findProfileVersion, isProfileDeleted } from '../profiles/repo.js';
import { actorOf, maySeeRequest } from '../requests/access.js';
import { lockRequest, updateRequest } from '../requests/repo.js';
import { completeIssuance, insertIssuance } from './repo.js';
import { stsProblem } from './sts-problems.js';

export interface IssueDeps {
  db: Db;
  clock: Clock;
  sts: CredentialIssuer;
  consoleSignIn: ConsoleSignIn;
}

export type IssuanceKind = 'credentials' | 'console';

const SAFE_NAME = /[^\w+=,.@-]/g;

/**
 * STS counts the duration from when it handles the call, not from when Brevet computed it:
 * this much of the window is kept back so that the call's own time (timeouts and retries
 * included) cannot push Expiration past the window end.
 */
export const ISSUANCE_MARGIN_SECONDS = 20;

/** SourceIdentity and session names allow `[\w+=,.@-]`, 2..64 characters. */
export function sourceIdentityOf(caller: Pick<Caller, 'email' | 'id'>): string {
  const raw = (caller.email ?? caller.id).replace(SAFE_NAME, '-').slice(0, 64);
  return raw.length >= 2 ? raw : `${raw}--`.slice(0, 2);
}

/**
 * One STS session for an active request, by its requester (SPEC §3 rules 3–5, §4.1).
 *
 * 1. In one transaction with the request locked: state, requester, conditions and the time
 *    left are checked, and the issuance is written as `pending` (or the refusal audited).
 * 2. STS is called outside any transaction.
 * 3. In a second transaction the issuance is completed and audited. If the request was
 *    revoked or cancelled in between, the credentials are recorded but not handed out.
 */
export async function issueSession(deps: IssueDeps, caller: Caller, requestId: string, kind: IssuanceKind, format: string): Promise<SessionCredentials> {
  const plan = await planIssuance(deps, caller, requestId, kind);

  let credentials: SessionCredentials;
  try {
    credentials = await deps.sts.assumeRole(plan.assumeRole);
  } catch (error) {
    await recordFailure(deps, caller, plan, error instanceof StsFailure ? `${error.kind}: ${error.message}` : 'unexpected error');
    throw error instanceof StsFailure ? stsProblem(error) : error;
  }

  const withheldStatus = await deps.db.transaction(async (tx) => {
    const request = (await lockRequest(tx, requestId))!;
    await completeIssuance(tx, plan.issuanceId, {
      status: 'issued',
      accessKeyId: credentials.accessKeyId,
      expiresAt: credentials.expiration,
      completedAt: deps.clock.now(),
    });
    // Rule 4 holds on what AWS answered, whatever its clock: a late expiration is not handed out.
    const tooLate = request.endsAt !== null && credentials.expiration > request.endsAt;
    const withheld = request.status !== 'active' || tooLate;
    if (withheld && request.denyPolicyStatus !== null && (request.revocationCleanupAt ?? new Date(0)) < credentials.expiration) {
      // The deny statement must outlive this credential too.
      await updateRequest(tx, requestId, { revocationCleanupAt: credentials.expiration });
    }
    await appendAudit(tx, deps.clock, {
      actor: actorOf(caller),
      action: 'credentials.issued',
      requestId,
      profileId: request.profileId,
      sourceIp: caller.sourceIp,
      details: {
        issuanceId: plan.issuanceId,
        kind,
        format,
        accessKeyId: credentials.accessKeyId,
        sessionName: plan.assumeRole.sessionName,
        sourceIdentity: plan.assumeRole.sourceIdentity,
        roleArn: plan.assumeRole.roleArn,
        durationSeconds: plan.assumeRole.durationSeconds,
        expiration: credentials.expiration.toISOString(),
        ...(withheld
          ? { withheld: true, reason: tooLate ? 'AWS set an expiration past the window end' : `the request became ${request.status} during issuance` }
          : {}),
      },
    });
    if (!withheld) return null;
    return tooLate ? 'expiration-past-window' : request.status;
  });
  // Thrown after the commit: throwing inside the transaction would roll back the record of
  // credentials that exist in AWS (issuance left `pending`, no audit event of them).
  if (withheldStatus === 'expiration-past-window') {
    throw new Problem('upstream-sts', "AWS set the session's expiration past the window end (clock skew); the credentials were withheld");
  }
  if (withheldStatus !== null) throw new Problem('invalid-transition', `the request is ${withheldStatus}`);
  return credentials;
}

/** A console sign-in URL for an active request: one issuance, then the federation exchange. */
export async function consoleSignInUrl(deps: IssueDeps, caller: Caller, requestId: string): Promise<{ url: string; expiration: Date }> {
  const credentials = await issueSession(deps, caller, requestId, 'console', 'console');
  try {
    return { url: await deps.consoleSignIn.signInUrl(credentials, 'brevet'), expiration: credentials.expiration };
  } catch (error) {
    if (error instanceof FederationFailure) throw new Problem('upstream-sts', `${error.message}; check BREVET_FEDERATION_URL`);
    throw error;
  }
}

interface Plan {
  issuanceId: string;
  requestId: string;
  profileId: string;
  assumeRole: Parameters<CredentialIssuer['assumeRole']>[0];
}

async function planIssuance(deps: IssueDeps, caller: Caller, requestId: string, kind: IssuanceKind): Promise<Plan> {
  const outcome = await deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined) return { refused: new Problem('not-found', 'no such request') };
    const definition = (await findProfileVersion(tx, request.profileId, request.profileVersion))!;
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
    if (request.status !== 'active' || request.endsAt === null || request.endsAt <= now) {
      return refuse(new Problem('invalid-transition', `credentials are issued only while the request is active; it is ${request.status}`), 'not-active');
    }
    if (await isProfileDeleted(tx, request.profileId)) {
      return refuse(new Problem('invalid-transition', 'the profile of this request was deleted'), 'profile-deleted');
    }
    const check = checkConditions(definition.conditions, { mfa: hasMfa(caller), sourceIp: caller.sourceIp, at: now });
    if (!check.ok) {
      return refuse(new Problem('condition-failed', check.detail, { condition: check.condition }), 'condition-failed', { condition: check.condition });
    }
    const secondsLeft = Math.floor((request.endsAt.getTime() - now.getTime()) / 1000);
    if (secondsLeft - ISSUANCE_MARGIN_SECONDS < MIN_SESSION_SECONDS) {
      const detail = `${secondsLeft} s remain in the window; STS sessions last at least ${MIN_SESSION_SECONDS} s and ${ISSUANCE_MARGIN_SECONDS} s are kept for the call`;
      return refuse(new Problem('window-too-short', detail), 'window-too-short', { secondsLeft });
    }

    const issuanceId = newId('iss');
    const sessionName = sessionNameFor(request.id);
    const sourceIdentity = sourceIdentityOf(caller);
    await insertIssuance(tx, { id: issuanceId, requestId, kind, status: 'pending', sessionName, sourceIdentity, sourceIp: caller.sourceIp, createdAt: now });
    return {
      plan: {
        issuanceId,
        requestId,
        profileId: request.profileId,
        assumeRole: {
          roleArn: definition.roleArn,
          sessionName,
          sourceIdentity,
          // Never past the window end (rule 4), never past the profile's maximum.
          durationSeconds: Math.min(secondsLeft - ISSUANCE_MARGIN_SECONDS, definition.maxDurationSeconds),
          tags: { ...definition.sessionTags, 'brevet:request-id': request.id, 'brevet:requester': sourceIdentity },
          policy: sessionPolicyFor(definition.sessionPolicy, request.scope as Scope | null),
          externalId: definition.externalId,
          region: definition.region,
        },
      },
    };
  });
  if ('refused' in outcome) throw outcome.refused;
  return outcome.plan;
}

async function recordFailure(deps: IssueDeps, caller: Caller, plan: Plan, error: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await completeIssuance(tx, plan.issuanceId, { status: 'failed', error, completedAt: deps.clock.now() });
    await appendAudit(tx, deps.clock, {
      actor: actorOf(caller),
      action: 'credentials.failed',
      requestId: plan.requestId,
      profileId: plan.profileId,
      sourceIp: caller.sourceIp,
      details: { issuanceId: plan.issuanceId, roleArn: plan.assumeRole.roleArn, error },
    });
  });
}
