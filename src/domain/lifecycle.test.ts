// SPEC §2 and §3 rule 1: the whole request state machine, written out once as a table, then
// the parts a table cannot show (time guards, approval counting, windows, creation).
import { describe, expect, it } from 'vitest';
import {
  REQUEST_STATUSES,
  TERMINAL_STATUSES,
  decide,
  decideOnCreation,
  isSelfReview,
  isTerminal,
  windowOnApproval,
  type Decision,
  type LifecycleCommand,
  type LifecycleEvent,
  type Refusal,
  type RequestFacts,
  type RequestStatus,
} from './lifecycle.js';

type CommandKind = LifecycleCommand['kind'];
const COMMANDS = ['approve', 'deny', 'cancel', 'revoke', 'activate', 'end', 'expire', 'parent-ended'] as const satisfies readonly CommandKind[];

const REQUESTER = 'prn_requester';
const FIRST_APPROVER = 'prn_first';
const REVIEWER = 'prn_second';

const at = (iso: string) => new Date(iso);
const PENDING_EXPIRES = at('2026-01-06T08:00:00Z');
const WINDOW_START = at('2026-01-05T10:00:00Z');
const WINDOW_END = at('2026-01-05T11:00:00Z');

function command(kind: CommandKind, reviewerId = REVIEWER): LifecycleCommand {
  return kind === 'approve' || kind === 'deny' ? { kind, reviewerId } : { kind };
}

function facts(overrides: Partial<RequestFacts> = {}): RequestFacts {
  return {
    kind: 'access',
    status: 'pending',
    requesterId: REQUESTER,
    approvalsRequired: 1,
    breakGlass: false,
    durationSeconds: 3600,
    startsAt: null,
    endsAt: null,
    pendingExpiresAt: PENDING_EXPIRES,
    reviews: [],
    ...overrides,
  };
}

/** What a request in each state looks like: its window and reviews as the lifecycle left them. */
function factsIn(status: RequestStatus, breakGlass = false, kind: RequestFacts['kind'] = 'access'): RequestFacts {
  return { ...factsOfStatus(status, breakGlass), kind };
}

function factsOfStatus(status: RequestStatus, breakGlass: boolean): RequestFacts {
  const window = { startsAt: WINDOW_START, endsAt: WINDOW_END };
  const approvedBy = [{ reviewerId: FIRST_APPROVER, decision: 'approve' as const }];
  switch (status) {
    case 'pending':
    case 'cancelled':
    case 'expired':
      return facts({ status, breakGlass });
    case 'denied':
      return facts({ status, breakGlass, reviews: [{ reviewerId: FIRST_APPROVER, decision: 'deny' }] });
    case 'approved':
    case 'active':
    case 'ended':
    case 'revoked':
      return facts({ status, breakGlass, ...window, reviews: breakGlass ? [] : approvedBy });
  }
}

/**
 * Each command arrives when it is due (activate at the window start, end at its end, expire at
 * the TTL), so the table shows the state machine; the time guards have their own tests below.
 */
const DUE: Record<CommandKind, Date> = {
  approve: at('2026-01-05T09:00:00Z'),
  deny: at('2026-01-05T09:00:00Z'),
  cancel: at('2026-01-05T09:00:00Z'),
  revoke: at('2026-01-05T10:30:00Z'),
  activate: WINDOW_START,
  end: WINDOW_END,
  expire: PENDING_EXPIRES,
  // Whenever the parent ends: before the extension's own TTL.
  'parent-ended': at('2026-01-05T09:00:00Z'),
};

type Outcome = { to: RequestStatus; events: LifecycleEvent[] } | { refused: Refusal };
const to = (status: RequestStatus, ...events: LifecycleEvent[]): Outcome => ({ to: status, events });
const refused = (reason: Refusal): Outcome => ({ refused: reason });
const invalid = refused('invalid-transition');
const outcome = (d: Decision): Outcome => (d.ok ? { to: d.status, events: d.events } : { refused: d.reason });

