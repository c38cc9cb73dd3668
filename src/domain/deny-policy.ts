/**
 * deny-policy revocation (SPEC §4.4): one inline policy per role and per Brevet installation
 * holds a Deny statement per revoked request (one statement for all of them once there are many,
 * see revocationDocument), matching only the sessions Brevet named `brevet-<requestId>`.
 * Statements Brevet does not own are kept as they are.
 */

/** Every installation's revocation policy starts so; the sensitive-access check skips them all (SPEC §13). */
export const POLICY_PREFIX = 'BrevetRevocations-';
const SID_PREFIX = 'BrevetRevoke';

/**
 * The inline policy this installation owns on a role: `BrevetRevocations-<installation id>`.
 * Each installation rebuilds its own statements from its own database, so installations that
 * share a role must never share a policy: IAM has no compare-and-swap, and one installation's
 * rewrite would erase the other's Deny statements (issue 10 item 10). Another installation's
 * policy is never read nor written.
 */
export function revocationPolicyName(installationId: string): string {
  if (!/^[a-z0-9]{16}$/.test(installationId)) throw new Error('an installation id is 16 lower-case letters or digits');
  return `${POLICY_PREFIX}${installationId}`;
}

interface PolicyDocument {
  Version: string;
  Statement: Record<string, unknown>[];
}

/** Sids allow [A-Za-z0-9] only. */
export function statementSid(requestId: string): string {
  return `${SID_PREFIX}${requestId.replace(/[^A-Za-z0-9]/g, '')}`;
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

/**
 * The role's revocation document for exactly these revoked requests: Brevet's statements are
 * rebuilt from the given ids (the database's truth), every other statement is kept as it is.
 * Rebuilding instead of editing what IAM returned means an IAM read that lags a recent write
 * (IAM is eventually consistent) cannot make Brevet drop another request's Deny.
 * `sweptBefore` adds the statement denying every Brevet session issued before it (see
 * sweepStatement); the requests it covers need no statement of their own and are not given.
 * Null when nothing is left: delete the policy.
 */
export function revocationDocument(
  document: string | undefined,
  requestIds: readonly string[],
  options: { merge?: boolean; sweptBefore?: Date } = {},
): string | null {
  const policy = parse(document);
  const foreign = policy.Statement.filter((s) => typeof s['Sid'] !== 'string' || !s['Sid'].startsWith(SID_PREFIX));
  const kept = options.sweptBefore === undefined ? foreign : [...foreign, sweepStatement(options.sweptBefore)];
  const ids = [...new Set(requestIds)].sort();
  const statements = [...kept, ...ids.map(denyStatementFor)];
  if (statements.length === 0) return null;
  const separate = JSON.stringify({ Version: policy.Version, Statement: statements });
  if (ids.length === 0 || (options.merge !== true && separate.length <= SEPARATE_STATEMENTS_UP_TO)) return separate;
  return JSON.stringify({ Version: policy.Version, Statement: [...kept, mergedDenyStatement(ids)] });
}

export const SWEEP_SID = `${SID_PREFIX}IssuedBefore`;

/**
 * The last resort when the role's inline policies have no room even for one merged statement
 * (IAM answers LimitExceeded): deny every session Brevet started on the role before `issuedBefore`,
 * as IAM's own "Revoke active sessions" does for all of a role's sessions (a Deny on
 * aws:TokenIssueTime), but only Brevet's (`brevet-*` session names). A revocation must never stay
 * unapplied while its sessions work: this one fails closed, and the holders of requests still
 * active on the role ask for credentials again (sessions issued after `issuedBefore` are not
 * touched). See sweepMoment for the time chosen.
 */
export function sweepStatement(issuedBefore: Date): Record<string, unknown> {
  return {
    Sid: SWEEP_SID,
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: {
      StringLike: { 'aws:userid': `*:${sessionNameFor('*')}` },
      DateLessThan: { 'aws:TokenIssueTime': issuedBefore.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    },
  };
}

/**
 * AWS stamps a session's aws:TokenIssueTime with its own clock, the revocation is timed by
 * Brevet's: a sweep reaches this far past Brevet's now, so that a session issued just before the
 * revocation is denied even when AWS's clock runs up to this much ahead. Brevet sessions issued
 * on the role in these seconds are denied too (their holders ask again).
 */
export const SWEEP_CLOCK_MARGIN_MS = 2_000;

/** The moment a sweep written now denies sessions before: now and the margin, rounded up to a whole second. */
export function sweepMoment(now: Date): Date {
  return new Date(Math.ceil((now.getTime() + SWEEP_CLOCK_MARGIN_MS) / 1000) * 1000);
}

/**
 * IAM allows 10,240 characters for all of a role's inline policies together (PutRolePolicy
 * answers LimitExceeded past it). A statement per request costs ~170 characters, so ~60 revoked
 * requests waiting for their last credential to expire on one role would fill it, and the next
 * revocation could not be placed. Past this size (or, with `merge`, when IAM refused the
 * separate statements for the room the role's other inline policies take) the requests' patterns go into one statement
 * instead (~36 characters each: ~280 requests in 10,240), leaving the rest of the budget to the
 * role's other inline policies.
 */
const SEPARATE_STATEMENTS_UP_TO = 4_096;
const MERGED_SID = `${SID_PREFIX}Many`;

/** One Deny for all these requests' sessions: `aws:userid` like any of their patterns. */
export function mergedDenyStatement(requestIds: readonly string[]): Record<string, unknown> {
  return {
    Sid: MERGED_SID,
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: { StringLike: { 'aws:userid': requestIds.map((id) => `*:${sessionNameFor(id)}`) } },
  };
}

/** The Sid of the statement of `document` that names this request's sessions, if one does (a sweep names none). */
export function denyingSid(document: string | null, requestId: string): string | undefined {
  if (document === null) return undefined;
  const pattern = `*:${sessionNameFor(requestId)}`;
  const statement = parse(document).Statement.find((s) => {
    if (typeof s['Sid'] !== 'string' || !s['Sid'].startsWith(SID_PREFIX)) return false;
    const userid = (s['Condition'] as { StringLike?: Record<string, unknown> } | undefined)?.StringLike?.['aws:userid'];
    return userid === pattern || (Array.isArray(userid) && userid.includes(pattern));
  });
  return statement?.['Sid'] as string | undefined;
}

/** `arn:aws:iam::123456789012:role/path/Name` → `Name`. */
export function roleNameOf(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf('/') + 1);
}
