// SPEC §3 rules 2 and 10: who is in an audience (requesters, approvers) is decided on canonical
// identities: emails fold case and surrounding space, ids and groups match exactly.
import { describe, expect, it } from 'vitest';
import { canonicalPrincipalEntries, isInAudience, type Audience, type Who } from './eligibility.js';

const alice: Who = { id: 'prn_alice', email: 'alice@x.com', groups: ['dev'] };
const principals = (...entries: string[]): Audience => ({ groups: [], principals: entries });
const groups = (...names: string[]): Audience => ({ groups: names, principals: [] });

describe('principal entries (rule 10)', () => {
  it.each<[string, Audience, Who, boolean]>([
    ['a mixed-case entry matches the lower-case email', principals('Alice@X.com'), alice, true],
    ['an entry with a leading space matches', principals(' alice@x.com'), alice, true],
    ['an entry with surrounding whitespace matches', principals('\talice@x.com \n'), alice, true],
    ['a mixed-case email from the token matches a lower-case entry', principals('alice@x.com'), { ...alice, email: 'Alice@X.COM' }, true],
    ['a longer domain does not match', principals('alice@x.com.evil.com'), alice, false],
    ['a longer email does not match a shorter entry', principals('alice@x.com'), { ...alice, email: 'alice@x.com.evil.com' }, false],
    ['a longer local part does not match', principals('malice@x.com'), alice, false],
    ['a shorter domain does not match', principals('alice@x.co'), alice, false],
    ['the local part alone does not match', principals('alice'), alice, false],
    ['the id matches exactly', principals('prn_alice'), alice, true],
    ['the id in another case does not match', principals('PRN_ALICE'), alice, false],
    ['a prefix of the id does not match', principals('prn_alic'), alice, false],
    ['a principal with no email matches by id', principals('prn_svc'), { id: 'prn_svc', email: null, groups: [] }, true],
    ['a principal with no email never matches an email entry', principals('alice@x.com'), { id: 'prn_svc', email: null, groups: [] }, false],
    ['a principal with no email never matches an empty entry', principals(''), { id: 'prn_svc', email: null, groups: [] }, false],
    ['an entry for one person does not admit another', principals('alice@x.com'), { id: 'prn_mallory', email: 'mallory@x.com', groups: [] }, false],
  ])('%s', (_name, audience, who, expected) => {
    expect(isInAudience(audience, who)).toBe(expected);
  });
});

describe('groups', () => {
  it.each<[string, readonly string[], readonly string[], boolean]>([
    ['the same group', ['sre'], ['dev', 'sre'], true],
    ['a group in another case', ['sre'], ['SRE'], false],
    ['a group with a suffix', ['sre'], ['sre-admins'], false],
    ['a prefix of the group', ['sre-admins'], ['sre'], false],
    ['a group with a trailing space', ['sre'], ['sre '], false],
    ['no groups at all', ['sre'], [], false],
    ['an audience without groups', [], ['sre'], false],
  ])('%s: audience %j, principal %j → %s', (_name, audienceGroups, whoGroups, expected) => {
    expect(isInAudience(groups(...audienceGroups), { id: 'prn_bob', email: 'bob@x.com', groups: whoGroups })).toBe(expected);
  });

  it('an empty audience admits no one', () => {
    expect(isInAudience({ groups: [], principals: [] }, alice)).toBe(false);
  });
});

describe('canonicalPrincipalEntries', () => {
  it('folds emails to one canonical entry, trims ids and removes duplicates', () => {
    expect(canonicalPrincipalEntries(['Alice@X.com', ' alice@x.com', 'ALICE@x.com\t', ' prn_1 ', 'prn_1', 'PRN_1'])).toEqual(['alice@x.com', 'prn_1', 'PRN_1']);
  });

  it('stored entries match exactly the principals the raw entries match', () => {
    const raw = ['Alice@X.com', ' prn_svc '];
    const stored = principals(...canonicalPrincipalEntries(raw));
    expect(isInAudience(stored, alice)).toBe(true);
    expect(isInAudience(stored, { id: 'prn_svc', email: null, groups: [] })).toBe(true);
    expect(isInAudience(stored, { id: 'prn_bob', email: 'bob@x.com', groups: [] })).toBe(false);
  });
});
