import type { AuditActor } from '../audit/writer.js';
import type { Caller } from '../domain/caller.js';
import { isInAudience } from '../domain/eligibility.js';
import { approversOf, type ProfileDefinition } from '../domain/profile.js';
import type { RequestRow } from './repo.js';

/** Approvers of the request's own profile version, judged by the caller's groups now (SPEC §3 rule 2). */
export function isApproverOf(definition: ProfileDefinition, caller: Caller): boolean {
  return isInAudience(approversOf(definition), caller);
}

/** Who may read a request: its requester, its approvers, admins and auditors. */
export function maySeeRequest(request: RequestRow, definition: ProfileDefinition, caller: Caller): boolean {
  return caller.id === request.requesterId || caller.isAdmin || caller.isAuditor || isApproverOf(definition, caller);
}

export function actorOf(caller: Caller): AuditActor {
  return { id: caller.id, kind: caller.kind };
}
