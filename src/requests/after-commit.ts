import type { Clock } from '../adapters/clock.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import { applyDenyPolicyNow } from '../credentials/deny-policy-revocation.js';
import type { Db } from '../db/client.js';
import type { LifecycleEvent } from '../domain/lifecycle.js';
import type { RequestChange, RequestEffects } from './effects.js';
import { getRequestView } from './read-requests.js';
import type { RequestApiView } from './view.js';

/**
 * What every caller-driven transition does once its transaction has committed: a revocation
 * that needs a deny statement gets it now (the caller sees the outcome in the answer), then
 * jobs and notifications follow. Returns the view to answer with.
 */
export async function afterTransition(
  deps: { db: Db; clock: Clock; effects: RequestEffects; rolePolicies: RolePolicyStore },
  committed: { view: RequestApiView; events: LifecycleEvent[]; followUps?: readonly RequestChange[] },
): Promise<RequestApiView> {
  const requestId = committed.view.id;
  let view = committed.view;
  if (view.denyPolicyStatus === 'pending') {
    await applyDenyPolicyNow(deps, requestId);
    view = await getRequestView(deps, requestId);
  }
  await deps.effects.afterCommit({ requestId, events: committed.events });
  for (const change of committed.followUps ?? []) await deps.effects.afterCommit(change);
  return view;
}
