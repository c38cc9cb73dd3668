import type { Clock } from '../adapters/clock.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import type { SlackGateway } from '../adapters/slack.js';
import type { Db } from '../db/client.js';
import type { RoleGroups } from '../domain/caller.js';
import { Problem } from '../http/problems.js';
import type { RequestEffects } from '../requests/effects.js';
import { reviewRequest } from '../requests/review-request.js';
import { principalForSlackUser } from './identity.js';

export interface SlackCommandDeps {
  db: Db;
  clock: Clock;
  effects: RequestEffects;
  rolePolicies: RolePolicyStore;
  slack: SlackGateway;
  roles: RoleGroups;
}

interface BlockActionsPayload {
  type: string;
  user?: { id?: string };
  channel?: { id?: string };
  actions?: { action_id?: string; value?: string }[];
}

/** What to tell the clicking user, privately; undefined when the updated message says it all. */
export type InteractionOutcome = { ephemeral: string | undefined; channel: string | undefined; user: string | undefined };

/**
 * An Approve or Deny click (SPEC §8): the Slack user is mapped to a principal and the very same
 * review command as the API runs, with channel `slack` — same rules, same audit. A deny from
 * the button is taken as it is (no reason modal): the comment stays empty, the audit records it.
 */
export async function handleInteraction(deps: SlackCommandDeps, payload: BlockActionsPayload): Promise<InteractionOutcome> {
  const user = payload.user?.id;
  const channel = payload.channel?.id;
  const answer = (ephemeral: string | undefined): InteractionOutcome => ({ ephemeral, channel, user });
  const action = payload.actions?.[0];
  if (payload.type !== 'block_actions' || action === undefined || user === undefined) return answer(undefined);
  const decision = action.action_id === 'approve' ? 'approve' : action.action_id === 'deny' ? 'deny' : undefined;
  if (decision === undefined || typeof action.value !== 'string') return answer(undefined);

  const identity = await principalForSlackUser(deps, user);
  if (!identity.ok) return answer(`Nothing was changed: ${identity.reason}.`);
  try {
    await reviewRequest(deps, identity.caller, action.value, { decision, comment: null, channel: 'slack' });
    return answer(decision === 'approve' ? 'You approved this request.' : 'You denied this request.');
  } catch (error) {
    if (error instanceof Problem) return answer(`Nothing was changed: ${refusalText(error)}`);
    throw error;
  }
}

export function refusalText(problem: Problem): string {
  switch (problem.type) {
    case 'self-review':
      return 'you cannot review your own request.';
    case 'not-eligible':
    case 'not-found':
      return 'you are not an approver of this request.';
    case 'already-reviewed':
      return 'you have already reviewed this request.';
    case 'invalid-transition':
      return `this request is already decided (${problem.detail}).`;
    case 'condition-failed':
      return problem.extra.condition === 'approver-mfa' ? 'this profile needs approvers signed in with MFA: approve through the API.' : `${problem.detail}.`;
    default:
      return `${problem.detail}.`;
  }
}
