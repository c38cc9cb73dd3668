import type { Clock } from '../adapters/clock.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { decide } from '../domain/lifecycle.js';
import { Problem } from '../http/problems.js';
import { humanTextField } from '../http/validation.js';
import { findProfileVersion } from '../profiles/repo.js';
import { actorOf, maySeeRequest } from './access.js';
import { afterTransition } from './after-commit.js';
import { applyDecision, factsOf } from './apply-decision.js';
import { recordChanges, type RequestEffects } from './effects.js';
import { lockRequest } from './repo.js';
import { loadRequestView } from './read-requests.js';
import type { RequestApiView } from './view.js';

type Deps = { db: Db; clock: Clock; effects: RequestEffects; rolePolicies: RolePolicyStore };

/** The requester withdraws a request that has not started (pending or approved). */
export function cancelRequest(deps: Deps, caller: Caller, requestId: string, reason: string | null): Promise<RequestApiView> {
  reason = humanTextField('/body/reason', reason, { optional: true });
  return endByCaller(deps, caller, requestId, { kind: 'cancel', reason, mayAct: (request) => request.requesterId === caller.id });
}

/** The requester or an admin ends a window now (SPEC §4.4); no credential is issued after this. */
export function revokeRequest(deps: Deps, caller: Caller, requestId: string, reason: string): Promise<RequestApiView> {
  return endByCaller(deps, caller, requestId, {
    kind: 'revoke',
    reason: humanTextField('/body/reason', reason),
    mayAct: (request) => request.requesterId === caller.id || caller.isAdmin,
  });
}

async function endByCaller(
  deps: Deps,
  caller: Caller,
  requestId: string,
  command: { kind: 'cancel' | 'revoke'; reason: string | null; mayAct: (request: { requesterId: string }) => boolean },
): Promise<RequestApiView> {
  const outcome = await deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined) return { refused: new Problem('not-found', 'no such request') };
    const definition = (await findProfileVersion(tx, request.profileId, request.profileVersion))!;
    if (!maySeeRequest(request, definition, caller, deps.clock.now())) return { refused: new Problem('not-found', 'no such request') };
    // Refusals are audited (SPEC §3 rule 9): someone who may see a request ending it without the
    // right to is an attempt at a privileged action like any other.
    const refuse = async (reason: string, problem: Problem) => {
      await appendAudit(tx, deps.clock, {
        actor: actorOf(caller),
        action: 'request.refused',
        requestId: request.id,
        profileId: request.profileId,
        sourceIp: caller.sourceIp,
        details: { reason, command: command.kind, status: request.status },
      });
      return { refused: problem };
    };
    if (!command.mayAct(request)) {
      const who = command.kind === 'cancel' ? 'the requester' : 'the requester or an admin';
      return refuse('not-allowed', new Problem('forbidden', `only ${who} may ${command.kind} this request`));
    }
    const decision = decide(factsOf(request, []), { kind: command.kind }, deps.clock.now());
    if (!decision.ok) return refuse(decision.reason, new Problem('invalid-transition', `the request is ${request.status}`));
    const applied = await applyDecision(tx, deps.clock, request, decision, {
      actor: actorOf(caller),
      sourceIp: caller.sourceIp,
      reason: command.reason,
      revocation: definition.revocation,
    });
    const changes = await recordChanges(deps.effects, tx, [{ requestId: request.id, events: decision.events }, ...applied.followUps]);
    return { view: await loadRequestView(tx, applied.request), changes };
  });
  if ('refused' in outcome) throw outcome.refused;
  return afterTransition(deps, outcome);
}
