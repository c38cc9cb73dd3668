/**
 * The table of cases that `request-access.ts` and its SQL twin must both answer as written:
 * `request-access.test.ts` runs it through the pure functions, test/requests/request-access-sql.test.ts
 * through the SQL against real PostgreSQL. A new rule (an escalation tier, say) adds rows here.
 */
import type { RequestFacts, RequestStatus } from './lifecycle.js';
import { buildProfileDefinition, type ProfileDefinition } from './profile.js';
import type { RequestParties, Viewer } from './request-access.js';

export interface AccessCase {
  name: string;
  viewer: Viewer;
  request: {
    requesterId: string;
    /** As an admin typed them; stored the way `buildProfileDefinition` stores them. */
    approverGroups?: string[];
    approverPrincipals?: string[];
    required?: number;
    status?: RequestStatus;
    breakGlass?: boolean;
    /** The pending TTL passed and the expiry job has not run yet. */
    pendingTtlPassed?: boolean;
    /** The viewer's own review, already recorded. */
    reviewedByViewer?: 'approve' | 'deny';
    /** Seconds between creation and `now` (for timed rules such as escalation tiers). */
    ageSeconds?: number;
    /** Escalation tiers of the profile version (SPEC §12). */
    escalation?: { afterSeconds: number; approverGroups: string[] }[];
    /** Seconds after creation when a decided request left `pending` (default: at creation). */
    decidedAfterSeconds?: number;
  };
  expected: { approver: boolean; sees: boolean; awaitsReview: boolean };
  /** Whether the viewer approves some request of the profile (every tier); default: `expected.approver`. */
  approvesUnderProfile?: boolean;
}

const person = (id: string, email: string | null, groups: string[] = [], roles: Partial<Viewer> = {}): Viewer => ({
  id,
  kind: 'person',
  email,
  groups,
  isAdmin: false,
  isAuditor: false,
  ...roles,
});
const service = (id: string, groups: string[] = [], email: string | null = null): Viewer => ({ id, kind: 'service', email, groups, isAdmin: false, isAuditor: false });

export const ALICE = person('prn_alice', 'alice@x.com', ['dev']);
const BOB = person('prn_bob', 'bob@x.com', ['sre']);
const CAROL = person('prn_carol', 'carol@x.com', []);
const ROBOT = service('prn_robot', ['sre']);
const STRANGER = person('prn_stranger', 'stranger@x.com', ['dev']);
const ADMIN = person('prn_admin', 'admin@x.com', ['brevet-admins'], { isAdmin: true });
const AUDITOR = person('prn_auditor', 'auditor@x.com', ['brevet-auditors'], { isAuditor: true });

const yes = { approver: true, sees: true, awaitsReview: true };
const no = { approver: false, sees: false, awaitsReview: false };
/** An approver of a request that awaits nobody's review (decided, or already reviewed by them). */
const approverOnly = { approver: true, sees: true, awaitsReview: false };
const seesOnly = { approver: false, sees: true, awaitsReview: false };

const sre = { requesterId: ALICE.id, approverGroups: ['sre'] };
const LEAD = person('prn_lead', 'lead@x.com', ['sre-leads']);
const CTO = person('prn_cto', 'cto@x.com', ['cto-office']);
const escalating = {
  ...sre,
  escalation: [
    { afterSeconds: 900, approverGroups: ['sre-leads'] },
    { afterSeconds: 3600, approverGroups: [' cto-office'] },
  ],
};