const NOTHING_LEAVES: Record<CommandKind, Outcome> = {
  approve: invalid,
  deny: invalid,
  cancel: invalid,
  revoke: invalid,
  activate: invalid,
  end: invalid,
  expire: invalid,
  'parent-ended': invalid,
};

/** The state machine of an ordinary request (approvalsRequired = 1, immediate), every pair. */
const MACHINE: Record<RequestStatus, Record<CommandKind, Outcome>> = {
  pending: {
    approve: to('active', 'review.approved', 'request.approved', 'request.activated'),
    deny: to('denied', 'review.denied', 'request.denied'),
    cancel: to('cancelled', 'request.cancelled'),
    revoke: invalid,
    activate: invalid,
    end: invalid,
    expire: to('expired', 'request.expired'),
    'parent-ended': invalid,
  },
  approved: {
    approve: invalid,
    deny: invalid,
    cancel: to('revoked', 'request.revoked'),
    revoke: to('revoked', 'request.revoked'),
    activate: to('active', 'request.activated'),
    // The end of a window whose activation was lost still ends it.
    end: to('ended', 'request.ended'),
    expire: invalid,
    'parent-ended': invalid,
  },
  active: {
    approve: invalid,
    deny: invalid,
    cancel: invalid,
    revoke: to('revoked', 'request.revoked'),
    activate: invalid,
    end: to('ended', 'request.ended'),
    expire: invalid,
    'parent-ended': invalid,
  },
  denied: NOTHING_LEAVES,
  cancelled: NOTHING_LEAVES,
  expired: NOTHING_LEAVES,
  ended: NOTHING_LEAVES,
  revoked: NOTHING_LEAVES,
};

/** A break-glass request differs only in its post-hoc reviews, on an active or ended request. */
const BREAK_GLASS_MACHINE: Record<RequestStatus, Record<CommandKind, Outcome>> = {
  ...MACHINE,
  active: {
    ...MACHINE.active,
    approve: to('active', 'review.approved'),
    // A post-hoc deny of a live session revokes it.
    deny: to('revoked', 'review.denied', 'request.revoked'),
  },
  ended: {
    ...MACHINE.ended,
    approve: to('ended', 'review.approved'),
    deny: to('ended', 'review.denied'),
  },
};

/**
 * An extension (SPEC §12) is a record: approved, it ends at once (its parent's end moves instead);
 * still pending when its parent ends, it expires. It is never approved or active itself, so those
 * rows are the ordinary ones, unreachable.
 */
const EXTENSION_MACHINE: Record<RequestStatus, Record<CommandKind, Outcome>> = {
  ...MACHINE,
  pending: {
    ...MACHINE.pending,
    approve: to('ended', 'review.approved', 'request.approved', 'request.ended'),
    'parent-ended': to('expired', 'request.expired'),
  },
};

const pairsOf = (machine: Record<RequestStatus, Record<CommandKind, Outcome>>) =>
  Object.entries(machine).flatMap(([status, row]) =>
    Object.entries(row).map(([kind, expected]) => ({ status: status as RequestStatus, kind: kind as CommandKind, expected })),
  );

