import ipaddr from 'ipaddr.js';
import { RE2JS } from 're2js';
import { WEEKDAYS, toMinutes, type Conditions, type TimeWindow, type Weekday } from './conditions.js';
import { canonicalPrincipalEntries } from './eligibility.js';
import { DEFAULT_SENSITIVE_ACTIONS, SENSITIVE_ACTION } from './evidence.js';
import { canonicalGroups } from './identity.js';
import { PROFILE_POLICY_MAX_CHARACTERS, RESERVED_SIDS } from './session-policy.js';

/** One version of a catalog entry: an IAM role and the rules for getting it (SPEC §1). */
export interface ProfileDefinition {
  name: string;
  description: string;
  roleArn: string;
  externalId: string | null;
  region: string | null;
  maxDurationSeconds: number;
  defaultDurationSeconds: number;
  requesters: Requesters;
  approval: ApprovalPolicy;
  conditions: Conditions;
  sessionPolicy: Record<string, unknown> | null;
  sessionTags: Record<string, string>;
  revocation: 'block-new' | 'deny-policy';
  notify: { slackChannel: string | null };
}

/** Who may ask, and how many of one requester's requests may wait for a decision at once. */
export interface Requesters {
  groups: string[];
  principals: string[];
  /** Cap on one requester's `pending` requests on this profile; 0 = no cap (SPEC §1). */
  maxOpenPending: number;
}

export interface ApprovalPolicy {
  required: number;
  pendingTtlSeconds: number;
  remindAfterSeconds: number | null;
  breakGlass: boolean;
  requireApproverMfa: boolean;
  approverGroups: string[];
  approverPrincipals: string[];
  /** How extensions of an active grant are reviewed (SPEC §12). */
  extension: ExtensionPolicy;
  /** Tiers of approvers who join a request still pending after `afterSeconds` (SPEC §12). */
  escalation: EscalationTier[];
  /** Auto-approval of whoever is on call now in one of the schedules (SPEC §12). */
  onCall: OnCallPolicy | null;
  /** Actions whose grant approvers must see (SPEC §13); checked only with BREVET_EVIDENCE=true. */
  sensitiveActions: string[];
  /** Approvals a request needs instead of `required` when it may grant a sensitive action; null: no change. */
  sensitiveRequired: number | null;
}

export interface ExtensionPolicy {
  /** Approvals an extension needs; 0 approves it at once when it fits `maxTotalSeconds`. */
  required: number;
  /** The longest a grant may last, its extensions included. */
  maxTotalSeconds: number;
}

export interface EscalationTier {
  /** Counted from the request's creation. */
  afterSeconds: number;
  approverGroups: string[];
}

export interface OnCallPolicy {
  provider: 'pagerduty';
  scheduleIds: string[];
}

/** What an admin may leave out of `approval`; nested policies may be partial too. */
export type ApprovalInput = Partial<Omit<ApprovalPolicy, 'extension'>> & { extension?: Partial<ExtensionPolicy> };

/** What an admin sends: everything but name and role has a default. */
export interface ProfileInput {
  name: string;
  description?: string;
  roleArn: string;
  externalId?: string | null;
  region?: string | null;
  maxDurationSeconds?: number;
  defaultDurationSeconds?: number;
  requesters?: { groups?: readonly string[]; principals?: readonly string[]; maxOpenPending?: number };
  approval?: ApprovalInput;
  conditions?: Partial<Conditions>;
  sessionPolicy?: Record<string, unknown> | null;
  sessionTags?: Record<string, string>;
  revocation?: 'block-new' | 'deny-policy';
  notify?: { slackChannel?: string | null };
}

export interface ProfileError {
  field: string;
  message: string;
}

export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;
/** AWS caps role-chained sessions at one hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3_600;
/** AWS: 50 session tags; Brevet always adds brevet:request-id and brevet:requester. */
const MAX_PROFILE_TAGS = 48;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
/** PagerDuty object ids: upper-case letters and digits (e.g. `PABC123`). */
const PAGERDUTY_ID = /^[A-Z0-9]{1,32}$/;

/**
 * A definition as stored by an older Brevet, with the fields added since filled with the
 * defaults that keep its meaning (a version is never rewritten, so this happens on read).
 */
