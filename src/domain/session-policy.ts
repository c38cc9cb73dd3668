/**
 * Session policies (SPEC §1, §4.1). STS takes one inline policy; the effective permissions of
 * the session are the role's permissions intersected with it. A request's `scope` may only
 * narrow the profile's policy, never widen it:
 * - with resources, it is accepted only when every (action, resource) pair it allows is provably
 *   allowed by one Allow statement of the profile policy, and then the profile's Deny statements
 *   are kept beside the scope's Allow;
 * - without, it means its actions on whatever the profile policy allows them on: the policy sent
 *   is the profile's, with every other action denied, which is exactly that intersection whatever
 *   the profile's statements say (`brevet request P --scope-actions a,b`).
 */

export interface Scope {
  actions: string[];
  resources?: string[];
}

type Policy = Record<string, unknown>;

interface SimpleStatement {
  effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
}

export type ScopeCheck = { ok: true } | { ok: false; reason: string };

/** Whether `scope` is inside what `profilePolicy` allows (no profile policy: anything the role allows). */
export function checkScope(profilePolicy: Policy | null, scope: Scope): ScopeCheck {
  // An Allow of nothing is a policy STS rejects as malformed, not a narrower one.
  if (scope.actions.length === 0 || scope.resources?.length === 0) return { ok: false, reason: 'a scope names at least one action, and one resource when it names resources' };
  if (profilePolicy === null) return { ok: true };
  const statements = statementsOf(profilePolicy);
  if (statements === null) {
    // Actions alone narrow any profile policy exactly (sessionPolicyFor); pairs need the reasoning below.
    if (scope.resources === undefined) return { ok: true };
    return { ok: false, reason: 'the profile session policy uses conditions or Not* elements; request without a scope, or with actions only' };
  }
  const allows = statements.filter((s) => s.effect === 'Allow');
  for (const action of scope.actions) {
    const allowing = allows.filter((s) => s.actions.some((p) => patternContains(p, action, true)));
    if (scope.resources === undefined) {
      if (allowing.length === 0) return { ok: false, reason: `${action} is not allowed by the profile session policy` };
      continue;
    }
    for (const resource of scope.resources) {
      if (!allowing.some((s) => s.resources.some((p) => patternContains(p, resource, false)))) {
        return { ok: false, reason: `${action} on ${resource} is not allowed by the profile session policy` };
      }
    }
  }
  return { ok: true };
}

/**
 * The policy sent to STS: the profile policy; with a scope naming resources, the scope's Allow
 * plus the profile's Denys; with a scope of actions only, the profile policy (none: everything
 * the role allows) plus a Deny of every other action. Every Deny is kept verbatim, even one whose
 * elements checkScope cannot reason about: a Deny only ever narrows, so dropping one would widen
 * the session.
 */
export function sessionPolicyFor(profilePolicy: Policy | null, scope: Scope | null): string | undefined {
  if (scope === null) return profilePolicy === null ? undefined : JSON.stringify(profilePolicy);
  if (scope.resources === undefined) {
    const base = profilePolicy ?? EVERYTHING;
    const others = { Sid: 'BrevetRequestScope', Effect: 'Deny', NotAction: scope.actions, Resource: '*' };
    return JSON.stringify({ ...base, Statement: [...statementList(base), others] });
  }
  const denies = profilePolicy === null ? [] : rawStatements(profilePolicy).filter((s) => s['Effect'] === 'Deny');
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'BrevetRequestScope', Effect: 'Allow', Action: scope.actions, Resource: scope.resources }, ...denies],
  });
}

/** A session policy that takes nothing away from the role. */
const EVERYTHING: Policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/**
 * The policy sent to STS for a session that STS's 900 s floor makes outlast its window (see
 * session-duration.ts): `policy` (or, with none, everything the role allows) plus a statement
 * denying every action from `cutOffAt` on, by AWS's clock (`aws:CurrentTime`). An explicit Deny
 * in a session policy wins over any Allow, so the session can do nothing after the window end.
 */
export function windowCutOffPolicy(policy: string | undefined, cutOffAt: Date): string {
  const base: Policy = policy === undefined ? EVERYTHING : (JSON.parse(policy) as Policy);
  return JSON.stringify({ ...base, Statement: [...statementList(base), cutOffStatement(cutOffAt)] });
}

function cutOffStatement(cutOffAt: Date) {
  return {
    Sid: 'BrevetWindowEnd',
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: { DateGreaterThanEquals: { 'aws:CurrentTime': cutOffAt.toISOString() } },
  };
}

/** STS takes a session policy of at most 2,048 characters. */
export const SESSION_POLICY_MAX_CHARACTERS = 2_048;
/**
 * How large a profile's own session policy may be: STS's limit less what windowCutOffPolicy adds
 * (a statement and a comma), so that the session issued in a window's last minutes is not refused.
 */
export const PROFILE_POLICY_MAX_CHARACTERS = SESSION_POLICY_MAX_CHARACTERS - JSON.stringify(cutOffStatement(new Date(0))).length - 1;
/** Sids of the statements Brevet adds to a session policy; a profile's own statements may not take them. */
export const RESERVED_SIDS: readonly string[] = ['BrevetRequestScope', 'BrevetWindowEnd'];

/** `Statement` may be one statement or a list of them. */
function statementList(policy: Policy): unknown[] {
  const raw = policy['Statement'];
  return Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
}

function rawStatements(policy: Policy): Record<string, unknown>[] {
  return statementList(policy).filter((entry): entry is Record<string, unknown> => entry !== null && typeof entry === 'object' && !Array.isArray(entry));
}

/** Statements reduced to Effect/Action/Resource, or null when any uses an element we cannot reason about. */
function statementsOf(policy: Policy): SimpleStatement[] | null {
  const statements: SimpleStatement[] = [];
  for (const entry of statementList(policy)) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return null;
    const s = entry as Record<string, unknown>;
    const keys = Object.keys(s).filter((k) => k !== 'Sid');
    if (keys.some((k) => !['Effect', 'Action', 'Resource'].includes(k))) return null;
    if (s['Effect'] !== 'Allow' && s['Effect'] !== 'Deny') return null;
    const actions = strings(s['Action']);
    const resources = strings(s['Resource']);
    if (actions === null || resources === null) return null;
    statements.push({ effect: s['Effect'], actions, resources });
  }
  return statements;
}

function strings(value: unknown): string[] | null {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return null;
}

/**
 * True when every string matched by the IAM wildcard pattern `inner` is matched by `outer`.
 * Sound, not complete: `outer`'s `*` may absorb anything of `inner` (wildcards included),
 * `outer`'s `?` one non-`*` character, and literals must be equal.
 */
export function patternContains(outer: string, inner: string, caseInsensitive: boolean): boolean {
  const o = caseInsensitive ? outer.toLowerCase() : outer;
  const i = caseInsensitive ? inner.toLowerCase() : inner;
  // matches[a][b]: outer[a..] contains inner[b..]
  const memo = new Map<number, boolean>();
  const go = (a: number, b: number): boolean => {
    const key = a * (i.length + 1) + b;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let result: boolean;
    if (a === o.length) result = b === i.length;
    else if (o[a] === '*') result = go(a + 1, b) || (b < i.length && go(a, b + 1));
    else if (b === i.length) result = false;
    else if (o[a] === '?') result = i[b] !== '*' && go(a + 1, b + 1);
    else result = o[a] === i[b] && i[b] !== '*' && i[b] !== '?' ? go(a + 1, b + 1) : false;
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}
