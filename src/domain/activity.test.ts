import { describe, expect, it } from 'vitest';
import { activityLine } from '../slack/messages.js';
import { accessEndedAt, nextActivityStep, summarizeActivity, type TrailEvent } from './activity.js';

const T = Date.parse('2026-12-03T09:00:00Z');
const at = (s: number) => new Date(T + s * 1000);

describe('summarizeActivity', () => {
  it('counts by service prefix and event name, failed calls, first and last', () => {
    const events: TrailEvent[] = [
      { eventId: '1', eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', eventTime: at(30), errorCode: null },
      { eventId: '2', eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', eventTime: at(10), errorCode: 'Client.UnauthorizedOperation' },
      { eventId: '3', eventSource: 'iam.amazonaws.com', eventName: 'ListRoles', eventTime: at(20), errorCode: null },
    ];
    expect(summarizeActivity(events)).toEqual({ events: 3, byAction: { 'ec2:RunInstances': 2, 'iam:ListRoles': 1 }, errors: 1, first: at(10), last: at(30) });
    expect(summarizeActivity([])).toEqual({ events: 0, byAction: {}, errors: 0, first: null, last: null });
  });
});

describe('accessEndedAt', () => {
  it.each([
    { revokedAt: null, denyPolicy: null, expirations: [], expected: null, why: 'no credentials: no report' },
    { revokedAt: null, denyPolicy: null, expirations: [at(900), at(1800)], expected: at(1800), why: 'the last Expiration' },
    { revokedAt: at(100), denyPolicy: null, expirations: [at(1800)], expected: at(1800), why: 'block-new revocation: sessions live until they expire' },
    { revokedAt: at(100), denyPolicy: 'applied' as const, expirations: [at(1800)], expected: at(100), why: 'a deny policy ends them at revocation' },
    { revokedAt: at(100), denyPolicy: 'failed' as const, expirations: [at(1800)], expected: at(1800), why: 'a deny policy that could not be placed ends nothing' },
    { revokedAt: at(2000), denyPolicy: 'pending' as const, expirations: [at(1800)], expected: at(1800), why: 'never later than the last Expiration' },
  ])('$why', ({ revokedAt, denyPolicy, expirations, expected }) => {
    expect(accessEndedAt({ revokedAt, denyPolicy, expirations })).toEqual(expected);
  });
});

describe('nextActivityStep', () => {
  const endedAt = at(0);
  const step = (passS: number, foundNew: boolean, failed = false) => nextActivityStep({ endedAt, settleSeconds: 900, passAt: at(passS), foundNew, failed });
  it.each([
    { passS: 0, foundNew: false, expected: { status: 'pending', nextPassAt: at(900) }, why: 'the pass at the end is followed by the settle pass' },
    { passS: 0, foundNew: true, expected: { status: 'pending', nextPassAt: at(900) }, why: 'whatever it found' },
    { passS: 900, foundNew: false, expected: { status: 'complete' }, why: 'a settled pass that finds nothing new completes' },
    { passS: 900, foundNew: true, expected: { status: 'pending', nextPassAt: at(1200) }, why: 'something new: again in 5 minutes' },
    { passS: 3300, foundNew: true, expected: { status: 'pending', nextPassAt: at(3600) }, why: 'the last pass is an hour after the end' },
    { passS: 3600, foundNew: true, expected: { status: 'incomplete' }, why: 'then it gives up' },
  ])('$why', ({ passS, foundNew, expected }) => {
    expect(step(passS, foundNew)).toEqual(expected);
  });
  it('never completes on a failed pass', () => {
    expect(step(900, false, true)).toEqual({ status: 'pending', nextPassAt: at(1200) });
    expect(step(3600, false, true)).toEqual({ status: 'incomplete' });
  });
});

describe('activityLine (the Slack summary)', () => {
  it('says how many events, how many failed and the busiest actions', () => {
    expect(activityLine({ givenUp: false, events: 4, errors: 1, byAction: { 'iam:ListRoles': 1, 'ec2:RunInstances': 3 } })).toBe(
      'Activity: 4 CloudTrail events (1 failed): ec2:RunInstances ×3, iam:ListRoles ×1',
    );
    expect(activityLine({ givenUp: false, events: 0, errors: 0, byAction: {} })).toBe('Activity: 0 CloudTrail events');
    expect(activityLine({ givenUp: true, events: 1, errors: 0, byAction: { 's3:ListBuckets': 1 } })).toMatch(/incomplete/);
  });
});