export function upgradeStoredDefinition(stored: ProfileDefinition): ProfileDefinition {
  return withApprovalDefaults({ ...stored, requesters: { ...stored.requesters, maxOpenPending: stored.requesters.maxOpenPending ?? 0 } });
}

/** Fills defaults, canonicalises identities and checks what a schema cannot (SPEC §1, §4.1). */
export function buildProfileDefinition(
  input: ProfileInput,
  options: { roleChaining: boolean },
): { ok: true; definition: ProfileDefinition } | { ok: false; errors: ProfileError[] } {
  const maxDurationSeconds = input.maxDurationSeconds ?? ROLE_CHAINING_MAX_SECONDS;
  const approval = input.approval ?? {};
  const required = approval.required ?? 1;
  const conditions = input.conditions ?? {};
  const definition: ProfileDefinition = {
    name: input.name,
    description: input.description ?? '',
    roleArn: input.roleArn,
    externalId: input.externalId ?? null,
    region: input.region ?? null,
    maxDurationSeconds,
    defaultDurationSeconds: input.defaultDurationSeconds ?? Math.min(maxDurationSeconds, ROLE_CHAINING_MAX_SECONDS),
    requesters: {
      groups: canonicalGroups(input.requesters?.groups ?? []),
      principals: canonicalPrincipalEntries(input.requesters?.principals ?? []),
      maxOpenPending: input.requesters?.maxOpenPending ?? 0,
    },
    approval: {
      required,
      approverGroups: canonicalGroups(approval.approverGroups ?? []),
      approverPrincipals: canonicalPrincipalEntries(approval.approverPrincipals ?? []),
      pendingTtlSeconds: approval.pendingTtlSeconds ?? 86_400,
      remindAfterSeconds: approval.remindAfterSeconds ?? null,
      breakGlass: approval.breakGlass ?? false,
      requireApproverMfa: approval.requireApproverMfa ?? false,
      extension: {
        required: approval.extension?.required ?? required,
        maxTotalSeconds: approval.extension?.maxTotalSeconds ?? maxDurationSeconds,
      },
      escalation: (approval.escalation ?? []).map((tier) => ({ afterSeconds: tier.afterSeconds, approverGroups: canonicalGroups(tier.approverGroups) })),
      onCall: approval.onCall == null ? null : { provider: approval.onCall.provider, scheduleIds: [...new Set(approval.onCall.scheduleIds)] },
      sensitiveActions: [...new Set(approval.sensitiveActions ?? DEFAULT_SENSITIVE_ACTIONS)],
      sensitiveRequired: approval.sensitiveRequired ?? null,
    },
    conditions: {
      requireMfa: conditions.requireMfa ?? false,
      sourceCidrs: conditions.sourceCidrs ?? [],
      timeWindows: (conditions.timeWindows ?? []).map((w) => ({ ...w, days: [...new Set(w.days.map(weekdayOf))] })),
      ticketPattern: conditions.ticketPattern ?? null,
      minJustificationLength: conditions.minJustificationLength ?? 0,
    },
    sessionPolicy: input.sessionPolicy ?? null,
    sessionTags: input.sessionTags ?? {},
    revocation: input.revocation ?? 'block-new',
    notify: { slackChannel: input.notify?.slackChannel ?? null },
  };
  const errors = checkDefinition(definition, options);
  return errors.length === 0 ? { ok: true, definition } : { ok: false, errors };
}