export const ACCESS_CASES: AccessCase[] = [
  // Who is an approver (rules 2 and 10).
  { name: 'a person in the approver group', viewer: BOB, request: sre, expected: yes },
  { name: 'a person named by id', viewer: CAROL, request: { requesterId: ALICE.id, approverPrincipals: [CAROL.id] }, expected: yes },
  { name: 'a person named by an email typed in another case, with spaces', viewer: CAROL, request: { requesterId: ALICE.id, approverPrincipals: [' Carol@X.COM '] }, expected: yes },
  { name: 'a person named by a compatibility form of the email (NFKC)', viewer: CAROL, request: { requesterId: ALICE.id, approverPrincipals: ['ｃarol@x.com'] }, expected: yes },
  { name: 'an entry with a longer domain names someone else', viewer: CAROL, request: { requesterId: ALICE.id, approverPrincipals: ['carol@x.com.evil.com'] }, expected: no },
  { name: 'an entry with a longer local part names someone else', viewer: CAROL, request: { requesterId: ALICE.id, approverPrincipals: ['mcarol@x.com'] }, expected: no },
  { name: 'the local part alone names no one', viewer: CAROL, request: { requesterId: ALICE.id, approverPrincipals: ['carol'] }, expected: no },
  { name: 'the id in another case names no one', viewer: CAROL, request: { requesterId: ALICE.id, approverPrincipals: ['PRN_CAROL'] }, expected: no },
  { name: 'a person with no email is never named by an email', viewer: person('prn_noemail', null, []), request: { requesterId: ALICE.id, approverPrincipals: ['noemail@x.com'] }, expected: no },
  { name: 'a group with a suffix is another group', viewer: person('prn_sre_admin', 'sa@x.com', ['sre-admins']), request: sre, expected: no },
  { name: 'a group in another case is another group', viewer: person('prn_upper', 'up@x.com', ['SRE']), request: sre, expected: no },
  { name: 'a prefix of the group is another group', viewer: person('prn_short', 'short@x.com', ['sr']), request: sre, expected: no },
  { name: 'a stranger', viewer: STRANGER, request: sre, expected: no },
  { name: 'a person with no groups and no email', viewer: person('prn_bare', null, []), request: sre, expected: no },
  { name: 'an approver of one group among several', viewer: person('prn_ops', 'ops@x.com', ['dev', 'ops']), request: { requesterId: ALICE.id, approverGroups: ['sre', 'ops'] }, expected: yes },
  { name: 'a profile without approvers (auto-approved) has none', viewer: BOB, request: { requesterId: ALICE.id, required: 0, status: 'active' }, expected: no },

  // Service accounts approve only when a profile names them.
  { name: 'a service account in the approver group is not an approver', viewer: ROBOT, request: sre, expected: no },
  { name: 'a service account named by id is an approver', viewer: ROBOT, request: { requesterId: ALICE.id, approverGroups: ['sre'], approverPrincipals: [ROBOT.id] }, expected: yes },
  { name: 'a service account holding an email is not named by that email', viewer: service('prn_mailbot', [], 'bot@x.com'), request: { requesterId: ALICE.id, approverPrincipals: ['bot@x.com'] }, expected: no },
  { name: 'an admin service account in the approver group is not an approver', viewer: { ...service('prn_adminbot', ['sre', 'brevet-admins']), isAdmin: true }, request: sre, expected: seesOnly },

  // Who sees: the requester, admins, auditors (none of them approvers by default).
  { name: 'the requester', viewer: ALICE, request: sre, expected: seesOnly },
  { name: 'the requester in the approver group never awaits their own review', viewer: person('prn_both', 'both@x.com', ['dev', 'sre']), request: { requesterId: 'prn_both', approverGroups: ['sre'] }, expected: approverOnly },
  { name: 'an admin', viewer: ADMIN, request: sre, expected: seesOnly },
  { name: 'an auditor', viewer: AUDITOR, request: sre, expected: seesOnly },
  { name: 'an admin in the approver group', viewer: person('prn_admin_sre', 'as@x.com', ['brevet-admins', 'sre'], { isAdmin: true }), request: sre, expected: yes },
  { name: 'a requester who is a service account', viewer: service('prn_ci', ['dev']), request: { requesterId: 'prn_ci', approverGroups: ['sre'] }, expected: seesOnly },

  // Whom the request awaits: the lifecycle's review rules.
  { name: 'an approver who already approved (2 required)', viewer: BOB, request: { ...sre, required: 2, reviewedByViewer: 'approve' }, expected: approverOnly },
  { name: 'a pending request past its TTL, before the expiry job', viewer: BOB, request: { ...sre, pendingTtlPassed: true }, expected: approverOnly },
  { name: 'an approved (scheduled) request', viewer: BOB, request: { ...sre, status: 'approved' }, expected: approverOnly },
  { name: 'an active request', viewer: BOB, request: { ...sre, status: 'active' }, expected: approverOnly },
  { name: 'a denied request', viewer: BOB, request: { ...sre, status: 'denied' }, expected: approverOnly },
  { name: 'a cancelled request', viewer: BOB, request: { ...sre, status: 'cancelled' }, expected: approverOnly },
  { name: 'an expired request', viewer: BOB, request: { ...sre, status: 'expired' }, expected: approverOnly },
  { name: 'an ended request', viewer: BOB, request: { ...sre, status: 'ended' }, expected: approverOnly },
  { name: 'an active break-glass session awaits its post-hoc review', viewer: BOB, request: { ...sre, status: 'active', breakGlass: true }, expected: yes },
  { name: 'an ended break-glass session awaits its post-hoc review', viewer: BOB, request: { ...sre, status: 'ended', breakGlass: true }, expected: yes },
  { name: 'a break-glass session the approver reviewed', viewer: BOB, request: { ...sre, status: 'active', breakGlass: true, reviewedByViewer: 'approve' }, expected: approverOnly },
  { name: 'a revoked break-glass session', viewer: BOB, request: { ...sre, status: 'revoked', breakGlass: true }, expected: approverOnly },
  { name: 'a break-glass session of a service account in the group', viewer: ROBOT, request: { ...sre, status: 'active', breakGlass: true }, expected: no },
  { name: 'an old pending request, still within its TTL', viewer: BOB, request: { ...sre, ageSeconds: 80_000 }, expected: yes },

  // Escalation tiers (SPEC §12): a tier approves a request still pending after its afterSeconds.
  { name: 'a tier member before the moment', viewer: LEAD, request: { ...escalating, ageSeconds: 899 }, expected: no, approvesUnderProfile: true },
  { name: 'a tier member at the moment', viewer: LEAD, request: { ...escalating, ageSeconds: 900 }, expected: yes },
  { name: 'a tier member after the moment', viewer: LEAD, request: { ...escalating, ageSeconds: 5000 }, expected: yes },
  { name: 'the second tier between the two moments', viewer: CTO, request: { ...escalating, ageSeconds: 2000 }, expected: no, approvesUnderProfile: true },
  { name: 'the second tier after its moment', viewer: CTO, request: { ...escalating, ageSeconds: 3600 }, expected: yes },
  { name: 'the first approvers keep their right after the tiers join', viewer: BOB, request: { ...escalating, ageSeconds: 5000 }, expected: yes },
  {
    name: 'a tier member of a request decided before the moment, long after it',
    viewer: LEAD,
    request: { ...escalating, status: 'active', decidedAfterSeconds: 600, ageSeconds: 5000 },
    expected: no,
    approvesUnderProfile: true,
  },
  { name: 'a tier member of a request decided after the moment', viewer: LEAD, request: { ...escalating, status: 'denied', decidedAfterSeconds: 1000, ageSeconds: 5000 }, expected: approverOnly },
  { name: 'a tier member who reviewed', viewer: LEAD, request: { ...escalating, required: 2, reviewedByViewer: 'approve', ageSeconds: 1000 }, expected: approverOnly },
  { name: 'a tier member past the TTL', viewer: LEAD, request: { ...escalating, pendingTtlPassed: true }, expected: approverOnly },
  { name: 'the requester in a tier group never awaits their own review', viewer: person('prn_lead_req', 'lr@x.com', ['dev', 'sre-leads']), request: { ...escalating, requesterId: 'prn_lead_req', ageSeconds: 1000 }, expected: approverOnly },
  { name: 'a service account in a tier group is not an approver', viewer: service('prn_leadbot', ['sre-leads']), request: { ...escalating, ageSeconds: 1000 }, expected: no, approvesUnderProfile: false },
  { name: 'a tier group with a suffix is another group', viewer: person('prn_leads2', 'l2@x.com', ['sre-leads-2']), request: { ...escalating, ageSeconds: 5000 }, expected: no },
];

