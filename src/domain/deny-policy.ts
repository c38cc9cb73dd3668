/**
 * deny-policy revocation (SPEC §4.4): one Brevet-owned inline policy per role holds a Deny
 * statement per revoked request, matching only the sessions Brevet named `brevet-<requestId>`.
 * Statements Brevet does not own are kept as they are.
 */

export const REVOCATION_POLICY_NAME = 'BrevetRevocations';

interface PolicyDocument {
  Version: string;
  Statement: Record<string, unknown>[];
}

/** Sids allow [A-Za-z0-9] only. */
export function statementSid(requestId: string): string {
  return `BrevetRevoke${requestId.replace(/[^A-Za-z0-9]/g, '')}`;
}

export function sessionNameFor(requestId: string): string {
  return `brevet-${requestId}`;
}

export function denyStatementFor(requestId: string): Record<string, unknown> {
  return {
    Sid: statementSid(requestId),
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    // aws:userid of an assumed-role session is "<role id>:<session name>".
    Condition: { StringLike: { 'aws:userid': `*:${sessionNameFor(requestId)}` } },
  };
}

function parse(document: string | undefined): PolicyDocument {
  if (document === undefined) return { Version: '2012-10-17', Statement: [] };
  const parsed = JSON.parse(document) as { Version?: string; Statement?: unknown };
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement === undefined ? [] : [parsed.Statement];
  return { Version: parsed.Version ?? '2012-10-17', Statement: statements as Record<string, unknown>[] };
}

/** The document with this request's Deny statement added (once). */
export function withDenyStatement(document: string | undefined, requestId: string): string {
  const policy = parse(document);
  const sid = statementSid(requestId);
  if (!policy.Statement.some((s) => s['Sid'] === sid)) policy.Statement.push(denyStatementFor(requestId));
  return JSON.stringify(policy);
}

/** The document without this request's statement; null when nothing is left (delete the policy). */
export function withoutDenyStatement(document: string | undefined, requestId: string): string | null {
  const policy = parse(document);
  const sid = statementSid(requestId);
  policy.Statement = policy.Statement.filter((s) => s['Sid'] !== sid);
  return policy.Statement.length === 0 ? null : JSON.stringify(policy);
}

/** `arn:aws:iam::123456789012:role/path/Name` → `Name`. */
export function roleNameOf(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf('/') + 1);
}
