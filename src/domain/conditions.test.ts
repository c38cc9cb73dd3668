// SPEC §3 rule 3: the conditions of a profile, attacked from every side a requester can push on:
// how MFA is proven, how a source address is spelled, which wall clock a window reads, and what
// a ticket or a justification may smuggle in.
import { describe, expect, it } from 'vitest';
import { hasMfa, type Caller } from './caller.js';
import { checkConditions, insideWindow, sourceAllowed, type Conditions, type ConditionContext, type TimeWindow } from './conditions.js';

const NONE: Conditions = { requireMfa: false, sourceCidrs: [], timeWindows: [], ticketPattern: null, minJustificationLength: 0 };
const AT = new Date('2026-03-30T10:00:00Z');
const context = (overrides: Partial<ConditionContext> = {}): ConditionContext => ({ mfa: false, sourceIp: null, at: AT, ...overrides });
const check = (conditions: Partial<Conditions>, ctx: Partial<ConditionContext> = {}) => checkConditions({ ...NONE, ...conditions }, context(ctx));

describe('MFA', () => {
  it.each<[Caller['via'], string[], boolean]>([
    ['oidc', ['pwd', 'mfa'], true],
    ['oidc', ['mfa'], true],
    ['oidc', ['pwd'], false],
    ['oidc', ['otp'], false],
    ['oidc', ['MFA'], false],
    ['oidc', ['pwd mfa'], false],
    ['oidc', [], false],
    ['api-key', ['mfa'], false],
    ['slack', ['mfa'], false],
  ])('a %s caller with amr %j proves MFA: %s', (via, amr, expected) => {
    expect(hasMfa({ via, amr })).toBe(expected);
  });

  it.each([
    { requireMfa: true, mfa: false, expected: { ok: false, condition: 'mfa' } },
    { requireMfa: true, mfa: true, expected: { ok: true } },
    { requireMfa: false, mfa: false, expected: { ok: true } },
  ])('requireMfa $requireMfa with mfa $mfa', ({ requireMfa, mfa, expected }) => {
    expect(check({ requireMfa }, { mfa })).toMatchObject(expected);
  });

  it('is named first when several conditions fail', () => {
    expect(check({ requireMfa: true, sourceCidrs: ['10.0.0.0/8'] }, { mfa: false, sourceIp: '192.0.2.1' })).toMatchObject({ ok: false, condition: 'mfa' });
  });
});

describe('source address', () => {
  const V4 = ['10.0.0.0/8'];
  const V6 = ['2001:db8::/32'];
  const MIXED = ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7/32'];

  it.each<[string | null, readonly string[], boolean]>([
    ['10.1.2.3', V4, true],
    ['10.0.0.0', V4, true],
    ['10.255.255.255', V4, true],
    ['11.0.0.0', V4, false],
    ['9.255.255.255', V4, false],
    // IPv4-mapped IPv6 is the IPv4 address it carries (dual-stack sockets report it this way).
    ['::ffff:10.1.2.3', V4, true],
    ['::ffff:a01:203', V4, true],
    ['::ffff:11.1.2.3', V4, false],
    // An IPv6 address against IPv4-only ranges is simply outside them (no throw).
    ['2001:db8::1', V4, false],
    ['::1', V4, false],
    ['2001:db8::1', V6, true],
    ['2001:DB8:0:0::1', V6, true],
    ['2001:db9::1', V6, false],
    ['10.1.2.3', V6, false],
    ['192.168.1.7', MIXED, true],
    ['192.168.1.8', MIXED, false],
    ['2001:db8:ffff::1', MIXED, true],
  ])('%j against %j: %s', (ip, cidrs, expected) => {
    expect(sourceAllowed(ip, cidrs)).toBe(expected);
  });

  it.each([null, '', 'not-an-ip', '10.1.2.3:443', '10.1.2.3, 192.0.2.1', ' 10.1.2.3', '10.1.2.3 ', '10.1.2.256', '[10.1.2.3]', '10.1.2.3/32'])(
    'a missing or garbage source (%j) is never allowed',
    (ip) => {
      expect(sourceAllowed(ip, [...V4, '::/0'])).toBe(false);
    },
  );

  // inet_aton spellings and IPv4-compatible IPv6 are not how a socket or a proxy reports an
  // address; read leniently they land inside 10.0.0.0/8 ('012' is octal 10, '::10.1.2.3' is
  // the IPv6 address ::a01:203, not 10.1.2.3).
  it.each(['012.1.2.3', '0xa.1.2.3', '167772161', '10.1', '::10.1.2.3'])('the non-canonical spelling %j is not read as an address in 10.0.0.0/8', (ip) => {
    expect(sourceAllowed(ip, V4)).toBe(false);
  });

  it.each([
    { sourceIp: '10.1.2.3', expected: { ok: true } },
    { sourceIp: '192.0.2.1', expected: { ok: false, condition: 'source-ip', detail: expect.stringContaining('192.0.2.1') } },
    { sourceIp: null, expected: { ok: false, condition: 'source-ip', detail: expect.stringContaining('unknown') } },
  ])('checkConditions with source $sourceIp', ({ sourceIp, expected }) => {
    expect(check({ sourceCidrs: V4 }, { sourceIp })).toMatchObject(expected);
  });

  it('no ranges means any source, even none', () => {
    expect(check({ sourceCidrs: [] }, { sourceIp: null })).toEqual({ ok: true });
  });
});

