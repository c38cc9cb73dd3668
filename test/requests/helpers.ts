// Shared helpers for the request-workflow acceptance tests: the real app, driven over HTTP,
// with the database read directly to check what did (and did not) change.
import { and, asc, count, eq, type SQL } from 'drizzle-orm';
import { expect } from 'vitest';
import { auditEvents, requests, reviews } from '../../src/db/schema.js';
import { auth } from '../support/api.js';
import { startTestApp, type TestApp } from '../support/app.js';

export { auth, createProfile, ROLE_ARN, uniqueName, type CreatedProfile } from '../support/api.js';


export const JUSTIFICATION = 'INC-42 hotfix on the payments API';

/**
 * The real app, listening on loopback. supertest would otherwise start and stop the server
 * around each call, which breaks calls fired concurrently with Promise.all.
 */
export async function startListeningApp(options: Parameters<typeof startTestApp>[0] = {}): Promise<TestApp> {
  const t = await startTestApp(options);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return t;
}

export function postRequest(t: TestApp, credential: string, body: Record<string, unknown>) {
  return t
    .http()
    .post('/v1/requests')
    .set(auth(credential))
    .send({ durationSeconds: 1800, justification: JUSTIFICATION, ...body });
}

export interface RequestBody {
  id: string;
  status: string;
  justification: string;
  durationSeconds: number;
  requesterId: string;
  profileId: string;
  profileVersion: number;
  startsAt: string | null;
  endsAt: string | null;
  pendingExpiresAt: string;
  breakGlass: boolean;
  approvalsRequired: number;
  reviews: { reviewerId: string; decision: string; postHoc: boolean; channel: string }[];
}

/** Opens a request and expects it to be created. */
export async function openRequest(t: TestApp, credential: string, body: Record<string, unknown>): Promise<RequestBody> {
  const response = await postRequest(t, credential, body);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as RequestBody;
}

export function review(t: TestApp, credential: string, requestId: string, decision: 'approve' | 'deny', comment?: string) {
  return t
    .http()
    .post(`/v1/requests/${requestId}/reviews`)
    .set(auth(credential))
    .send(comment === undefined ? { decision } : { decision, comment });
}

export async function statusOf(t: TestApp, requestId: string): Promise<string | undefined> {
  const [row] = await t.deps.db.select({ status: requests.status }).from(requests).where(eq(requests.id, requestId));
  return row?.status;
}

export async function countRequests(t: TestApp, where?: SQL): Promise<number> {
  const [row] = await t.deps.db.select({ n: count() }).from(requests).where(where);
  return row!.n;
}

export async function countAudit(t: TestApp, where?: SQL): Promise<number> {
  const [row] = await t.deps.db.select({ n: count() }).from(auditEvents).where(where);
  return row!.n;
}

export async function reviewRows(t: TestApp, requestId: string) {
  return t.deps.db.select().from(reviews).where(eq(reviews.requestId, requestId)).orderBy(asc(reviews.createdAt));
}

export type AuditRow = typeof auditEvents.$inferSelect;

export async function auditOf(t: TestApp, requestId: string): Promise<AuditRow[]> {
  return t.deps.db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId)).orderBy(asc(auditEvents.id));
}

export async function actionsOf(t: TestApp, requestId: string): Promise<string[]> {
  return (await auditOf(t, requestId)).map((event) => event.action);
}

export async function auditByAction(t: TestApp, action: string, actorId?: string): Promise<AuditRow[]> {
  return t.deps.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, action), actorId === undefined ? undefined : eq(auditEvents.actorId, actorId)))
    .orderBy(asc(auditEvents.id));
}

/** Every audit row, in id (= chain) order. */
export async function allAudit(t: TestApp): Promise<AuditRow[]> {
  return t.deps.db.select().from(auditEvents).orderBy(asc(auditEvents.id));
}

export function expectProblem(
  response: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
  type: string,
): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type, status });
}

/** The field pointers a validation problem names. */
export function fieldsOf(body: { errors?: { field: string }[] }): string[] {
  return (body.errors ?? []).map((error) => error.field);
}

export const LOOPBACK = ['127.0.0.1', '::ffff:127.0.0.1', '::1'];
