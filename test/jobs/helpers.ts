// Shared helpers for the timed-work tests: requests made through the real API, state and audit
// read straight from the database, and polling with a deadline instead of sleeping.
import { and, asc, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { expect } from 'vitest';
import { auditEvents, deliveries, requests } from '../../src/db/schema.js';
import type { ReconcileDeps } from '../../src/jobs/reconciler.js';
import type { TestApp } from '../support/app.js';
import { until } from '../support/server-process.js';

export { until };

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });

let names = 0;

/** A profile through the admin API: requesters `dev`, approvers `sre`, with the given approval rules. */
export async function createProfile(t: TestApp, approval: Record<string, unknown>): Promise<{ id: string; name: string }> {
  names += 1;
  const response = await t
    .http()
    .post('/v1/profiles')
    .set(auth(t.adminKey))
    .send({
      name: `timed-${names}-${Date.now().toString(36)}`,
      roleArn: 'arn:aws:iam::123456789012:role/Admin',
      maxDurationSeconds: 3600,
      defaultDurationSeconds: 900,
      requesters: { groups: ['dev'] },
      approval: { approverGroups: ['sre'], ...approval },
    });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as { id: string; name: string };
}

export interface RequestBody {
  id: string;
  status: string;
  startsAt: string | null;
  endsAt: string | null;
  pendingExpiresAt: string;
}

export async function openRequest(t: TestApp, key: string, body: Record<string, unknown>): Promise<RequestBody> {
  const response = await t
    .http()
    .post('/v1/requests')
    .set(auth(key))
    .send({ durationSeconds: 900, justification: 'INC-7 timed work under test', ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as RequestBody;
}

export type RequestRow = typeof requests.$inferSelect;
export type AuditRow = typeof auditEvents.$inferSelect;
export type DeliveryRow = typeof deliveries.$inferSelect;

export async function requestRow(t: TestApp, requestId: string): Promise<RequestRow> {
  const [row] = await t.deps.db.select().from(requests).where(eq(requests.id, requestId));
  if (row === undefined) throw new Error(`no request ${requestId}`);
  return row;
}

export async function statusOf(t: TestApp, requestId: string): Promise<string> {
  return (await requestRow(t, requestId)).status;
}

/** Polls the database until the request has `status`; fails at the deadline naming what it saw. */
export async function waitForStatus(t: TestApp, requestId: string, status: string, timeoutMs = 10_000): Promise<void> {
  let last = '';
  await until(
    async () => {
      last = await statusOf(t, requestId);
      return last === status ? true : undefined;
    },
    timeoutMs,
    `${requestId} to become ${status}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message} (it is ${last})`);
  });
}

export async function auditOf(t: TestApp, requestId: string, action?: string): Promise<AuditRow[]> {
  return t.deps.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.requestId, requestId), action === undefined ? undefined : eq(auditEvents.action, action)))
    .orderBy(asc(auditEvents.id));
}

/** How many audit events of each action a request has, e.g. `{ 'request.ended': 1 }`. */
export async function actionCounts(t: TestApp, requestId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const event of await auditOf(t, requestId)) counts[event.action] = (counts[event.action] ?? 0) + 1;
  return counts;
}

export async function deliveriesOf(t: TestApp, requestId: string): Promise<DeliveryRow[]> {
  return t.deps.db.select().from(deliveries).where(eq(deliveries.requestId, requestId)).orderBy(asc(deliveries.createdAt), asc(deliveries.id));
}

/** The reconciler's dependencies from a test app: its own deps, a silent logger. */
export function reconcileDeps(t: TestApp): ReconcileDeps {
  return { ...t.deps, logger: pino({ level: 'silent' }), scheduler: t.deps.scheduler };
}

export const seconds = (n: number) => n * 1000;
export const at = (iso: string | null): number => {
  if (iso === null) throw new Error('expected a timestamp');
  return new Date(iso).getTime();
};
