// Issue 10 item 5: a justification is text an approver reads. It is normalised (NFC), refused when
// it holds bidirectional controls (400 naming the field) or nothing visible, and its minimum
// length counts visible characters only. Comments and reasons follow the same rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { auth, countAudit, countRequests, createProfile, expectProblem, fieldsOf, openRequest, postRequest, review, startListeningApp, type CreatedProfile } from './helpers.js';

let t: TestApp;
let noMinimum: CreatedProfile;
let minimum10: CreatedProfile;
let alice: { id: string; key: string };
let bob: { id: string; key: string };

beforeAll(async () => {
  t = await startListeningApp();
  noMinimum = await createProfile(t);
  minimum10 = await createProfile(t, { conditions: { minJustificationLength: 10 } });
  alice = await t.principal({ groups: ['dev'] });
  bob = await t.principal({ groups: ['sre'] });
});
afterAll(async () => {
  await t?.close();
});

const counts = async () => ({ requests: await countRequests(t), audit: await countAudit(t) });

describe('refused with 400 naming the justification, nothing written', () => {
  it.each([
    ['a RIGHT-TO-LEFT OVERRIDE', 'approve \u202eNIMDA\u202c please', /U\+202E/],
    ['a LEFT-TO-RIGHT EMBEDDING', '\u202aINC-42 hotfix', /U\+202A/],
    ['a RIGHT-TO-LEFT ISOLATE', 'INC-42 \u2067hotfix\u2069', /U\+2067/],
    ['a FIRST STRONG ISOLATE', '\u2068INC-42 hotfix', /U\+2068/],
    ['a LEFT-TO-RIGHT MARK', 'INC-42\u200e hotfix', /U\+200E/],
    ['a RIGHT-TO-LEFT MARK', 'INC-42\u200f hotfix', /U\+200F/],
    ['an ARABIC LETTER MARK', 'INC-42\u061c hotfix', /U\+061C/],
    ['only spaces, with no minimum set', '          ', /no visible/],
    ['only a tab and newlines, with no minimum set', '\t\n\n', /no visible/],
    ['only zero-width characters, with no minimum set', '\u200b\u200c\u200d\u2060\ufeff', /no visible/],
    ['a C1 control', 'INC-42\u0085hotfix', /U\+0085/],
  ])('%s', async (_what, justification, message) => {
    for (const profile of [noMinimum, minimum10]) {
      const before = await counts();
      const response = await postRequest(t, alice.key, { profile: profile.name, justification });
      expectProblem(response, 400, 'validation');
      expect(fieldsOf(response.body)).toEqual(['/body/justification']);
      expect(response.body.detail).toMatch(message);
      expect(await counts()).toEqual(before);
    }
  });
});

describe('the minimum counts visible characters after trimming', () => {
  it.each([
    ['twelve zero-width spaces around a short word', `fix${'\u200b'.repeat(12)}`],
    ['nine letters padded with spaces', '   abcdefghi   '],
    ['nine letters separated by zero-width spaces', [...'abcdefghi'].join('\u200b')],
    ['two words far apart', `fix${' '.repeat(20)}it`],
    ['Hangul fillers', `ok${'\u3164'.repeat(10)}`],
  ])('refuses %s as condition-failed (audited)', async (_what, justification) => {
    const requestsBefore = await countRequests(t);
    const response = await postRequest(t, alice.key, { profile: minimum10.name, justification });
    expectProblem(response, 403, 'condition-failed');
    expect(response.body.condition).toBe('justification');
    expect(await countRequests(t)).toBe(requestsBefore);
  });

  it.each([
    ['ten letters', 'abcdefghij'],
    ['ten decomposed accented letters', 'e\u0301'.repeat(10)],
    ['ten emoji', '\ud83d\ude80'.repeat(10)],
    ['words with single spaces', 'déjà vu ok'],
  ])('accepts %s', async (_what, justification) => {
    await openRequest(t, alice.key, { profile: minimum10.name, justification });
  });
});

describe('what is stored', () => {
  it('is the NFC form, trimmed', async () => {
    const created = await openRequest(t, alice.key, { profile: noMinimum.name, justification: '  Cafe\u0301 ouvert: INC-42\n' });
    expect(created.justification).toBe('Café ouvert: INC-42');
    const read = await t.http().get(`/v1/requests/${created.id}`).set(auth(alice.key)).expect(200);
    expect(read.body.justification).toBe('Café ouvert: INC-42');
  });

  it('keeps zero-width joiners inside emoji and words', async () => {
    const text = 'pairing with \ud83d\udc69\u200d\ud83d\udcbb on INC-42';
    expect((await openRequest(t, alice.key, { profile: noMinimum.name, justification: text })).justification).toBe(text);
  });
});

describe('comments and reasons', () => {
  it('refuses a bidi control in a review comment, and stores a blank comment as none', async () => {
    const request = await openRequest(t, alice.key, { profile: noMinimum.name });
    const refused = await review(t, bob.key, request.id, 'approve', 'looks fine \u202e');
    expectProblem(refused, 400, 'validation');
    expect(fieldsOf(refused.body)).toEqual(['/body/comment']);
    const approved = await review(t, bob.key, request.id, 'approve', '  \u200b ').expect(200);
    expect(approved.body.reviews[0].comment).toBeNull();
  });

  it('refuses a revoke reason that says nothing, and normalises one that does', async () => {
    const request = await openRequest(t, alice.key, { profile: noMinimum.name });
    const blank = await t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(t.adminKey)).send({ reason: '   ' });
    expectProblem(blank, 400, 'validation');
    expect(fieldsOf(blank.body)).toEqual(['/body/reason']);
    const bidi = await t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({ reason: 'done\u2066' });
    expectProblem(bidi, 400, 'validation');
    expect(fieldsOf(bidi.body)).toEqual(['/body/reason']);
  });
});
