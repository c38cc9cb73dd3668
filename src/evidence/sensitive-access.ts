import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { PolicyAnalyzer } from '../adapters/aws/access-analyzer.js';
import { classify } from '../adapters/aws/errors.js';
import type { RolePermissions } from '../adapters/aws/role-permissions.js';
import type { Clock } from '../adapters/clock.js';
import { canonicalJson } from '../audit/proof.js';
import type { Db } from '../db/client.js';
import { policyChecks } from '../db/schema.js';
import { POLICY_PREFIX } from '../domain/deny-policy.js';
import { isSensitive, type Evidence } from '../domain/evidence.js';
import type { ProfileDefinition } from '../domain/profile.js';
import { withTimeout } from '../lib/with-timeout.js';

export type SensitiveAccessDeps = {
  db: Db;
  clock: Clock;
  policyAnalyzer: PolicyAnalyzer;
  rolePermissions: RolePermissions;
  /** Tests shorten the budget of the whole check. */
  evidenceBudgetMs?: number;
};

/** The whole check's budget: request creation waits for it, so an AWS that hangs costs this, then fails closed. */
const EVIDENCE_BUDGET_MS = 8_000;

/**
 * SPEC §13: which of the profile's sensitive actions this grant may allow — some policy of the
 * role may grant it (CheckAccessNotGranted FAIL) and the session policy, when there is one, does
 * not remove it. Never throws: when IAM or Access Analyzer fail, the evidence says why, and
 * `sensitiveRequired` then applies (fail closed).
 */
export async function checkSensitiveAccess(deps: SensitiveAccessDeps, definition: ProfileDefinition, sessionPolicy: string | undefined): Promise<Evidence> {
  try {
    const sensitive = await withTimeout(sensitiveActions(deps, definition, sessionPolicy), deps.evidenceBudgetMs ?? EVIDENCE_BUDGET_MS, 'the sensitive-access check');
    return { sensitive, checkedAt: deps.clock.now().toISOString() };
  } catch (error) {
    const failure = classify(error);
    return { sensitive: null, error: failure.kind === 'unavailable' || failure.kind === 'rejected' ? failure.message : `${failure.kind}: ${failure.message}`, checkedAt: null };
  }
}

async function sensitiveActions(deps: SensitiveAccessDeps, definition: ProfileDefinition, sessionPolicy: string | undefined): Promise<string[]> {
  const rolePolicies = await deps.rolePermissions.policiesOf(definition.roleArn, POLICY_PREFIX);
  const mayGrant = cachedChecks(deps);
  const actions = definition.approval.sensitiveActions;
  const found = await Promise.all(
    actions.map(async (action) => {
      // One call per (policy, action), stopping at the first role policy that may grant it.
      const byRole: boolean[] = [];
      for (const policy of rolePolicies) {
        byRole.push(await mayGrant(policy.document, action));
        if (byRole.at(-1)) break;
      }
      const bySession = byRole.some(Boolean) && sessionPolicy !== undefined ? await mayGrant(sessionPolicy, action) : null;
      return isSensitive(byRole, bySession);
    }),
  );
  return actions.filter((_, i) => found[i]);
}

/** CheckAccessNotGranted answers, read from and written to policy_checks by the policy's content hash. */
function cachedChecks(deps: SensitiveAccessDeps): (document: string, action: string) => Promise<boolean> {
  return async (document, action) => {
    const policyHash = hashOf(document);
    const [cached] = await deps.db
      .select({ mayGrant: policyChecks.mayGrant })
      .from(policyChecks)
      .where(and(eq(policyChecks.policyHash, policyHash), eq(policyChecks.action, action)));
    if (cached !== undefined) return cached.mayGrant;
    const mayGrant = await deps.policyAnalyzer.mayGrant(document, action);
    await deps.db.insert(policyChecks).values({ policyHash, action, mayGrant, checkedAt: deps.clock.now() }).onConflictDoNothing();
    return mayGrant;
  };
}

/** The same policy written with other spacing or key order is the same policy. */
function hashOf(document: string): string {
  let canonical = document;
  try {
    canonical = canonicalJson(JSON.parse(document));
  } catch {
    // Not JSON: Access Analyzer will say so; hash the text as it is.
  }
  return createHash('sha256').update(canonical).digest('hex');
}
