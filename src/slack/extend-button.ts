import type { Caller } from '../domain/caller.js';
import { Problem } from '../http/problems.js';
import { extendRequest } from '../requests/extend-request.js';
import type { SlackCommandDeps } from './interactions.js';
import { EXTEND_SECONDS } from './messages.js';

/**
 * What a button click writes as the extension's justification: what happened, nothing more. A
 * button cannot explain why more time is needed; approvers read the grant's own justification, and
 * a profile that asks for a written one (minJustificationLength above this text's length) refuses
 * the click, and the requester is told to extend with the CLI or the API, in words of their own.
 */
export const SLACK_EXTENSION_JUSTIFICATION = 'Extended from Slack (Extend 1h button)';

/**
 * The ending-soon DM's Extend 1h click (SPEC §12): the very same command as
 * `POST /v1/requests/{id}/extend`, with the same rules (only the requester, only an active grant,
 * maxTotalSeconds, one pending extension, auto-approval when `required` is 0). `continuesFrom`
 * is the end the DM showed: a replayed click, or one on an older DM, extends nothing.
 * Answers what to tell the clicker privately.
 */
export async function extendFromSlack(deps: SlackCommandDeps, caller: Caller, target: { requestId: string; continuesFrom: Date }): Promise<string> {
  try {
    const extension = await extendRequest(deps, caller, target.requestId, {
      durationSeconds: EXTEND_SECONDS,
      justification: SLACK_EXTENSION_JUSTIFICATION,
      continuesFrom: target.continuesFrom,
    });
    if (extension.status === 'pending') {
      return `Extension asked for: 1 h more once ${extension.approvalsRequired} approver(s) agree; until then your access still ends at ${target.continuesFrom.toISOString()}.`;
    }
    return `Extended: your access now ends at ${extension.endsAt}.`;
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    return `Not extended: ${refusalText(error, apiHint(deps, target.requestId))}`;
  }
}

/** Where the requester can extend with a justification and a duration of their own. */
function apiHint(deps: SlackCommandDeps, requestId: string): string {
  const base = deps.config.publicUrl ?? '';
  return `extend with the CLI instead: \`brevet extend ${requestId} --reason "…" [--duration 30m]\` (or POST ${base}/v1/requests/${requestId}/extend)`;
}

function refusalText(problem: Problem, hint: string): string {
  switch (problem.type) {
    case 'not-found':
    case 'forbidden':
      return 'only the requester of this access can extend it.';
    case 'invalid-transition':
      return `this access cannot be extended any more (${problem.detail}).`;
    case 'conflict':
      return `${problem.detail}.`;
    case 'validation':
      // The only validation a fixed 1 h extension can fail: the profile's maxTotalSeconds.
      return `1 h more ${String((problem.extra.errors as { message: string }[] | undefined)?.[0]?.message ?? problem.detail)}; a shorter extension may still fit: ${hint}.`;
    case 'condition-failed':
      switch (problem.extra.condition) {
        case 'justification':
          return `this profile needs a written justification (${problem.detail}); ${hint}.`;
        case 'mfa':
          return `this profile needs a sign-in with MFA, which Slack cannot prove; ${hint}.`;
        case 'source-ip':
          return `this profile only accepts requests from allowed networks, which Slack cannot prove; ${hint}.`;
        default:
          return `${problem.detail}.`;
      }
    default:
      return `${problem.detail}.`;
  }
}
