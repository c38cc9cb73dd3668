import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RE2JS } from 're2js';
import { visibleLength } from './text.js';

/** A weekly time window in a zone: `end` before `start` means it runs past midnight. */
export interface TimeWindow {
  days: Weekday[];
  start: string;
  end: string;
  timeZone: string;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface Conditions {
  requireMfa: boolean;
  sourceCidrs: string[];
  timeWindows: TimeWindow[];
  ticketPattern: string | null;
  minJustificationLength: number;
}

export type ConditionName = 'mfa' | 'source-ip' | 'time-window' | 'ticket' | 'justification';

export type ConditionResult = { ok: true } | { ok: false; condition: ConditionName; detail: string };

/** What a check looks at. Ticket and justification are checked when the request is made only. */
export interface ConditionContext {
  mfa: boolean;
  sourceIp: string | null;
  at: Date;
  request?: { ticket: string | null; justification: string };
}

/**
 * SPEC §3 rule 3: checked when the request is made and again at every issuance.
 * Returns the first condition that does not hold, named, so the caller can say which.
 */
export function checkConditions(conditions: Conditions, context: ConditionContext): ConditionResult {
  if (conditions.requireMfa && !context.mfa) {
    return { ok: false, condition: 'mfa', detail: 'this profile requires a sign-in with MFA (API keys never satisfy it)' };
  }
  if (conditions.sourceCidrs.length > 0 && !sourceAllowed(context.sourceIp, conditions.sourceCidrs)) {
    return { ok: false, condition: 'source-ip', detail: `source address ${context.sourceIp ?? 'unknown'} is not in the allowed ranges` };
  }
  if (conditions.timeWindows.length > 0 && !conditions.timeWindows.some((w) => insideWindow(w, context.at))) {
    return { ok: false, condition: 'time-window', detail: 'outside the time windows of this profile' };
  }
  if (context.request !== undefined) {
    const { ticket, justification } = context.request;
    // RE2 semantics (linear time): a requester's ticket can never make a pattern backtrack for long.
    if (conditions.ticketPattern !== null && (ticket === null || !RE2JS.compile(conditions.ticketPattern).matches(ticket))) {
      return { ok: false, condition: 'ticket', detail: `a ticket matching ${conditions.ticketPattern} is required` };
    }
    // Visible characters: twelve zero-width spaces are not a 10-character justification.
    if (conditions.minJustificationLength > 0 && visibleLength(justification) < conditions.minJustificationLength) {
      return { ok: false, condition: 'justification', detail: `the justification needs at least ${conditions.minJustificationLength} visible characters` };
    }
  }
  return { ok: true };
}

export function sourceAllowed(sourceIp: string | null, cidrs: readonly string[]): boolean {
  // Only the standard spellings: ipaddr.js also reads "012.1.2.3" (octal), "10.1" or "167772161",
  // and misreads "::10.1.2.3" as IPv4-mapped. An address in any other form is refused.
  if (sourceIp === null || isIP(sourceIp) === 0) return false;
  if (isIP(sourceIp) === 6 && sourceIp.includes('.') && !/^::ffff:/i.test(sourceIp)) return false;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is compared as the IPv4 address it carries.
  const address = ipaddr.process(sourceIp);
  return cidrs.some((cidr) => {
    const range = ipaddr.parseCIDR(cidr);
    return address.kind() === range[0].kind() && address.match(range);
  });
}

/** True when `at` falls in the window, read on the wall clock of the window's time zone. */
export function insideWindow(window: TimeWindow, at: Date): boolean {
  const { weekday, minutes } = wallClock(at, window.timeZone);
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  if (start < end) return window.days.includes(weekday) && minutes >= start && minutes < end;
  // Past midnight: the evening belongs to a listed day, the small hours to the day after one.
  const previous = WEEKDAYS[(WEEKDAYS.indexOf(weekday) + 6) % 7]!;
  return (window.days.includes(weekday) && minutes >= start) || (window.days.includes(previous) && minutes < end);
}

export function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

function wallClock(at: Date, timeZone: string): { weekday: Weekday; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return { weekday: part('weekday').toLowerCase() as Weekday, minutes: Number(part('hour')) * 60 + Number(part('minute')) };
}