describe('time windows', () => {
  const window = (days: TimeWindow['days'], start: string, end: string, timeZone: string): TimeWindow => ({ days, start, end, timeZone });

  describe('Europe/Paris 09:00-17:00 mon-fri across both DST changes of 2026', () => {
    const office = window(['mon', 'tue', 'wed', 'thu', 'fri'], '09:00', '17:00', 'Europe/Paris');
    it.each([
      // Spring: clocks go from 02:00 CET to 03:00 CEST on Sunday 29 March (01:00 UTC).
      ['2026-03-27T07:59:00Z', 'Fri 08:59 CET', false],
      ['2026-03-27T08:00:00Z', 'Fri 09:00 CET, start inclusive', true],
      ['2026-03-27T15:59:00Z', 'Fri 16:59 CET', true],
      ['2026-03-27T16:00:00Z', 'Fri 17:00 CET, end exclusive', false],
      ['2026-03-29T10:00:00Z', 'Sun 12:00 CEST', false],
      ['2026-03-30T06:59:00Z', 'Mon 08:59 CEST', false],
      ['2026-03-30T07:00:00Z', 'Mon 09:00 CEST (08:00 if the offset were still +1)', true],
      ['2026-03-30T14:59:00Z', 'Mon 16:59 CEST', true],
      ['2026-03-30T15:00:00Z', 'Mon 17:00 CEST (16:00 if the offset were still +1)', false],
      // Autumn: clocks go from 03:00 CEST back to 02:00 CET on Sunday 25 October (01:00 UTC).
      ['2026-10-23T06:59:00Z', 'Fri 08:59 CEST', false],
      ['2026-10-23T07:00:00Z', 'Fri 09:00 CEST', true],
      ['2026-10-23T15:00:00Z', 'Fri 17:00 CEST', false],
      ['2026-10-25T09:00:00Z', 'Sun 10:00 CET', false],
      ['2026-10-26T07:30:00Z', 'Mon 08:30 CET (09:30 if the offset were still +2)', false],
      ['2026-10-26T08:00:00Z', 'Mon 09:00 CET', true],
      ['2026-10-26T15:30:00Z', 'Mon 16:30 CET (17:30 if the offset were still +2)', true],
      ['2026-10-26T16:00:00Z', 'Mon 17:00 CET', false],
    ])('%s (%s): %s', (iso, _local, expected) => {
      expect(insideWindow(office, new Date(iso))).toBe(expected);
    });
  });

  it.each([
    ['America/Los_Angeles fri 09:00-17:00 at Sat 00:30 UTC = Fri 16:30 PST', window(['fri'], '09:00', '17:00', 'America/Los_Angeles'), '2026-03-07T00:30:00Z', true],
    ['America/Los_Angeles sat 09:00-17:00 at Sat 16:30 UTC = Sat 08:30 PST', window(['sat'], '09:00', '17:00', 'America/Los_Angeles'), '2026-03-07T16:30:00Z', false],
    ['Asia/Tokyo mon 08:00-10:00 at Sun 23:30 UTC = Mon 08:30 JST', window(['mon'], '08:00', '10:00', 'Asia/Tokyo'), '2026-03-29T23:30:00Z', true],
    ['Asia/Tokyo sun 08:00-10:00 at Sun 23:30 UTC = Mon 08:30 JST', window(['sun'], '08:00', '10:00', 'Asia/Tokyo'), '2026-03-29T23:30:00Z', false],
    ['Asia/Kathmandu (+05:45) mon 09:00-10:00 at 03:15 UTC = 09:00', window(['mon'], '09:00', '10:00', 'Asia/Kathmandu'), '2026-03-30T03:15:00Z', true],
    ['Asia/Kathmandu (+05:45) mon 09:00-10:00 at 03:14 UTC = 08:59', window(['mon'], '09:00', '10:00', 'Asia/Kathmandu'), '2026-03-30T03:14:00Z', false],
    ['UTC mon 00:00-01:00 at midnight (read as 00:00, not 24:00)', window(['mon'], '00:00', '01:00', 'UTC'), '2026-03-30T00:00:00Z', true],
    ['UTC fri 22:00-00:00 at Fri 23:59', window(['fri'], '22:00', '00:00', 'UTC'), '2026-03-27T23:59:00Z', true],
    ['UTC fri 22:00-00:00 at Sat 00:00', window(['fri'], '22:00', '00:00', 'UTC'), '2026-03-28T00:00:00Z', false],
  ])('%s: %s', (_name, w, iso, expected) => {
    expect(insideWindow(w, new Date(iso))).toBe(expected);
  });

  describe('overnight 22:00-06:00 belongs to the day it starts on', () => {
    const fridayNight = window(['fri'], '22:00', '06:00', 'UTC');
    const mondayNight = window(['mon'], '22:00', '06:00', 'UTC');
    const sundayNight = window(['sun'], '22:00', '06:00', 'UTC');
    it.each([
      ['fri', fridayNight, '2026-03-27T21:59:00Z', 'Fri 21:59', false],
      ['fri', fridayNight, '2026-03-27T22:00:00Z', 'Fri 22:00', true],
      ['fri', fridayNight, '2026-03-27T23:00:00Z', 'Fri 23:00', true],
      ['fri', fridayNight, '2026-03-28T03:00:00Z', 'Sat 03:00', true],
      ['fri', fridayNight, '2026-03-28T05:59:00Z', 'Sat 05:59', true],
      ['fri', fridayNight, '2026-03-28T06:00:00Z', 'Sat 06:00', false],
      ['fri', fridayNight, '2026-03-28T23:00:00Z', 'Sat 23:00', false],
      ['fri', fridayNight, '2026-03-27T03:00:00Z', 'Fri 03:00 (Thursday night)', false],
      ['mon', mondayNight, '2026-03-30T03:00:00Z', 'Mon 03:00 (Sunday night)', false],
      ['mon', mondayNight, '2026-03-30T23:00:00Z', 'Mon 23:00', true],
      ['mon', mondayNight, '2026-03-31T03:00:00Z', 'Tue 03:00', true],
      ['sun', sundayNight, '2026-03-30T03:00:00Z', 'Mon 03:00 (Sunday night, the week wraps)', true],
    ])('days [%s] at %s (%s): %s', (_days, w, iso, _local, expected) => {
      expect(insideWindow(w, new Date(iso))).toBe(expected);
    });
  });

  describe('an overnight window across the spring DST change (Europe/Paris sat 22:00-06:00)', () => {
    const saturdayNight = window(['sat'], '22:00', '06:00', 'Europe/Paris');
    it.each([
      ['2026-03-28T20:59:00Z', 'Sat 21:59 CET', false],
      ['2026-03-28T21:00:00Z', 'Sat 22:00 CET', true],
      ['2026-03-29T01:30:00Z', 'Sun 03:30 CEST', true],
      ['2026-03-29T03:59:00Z', 'Sun 05:59 CEST', true],
      ['2026-03-29T04:00:00Z', 'Sun 06:00 CEST (05:00 if the offset were still +1)', false],
    ])('%s (%s): %s', (iso, _local, expected) => {
      expect(insideWindow(saturdayNight, new Date(iso))).toBe(expected);
    });
  });

  it('checkConditions passes when any one window holds and names time-window when none does', () => {
    const windows = [window(['mon'], '09:00', '10:00', 'UTC'), window(['mon'], '14:00', '15:00', 'UTC')];
    expect(check({ timeWindows: windows }, { at: new Date('2026-03-30T14:30:00Z') })).toEqual({ ok: true });
    expect(check({ timeWindows: windows }, { at: new Date('2026-03-30T12:00:00Z') })).toMatchObject({ ok: false, condition: 'time-window' });
  });
});

