import type { Clock } from '../adapters/clock.js';
import type { Config } from '../config.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import type { SlackGateway } from '../adapters/slack.js';
import type { Db } from '../db/client.js';
import type { AuthDenialRecorder } from '../principals/auth-denials.js';
import type { RoleGroups } from '../domain/caller.js';
import { Problem } from '../http/problems.js';
import type { RequestEffects } from '../requests/effects.js';
import { reviewsOf } from '../requests/repo.js';
import { reviewRequest } from '../requests/review-request.js';
import type { OnCallDeps } from '../requests/on-call-approval.js';
import { extendFromSlack } from './extend-button.js';
import { principalForSlackUser } from './identity.js';
import { EXTEND_ACTION, parseExtendButtonValue } from './messages.js';
import type { ValidateDeps } from '../evidence/validate-policy.js';
import type { SensitiveAccessDeps } from '../evidence/sensitive-access.js';

export interface SlackCommandDeps extends OnCallDeps, ValidateDeps, SensitiveAccessDeps {
  db: Db;
  clock: Clock;
  effects: RequestEffects;
  rolePolicies: RolePolicyStore;
  slack: SlackGateway;
  roles: RoleGroups;
  authDenials: AuthDenialRecorder;
  config: Pick<Config, 'publicUrl' | 'evidence'>;
}

/** The fields of a block_actions payload Brevet reads; anything else Slack sends is ignored. */
export interface BlockActionsPayload {
  type?: unknown;
  user?: { id?: unknown } | null;
  channel?: { id?: unknown } | null;
  actions?: unknown;
}

/** What to tell the clicking user, privately; undefined when the updated message says it all. */
export type InteractionOutcome = { ephemeral: string | undefined; channel: string | undefined; user: string | undefined };

/**
 * An Approve or Deny click (SPEC §8), or the ending-soon DM's Extend 1h (SPEC §12, see
 * extend-button.ts): the Slack user is mapped to a principal and the very same
 * review command as the API runs, with channel `slack` — same rules, same audit. A deny from
 * the button is taken as it is (no reason modal): the comment stays empty, the audit records it.
 */
export async function handleInteraction(deps: SlackCommandDeps, payload: BlockActionsPayload): Promise<InteractionOutcome> {
  // The payload is signed, but its shape is still checked: odd input is ignored, never a 500.
  const user = slackId(payload.user?.id);
  const channel = slackId(payload.channel?.id);
  const answer = (ephemeral: string | undefined): InteractionOutcome => ({ ephemeral, channel, user });
  const action: unknown = Array.isArray(payload.actions) ? payload.actions[0] : undefined;
  if (payload.type !== 'block_actions' || user === undefined || typeof action !== 'object' || action === null) return answer(undefined);
  const { action_id: actionId, value: requestId } = action as { action_id?: unknown; value?: unknown };
  if (actionId === EXTEND_ACTION) {
    const target = parseExtendButtonValue(requestId);
    if (target === undefined) return answer(undefined);
    const identity = await principalForSlackUser(deps, user);
    return answer(identity.ok ? await extendFromSlack(deps, identity.caller, target) : `Nothing was changed: ${identity.reason}.`);
  }
  const decision = actionId === 'approve' ? 'approve' : actionId === 'deny' ? 'deny' : undefined;
  if (decision === undefined || typeof requestId !== 'string' || !REQUEST_ID.test(requestId)) return answer(undefined);

  const identity = await principalForSlackUser(deps, user);
  if (!identity.ok) return answer(`Nothing was changed: ${identity.reason}.`);
  try {
    await reviewRequest(deps, identity.caller, requestId, { decision, comment: null, channel: 'slack' });
    return answer(decision === 'approve' ? 'You approved this request.' : 'You denied this request.');
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    // A replayed click usually lands on the request it decided: "already reviewed" is the truth
    // the clicker needs, not "already decided" (the refusal is audited as it was decided).
    const replayed = error.type === 'invalid-transition' && (await reviewsOf(deps.db, [requestId])).some((r) => r.reviewerId === identity.caller.id);
    return answer(`Nothing was changed: ${replayed ? 'you have already reviewed this request.' : refusalText(error)}`);
  }
}

/** The button value is the request id Brevet put there; anything else is not a click on Brevet's buttons. */
const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The values of a payload that Brevet reads, where they sit in it (see the route's text check). */
export function fieldsRead(payload: BlockActionsPayload): Record<string, unknown> {
  const action: unknown = Array.isArray(payload.actions) ? payload.actions[0] : undefined;
  const { action_id: actionId, value } = typeof action === 'object' && action !== null ? (action as { action_id?: unknown; value?: unknown }) : {};
  return { type: payload.type, user: { id: payload.user?.id }, channel: { id: payload.channel?.id }, actions: [{ action_id: actionId, value }] };
}

/** Slack user and channel ids are short upper-case tokens; anything else is not Slack's. */
function slackId(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Z0-9]{2,32}$/.test(value) ? value : undefined;
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