function checkDefinition(p: ProfileDefinition, options: { roleChaining: boolean }): ProfileError[] {
  const errors: ProfileError[] = [];
  const fail = (field: string, message: string) => errors.push({ field: `/body/${field}`, message });

  if (!ROLE_ARN.test(p.roleArn)) fail('roleArn', 'must be an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)');
  if (p.externalId !== null && !/^[\w+=,.@:/-]{2,1224}$/.test(p.externalId)) fail('externalId', 'must be 2-1224 characters of [\\w+=,.@:/-]');
  if (p.maxDurationSeconds < MIN_SESSION_SECONDS || p.maxDurationSeconds > MAX_SESSION_SECONDS) {
    fail('maxDurationSeconds', `must be from ${MIN_SESSION_SECONDS} to ${MAX_SESSION_SECONDS}`);
  }
  if (options.roleChaining && p.maxDurationSeconds > ROLE_CHAINING_MAX_SECONDS) {
    fail('maxDurationSeconds', `must be at most ${ROLE_CHAINING_MAX_SECONDS}: Brevet runs on role credentials (role chaining)`);
  }
  if (p.defaultDurationSeconds < MIN_SESSION_SECONDS || p.defaultDurationSeconds > p.maxDurationSeconds) {
    fail('defaultDurationSeconds', `must be from ${MIN_SESSION_SECONDS} to maxDurationSeconds`);
  }
  if (p.requesters.groups.length === 0 && p.requesters.principals.length === 0) {
    fail('requesters', 'name at least one group or principal who may request');
  }
  if (!Number.isInteger(p.requesters.maxOpenPending) || p.requesters.maxOpenPending < 0) {
    fail('requesters/maxOpenPending', 'must be a whole number, 0 for no cap');
  }
  const a = p.approval;
  if (a.required > 0 && a.approverGroups.length === 0 && a.approverPrincipals.length === 0) {
    fail('approval/approverGroups', 'name approver groups or principals when approvals are required');
  }
  if (a.pendingTtlSeconds < 1) fail('approval/pendingTtlSeconds', 'must be at least 1');
  if (a.remindAfterSeconds !== null && a.remindAfterSeconds >= a.pendingTtlSeconds) {
    fail('approval/remindAfterSeconds', 'must be shorter than pendingTtlSeconds');
  }
  errors.push(...checkApprovalExtras(a, p.maxDurationSeconds));
  p.conditions.sourceCidrs.forEach((cidr, i) => {
    if (!ipaddr.isValidCIDR(cidr)) fail(`conditions/sourceCidrs/${i}`, 'is not a CIDR range (e.g. 10.0.0.0/8)');
  });
  p.conditions.timeWindows.forEach((w, i) => errors.push(...checkWindow(w, `/body/conditions/timeWindows/${i}`)));
  if (p.conditions.ticketPattern !== null) {
    const problem = checkPattern(p.conditions.ticketPattern);
    if (problem !== null) fail('conditions/ticketPattern', problem);
  }
  const tags = Object.entries(p.sessionTags);
  if (tags.length > MAX_PROFILE_TAGS) fail('sessionTags', `at most ${MAX_PROFILE_TAGS} tags`);
  const seenTagKeys = new Map<string, string>();
  for (const [key, value] of tags) {
    // STS compares tag keys without case: two that differ only in case fail every issuance.
    const same = seenTagKeys.get(key.toLowerCase());
    if (!TAG_KEY.test(key) || key.toLowerCase().startsWith('brevet:')) fail(`sessionTags/${key}`, 'is not a valid tag key (brevet: is reserved)');
    else if (same !== undefined) fail(`sessionTags/${key}`, `repeats the key ${same} (AWS tag keys are case-insensitive)`);
    else if (!TAG_VALUE.test(value)) fail(`sessionTags/${key}`, 'is not a valid tag value');
    seenTagKeys.set(key.toLowerCase(), key);
  }
  if (p.sessionPolicy !== null) {
    const policy = p.sessionPolicy;
    if (!('Statement' in policy) || JSON.stringify(policy).length > PROFILE_POLICY_MAX_CHARACTERS) {
      fail('sessionPolicy', `must be an IAM policy document with a Statement, at most ${PROFILE_POLICY_MAX_CHARACTERS} characters as compact JSON (STS takes 2048; Brevet may add a statement)`);
    } else {
      errors.push(...policyGrammarErrors(policy));
    }
  }
  return errors;
}

const POLICY_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const isStringOrStrings = (value: unknown) =>
  (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== ''));

/**
 * The IAM policy grammar a session policy must follow, checked at save so that a profile AWS
 * would refuse (`MalformedPolicyDocument` at every issuance) is never saved: a Statement that is
 * a statement or a non-empty list of them, each with Effect Allow or Deny, one of Action and
 * NotAction, one of Resource and NotResource, and no Principal (a session policy has none).
 */