describe('the state machine table', () => {
  it.each([
    ['ordinary', MACHINE],
    ['break-glass', BREAK_GLASS_MACHINE],
    ['extension', EXTENSION_MACHINE],
  ])('the %s table covers all 8 states × 8 commands', (_name, machine) => {
    expect(Object.keys(machine).sort()).toEqual([...REQUEST_STATUSES].sort());
    for (const row of Object.values(machine)) expect(Object.keys(row).sort()).toEqual([...COMMANDS].sort());
    expect(pairsOf(machine)).toHaveLength(64);
    expect(REQUEST_STATUSES).toHaveLength(8);
    expect(COMMANDS).toHaveLength(8);
  });

  it.each(pairsOf(MACHINE))('ordinary request: $status + $kind', ({ status, kind, expected }) => {
    expect(outcome(decide(factsIn(status), command(kind), DUE[kind]))).toEqual(expected);
  });

  it.each(pairsOf(BREAK_GLASS_MACHINE))('break-glass request: $status + $kind', ({ status, kind, expected }) => {
    expect(outcome(decide(factsIn(status, true), command(kind), DUE[kind]))).toEqual(expected);
  });

  it.each(pairsOf(EXTENSION_MACHINE))('extension: $status + $kind', ({ status, kind, expected }) => {
    expect(outcome(decide(factsIn(status, false, 'extension'), command(kind), DUE[kind]))).toEqual(expected);
  });
});

describe('terminal states', () => {
  it('are exactly denied, cancelled, expired, ended and revoked', () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual(['cancelled', 'denied', 'ended', 'expired', 'revoked']);
    expect(REQUEST_STATUSES.filter(isTerminal).sort()).toEqual([...TERMINAL_STATUSES].sort());
  });

  const nows = [at('2020-01-01T00:00:00Z'), WINDOW_START, WINDOW_END, PENDING_EXPIRES, at('2030-01-01T00:00:00Z')];
  const cases = TERMINAL_STATUSES.flatMap((status) =>
    COMMANDS.flatMap((kind) => [false, true].map((breakGlass) => ({ status, kind, breakGlass }))),
  );

  it.each(cases)('nothing leaves $status on $kind (breakGlass: $breakGlass), whoever and whenever', ({ status, kind, breakGlass }) => {
    for (const now of nows) {
      for (const reviewer of [REVIEWER, FIRST_APPROVER, REQUESTER, 'prn_new']) {
        const d = decide(factsIn(status, breakGlass), command(kind, reviewer), now);
        if (d.ok) expect(d.status).toBe(status);
      }
    }
  });
});

describe('decision flags', () => {
  it.each([
    { name: 'approval completing', f: facts(), kind: 'approve', recordsReview: true, postHoc: false },
    { name: 'partial approval', f: facts({ approvalsRequired: 2 }), kind: 'approve', recordsReview: true, postHoc: false },
    { name: 'deny', f: facts(), kind: 'deny', recordsReview: true, postHoc: false },
    { name: 'post-hoc approve (active)', f: factsIn('active', true), kind: 'approve', recordsReview: true, postHoc: true },
    { name: 'post-hoc deny (active)', f: factsIn('active', true), kind: 'deny', recordsReview: true, postHoc: true },
    { name: 'post-hoc approve (ended)', f: factsIn('ended', true), kind: 'approve', recordsReview: true, postHoc: true },
    { name: 'post-hoc deny (ended)', f: factsIn('ended', true), kind: 'deny', recordsReview: true, postHoc: true },
    { name: 'cancel', f: facts(), kind: 'cancel', recordsReview: false, postHoc: false },
    { name: 'revoke', f: factsIn('active'), kind: 'revoke', recordsReview: false, postHoc: false },
  ] as const)('$name: recordsReview $recordsReview, postHoc $postHoc', ({ f, kind, recordsReview, postHoc }) => {
    const d = decide(f, command(kind), DUE[kind]);
    expect(d).toMatchObject({ ok: true, recordsReview, postHoc });
  });
});

