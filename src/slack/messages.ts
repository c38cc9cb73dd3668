import type { Evidence } from '../domain/evidence.js';
import type { ProfileDefinition } from '../domain/profile.js';
import type { RequestView } from '../requests/view.js';

/**
 * Block Kit for a request. Everything a user typed (justification, ticket, names) goes into
 * `plain_text` elements, which Slack renders literally: `<!channel>` does not ping,
 * `<https://evil|Approve>` does not link and `*bold*` does not format. Text that must be
 * mrkdwn only ever contains our own words and escaped values.
 */

type Block = Record<string, unknown>;

/** For the few places where a value must sit inside mrkdwn (fallback text): no control sequences survive. */
export function escapeMrkdwn(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/([*_~`])/g, '\u200B$1\u200B');
}

const plain = (text: string) => ({ type: 'plain_text', text: text.length > 0 ? text.slice(0, 2900) : ' ', emoji: false });

export interface MessageFacts {
  request: RequestView;
  profileName: string;
  profile: ProfileDefinition;
  requesterName: string;
  reviewerNames: Record<string, string>;
  /** Brevet's public URL, for the approve-through-the-API link of MFA profiles. */
  publicUrl: string | undefined;
  /** The finished activity report's one-line summary (SPEC §13), when there is one. */
  activity?: string | null;
}

function statusLine(request: RequestView): string {
  switch (request.status) {
    case 'pending':
      return `Pending: ${request.reviews.filter((r) => r.decision === 'approve').length} of ${request.approvalsRequired} approvals`;
    case 'active':
      return `Active until ${request.endsAt}`;
    case 'approved':
      return `Approved: starts ${request.startsAt}, ends ${request.endsAt}`;
    default:
      return request.status.charAt(0).toUpperCase() + request.status.slice(1);
  }
}

export function requestMessage(facts: MessageFacts): { text: string; blocks: Block[] } {
  const { request, profile } = facts;
  const fields = [
    plain(`Requester: ${facts.requesterName}`),
    plain(`Profile: ${facts.profileName}`),
    plain(`Role: ${profile.roleArn}`),
    plain(request.kind === 'extension' ? `Adds: ${Math.round(request.durationSeconds / 60)} min to ${request.parentId}` : `Duration: ${Math.round(request.durationSeconds / 60)} min`),
    plain(`Ticket: ${request.ticket ?? 'none'}`),
    plain(`Conditions met: ${conditionSummary(profile)}`),
  ];
  const reviews = request.reviews.map((r) => `${r.decision === 'approve' ? 'Approved' : 'Denied'} by ${facts.reviewerNames[r.reviewerId] ?? r.reviewerId}`);
  const blocks: Block[] = [
    { type: 'header', text: plain(request.breakGlass ? 'Break-glass access' : request.kind === 'extension' ? 'Extension request' : 'Access request') },
    { type: 'section', fields },
    { type: 'section', text: plain(`Justification: ${request.justification}`) },
  ];
  if (request.evidence !== null) blocks.push({ type: 'section', text: plain(evidenceLine(request.evidence, request.approvalsRequired)) });
  blocks.push({ type: 'context', elements: [plain(`${statusLine(request)} · ${request.id}`)] });
  if (reviews.length > 0) blocks.push({ type: 'context', elements: [plain(reviews.join(' · '))] });
  if (facts.activity != null) blocks.push({ type: 'context', elements: [plain(facts.activity)] });
  if (request.status === 'pending') blocks.push(actionsBlock(facts));
  return { text: `Access request ${request.id} for ${escapeMrkdwn(facts.profileName)}: ${statusLine(request)}`, blocks };
}

/** "Activity: 4 CloudTrail events (1 failed): ec2:RunInstances ×3, iam:ListRoles ×1": the report in one line. */
export function activityLine(report: { givenUp: boolean; events: number; errors: number; byAction: Record<string, number> }): string {
  const top = Object.entries(report.byAction)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, 5)
    .map(([action, n]) => `${action} ×${n}`);
  const more = Object.keys(report.byAction).length > top.length ? ', …' : '';
  const failed = report.errors > 0 ? ` (${report.errors} failed)` : '';
  const incomplete = report.givenUp ? ' — incomplete: CloudTrail could not be read to the end' : '';
  return `Activity: ${report.events} CloudTrail event${report.events === 1 ? '' : 's'}${failed}${top.length > 0 ? `: ${top.join(', ')}${more}` : ''}${incomplete}`;
}

/** What approvers read of the sensitive-access check (SPEC §13): "Grants iam:* — needs 2 approvals". */
export function evidenceLine(evidence: Evidence, approvalsRequired: number): string {
  const needs = `needs ${approvalsRequired} approval${approvalsRequired === 1 ? '' : 's'}`;
  if (evidence.sensitive === null) return `Sensitive-access check could not run (${evidence.error}) — ${needs}`;
  if (evidence.sensitive.length === 0) return `Grants no sensitive access — ${needs}`;
  return `Grants ${evidence.sensitive.join(', ')} — ${needs}`;
}

function actionsBlock(facts: MessageFacts): Block {
  if (facts.profile.approval.requireApproverMfa) {
    // Chat cannot prove MFA: approvals of this profile go through the API with an MFA token.
    const where = facts.publicUrl === undefined ? 'the Brevet API' : `${facts.publicUrl}/v1/requests/${facts.request.id}/reviews`;
    return { type: 'section', text: plain(`This profile needs approvers signed in with MFA: approve through ${where}`) };
  }
  return {
    type: 'actions',
    block_id: `review:${facts.request.id}`,
    elements: [
      { type: 'button', action_id: 'approve', text: plain('Approve'), style: 'primary', value: facts.request.id },
      { type: 'button', action_id: 'deny', text: plain('Deny'), style: 'danger', value: facts.request.id },
    ],
  };
}

function conditionSummary(profile: ProfileDefinition): string {
  const c = profile.conditions;
  const parts = [
    c.requireMfa ? 'MFA' : null,
    c.sourceCidrs.length > 0 ? 'source address' : null,
    c.timeWindows.length > 0 ? 'time window' : null,
    c.ticketPattern !== null ? 'ticket' : null,
    c.minJustificationLength > 0 ? 'justification length' : null,
  ].filter((p): p is string => p !== null);
  return parts.length === 0 ? 'none required' : parts.join(', ');
}

/** The ending-soon DM's button (SPEC §12): it opens an extension of this many seconds. */
export const EXTEND_ACTION = 'extend-1h';
export const EXTEND_SECONDS = 3600;

/**
 * The button's value: the request and the window end the requester was told about. The click
 * extends from that end only, so a second click, or a click on an older DM, changes nothing.
 */
export function extendButtonValue(requestId: string, endsAt: string): string {
  return `${requestId}@${endsAt}`;
}

export function parseExtendButtonValue(value: unknown): { requestId: string; continuesFrom: Date } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^([A-Za-z0-9_-]{1,64})@(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)$/.exec(value);
  const continuesFrom = match === null ? undefined : new Date(match[2]!);
  if (match === null || continuesFrom === undefined || Number.isNaN(continuesFrom.getTime())) return undefined;
  return { requestId: match[1]!, continuesFrom };
}

/** Blocks for a requester DM that offers an action: the ending-soon notice of an active grant gets Extend 1h. */
export function requesterNoticeBlocks(event: string, request: RequestView, text: string): Block[] | undefined {
  if (event !== 'request.ending-soon' || request.kind !== 'access' || request.status !== 'active' || request.endsAt === null) return undefined;
  return [
    { type: 'section', text: plain(text) },
    {
      type: 'actions',
      block_id: `extend:${request.id}`,
      elements: [{ type: 'button', action_id: EXTEND_ACTION, text: plain('Extend 1h'), value: extendButtonValue(request.id, request.endsAt) }],
    },
  ];
}

/** The requester's direct message for an event of their request; undefined when none is due. */
export function requesterNotice(event: string, request: RequestView, profileName: string): string | undefined {
  const name = profileName;
  if (request.kind === 'extension') {
    // The approval itself is told on the parent (request.extended), with its new end.
    if (event === 'request.denied') return `Your extension of ${name} was denied.`;
    if (event === 'request.expired') return `Your extension of ${name} expired without a decision.`;
    return undefined;
  }
  switch (event) {
    case 'request.approved':
      return request.status === 'approved' ? `Your request for ${name} was approved; it starts ${request.startsAt}.` : undefined;
    case 'request.denied':
      return `Your request for ${name} was denied.`;
    case 'request.activated':
      return `Your access to ${name} is active until ${request.endsAt}.`;
    case 'request.ending-soon':
      return `Your access to ${name} ends at ${request.endsAt}.`;
    case 'request.expired':
      return `Your request for ${name} expired without a decision.`;
    case 'request.revoked':
      return `Your access to ${name} was revoked.`;
    case 'request.extended':
      return `Your access to ${name} was extended: it now ends at ${request.endsAt}.`;
    default:
      return undefined;
  }
}
