// The database is the source of truth (SPEC §5): a flushed Redis loses no expiry, and two
// workers on one queue never do a transition twice.
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile, rescheduleOpenRequests } from '../../src/jobs/reconciler.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { deleteKeysWithPrefix, jobOf, queueAppOptions, schedulerOf, startWorker, testQueuePrefix } from '../support/queue.js';
import { actionCounts, createProfile, openRequest, reconcileDeps, seconds, statusOf, until } from './helpers.js';

const prefix = testQueuePrefix();
let t: TestApp;
let requester: { id: string; key: string };
const workers: Worker[] = [];

beforeAll(async () => {
  t = await startTestApp(queueAppOptions(prefix));
  requester = await t.principal({ groups: ['dev'] });
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.close()));
  await t?.close();
  await deleteKeysWithPrefix(prefix);
});

/** Every request's statuses and audit counts: what "nothing changed" is measured against. */
async function snapshot(ids: string[]) {
  return Promise.all(ids.map(async (id) => ({ id, status: await statusOf(t, id), actions: await actionCounts(t, id) })));
}

describe('Redis flushed: the reconciler catches up', () => {
  it('runs every due transition exactly once, and later sweeps change nothing', async () => {
    const auto = await createProfile(t, { required: 0 });
    const reviewed = await createProfile(t, { required: 1, pendingTtlSeconds: 3600 });
    const reminded = await createProfile(t, { required: 1, pendingTtlSeconds: 86_400, remindAfterSeconds: 600 });
    const t0 = t.clock.now().getTime();
    const iso = (offsetSeconds: number) => new Date(t0 + seconds(offsetSeconds)).toISOString();

    const active = await openRequest(t, requester.key, { profile: auto.name }); // ends at +900 s
    const missedWholeWindow = await openRequest(t, requester.key, { profile: auto.name, startsAt: iso(3600) }); // +3600..+4500 s
    const startsDuringOutage = await openRequest(t, requester.key, { profile: auto.name, startsAt: iso(7200), durationSeconds: 3600 }); // +7200..+10800 s
    const unanswered = await openRequest(t, requester.key, { profile: reviewed.name }); // expires at +3600 s
    const waiting = await openRequest(t, requester.key, { profile: reminded.name }); // reminded at +600 s, expires at +86400 s
    const ids = [active, missedWholeWindow, startsDuringOutage, unanswered, waiting].map((r) => r.id);

    expect(await jobOf(t, 'end', active.id)).toBeDefined();
    expect(await jobOf(t, 'activate', missedWholeWindow.id)).toBeDefined();
    expect(await jobOf(t, 'remind', waiting.id)).toBeDefined();
    expect(await deleteKeysWithPrefix(prefix)).toBeGreaterThan(0);
    expect(await jobOf(t, 'end', active.id)).toBeUndefined();
    expect(await schedulerOf(t).queue.getDelayedCount()).toBe(0);

    t.clock.set(new Date(t0 + seconds(9000)));
    const deps = reconcileDeps(t);
    await reconcile(deps);

    const after = Object.fromEntries((await snapshot(ids)).map((s) => [s.id, s]));
    expect(after[active.id]).toMatchObject({ status: 'ended' });
    expect(after[active.id]!.actions['request.ended']).toBe(1);
    // Its whole window passed during the outage: it goes straight to ended, never active.
    expect(after[missedWholeWindow.id]).toMatchObject({ status: 'ended' });
    expect(after[missedWholeWindow.id]!.actions['request.ended']).toBe(1);
    expect(after[missedWholeWindow.id]!.actions['request.activated']).toBeUndefined();
    expect(after[startsDuringOutage.id]).toMatchObject({ status: 'active' });
    expect(after[startsDuringOutage.id]!.actions['request.activated']).toBe(1);
    expect(after[startsDuringOutage.id]!.actions['request.ended']).toBeUndefined();
    expect(after[unanswered.id]).toMatchObject({ status: 'expired' });
    expect(after[unanswered.id]!.actions['request.expired']).toBe(1);
    expect(after[waiting.id]).toMatchObject({ status: 'pending' });
    expect(after[waiting.id]!.actions['request.reminded']).toBe(1);

    // The request still open got its end job back when it activated.
    expect(await (await jobOf(t, 'end', startsDuringOutage.id))?.getState()).toBe('delayed');

    const second = await reconcile(deps);
    const third = await reconcile(deps);
    expect(second.transitions).toBe(0);
    expect(third.transitions).toBe(0);
    expect(await snapshot(ids)).toEqual(Object.values(after));
  });

  it('rescheduleOpenRequests puts the lost jobs back, and doing it twice adds nothing', async () => {
    const auto = await createProfile(t, { required: 0 });
    const reviewed = await createProfile(t, { required: 1, pendingTtlSeconds: 3600, remindAfterSeconds: 600 });
    const active = await openRequest(t, requester.key, { profile: auto.name });
    const pending = await openRequest(t, requester.key, { profile: reviewed.name });

    await deleteKeysWithPrefix(prefix);
    expect(await jobOf(t, 'end', active.id)).toBeUndefined();

    const scheduled = await rescheduleOpenRequests(t.deps, schedulerOf(t));
    expect(scheduled).toBeGreaterThanOrEqual(3);
    const end = await jobOf(t, 'end', active.id);
    expect(end).toBeDefined();
    expect(await end!.getState()).toBe('delayed');
    expect(await jobOf(t, 'expire-pending', pending.id)).toBeDefined();
    expect(await jobOf(t, 'remind', pending.id)).toBeDefined();

    const delayed = await schedulerOf(t).queue.getDelayedCount();
    await rescheduleOpenRequests(t.deps, schedulerOf(t));
    expect(await schedulerOf(t).queue.getDelayedCount()).toBe(delayed);
  });
});

describe('two workers on one queue', () => {
  it('end each of 20 due windows exactly once', async () => {
    const auto = await createProfile(t, { required: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) ids.push((await openRequest(t, requester.key, { profile: auto.name })).id);

    const completed = new Map<string, number>();
    const count = (worker: Worker, label: string) => worker.on('completed', () => completed.set(label, (completed.get(label) ?? 0) + 1));
    const first = startWorker(t, prefix, { concurrency: 4 });
    const second = startWorker(t, prefix, { concurrency: 4 });
    workers.push(first, second);
    count(first, 'first');
    count(second, 'second');
    await Promise.all([first.waitUntilReady(), second.waitUntilReady()]);

    t.clock.advance(seconds(901));
    // Every due job at once, and each one twice: the reconciler's sweep races the workers.
    await schedulerOf(t).queue.promoteJobs();
    const sweep = reconcile(reconcileDeps(t));
    await until(
      async () => ((await Promise.all(ids.map((id) => statusOf(t, id)))).every((s) => s === 'ended') ? true : undefined),
      15_000,
      'all 20 windows to end',
    );
    await sweep;
    await until(async () => ((await Promise.all(ids.map((id) => jobOf(t, 'end', id)))).every((j) => j === undefined) ? true : undefined), 10_000, 'every end job to complete');

    for (const id of ids) expect((await actionCounts(t, id))['request.ended'], id).toBe(1);
    expect([...completed.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(20);
  });
});