describe('ticket pattern', () => {
  const request = (ticket: string | null) => ({ request: { ticket, justification: 'a reason long enough' } });

  it.each<[string, string | null, boolean]>([
    ['INC-\\d+', 'INC-42', true],
    ['INC-\\d+', 'xINC-1y', false],
    ['INC-\\d+', 'INC-1\nrm', false],
    ['INC-\\d+', 'INC-1\n', false],
    ['INC-\\d+', ' INC-1', false],
    ['INC-\\d+', 'INC-1 ', false],
    ['INC-\\d+', 'inc-1', false],
    ['INC-\\d+', 'INC-', false],
    ['INC-\\d+', '', false],
    ['INC-\\d+', null, false],
    // The anchors hold around an alternation too, not only around its first and last branch.
    ['INC-\\d+|CHG-\\d+', 'CHG-7', true],
    ['INC-\\d+|CHG-\\d+', 'INC-1x', false],
    ['INC-\\d+|CHG-\\d+', 'xCHG-7', false],
  ])('pattern %j, ticket %j: %s', (ticketPattern, ticket, expected) => {
    expect(check({ ticketPattern }, request(ticket)).ok).toBe(expected);
  });

  it('names the ticket condition', () => {
    expect(check({ ticketPattern: 'INC-\\d+' }, request('nope'))).toMatchObject({ ok: false, condition: 'ticket' });
  });

  it.each([null, 'anything at all'])('no pattern accepts ticket %j', (ticket) => {
    expect(check({ ticketPattern: null }, request(ticket))).toEqual({ ok: true });
  });

  it('is not checked at issuance, where there is no request in the context', () => {
    expect(check({ ticketPattern: 'INC-\\d+', minJustificationLength: 10 })).toEqual({ ok: true });
  });
});