describe('self-review (rule 1)', () => {
  it.each([
    { status: 'pending', breakGlass: false, kind: 'approve' },
    { status: 'pending', breakGlass: false, kind: 'deny' },
    { status: 'active', breakGlass: true, kind: 'approve' },
    { status: 'active', breakGlass: true, kind: 'deny' },
    { status: 'ended', breakGlass: true, kind: 'approve' },
  ] as const)('the requester cannot $kind their own $status request (breakGlass: $breakGlass)', ({ status, breakGlass, kind }) => {
    expect(decide(factsIn(status, breakGlass), command(kind, REQUESTER), DUE[kind])).toEqual({ ok: false, reason: 'self-review' });
  });

  it('is refused even when no approval is required and the requester is the only reviewer so far', () => {
    const d = decide(facts({ approvalsRequired: 0 }), command('approve', REQUESTER), DUE.approve);
    expect(d).toEqual({ ok: false, reason: 'self-review' });
  });

  it.each([
    ['prn_requester', 'prn_requester', true],
    ['prn_requester', 'prn_other', false],
    ['prn_requester', 'prn_requester ', false],
  ])('isSelfReview(%j, %j) is %s: ids are canonical, compared exactly', (requesterId, reviewerId, expected) => {
    expect(isSelfReview({ requesterId }, reviewerId)).toBe(expected);
  });
});

describe('approval counting (N of M)', () => {
  const approve = (reviewerId: string) => ({ reviewerId, decision: 'approve' as const });
  const now = DUE.approve;

  it('2 of N: the first approval leaves the request pending and opens no window', () => {
    const d = decide(facts({ approvalsRequired: 2 }), command('approve', 'prn_a'), now);
    expect(d).toEqual({ ok: true, status: 'pending', events: ['review.approved'], recordsReview: true, postHoc: false });
  });

  it('2 of N: a second, distinct approver completes it', () => {
    const d = decide(facts({ approvalsRequired: 2, reviews: [approve('prn_a')] }), command('approve', 'prn_b'), now);
    expect(outcome(d)).toEqual(to('active', 'review.approved', 'request.approved', 'request.activated'));
  });

  it('the same reviewer twice is refused as already-reviewed', () => {
    const d = decide(facts({ approvalsRequired: 2, reviews: [approve('prn_a')] }), command('approve', 'prn_a'), now);
    expect(d).toEqual({ ok: false, reason: 'already-reviewed' });
  });

  it('a reviewer who approved cannot come back to deny', () => {
    const d = decide(facts({ approvalsRequired: 2, reviews: [approve('prn_a')] }), command('deny', 'prn_a'), now);
    expect(d).toEqual({ ok: false, reason: 'already-reviewed' });
  });

  it('a deny after one approval ends the request', () => {
    const d = decide(facts({ approvalsRequired: 2, reviews: [approve('prn_a')] }), command('deny', 'prn_b'), now);
    expect(outcome(d)).toEqual(to('denied', 'review.denied', 'request.denied'));
  });

  it('one approver recorded twice still counts once', () => {
    const d = decide(facts({ approvalsRequired: 3, reviews: [approve('prn_a'), approve('prn_a')] }), command('approve', 'prn_b'), now);
    expect(outcome(d)).toEqual(to('pending', 'review.approved'));
  });

  it.each([
    { required: 3, before: 0, status: 'pending' },
    { required: 3, before: 1, status: 'pending' },
    { required: 3, before: 2, status: 'active' },
    { required: 1, before: 0, status: 'active' },
  ] as const)('$required required, $before before this one: $status', ({ required, before, status }) => {
    const reviews = Array.from({ length: before }, (_, i) => approve(`prn_${i}`));
    const d = decide(facts({ approvalsRequired: required, reviews }), command('approve', 'prn_last'), now);
    expect(d).toMatchObject({ ok: true, status });
  });

  it('post-hoc: the same reviewer cannot review a break-glass request twice', () => {
    const f = { ...factsIn('active', true), reviews: [approve('prn_a')] };
    expect(decide(f, command('deny', 'prn_a'), now)).toEqual({ ok: false, reason: 'already-reviewed' });
  });
});

