import type { Caller } from '../domain/caller.js';
import { Problem } from './problems.js';

export function requireAdmin(caller: Caller): void {
  if (!caller.isAdmin) throw new Problem('forbidden', 'this action needs an administrator');
}

export function requireAuditorOrAdmin(caller: Caller): void {
  if (!caller.isAdmin && !caller.isAuditor) throw new Problem('forbidden', 'this action needs an auditor or an administrator');
}
