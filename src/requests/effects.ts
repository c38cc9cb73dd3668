import type { LifecycleEvent } from '../domain/lifecycle.js';
import type { ScheduledJob } from '../jobs/catalog.js';
import type { Executor } from '../principals/repo.js';
import type { RequestRow } from './repo.js';

export type NotifiableEvent =
  | LifecycleEvent
  | 'request.created'
  | 'request.reminded'
  | 'request.ending-soon'
  | 'request.extended'
  | 'request.escalated'
  // SPEC §13: the activity report of an ended grant is finished.
  | 'request.activity';

/** A change of a request, made in a command's transaction. */
export interface RequestChange {
  requestId: string;
  events: readonly NotifiableEvent[];
  /**
   * What the command already holds: the request as its transaction leaves it and its profile's
   * current name. Neither the outbox nor the metrics read them again (a create, the hot path).
   */
  known?: { request: RequestRow; profileName: string };
}

/** A change with its outbox written: the queue work to add once the transaction has committed. */
export interface RecordedChange extends RequestChange {
  jobs: readonly ScheduledJob[];
}

/**
 * What follows a change of a request, in two steps (a transactional outbox). `record` runs inside
 * the command's transaction: the delivery rows that announce the change (webhooks, Slack) commit
 * with it or not at all, so a crash or a database error after the commit cannot lose them, and a
 * rolled-back change announces nothing. `afterCommit` only adds queue jobs (timed work and those
 * deliveries); when it fails or never runs, the reconciler finds the same work in the database.
 * No network call runs inside the transaction.
 */
export interface RequestEffects {
  record(tx: Executor, change: RequestChange): Promise<RecordedChange>;
  /**
   * The change recorded when recording it writes nothing (no webhook or Slack deliveries, no
   * activity report): a command may then commit the change in one statement, without a
   * transaction of its own. Undefined when `record` has rows to write.
   */
  recordWithoutWrites(change: RequestChange & { known: NonNullable<RequestChange['known']> }): RecordedChange | undefined;
  /** Never throws: the change is committed, and what is missed here the reconciler catches up. */
  afterCommit(change: RecordedChange): Promise<void>;
}

/** Records the outbox of every change, in the transaction that makes them. */
export async function recordChanges(effects: RequestEffects, tx: Executor, changes: readonly RequestChange[]): Promise<RecordedChange[]> {
  const recorded: RecordedChange[] = [];
  for (const change of changes) recorded.push(await effects.record(tx, change));
  return recorded;
}

/** After commit: the queue work of every recorded change. */
export async function scheduleChanges(effects: RequestEffects, changes: readonly RecordedChange[]): Promise<void> {
  for (const change of changes) await effects.afterCommit(change);
}
