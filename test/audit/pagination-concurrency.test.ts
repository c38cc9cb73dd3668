// SPEC §6: keyset pagination returns every event exactly once while other events are being
// appended. Two readers page with limit 7 (one oldest first, one newest first) while a writer
// keeps creating principals through the API; neither may repeat an event or miss one that
// existed when it started.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { auditPage, auth, createProfile, openRequest, startAuditApp, trailFromDatabase, type AuditEvent } from './helpers.js';

let t: TestApp;

beforeAll(async () => {
  t = await startAuditApp();
  // A trail long enough for many pages of 7 in each direction.
  const profile = await createProfile(t);
  const requester = await t.principal({ groups: ['dev'] });
  for (let i = 0; i < 70; i++) await openRequest(t, requester.key, profile.id);
});
afterAll(async () => {
  await t?.close();
});

interface Writer {
  /** Resolves once the writer has appended `count` events. */
  written(count: number): Promise<void>;
  /** How many events the writer has appended so far. */
  count(): number;
  stop(): Promise<number>;
}

/** Creates principals through the admin API, one after another, until stopped. */
function startWriter(): Writer {
  let stopped = false;
  let count = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const loop = (async () => {
    while (!stopped) {
      const response = await t
        .http()
        .post('/v1/principals')
        .set(auth(t.adminKey))
        .send({ email: `writer-${count}-${Date.now()}@example.com`, displayName: `Writer ${count}`, groups: [] });
      expect(response.status).toBe(201);
      count += 1;
      for (const waiter of waiters.filter((w) => w.count <= count)) waiter.resolve();
    }
    return count;
  })();
  return {
    count: () => count,
    written: (target) => (count >= target ? Promise.resolve() : new Promise((resolve) => waiters.push({ count: target, resolve }))),
    async stop() {
      stopped = true;
      return loop;
    },
  };
}

async function paginate(order: 'asc' | 'desc'): Promise<{ events: AuditEvent[]; pages: number }> {
  const events: AuditEvent[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const page = await auditPage(t, t.adminKey, { order, limit: 7, ...(cursor === null ? {} : { cursor }) });
    expect(page.items.length).toBeLessThanOrEqual(7);
    events.push(...page.items);
    pages += 1;
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { events, pages };
}

function expectEachOnce(events: AuditEvent[], existing: string[], order: 'asc' | 'desc'): void {
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size, 'no event twice').toBe(ids.length);
  const seen = new Set(ids);
  expect(existing.filter((id) => !seen.has(id)), 'no event that existed at the start is missed').toEqual([]);
  const numeric = ids.map(BigInt);
  for (let i = 1; i < numeric.length; i++) {
    expect(order === 'asc' ? numeric[i]! > numeric[i - 1]! : numeric[i]! < numeric[i - 1]!).toBe(true);
  }
}

it('returns every event exactly once in both orders while principals are being created', async () => {
  const writer = startWriter();
  let existing: string[];
  let pages: [Awaited<ReturnType<typeof paginate>>, Awaited<ReturnType<typeof paginate>>];
  let writtenDuring: number;
  try {
    // The writer is demonstrably running before the readers start.
    await writer.written(3);
    existing = (await trailFromDatabase(t)).map((e) => e.id);
    const writtenBefore = writer.count();
    pages = await Promise.all([paginate('asc'), paginate('desc')]);
    writtenDuring = writer.count() - writtenBefore;
  } finally {
    await writer.stop();
  }
  const [asc, desc] = pages;
  const final = await trailFromDatabase(t);

  expect(existing.length).toBeGreaterThan(70);
  // The readers and the writer really overlapped: events were appended while they paged.
  expect(writtenDuring).toBeGreaterThan(0);
  expect(asc.pages).toBeGreaterThanOrEqual(existing.length / 7);
  expect(desc.pages).toBeGreaterThanOrEqual(existing.length / 7);

  expectEachOnce(asc.events, existing, 'asc');
  expectEachOnce(desc.events, existing, 'desc');

  // Every event returned is real and unchanged, and the pages agree with the table.
  const byId = new Map(final.map((e) => [e.id, e]));
  for (const event of [...asc.events, ...desc.events]) expect(event).toStrictEqual(byId.get(event.id));
  // Oldest first reads until it catches up with the head, so it ends on the newest event it saw
  // appended; newest first starts at the head of its first page and goes back to the first event.
  expect(asc.events[0]!.id).toBe(final[0]!.id);
  expect(desc.events.at(-1)!.id).toBe(final[0]!.id);
  expect(BigInt(asc.events.at(-1)!.id)).toBeGreaterThanOrEqual(BigInt(existing.at(-1)!));
});