describe('time guards', () => {
  const ms = (d: Date, delta: number) => new Date(d.getTime() + delta);

  it.each([
    { name: 'activate 1 ms before startsAt', f: factsIn('approved'), kind: 'activate', now: ms(WINDOW_START, -1), expected: refused('not-due') },
    { name: 'activate at startsAt', f: factsIn('approved'), kind: 'activate', now: WINDOW_START, expected: to('active', 'request.activated') },
    { name: 'activate with no startsAt', f: { ...factsIn('approved'), startsAt: null }, kind: 'activate', now: WINDOW_START, expected: refused('not-due') },
    { name: 'activate after the window already ended', f: factsIn('approved'), kind: 'activate', now: WINDOW_END, expected: to('ended', 'request.ended') },
    { name: 'end 1 ms before endsAt', f: factsIn('active'), kind: 'end', now: ms(WINDOW_END, -1), expected: refused('not-due') },
    { name: 'end at endsAt (the window is [start, end))', f: factsIn('active'), kind: 'end', now: WINDOW_END, expected: to('ended', 'request.ended') },
    { name: 'end an approved request before endsAt', f: factsIn('approved'), kind: 'end', now: ms(WINDOW_END, -1), expected: refused('not-due') },
    { name: 'end with no endsAt', f: { ...factsIn('active'), endsAt: null }, kind: 'end', now: WINDOW_END, expected: refused('not-due') },
    { name: 'expire 1 ms before pendingExpiresAt', f: facts(), kind: 'expire', now: ms(PENDING_EXPIRES, -1), expected: refused('not-due') },
    { name: 'expire at pendingExpiresAt', f: facts(), kind: 'expire', now: PENDING_EXPIRES, expected: to('expired', 'request.expired') },
    { name: 'approve 1 ms before pendingExpiresAt', f: facts(), kind: 'approve', now: ms(PENDING_EXPIRES, -1), expected: to('active', 'review.approved', 'request.approved', 'request.activated') },
    { name: 'approve at pendingExpiresAt (expiry job late)', f: facts(), kind: 'approve', now: PENDING_EXPIRES, expected: refused('expired') },
    { name: 'deny after pendingExpiresAt', f: facts(), kind: 'deny', now: ms(PENDING_EXPIRES, 1), expected: refused('expired') },
    { name: 'post-hoc review long after the pending TTL', f: factsIn('active', true), kind: 'approve', now: at('2026-02-01T00:00:00Z'), expected: to('active', 'review.approved') },
  ] as const)('$name', ({ f, kind, now, expected }) => {
    expect(outcome(decide(f, command(kind), now))).toEqual(expected);
  });
});

describe('grant windows: endsAt = startsAt + durationSeconds', () => {
  const now = at('2026-01-05T09:00:00Z');

  it.each([
    { name: 'immediate: starts now', startsAt: null, durationSeconds: 1800, window: ['2026-01-05T09:00:00Z', '2026-01-05T09:30:00Z'] },
    { name: 'scheduled: keeps its start', startsAt: at('2026-01-05T12:00:00Z'), durationSeconds: 900, window: ['2026-01-05T12:00:00Z', '2026-01-05T12:15:00Z'] },
    { name: 'scheduled in the past: keeps its start', startsAt: at('2026-01-05T08:30:00Z'), durationSeconds: 43200, window: ['2026-01-05T08:30:00Z', '2026-01-05T20:30:00Z'] },
  ])('windowOnApproval, $name', ({ startsAt, durationSeconds, window }) => {
    expect(windowOnApproval({ startsAt, durationSeconds }, now)).toEqual({ startsAt: at(window[0]!), endsAt: at(window[1]!) });
  });

  it('an immediate request whose approval completes goes straight to active, its window starting now', () => {
    const d = decide(facts({ durationSeconds: 1800 }), command('approve'), now);
    expect(d).toEqual({
      ok: true,
      status: 'active',
      events: ['review.approved', 'request.approved', 'request.activated'],
      window: { startsAt: now, endsAt: at('2026-01-05T09:30:00Z') },
      recordsReview: true,
      postHoc: false,
    });
  });

  it('a scheduled request whose approval completes before its start waits as approved', () => {
    const d = decide(facts({ durationSeconds: 1800, startsAt: at('2026-01-05T12:00:00Z') }), command('approve'), now);
    expect(d).toEqual({
      ok: true,
      status: 'approved',
      events: ['review.approved', 'request.approved'],
      window: { startsAt: at('2026-01-05T12:00:00Z'), endsAt: at('2026-01-05T12:30:00Z') },
      recordsReview: true,
      postHoc: false,
    });
  });

  it('a scheduled request approved at its very start becomes active', () => {
    const d = decide(facts({ startsAt: now }), command('approve'), now);
    expect(d).toMatchObject({ ok: true, status: 'active', window: { startsAt: now, endsAt: at('2026-01-05T10:00:00Z') } });
  });
});

