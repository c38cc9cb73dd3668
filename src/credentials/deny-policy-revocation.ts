import { sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import { StsFailure } from '../adapters/aws/errors.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import { appendAudit, systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { denyingSid, revocationDocument, revocationPolicyName, roleNameOf, statementSid, sweepMoment, SWEEP_SID } from '../domain/deny-policy.js';
import { MAX_SESSION_SECONDS } from '../domain/profile.js';
import { appliedRevocationsOnRole, installationId, liveRequestsIssuedBefore, type RevocationOnRole } from './repo.js';
import { findProfileVersion } from '../profiles/repo.js';
import { lockRequest, updateRequest, type RequestRow } from '../requests/repo.js';

type Deps = { db: Db; clock: Clock; rolePolicies: RolePolicyStore };

/**
 * Puts the Deny statement of a revoked request on its role (SPEC §4.4), killing the request's
 * outstanding sessions. Idempotent; does nothing unless the request's deny policy is `pending`.
 *
 * The policy edited is this installation's own (`BrevetRevocations-<installation id>`): other
 * installations sharing the role keep theirs untouched. In it, Brevet's statements are rebuilt
 * from the database (every request whose Deny is applied on the role), other owners' statements
 * are kept from what IAM returns. Two revocations on one role must not interleave, so the edit
 * runs under a transaction-scoped advisory lock on the role name; this is the one place where a
 * network call runs inside a transaction, and it touches no row but the request's own.
 */
export function applyDenyPolicy(deps: Deps, requestId: string): Promise<boolean> {
  return editRolePolicy(deps, requestId, 'pending', 'applied', (applied, request) => [...applied, { id: request.id, endsAt: request.endsAt, sweptBefore: null }]);
}

/** Removes the statement once the last credential has expired (the revocation-cleanup job). */
export function removeDenyPolicy(deps: Deps, requestId: string): Promise<boolean> {
  return editRolePolicy(deps, requestId, 'applied', 'removed', (applied) => applied.filter((revoked) => revoked.id !== requestId), true);
}

/**
 * A sweep (domain/deny-policy.ts sweepStatement) stays on the role until every session it
 * denies has expired: AssumeRole sessions last at most MAX_SESSION_SECONDS.
 */
const SWEEP_KEPT_MS = MAX_SESSION_SECONDS * 1000;

/** What Brevet's statements on the role are made of: the latest sweep, and a Deny for each request it does not cover. */
function statementsFor(revoked: readonly RevocationOnRole[]): { ids: string[]; sweptBefore: Date | undefined } {
  const sweeps = revoked.flatMap((r) => (r.sweptBefore === null ? [] : [r.sweptBefore.getTime()]));
  const sweptBefore = sweeps.length === 0 ? undefined : new Date(Math.max(...sweeps));
  // Every session of a request revoked before the sweep's moment was issued before it.
  const covered = (r: RevocationOnRole) => sweptBefore !== undefined && r.endsAt !== null && r.endsAt <= sweptBefore;
  return { ids: revoked.filter((r) => !covered(r)).map((r) => r.id), sweptBefore };
}

async function editRolePolicy(
  deps: Deps,
  requestId: string,
  from: 'pending' | 'applied',
  to: 'applied' | 'removed',
  /** From the requests whose Deny is on the role now, the ones that must be after this edit. */
  revokedAfter: (applied: RevocationOnRole[], request: RequestRow) => RevocationOnRole[],
  onlyWhenDue = false,
): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined || request.denyPolicyStatus !== from) return false;
    if (onlyWhenDue && request.revocationCleanupAt !== null && request.revocationCleanupAt > deps.clock.now()) return false;
    const definition = (await findProfileVersion(tx, request.profileId, request.profileVersion))!;
    const roleName = roleNameOf(definition.roleArn);
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`brevet-role-policy:${roleName}`}))`);
    // IAM edits the role by name in Brevet's own account: a same-named role elsewhere must not
    // be mistaken for the profile's. A role in another account cannot be revoked this way.
    const foundArn = await deps.rolePolicies.roleArn(roleName);
    if (foundArn !== null && foundArn !== definition.roleArn) {
      const reason =
        foundArn === undefined
          ? `IAM has no role named ${roleName} in the account of Brevet's credentials (GetRole: NoSuchEntity): the role ${definition.roleArn} does not exist there (deleted, misspelt, or in another account, which deny-policy cannot reach)`
          : `the role ${definition.roleArn} is not in the account of Brevet's credentials (a role of that name there is ${foundArn})`;
      await updateRequest(tx, requestId, { denyPolicyStatus: 'failed', updatedAt: deps.clock.now() });
      await appendAudit(tx, deps.clock, {
        actor: systemActor,
        action: 'revocation.deny-policy-failed',
        requestId,
        profileId: request.profileId,
        details: { roleName, reason: `${reason}; sessions live until they expire` },
      });
      return false;
    }

    const policyName = revocationPolicyName(await installationId(tx));
    const after = revokedAfter(await appliedRevocationsOnRole(tx, definition.roleArn), request);
    const revoked = statementsFor(after);
    const current = await deps.rolePolicies.get(roleName, policyName);
    let next = revocationDocument(current, revoked.ids, { sweptBefore: revoked.sweptBefore });
    let sweptBefore: Date | null = null;
    if (next === null) await deps.rolePolicies.delete(roleName, policyName);
    else {
      try {
        await deps.rolePolicies.put(roleName, policyName, next);
      } catch (error) {
        if (!isLimitExceeded(error)) throw error;
        // The role's inline policies together passed IAM's 10,240 characters: Brevet's statements
        // merged into one take far less room; if even that does not fit, a revocation denies every
        // Brevet session on the role issued until now (fails closed); a removal's failure stands.
        const merged = revocationDocument(current, revoked.ids, { merge: true, sweptBefore: revoked.sweptBefore })!;
        try {
          if (merged === next) throw error;
          await deps.rolePolicies.put(roleName, policyName, merged);
          next = merged;
        } catch (mergedError) {
          if (!isLimitExceeded(mergedError) || to !== 'applied') throw mergedError;
          sweptBefore = sweepMoment(deps.clock.now());
          const swept = statementsFor(after.map((r) => (r.id === requestId ? { ...r, sweptBefore } : r)));
          next = revocationDocument(current, swept.ids, { sweptBefore: swept.sweptBefore })!;
          await deps.rolePolicies.put(roleName, policyName, next);
        }
      }
    }

    const sweepKeptUntil = sweptBefore === null ? null : new Date(sweptBefore.getTime() + SWEEP_KEPT_MS);
    // Whose working sessions the sweep ends too, for the operators who tell them to ask again.
    const alsoDenied = sweptBefore === null ? [] : await liveRequestsIssuedBefore(tx, definition.roleArn, sweptBefore, deps.clock.now(), ALSO_DENIED_LISTED + 1);
    await updateRequest(tx, requestId, {
      denyPolicyStatus: to,
      updatedAt: deps.clock.now(),
      // This request holds the sweep on the role until no session it denies can be alive.
      ...(sweptBefore === null ? {} : { denySweptBefore: sweptBefore, revocationCleanupAt: latest(request.revocationCleanupAt, sweepKeptUntil!) }),
    });
    await appendAudit(tx, deps.clock, {
      actor: systemActor,
      action: to === 'applied' ? 'revocation.deny-policy-applied' : 'revocation.deny-policy-removed',
      requestId,
      profileId: request.profileId,
      // The statement that holds (applied) or held (removed) the request: its own, BrevetRevokeMany, or the sweep.
      details:
        sweptBefore === null
          ? { roleName, policyName, sid: denyingSid(to === 'applied' ? next : (current ?? null), requestId) ?? sweepingSid(request, revoked.sweptBefore ?? request.denySweptBefore ?? undefined) }
          : {
              roleName,
              policyName,
              sid: SWEEP_SID,
              sessionsIssuedBefore: sweptBefore.toISOString(),
              activeRequestsAlsoDenied: alsoDenied.slice(0, ALSO_DENIED_LISTED),
              ...(alsoDenied.length > ALSO_DENIED_LISTED ? { activeRequestsAlsoDeniedTruncated: true } : {}),
              reason: `the role's inline policies had no room for this request's Deny, even merged with the others (IAM LimitExceeded): every Brevet session on the role issued before ${sweptBefore.toISOString()} is denied, and holders of requests still active there must ask for credentials again`,
            },
    });
    return true;
  });
}

