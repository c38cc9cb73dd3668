import { sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import { StsFailure } from '../adapters/aws/errors.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import { appendAudit, systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { denyingSid, revocationDocument, revocationPolicyName, roleNameOf, statementSid } from '../domain/deny-policy.js';
import { appliedRevocationsOnRole, installationId } from './repo.js';
import { findProfileVersion } from '../profiles/repo.js';
import { lockRequest, updateRequest } from '../requests/repo.js';

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
  return editRolePolicy(deps, requestId, 'pending', 'applied', (applied) => [...applied, requestId]);
}

/** Removes the statement once the last credential has expired (the revocation-cleanup job). */
export function removeDenyPolicy(deps: Deps, requestId: string): Promise<boolean> {
  return editRolePolicy(deps, requestId, 'applied', 'removed', (applied) => applied.filter((id) => id !== requestId), true);
}

async function editRolePolicy(
  deps: Deps,
  requestId: string,
  from: 'pending' | 'applied',
  to: 'applied' | 'removed',
  /** From the requests whose Deny is on the role now, the ones that must be after this edit. */
  revokedAfter: (applied: string[]) => string[],
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
    if (foundArn !== definition.roleArn) {
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
    const revoked = revokedAfter(await appliedRevocationsOnRole(tx, definition.roleArn));
    const current = await deps.rolePolicies.get(roleName, policyName);
    let next = revocationDocument(current, revoked);
    if (next === null) await deps.rolePolicies.delete(roleName, policyName);
    else {
      try {
        await deps.rolePolicies.put(roleName, policyName, next);
      } catch (error) {
        // The role's inline policies together passed IAM's 10,240 characters: Brevet's statements
        // merged into one take far less room; if even that does not fit, the failure stands.
        const merged = revocationDocument(current, revoked, { merge: true })!;
        if (!isLimitExceeded(error) || merged === next) throw error;
        await deps.rolePolicies.put(roleName, policyName, merged);
        next = merged;
      }
    }

    await updateRequest(tx, requestId, { denyPolicyStatus: to, updatedAt: deps.clock.now() });
    await appendAudit(tx, deps.clock, {
      actor: systemActor,
      action: to === 'applied' ? 'revocation.deny-policy-applied' : 'revocation.deny-policy-removed',
      requestId,
      profileId: request.profileId,
      // The statement that holds (applied) or held (removed) the request: its own, or BrevetRevokeMany.
      details: { roleName, policyName, sid: denyingSid(to === 'applied' ? next : (current ?? null), requestId) ?? statementSid(requestId) },
    });
    return true;
  });
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
