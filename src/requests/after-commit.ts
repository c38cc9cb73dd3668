import type { Clock } from '../adapters/clock.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import { applyDenyPolicyNow } from '../credentials/deny-policy-revocation.js';
import type { Db } from '../db/client.js';
import { scheduleChanges, type RecordedChange, type RequestEffects } from './effects.js';
import { getRequestView } from './read-requests.js';
import type { RequestApiView } from './view.js';

/**
 * What every caller-driven transition does once its transaction has committed: a revocation
 * that needs a deny statement gets it now (the caller sees the outcome in the answer), then the
 * jobs of the changes (their notifications committed with them) are queued. Returns the view to
 * answer with.
 */
export async function afterTransition(
  deps: { db: Db; clock: Clock; effects: RequestEffects; rolePolicies: RolePolicyStore },
  committed: { view: RequestApiView; changes: readonly RecordedChange[] },
): Promise<RequestApiView> {
  let view = committed.view;
  if (view.denyPolicyStatus === 'pending') {
    await applyDenyPolicyNow(deps, view.id);
    view = await getRequestView(deps, view.id);
  }
  await scheduleChanges(deps.effects, committed.changes);
  return view;
}
