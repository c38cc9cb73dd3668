import type { AuditActor } from '../audit/writer.js';
import type { Caller } from '../domain/caller.js';
import { isInAudience } from '../domain/eligibility.js';
import { approversOf, type ProfileDefinition } from '../domain/profile.js';
import type { RequestRow } from './repo.js';

/**
 * Approvers of the request's own profile version, judged by the caller's groups now (SPEC §3
 * rule 2). A service account approves only when the profile names it: an admin can put any
 * service account in any group, and must not thereby mint an approver for their own requests.
 */
export function isApproverOf(definition: ProfileDefinition, caller: Caller): boolean {
  const approvers = approversOf(definition);
  if (caller.kind === 'service') return approvers.principals.includes(caller.id);
  return isInAudience(approvers, caller);
}

/** Who may read a request: its requester, its approvers, admins and auditors. */
export function maySeeRequest(request: RequestRow, definition: ProfileDefinition, caller: Caller): boolean {
  return caller.id === request.requesterId || caller.isAdmin || caller.isAuditor || isApproverOf(definition, caller);
}

export function actorOf(caller: Caller): AuditActor {
  return { id: caller.id, kind: caller.kind };
}