/** The active requests a sweep's audit event names at most (the event stays small). */
const ALSO_DENIED_LISTED = 100;

const latest = (a: Date | null, b: Date) => (a !== null && a > b ? a : b);

/** The Sid that denied a request with no statement of its own: the sweep that covered it. */
function sweepingSid(request: RequestRow, sweptBefore: Date | undefined): string {
  return sweptBefore !== undefined && request.endsAt !== null && request.endsAt <= sweptBefore ? SWEEP_SID : statementSid(request.id);
}

/**
 * Right after a revocation commits: try to put the deny statement on the role now. A failure
 * is audited and leaves the request `pending`, so the reconciler tries again.
 */
export async function applyDenyPolicyNow(deps: Deps, requestId: string): Promise<void> {
  try {
    await applyDenyPolicy(deps, requestId);
  } catch (error) {
    await deps.db.transaction((tx) =>
      appendAudit(tx, deps.clock, {
        actor: systemActor,
        action: 'revocation.deny-policy-failed',
        requestId,
        details: { error: error instanceof StsFailure ? `${error.kind}: ${error.message}` : error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error' },
      }),
    );
  }
}

/** IAM's LimitExceeded (PutRolePolicy: "Maximum policy size of 10240 bytes exceeded for role …"). */
function isLimitExceeded(error: unknown): boolean {
  return error instanceof StsFailure && error.message.startsWith('LimitExceeded');
}