/** The moment every case is judged at. */
export const CASE_NOW = new Date('2026-03-02T12:00:00Z');
const PENDING_TTL_SECONDS = 86_400;

/** The profile version a case's request was made under, built the way Brevet stores it. */
export function caseDefinition(c: AccessCase): ProfileDefinition {
  const built = buildProfileDefinition(
    {
      name: 'case',
      roleArn: 'arn:aws:iam::123456789012:role/Case',
      requesters: { groups: ['dev'] },
      approval: {
        required: c.request.required ?? 1,
        approverGroups: c.request.approverGroups ?? [],
        approverPrincipals: c.request.approverPrincipals ?? [],
        pendingTtlSeconds: PENDING_TTL_SECONDS,
        escalation: c.request.escalation ?? [],
      },
    },
    { roleChaining: false },
  );
  if (!built.ok) throw new Error(`case "${c.name}": ${JSON.stringify(built.errors)}`);
  return built.definition;
}

/** The request of a case, as the rules see it. */
export function caseRequest(c: AccessCase): { parties: RequestParties; facts: RequestFacts; createdAt: Date; decidedAt: Date | null } {
  const definition = caseDefinition(c);
  const createdAt = new Date(CASE_NOW.getTime() - (c.request.pendingTtlPassed === true ? PENDING_TTL_SECONDS + 1 : (c.request.ageSeconds ?? 60)) * 1000);
  const status = c.request.status ?? 'pending';
  const decidedAt = status === 'pending' ? null : new Date(createdAt.getTime() + (c.request.decidedAfterSeconds ?? 0) * 1000);
  const window = status === 'pending' ? null : { startsAt: createdAt, endsAt: new Date(createdAt.getTime() + 3_600_000) };
  return {
    createdAt,
    decidedAt,
    parties: { requesterId: c.request.requesterId, createdAt, decidedAt, approval: definition.approval },
    facts: {
      kind: 'access',
      status,
      requesterId: c.request.requesterId,
      approvalsRequired: definition.approval.required,
      breakGlass: c.request.breakGlass ?? false,
      durationSeconds: 3600,
      startsAt: window?.startsAt ?? null,
      endsAt: window?.endsAt ?? null,
      pendingExpiresAt: new Date(createdAt.getTime() + PENDING_TTL_SECONDS * 1000),
      reviews: c.request.reviewedByViewer === undefined ? [] : [{ reviewerId: c.viewer.id, decision: c.request.reviewedByViewer }],
    },
  };
}