export function policyGrammarErrors(policy: Record<string, unknown>): ProfileError[] {
  const errors: ProfileError[] = [];
  const fail = (field: string, message: string) => errors.push({ field: `/body/sessionPolicy${field}`, message });
  for (const key of Object.keys(policy)) if (!POLICY_KEYS.has(key)) fail(`/${key}`, 'is not an element of an IAM policy (Version, Id, Statement)');
  if ('Version' in policy && policy['Version'] !== '2012-10-17' && policy['Version'] !== '2008-10-17') fail('/Version', 'must be 2012-10-17');
  const raw = policy['Statement'];
  const listed = Array.isArray(raw);
  const statements: unknown[] = listed ? raw : [raw];
  if (statements.length === 0) fail('/Statement', 'must hold at least one statement');
  const sids = new Set<string>();
  statements.forEach((statement, i) => {
    const at = listed ? `/Statement/${i}` : '/Statement';
    if (statement === null || typeof statement !== 'object' || Array.isArray(statement)) return fail(at, 'must be a statement object');
    const s = statement as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (!STATEMENT_KEYS.has(key)) fail(`${at}/${key}`, key === 'Principal' || key === 'NotPrincipal' ? 'is not allowed in a session policy' : 'is not an element of an IAM statement');
    }
    if (s['Effect'] !== 'Allow' && s['Effect'] !== 'Deny') fail(`${at}/Effect`, 'must be Allow or Deny');
    for (const [element, negated] of [['Action', 'NotAction'], ['Resource', 'NotResource']] as const) {
      const given = [element, negated].filter((name) => name in s);
      if (given.length !== 1) fail(`${at}/${element}`, `give exactly one of ${element} and ${negated}`);
      for (const name of given) if (!isStringOrStrings(s[name])) fail(`${at}/${name}`, 'must be a string or a non-empty list of strings');
    }
    if ('Sid' in s) {
      const sid = s['Sid'];
      if (typeof sid !== 'string' || !/^[A-Za-z0-9]*$/.test(sid)) fail(`${at}/Sid`, 'must be ASCII letters and digits only');
      else if (RESERVED_SIDS.includes(sid)) fail(`${at}/Sid`, `is one Brevet gives its own statements (${RESERVED_SIDS.join(', ')})`);
      else if (sid !== '' && sids.has(sid)) fail(`${at}/Sid`, 'is used by another statement (Sids are unique in a policy)');
      if (typeof sid === 'string') sids.add(sid);
    }
    if ('Condition' in s && (s['Condition'] === null || typeof s['Condition'] !== 'object' || Array.isArray(s['Condition']))) fail(`${at}/Condition`, 'must be an object');
  });
  return errors;
}

/** The SPEC §12 and §13 parts of `approval`: extension, escalation tiers, on-call, sensitive access. */
function checkApprovalExtras(a: ApprovalPolicy, maxDurationSeconds: number): ProfileError[] {
  const errors: ProfileError[] = [];
  const fail = (field: string, message: string) => errors.push({ field: `/body/approval/${field}`, message });
  if (!Number.isInteger(a.extension.required) || a.extension.required < 0 || a.extension.required > 20) fail('extension/required', 'must be from 0 to 20');
  // With approvals required of requests too, the missing approvers are already named above.
  if (a.extension.required > 0 && a.required === 0 && a.approverGroups.length === 0 && a.approverPrincipals.length === 0) {
    fail('extension/required', 'name approver groups or principals when extensions need approvals');
  }
  const max = a.extension.maxTotalSeconds;
  // A maximum that merely follows a wrong maxDurationSeconds is named there, not twice.
  if (max !== maxDurationSeconds && (!Number.isInteger(max) || max < MIN_SESSION_SECONDS || max > MAX_SESSION_SECONDS)) {
    fail('extension/maxTotalSeconds', `must be from ${MIN_SESSION_SECONDS} to ${MAX_SESSION_SECONDS}`);
  }
  a.escalation.forEach((tier, i) => {
    const previous = a.escalation[i - 1];
    if (!Number.isInteger(tier.afterSeconds) || tier.afterSeconds < 1) fail(`escalation/${i}/afterSeconds`, 'must be at least 1');
    else if (previous !== undefined && tier.afterSeconds <= previous.afterSeconds) {
      fail(`escalation/${i}/afterSeconds`, `must be greater than the previous tier's (${previous.afterSeconds})`);
    } else if (tier.afterSeconds >= a.pendingTtlSeconds) {
      // A tier that joins after the request expired would never see it.
      fail(`escalation/${i}/afterSeconds`, 'must be shorter than pendingTtlSeconds');
    }
    if (tier.approverGroups.length === 0) fail(`escalation/${i}/approverGroups`, 'name at least one group');
  });
  a.sensitiveActions.forEach((action, i) => {
    if (!SENSITIVE_ACTION.test(action)) fail(`sensitiveActions/${i}`, 'is not an IAM action (service:Action, wildcards * and ? allowed), e.g. iam:*');
  });
  if (a.sensitiveRequired !== null) {
    if (!Number.isInteger(a.sensitiveRequired) || a.sensitiveRequired < a.required || a.sensitiveRequired > 20) {
      fail('sensitiveRequired', `must be from approval.required (${a.required}) to 20: sensitive access never needs fewer approvals`);
    } else if (a.sensitiveRequired > 0 && a.required === 0 && a.approverGroups.length === 0 && a.approverPrincipals.length === 0) {
      fail('sensitiveRequired', 'name approver groups or principals when sensitive access needs approvals');
    }
  }
  if (a.onCall !== null) {
    if (a.onCall.provider !== 'pagerduty') fail('onCall/provider', 'must be pagerduty');
    if (a.onCall.scheduleIds.length === 0) fail('onCall/scheduleIds', 'name at least one schedule');
    a.onCall.scheduleIds.forEach((id, i) => {
      if (!PAGERDUTY_ID.test(id)) fail(`onCall/scheduleIds/${i}`, 'is not a PagerDuty schedule id (e.g. P1ABC23)');
    });
  }
  return errors;
}