describe('decideOnCreation', () => {
  const now = at('2026-01-05T09:00:00Z');
  const later = at('2026-01-05T12:00:00Z');

  it.each([
    {
      name: 'required 0, immediate: active now',
      f: facts({ approvalsRequired: 0 }),
      expected: { ok: true, status: 'active', events: ['request.approved', 'request.activated'], window: { startsAt: now, endsAt: at('2026-01-05T10:00:00Z') }, recordsReview: false, postHoc: false },
    },
    {
      name: 'required 0, scheduled: approved until its start',
      f: facts({ approvalsRequired: 0, startsAt: later }),
      expected: { ok: true, status: 'approved', events: ['request.approved'], window: { startsAt: later, endsAt: at('2026-01-05T13:00:00Z') }, recordsReview: false, postHoc: false },
    },
    {
      name: 'an extension with required 0: approved and ended at once, no window of its own',
      f: facts({ kind: 'extension', approvalsRequired: 0 }),
      expected: { ok: true, status: 'ended', events: ['request.approved', 'request.ended'], recordsReview: false, postHoc: false },
    },
    {
      name: 'required 1: pending, no events, no window',
      f: facts(),
      expected: { ok: true, status: 'pending', events: [], recordsReview: false, postHoc: false },
    },
    {
      name: 'break-glass: active now, whatever the approvals required',
      f: facts({ breakGlass: true, approvalsRequired: 2 }),
      expected: { ok: true, status: 'active', events: ['request.activated'], window: { startsAt: now, endsAt: at('2026-01-05T10:00:00Z') }, recordsReview: false, postHoc: false },
    },
    {
      name: 'break-glass with a requested start: still self-activates now',
      f: facts({ breakGlass: true, startsAt: later }),
      expected: { ok: true, status: 'active', events: ['request.activated'], window: { startsAt: now, endsAt: at('2026-01-05T10:00:00Z') }, recordsReview: false, postHoc: false },
    },
  ])('$name', ({ f, expected }) => {
    expect(decideOnCreation(f, now)).toEqual(expected);
  });
});

describe('a revocation ends the window now (SPEC §4.4)', () => {
  const revokedAt = at('2026-01-05T10:30:00Z');

  it('moves an open window’s end to the moment of the revocation, its start unchanged', () => {
    const d = decide(factsIn('active'), command('revoke'), revokedAt);
    expect(d).toMatchObject({ ok: true, status: 'revoked', window: { startsAt: WINDOW_START, endsAt: revokedAt } });
  });

  it('does the same when a post-hoc deny revokes a live break-glass session', () => {
    const d = decide(factsIn('active', true), command('deny', REVIEWER), revokedAt);
    expect(d).toMatchObject({ ok: true, status: 'revoked', window: { startsAt: WINDOW_START, endsAt: revokedAt } });
  });

  it('leaves a window that has not opened yet as it was approved (it never opens)', () => {
    for (const kind of ['revoke', 'cancel'] as const) {
      const d = decide(factsIn('approved'), command(kind), at('2026-01-05T09:00:00Z'));
      expect(d).toMatchObject({ ok: true, status: 'revoked' });
      expect(d.ok && d.window).toBeUndefined();
    }
  });
});
