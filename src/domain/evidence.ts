/**
 * Approve with evidence (SPEC §13): what a request's sensitive-access check found, and how it
 * changes the approvals a request needs. Pure: the checks themselves run in src/evidence.
 */

/** `approval.sensitiveActions` when a profile names none. `iam:*` means any IAM action. */
export const DEFAULT_SENSITIVE_ACTIONS: readonly string[] = ['iam:*', 'organizations:*', 'sts:AssumeRole', 'kms:Decrypt'];

/** An IAM action or action pattern: `service:Name`, with `*` and `?` wildcards in the name. */
export const SENSITIVE_ACTION = /^[a-z0-9-]+:[A-Za-z0-9*?]+$/;

/**
 * The outcome of the sensitive-access check, as the request carries it: the sensitive actions
 * the grant may allow, or why the check could not run (then `sensitive` is null).
 */
export type Evidence = { sensitive: string[]; checkedAt: string } | { sensitive: null; error: string; checkedAt: null };

/**
 * Sensitive when some role policy may grant the action and the session policy, when there is
 * one, does not remove it. "May": Deny in other policies, boundaries and SCPs are not combined.
 */
export function isSensitive(grantedByRolePolicy: readonly boolean[], grantedBySessionPolicy: boolean | null): boolean {
  return grantedByRolePolicy.some(Boolean) && grantedBySessionPolicy !== false;
}

/**
 * Approvals a new request needs: `sensitiveRequired` instead of `required` when the grant may
 * allow a sensitive action, or when that could not be checked (fail closed); never fewer than
 * `required`. Without evidence (the check is off) or without `sensitiveRequired`: `required`.
 */
export function approvalsRequiredFor(approval: { required: number; sensitiveRequired: number | null }, evidence: Evidence | null): number {
  if (!raisesApprovals(approval, evidence)) return approval.required;
  return Math.max(approval.required, approval.sensitiveRequired!);
}

/** Whether the evidence puts the request under `sensitiveRequired`. */
export function raisesApprovals(approval: { sensitiveRequired: number | null }, evidence: Evidence | null): boolean {
  if (approval.sensitiveRequired === null || evidence === null) return false;
  return evidence.sensitive === null || evidence.sensitive.length > 0;
}
