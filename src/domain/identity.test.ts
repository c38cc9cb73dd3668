// SPEC §1, §3 rule 10 and issue 10 item 1: identities are compared canonically, and only persons are
// ever matched by e-mail, OIDC subject or Slack user; a service account is reached by its API keys.
import { describe, expect, it } from 'vitest';
import { canonicalEmail, isEmail, matchableByIdentity } from './identity.js';

describe('matchableByIdentity', () => {
  it('matches persons only', () => {
    expect(matchableByIdentity('person')).toBe(true);
    expect(matchableByIdentity('service')).toBe(false);
  });
});

describe('canonicalEmail', () => {
  it.each([
    ['Alice@X.com', 'alice@x.com'],
    [' alice@x.com\t', 'alice@x.com'],
    ['ＡＬＩＣＥ@x.com', 'alice@x.com'],
  ])('folds %j to %j', (raw, canonical) => {
    expect(canonicalEmail(raw)).toBe(canonical);
    expect(isEmail(canonicalEmail(raw))).toBe(true);
  });
});