/**
 * Profile versions saved before SPEC §12 and §13 lack their fields: they read as the defaults
 * those versions would have been given (extensions reviewed like the request, within the
 * profile's maximum; no tiers; no on-call; the default sensitive actions, approvals unchanged).
 */
export function withApprovalDefaults(definition: ProfileDefinition): ProfileDefinition {
  const a = definition.approval as Partial<ApprovalPolicy> & Omit<ApprovalPolicy, 'extension' | 'escalation' | 'onCall' | 'sensitiveActions' | 'sensitiveRequired'>;
  if (a.extension !== undefined && a.escalation !== undefined && a.onCall !== undefined && a.sensitiveActions !== undefined && a.sensitiveRequired !== undefined) {
    return definition;
  }
  return {
    ...definition,
    approval: {
      ...a,
      extension: a.extension ?? { required: a.required, maxTotalSeconds: definition.maxDurationSeconds },
      escalation: a.escalation ?? [],
      onCall: a.onCall ?? null,
      sensitiveActions: a.sensitiveActions ?? [...DEFAULT_SENSITIVE_ACTIONS],
      sensitiveRequired: a.sensitiveRequired ?? null,
    },
  };
}

const DAY_NAMES: Record<Weekday, string> = { mon: 'monday', tue: 'tuesday', wed: 'wednesday', thu: 'thursday', fri: 'friday', sat: 'saturday', sun: 'sunday' };

/** `Mon`, `MONDAY`, `monday` as `mon`; anything else as it is, for checkWindow to refuse. */
function weekdayOf(day: string): Weekday {
  const lower = day.toLowerCase();
  const short = lower.slice(0, 3) as Weekday;
  return WEEKDAYS.includes(short) && (lower.length === 3 || lower === DAY_NAMES[short]) ? short : (day as Weekday);
}

function checkWindow(w: TimeWindow, at: string): ProfileError[] {
  const errors: ProfileError[] = [];
  if (w.days.length === 0 || w.days.some((d) => !WEEKDAYS.includes(d))) errors.push({ field: `${at}/days`, message: `days from ${WEEKDAYS.join(', ')}` });
  for (const key of ['start', 'end'] as const) {
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(w[key])) errors.push({ field: `${at}/${key}`, message: 'must be HH:MM (24 h)' });
  }
  if (errors.length === 0 && toMinutes(w.start) === toMinutes(w.end)) errors.push({ field: `${at}/end`, message: 'must differ from start' });
  if (!isTimeZone(w.timeZone)) errors.push({ field: `${at}/timeZone`, message: 'must be an IANA time zone, e.g. Europe/Paris' });
  return errors;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Admin-supplied patterns run on user input, so they run on RE2 (linear time, no backtracking):
 * they must compile there — no backreferences or lookaround — and match the whole ticket.
 */
function checkPattern(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (error) {
    return `is not a valid RE2 regular expression (${error instanceof Error ? error.message : 'syntax error'})`;
  }
}