describe('justification length: visible characters after trimming', () => {
  const justify = (justification: string) => ({ request: { ticket: null, justification } });

  it.each<[string, string, boolean]>([
    ['10 letters', 'abcdefghij', true],
    ['9 letters', 'abcdefghi', false],
    ['10 spaces', ' '.repeat(10), false],
    ['tabs and newlines only', '\t\n \r\n\t\t\t\t\t', false],
    ['9 letters padded with spaces', '   abcdefghi   ', false],
    ['10 letters padded with whitespace', '\n\t abcdefghij \n', true],
    ['10 emoji (20 UTF-16 code units)', '😀'.repeat(10), true],
    ['9 emoji (18 UTF-16 code units, more than 10)', '😀'.repeat(9), false],
    ['10 accented letters', 'déjà vu ok', true],
    ['10 decomposed accented letters (e + U+0301)', 'e\u0301'.repeat(10), true],
    ['twelve zero-width spaces', '\u200b'.repeat(12), false],
    ['9 letters padded with zero-width characters', '\u200b\u200c\u200d\u2060\ufeffabcdefghi\u200b', false],
    ['9 letters with zero-width spaces between them', [...'abcdefghi'].join('\u200b'), false],
    ['2 letters apart by 8 spaces (a run counts one)', `a${' '.repeat(8)}b`, false],
    ['9 letters and a combining mark on its own', 'abcdefghi\u0301', false],
    ['10 Hangul fillers and blank Braille', '\u3164\u2800'.repeat(5), false],
  ])('%s with a minimum of 10: %s', (_name, justification, expected) => {
    expect(check({ minJustificationLength: 10 }, justify(justification)).ok).toBe(expected);
  });

  it('names the justification condition', () => {
    expect(check({ minJustificationLength: 10 }, justify('short'))).toMatchObject({ ok: false, condition: 'justification' });
  });

  it('a minimum of 0 accepts an empty justification', () => {
    expect(check({ minJustificationLength: 0 }, justify(''))).toEqual({ ok: true });
  });
});

describe('ticket patterns that would backtrack catastrophically in JavaScript', () => {
  it.each(['(a+)+$', 'INC-(\\d|\\d\\d)+', '(\\w|\\d)+x'])('%s answers a hostile ticket at once (RE2, linear time)', (ticketPattern) => {
    const conditions = { requireMfa: false, sourceCidrs: [], timeWindows: [], ticketPattern, minJustificationLength: 0 };
    const hostile = `${'INC-'.slice(0, ticketPattern.startsWith('INC') ? 4 : 0)}${'1'.repeat(120)}!`;
    // With a backtracking engine this call would not return for minutes (the test would time out).
    const result = checkConditions(conditions, { mfa: false, sourceIp: null, at: new Date(), request: { ticket: hostile, justification: '' } });
    expect(result).toMatchObject({ ok: false, condition: 'ticket' });
  });
});
