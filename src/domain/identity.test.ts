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

describe('isEmail', () => {
  it.each([
    ['a zero-width space', 'al\u200bice@x.com'],
    ['a zero-width joiner', 'alice\u200d@x.com'],
    ['a soft hyphen', 'ali\u00adce@x.com'],
    ['a word joiner', 'alice@x\u2060.com'],
    ['a byte-order mark inside', 'ali\ufeffce@x.com'],
    ['a left-to-right mark', 'alice@x.com\u200e'],
    ['a variation selector', 'alice\ufe0f@x.com'],
    ['a control character', 'ali\u0007ce@x.com'],
  ])('refuses an address with %s (it would read as alice@x.com)', (_what, raw) => {
    expect(isEmail(canonicalEmail(raw))).toBe(false);
  });

  it('takes addresses with letters beyond ASCII', () => {
    expect(isEmail(canonicalEmail('Zoë@exämple.com'))).toBe(true);
  });
});
