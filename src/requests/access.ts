import type { AuditActor } from '../audit/writer.js';
import type { Caller } from '../domain/caller.js';
import type { ProfileDefinition } from '../domain/profile.js';
import * as rules from '../domain/request-access.js';
import type { RequestRow } from './repo.js';

/** A stored request and the profile version it was made under, as the access rules see them. */
export function partiesOf(request: Pick<RequestRow, 'requesterId' | 'createdAt' | 'decidedAt'>, definition: Pick<ProfileDefinition, 'approval'>): rules.RequestParties {
  return { requesterId: request.requesterId, createdAt: request.createdAt, decidedAt: request.decidedAt, approval: definition.approval };
}

/** `isApproverOf` of domain/request-access.ts for a stored request. */
export function isApproverOf(request: RequestRow, definition: ProfileDefinition, caller: Caller, now: Date): boolean {
  return rules.isApproverOf(partiesOf(request, definition), caller, now);
}

/** `maySeeRequest` of domain/request-access.ts for a stored request. */
export function maySeeRequest(request: RequestRow, definition: ProfileDefinition, caller: Caller, now: Date): boolean {
  return rules.maySeeRequest(partiesOf(request, definition), caller, now);
}

export function actorOf(caller: Caller): AuditActor {
  return { id: caller.id, kind: caller.kind };
}
