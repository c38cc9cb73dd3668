// SPEC §3 rules 1, 2, 10 and §7: who approves a request, who sees it, whom it awaits — the shared
// table run through the pure rules. test/requests/request-access-sql.test.ts runs the same table
// through the SQL twin against PostgreSQL, so lists and item routes cannot disagree.
import { describe, expect, it } from 'vitest';
import { ACCESS_CASES, CASE_NOW, caseDefinition, caseRequest } from './request-access.cases.js';
import { approvesUnderProfile, awaitsReviewBy, isApproverOf, maySeeRequest } from './request-access.js';

describe('the table of cases', () => {
  it.each(ACCESS_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { parties, facts } = caseRequest(c);
    expect({
      approver: isApproverOf(parties, c.viewer, CASE_NOW),
      sees: maySeeRequest(parties, c.viewer, CASE_NOW),
      awaitsReview: awaitsReviewBy(parties, facts, c.viewer, CASE_NOW),
    }).toEqual(c.expected);
  });
});

describe('the profile-level question', () => {
  it.each(ACCESS_CASES.map((c) => [c.name, c] as const))('%s: approves under the profile (every tier) as the case says', (_name, c) => {
    // Without tiers, an approver of any request of the profile is an approver of this one; a tier
    // member approves under the profile even before (or without) joining this request.
    expect(approvesUnderProfile(caseDefinition(c).approval, c.viewer)).toBe(c.approvesUnderProfile ?? c.expected.approver);
  });
});

describe('eligibility is judged at review time, not at creation', () => {
  it('uses the moment given, and the rules of the version the request was made under', () => {
    const c = ACCESS_CASES[0]!;
    const { parties } = caseRequest(c);
    const later = new Date(CASE_NOW.getTime() + 30 * 86_400_000);
    expect(isApproverOf(parties, c.viewer, later)).toBe(true);
    expect(isApproverOf({ ...parties, approval: { approverGroups: ['other'], approverPrincipals: [] } }, c.viewer, later)).toBe(false);
    expect(isApproverOf(parties, { ...c.viewer, groups: [] }, later)).toBe(false);
  });
});
