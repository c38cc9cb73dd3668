import { describe, expect, it } from 'vitest';
import { approvalsRequiredFor, isSensitive, raisesApprovals, type Evidence } from './evidence.js';

const found = (...sensitive: string[]): Evidence => ({ sensitive, checkedAt: '2026-12-03T00:00:00.000Z' });
const failed: Evidence = { sensitive: null, error: 'Access Analyzer did not answer', checkedAt: null };

describe('isSensitive', () => {
  it.each([
    { role: [], session: null, sensitive: false, why: 'a role without policies grants nothing' },
    { role: [false, false], session: null, sensitive: false, why: 'no role policy may grant it' },
    { role: [false, true], session: null, sensitive: true, why: 'one role policy may grant it, no session policy' },
    { role: [true], session: true, sensitive: true, why: 'the session policy keeps it' },
    { role: [true], session: false, sensitive: false, why: 'the session policy removes it' },
    { role: [false], session: true, sensitive: false, why: 'a session policy never adds to the role' },
  ])('$why', ({ role, session, sensitive }) => {
    expect(isSensitive(role, session)).toBe(sensitive);
  });
});

describe('approvalsRequiredFor', () => {
  it.each([
    { required: 1, sensitiveRequired: null, evidence: found('iam:*'), expected: 1, why: 'no sensitiveRequired: required' },
    { required: 1, sensitiveRequired: 2, evidence: null, expected: 1, why: 'the check is off: required' },
    { required: 1, sensitiveRequired: 2, evidence: found(), expected: 1, why: 'nothing sensitive: required' },
    { required: 1, sensitiveRequired: 2, evidence: found('iam:*'), expected: 2, why: 'sensitive: sensitiveRequired' },
    { required: 0, sensitiveRequired: 1, evidence: found('kms:Decrypt'), expected: 1, why: 'an auto-approved profile needs an approval for sensitive access' },
    { required: 1, sensitiveRequired: 3, evidence: failed, expected: 3, why: 'the check could not run: fail closed' },
    { required: 2, sensitiveRequired: 1, evidence: found('iam:*'), expected: 2, why: 'never fewer than required, even from a stored odd value' },
  ])('$why', ({ required, sensitiveRequired, evidence, expected }) => {
    expect(approvalsRequiredFor({ required, sensitiveRequired }, evidence)).toBe(expected);
    expect(raisesApprovals({ sensitiveRequired }, evidence)).toBe(sensitiveRequired !== null && evidence !== null && (evidence.sensitive === null || evidence.sensitive.length > 0));
  });
});
